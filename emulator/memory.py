"""Memory given back to the system after large, rare work.

A CSV of 100,000 users, or importing them, leaves tens of megabytes freed but kept by the C
allocator inside the worker that did it; glibc's malloc_trim returns them, so every worker
stays near its baseline whatever it served. And glibc gives each thread that allocates an arena
of its own (up to 8 per core), each keeping what was freed in it: limit_arenas caps them.
"""

from __future__ import annotations

import functools
import gc

LARGE_BYTES = 1024 * 1024  # a request body this large is worth a trim afterwards


M_ARENA_MAX = -8  # mallopt's parameter, from glibc's malloc.h
ARENAS = 2


@functools.cache
def _glibc():
    import ctypes  # 10 ms to import: loaded by serve once its app is built, and by large work

    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, the C library's among them
        libc.malloc_trim, libc.mallopt  # noqa: B018  (glibc's own functions)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    return libc


def limit_arenas() -> None:
    """Cap glibc's malloc arenas for this process and those it forks. A worker's threads each
    had one: after a CSV import the worker kept 20 MiB more than with 2 (measured)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, ARENAS)


def release() -> None:
    """Collect garbage and hand freed heap memory back to the operating system."""
    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
