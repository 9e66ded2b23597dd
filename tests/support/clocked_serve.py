"""`hearth` with a movable clock for sessions, for tests only: the offset in milliseconds is
read from the file named by HEARTH_TEST_CLOCK_FILE at every reading. This file is not part of
the installed package, so no production server can run with a moved clock."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from server.cli import main
from server.sessions import clock


def offset_from(path: Path) -> Callable[[], int]:
    """Reads the offset (ms) kept in `path`; 0 if it is missing or empty."""

    def read() -> int:
        try:
            return int(path.read_text() or "0")
        except (OSError, ValueError):
            return 0

    return read


if __name__ == "__main__":
    clock.install_offset(offset_from(Path(os.environ["HEARTH_TEST_CLOCK_FILE"])))
    sys.exit(main())
