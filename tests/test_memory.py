"""Freed heap pages go back to the system in long-lived workers (medlicense.memory)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_trim_gives_freed_memory_back_and_is_rate_limited() -> None:
    # In a fresh interpreter: this process's heap holds whatever the other tests left.
    script = textwrap.dedent(
        """
        from medlicense.memory import release_free_memory

        def rss_mib():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * 4096 // 2**20

        # Many small objects: glibc serves them from the heap, not from mmap, and
        # keeps the pages after they are freed.
        junk = [bytes(1000) for _ in range(200_000)]
        held = rss_mib()
        del junk
        kept = rss_mib()
        first = release_free_memory(at_most_every=60)
        after = rss_mib()
        second = release_free_memory(at_most_every=60)
        print(held, kept, after, first, second)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    held, kept, after = (int(v) for v in out[:3])
    assert held - kept < 50, "without a trim the freed pages stay resident"
    assert out[3] == "True" and out[4] == "False"
    assert after < kept - 150


def test_the_arena_cap_is_accepted_by_the_allocator() -> None:
    # mallopt answers 0 for a parameter or value it does not take; in a fresh
    # interpreter, so this process's allocator is left as it is.
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from medlicense.memory import limit_arenas; print(limit_arenas(2))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "True"
