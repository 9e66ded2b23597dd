"""A server process does not keep the memory of its password hashes (`ops/allocator.py`):
sign-ins hash in worker threads, and with glibc's moving large-block threshold each thread
kept its hashes' megabytes for good. Each case runs in a fresh interpreter, as a server
process starts, and hashes as many sign-ins at once do."""

from __future__ import annotations

import subprocess
import sys

from tests.support.servers import ROOT, SCALE

HASHING = """
import asyncio, sys
from server.accounts.passwords import Passwords
from server.ops.allocator import return_large_blocks

def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

async def main() -> None:
    if sys.argv[1] == "set":
        assert return_large_blocks()
    passwords = Passwords(time_cost=1, memory_kib=8192, parallelism=1, at_once=4)
    before = rss()
    for _ in range(6):
        await asyncio.gather(*(passwords.hash("correct horse") for _ in range(12)))
    print(rss() - before)

asyncio.run(main())
"""

MIB = 1024 * 1024


def _growth(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", HASHING, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120 * SCALE,
        check=True,
    )
    return int(done.stdout.strip())


def test_password_hashes_leave_no_memory_behind() -> None:
    # Without the setting the threads keep about 8 MiB each (the case the fix is for)...
    assert _growth("default") > 24 * MIB
    # ...with it, what the hashes took is given back.
    assert _growth("set") < 8 * MIB
