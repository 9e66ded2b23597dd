"""axe-core (shipped by the `axe-playwright-python` package) run in a page, failing on any
WCAG 2.0, 2.1 or 2.2 level A or AA violation; and screenshots of each screen, saved as test
artifacts under pytest's temporary folder."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from playwright.async_api import Page

__all__ = ["WCAG_TAGS", "assert_accessible", "screenshot"]

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
_AXE = resources.files("axe_playwright_python").joinpath("axe.min.js").read_text()


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:5]]
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return "\n".join(lines)


async def assert_accessible(page: Page, screen: str) -> None:
    """Run axe-core on the whole page; fail with each violation's rule and elements."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(_AXE)
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    violations = result["violations"]
    width = page.viewport_size["width"] if page.viewport_size else "?"
    assert not violations, f"{screen} at {width} px:\n{_describe(violations)}"


async def screenshot(page: Page, folder: Path, screen: str) -> Path:
    """Save what the page shows now as `screen-WIDTH.png` in `folder`."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    path = folder / f"{screen}-{width}.png"
    await page.screenshot(path=str(path))
    assert path.stat().st_size > 2_000, path
    return path
