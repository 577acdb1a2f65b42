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
import os
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, cast


@cache
def _libc_function(name: str) -> Callable[..., int] | None:
    """A function of the C library, or None where there is none by that name."""
    path = ctypes.util.find_library("c")
    if path is None:
        return None
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(path, use_errno=True), name)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    return function


def _malloc_trim() -> Callable[[int], int] | None:
    return _libc_function("malloc_trim")


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
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(_M_ARENA_MAX, count))


# Linux system call numbers (the same on every architecture since 5.1) and the advice.
_SYS_PROCESS_MADVISE = 440
_MADV_PAGEOUT = 21


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


def mapped_file_ranges(pid: int, path: Path) -> list[tuple[int, int]]:
    """``(start, length)`` of each read-only, private mapping of ``path`` in process ``pid``."""
    target = str(path)
    out = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == target and fields[1] in ("r--p", "r-xp"):
            start, end = (int(x, 16) for x in fields[0].split("-"))
            out.append((start, end - start))
    return out


def page_out_mapped_file(pid: int, path: Path) -> int | None:
    """Ask the kernel to reclaim the pages of ``path`` that process ``pid`` maps read-only.

    For a server whose start-up touches far more of its own executable than it
    then uses: a page it needs again is faulted back from the page cache, the
    rest stop counting towards its resident size.  This is what the kernel does
    to such clean pages anyway when memory runs short, done at a moment we
    choose.  Returns the bytes advised, or None where the kernel does not offer
    it (before Linux 5.10) or does not allow it (another process's memory needs
    ``CAP_SYS_NICE``).
    """
    ranges = mapped_file_ranges(pid, path)
    if not ranges:
        return 0
    syscall = _libc_function("syscall")
    if syscall is None:
        return None
    # The call returns a byte count (ssize_t), not ctypes' default int.
    cast(Any, syscall).restype = ctypes.c_long
    try:
        pidfd = os.pidfd_open(pid)
    except (OSError, AttributeError):  # AttributeError: not Linux
        return None
    try:
        vectors = (_IoVec * len(ranges))(*(_IoVec(start, size) for start, size in ranges))
        done = syscall(
            ctypes.c_long(_SYS_PROCESS_MADVISE),
            ctypes.c_int(pidfd),
            vectors,
            ctypes.c_size_t(len(ranges)),
            ctypes.c_int(_MADV_PAGEOUT),
            ctypes.c_uint(0),
        )
    finally:
        os.close(pidfd)
    return int(done) if done >= 0 else None
