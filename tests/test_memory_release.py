"""Clean file pages a process mapped but no longer uses can be handed back to the kernel."""

from __future__ import annotations

import mmap
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from medlicense.memory import mapped_file_ranges, page_out_mapped_file
from medlicense.settings import Settings


def _resident_kib(pid: int, path: Path) -> int:
    total = 0
    inside = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if not head[0].endswith(":"):
            inside = head[-1] == str(path)
        elif inside and head[0] == "Rss:":
            total += int(head[1])
    return total


@pytest.fixture
def reader_of(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A process that maps a 16 MiB file privately, read-only, and has read every page."""
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * (16 * 4096))
    script = (
        "import mmap, sys, time\n"
        f"f = open({str(path)!r}, 'rb')\n"
        f"m = mmap.mmap(f.fileno(), 0, flags={mmap.MAP_PRIVATE}, prot={mmap.PROT_READ})\n"
        "total = sum(m[i] for i in range(0, len(m), 4096))\n"
        "print(total, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        yield proc, path
    finally:
        proc.kill()
        proc.wait()


def test_pages_of_a_mapped_file_leave_the_process_that_mapped_them(
    reader_of: tuple[subprocess.Popen[str], Path],
) -> None:
    proc, path = reader_of
    assert [size for _, size in mapped_file_ranges(proc.pid, path)] == [16 * 2**20]
    assert _resident_kib(proc.pid, path) >= 15 * 1024
    released = page_out_mapped_file(proc.pid, path)
    if released is None:
        pytest.skip("the kernel does not let this process advise another's memory")
    assert released == 16 * 2**20
    assert _resident_kib(proc.pid, path) < 1024
    assert proc.poll() is None  # and the process lives on


def test_a_process_without_the_file_mapped_is_left_alone(
    reader_of: tuple[subprocess.Popen[str], Path], tmp_path: Path
) -> None:
    proc, _ = reader_of
    assert page_out_mapped_file(proc.pid, tmp_path / "other.bin") == 0


def test_the_local_s3_server_keeps_serving_after_its_start_up_pages_go(
    s3_server: Settings,
) -> None:
    from storage.client import ObjectStore
    from storage.server import SeaweedServer

    server = SeaweedServer(s3_server)
    pid = server.pid()
    assert pid is not None
    binary = Path(f"/proc/{pid}/exe").resolve()
    if server.release_start_up_pages(pid) is None:
        pytest.skip("the kernel does not let this process advise another's memory")
    # Its whole mapped executable is about 150 MB; what a request needs comes back.
    assert _resident_kib(pid, binary) < 20 * 1024
    store = ObjectStore.from_settings(s3_server)
    store.put_bytes(s3_server.bucket_uploads, "memory/after-release.txt", b"still here")
    assert store.get_bytes(s3_server.bucket_uploads, "memory/after-release.txt") == b"still here"
    assert _resident_kib(pid, binary) > 0
