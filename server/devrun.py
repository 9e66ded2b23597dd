"""`make run`: a local server on SQLite with the in-process broker and the demo room.

Keeps a generated secret in `.hearth-dev.key` (0600) so sessions survive restarts, and,
when no transcript key is configured, a generated one in `.hearth-transcript.key` (0600).
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
import tomllib
from pathlib import Path

from .cli import main as cli_main

__all__ = ["main"]


def _dev_secret(path: Path) -> str:
    if not path.exists():
        print(
            f"warning: no HEARTH_SECRET_KEY: generated a local one in {path} (0600)",
            file=sys.stderr,
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _configured_transcript_key() -> bool:
    if os.environ.get("HEARTH_TRANSCRIPT_KEY_FILE"):
        return True
    config = Path(os.environ.get("HEARTH_CONFIG", "config/hearth.toml"))
    if not config.is_file():
        return False
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    return bool(data.get("transcripts", {}).get("key_file"))


def _dev_transcript_key(path: Path) -> None:
    if not path.exists():
        print(
            f"warning: no transcript key configured: generated a local one in {path} (0600); "
            "configure HEARTH_TRANSCRIPT_KEY_FILE in production",
            file=sys.stderr,
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("dev1:" + base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    os.environ["HEARTH_TRANSCRIPT_KEY_FILE"] = str(path.resolve())


def main() -> int:
    """Serve on 127.0.0.1:8000 (or $PORT) with the demo room seeded."""
    os.environ.setdefault("HEARTH_SECRET_KEY", _dev_secret(Path(".hearth-dev.key")))
    os.environ.pop("HEARTH_REDIS_URL", None)
    if not _configured_transcript_key():
        _dev_transcript_key(Path(".hearth-transcript.key"))
    port = os.environ.get("PORT", "8000")
    print(
        f"Hearth: http://127.0.0.1:{port}  (an admin: .venv/bin/hearth create-admin NAME)",
        file=sys.stderr,
    )
    return cli_main(["serve", "--port", port])


if __name__ == "__main__":
    sys.exit(main())
