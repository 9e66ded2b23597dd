"""No function in `server/` is over 60 lines (the project's standard; see STYLE.md).

Pure: reads the source with `ast`, no server, no event loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

MAX_LINES = 60
SERVER = Path(__file__).resolve().parent.parent / "server"


def long_functions(source: str, max_lines: int = MAX_LINES) -> list[tuple[str, int, int]]:
    """(name, first line, length) of each function or method of `source` over `max_lines`
    lines, from its `def` to its last line (decorators not counted)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > max_lines:
                found.append((node.name, node.lineno, length))
    return found


def test_a_function_over_the_limit_is_named_with_its_length() -> None:
    body = "".join(f"        x{i} = {i}\n" for i in range(MAX_LINES))  # 60 lines + the def
    source = f"def short():\n    pass\n\nclass C:\n    async def long(self):\n{body}"
    assert long_functions(source) == [("long", 5, MAX_LINES + 1)]
    assert long_functions(source.replace("        x0 = 0\n", "")) == []


def test_no_function_in_server_is_over_60_lines() -> None:
    files = sorted(SERVER.rglob("*.py"))
    assert len(files) > 50, "server/ not found where this test looks for it"
    over = [
        f"{path.relative_to(SERVER.parent)}:{line} {name} ({length} lines)"
        for path in files
        for name, line, length in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert not over, "functions over 60 lines in server/:\n" + "\n".join(over)
