"""Memory given back to the system after large, rare work.

A CSV of 100,000 users, or importing them, leaves tens of megabytes freed but kept by the C
allocator inside the worker that did it; glibc's malloc_trim returns them, so every worker
stays near its baseline whatever it served.
"""

from __future__ import annotations

import functools
import gc

LARGE_BYTES = 1024 * 1024  # a request body this large is worth a trim afterwards


@functools.cache
def _malloc_trim():
    import ctypes  # 10 ms to import: only the workers that do large work need it
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None


def release() -> None:
    """Collect garbage and hand freed heap memory back to the operating system."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
