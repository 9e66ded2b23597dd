"""The C allocator's handling of large blocks, set once when a server process starts.

glibc's malloc serves a block of 128 KiB or more with a mapping of its own, returned to the
system when freed, but it raises that threshold to the size of every such block freed (up
to 32 MiB). After the first password hash (argon2 holds `password_hash_memory_kib` while it
runs, in a worker thread), hashes under 32 MiB come from the worker threads' heaps instead,
which keep the pages once the hash is done: a few sign-ins left each server process tens of
megabytes larger for good (the benchmark's 8 MiB hashes: about 80 MB over six threads).
Fixing the threshold keeps every large block a mapping of its own, freed when done with.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

__all__ = ["LARGE_BLOCK_BYTES", "return_large_blocks"]

log = logging.getLogger("hearth.allocator")

LARGE_BLOCK_BYTES = 128 * 1024  # glibc's own starting threshold
_M_MMAP_THRESHOLD = -3  # mallopt(3)


def return_large_blocks(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Have blocks of `threshold` bytes or more mapped on their own (and so returned to the
    system when freed) from now on; False where the C library has no glibc `mallopt`."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to set
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(_M_MMAP_THRESHOLD, threshold) != 1:
        log.warning("could not set the allocator's large-block threshold")
        return False
    return True
