"""Giving freed heap memory back to the system in long-lived worker processes.

CPython frees a job's objects, but glibc keeps the freed pages in its arenas
for reuse, so a worker's resident size settles at the high-water mark of its
largest job and stays there for the life of the process (seen as readers and
workers growing from ~120 to ~200 MiB over a batch).  ``malloc_trim`` hands
the free pages back.  It is not free: a trim of a few hundred MiB takes tens
of milliseconds, and the next job faults its pages in again, so a process trims
at most every couple of seconds rather than after every job; its resident size
then tracks what it holds, not its worst job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    return trim


_last = 0.0
_lock = threading.Lock()


def release_free_memory(*, at_most_every: float = 2.0) -> bool:
    """Return the allocator's free pages to the system, unless that was done less than
    ``at_most_every`` seconds ago; True when a trim ran."""
    global _last
    trim = _malloc_trim()
    if trim is None:
        return False
    with _lock:
        now = time.monotonic()
        if now - _last < at_most_every:
            return False
        _last = now
    trim(0)
    return True


_M_ARENA_MAX = -8  # mallopt parameter number, from glibc's malloc.h


def limit_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas for threads created from now on.

    glibc gives threads arenas of their own, up to eight per core; a serving
    process with a few dozen threads (task runs, review runs, API clients) then
    scatters its small allocations over many arenas, whose free pages none of
    the others can reuse, and its resident size creeps up over a long batch.
    Two arenas keep contention low for threads that mostly wait.  Same effect as
    ``MALLOC_ARENA_MAX``, for a process that cannot set its own environment
    before it starts.  Call it before the threads exist.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, count))
