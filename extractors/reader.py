"""Reading one file of a package under a time limit, in a process of its own.

A hostile PDF can make a parser spin (a content stream of millions of tiny
operators, a page tree a hundred thousand levels deep).  Threads cannot be
stopped, so :class:`GuardedReader` runs :func:`extractors.analysis.analyse_file`
in one long-lived worker process and kills it when a file takes longer than its limit; the file
then gets ``document.timeout``.  The worker is started once and reused, so a
normal file costs one pipe round trip (well under a millisecond plus the
copy of its bytes), not a process start: measured 9.1 ms a file through the
worker against 9.0 ms in-process, and 0.48 s once for the worker's start.

The PDF libraries (pypdf, pdfminer, pdfium) are imported by that worker only
(:mod:`extractors.analysis`), not by the processes that ask it: they would add
about 17 MiB to each warm worker of the intake pool, which never parses a PDF
itself.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import weakref
from multiprocessing.connection import Connection
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from medlicense.errors import ConfigurationError
from medlicense.memory import release_free_memory
from medlicense.models import DocumentInfo

DEFAULT_FILE_TIMEOUT = 120.0
STARTUP_TIMEOUT = 60.0
READY = "ready"  # seconds; a scanned 10-page file OCRs in ~20 s on one core


class FileAnalysis(BaseModel):
    """What one file turned out to be: its documents, or why it could not be read."""

    model_config = ConfigDict(frozen=True)

    documents: tuple[DocumentInfo, ...] = ()
    error_code: str | None = None
    error_message: str | None = None


def serve() -> None:
    """Worker loop (``python -m extractors.reader``): one request in, one answer out.

    The protocol runs over the original stdout, which is then pointed at stderr
    so a library that prints cannot corrupt it.
    """
    from extractors.analysis import answer

    out_fd = os.dup(1)
    os.dup2(2, 1)
    requests = Connection(0, writable=False)
    answers = Connection(out_fd, readable=False)
    answers.send(READY)  # imports are done: from now on time is the file's
    while True:
        try:
            request = requests.recv()
        except (EOFError, OSError):
            return
        answers.send(answer(request))
        # After the answer is on its way: the caller is not kept waiting for it.
        release_free_memory()


class GuardedReader:
    """One worker process, restarted after a file overran its time limit.

    The worker is a plain ``python -m extractors.reader`` subprocess rather than a
    multiprocessing child: forkserver and spawn children re-import the caller's
    main script, which a script without a ``__main__`` guard turns into a
    process explosion, and fork is unsafe in a threaded parent such as Prefect.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None

    def _start(self) -> tuple[Connection, Connection]:
        if self._proc is not None and self._proc.poll() is None and self._send and self._recv:
            return self._send, self._recv
        self._stop()
        root = str(Path(__file__).resolve().parents[1])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "extractors.reader"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert proc.stdin is not None and proc.stdout is not None
        self._proc = proc
        self._send = Connection(os.dup(proc.stdin.fileno()), readable=False)
        self._recv = Connection(os.dup(proc.stdout.fileno()), writable=False)
        proc.stdin.close()
        proc.stdout.close()
        # The start (imports, ~0.5 s) is not charged to the first file's limit.
        try:
            ready = self._recv.poll(STARTUP_TIMEOUT) and self._recv.recv() == READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            self._stop()
            raise ConfigurationError(
                "the document reader process did not start", code="config.reader_start"
            )
        return self._send, self._recv

    def _stop(self) -> None:
        for conn in (self._send, self._recv):
            if conn is not None:
                conn.close()
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait(5)
        self._proc = self._send = self._recv = None

    def read(
        self, name: str, data: bytes, sha256: str, *, max_pages: int, timeout: float
    ) -> FileAnalysis:
        with self._lock:
            send, recv = self._start()
            try:
                send.send((name, data, sha256, max_pages))
                if recv.poll(timeout):
                    result: FileAnalysis = recv.recv()
                    return result
            except (EOFError, OSError):
                self._stop()
                return FileAnalysis(
                    error_code="document.malformed",
                    error_message="the reader stopped while reading this file",
                )
            self._stop()
            return FileAnalysis(
                error_code="document.timeout",
                error_message=f"reading the file took longer than {timeout:g} s",
            )

    def close(self) -> None:
        with self._lock:
            self._stop()


_LOCAL = threading.local()
_ALL: weakref.WeakSet[GuardedReader] = weakref.WeakSet()


def _reader() -> GuardedReader:
    """This thread's reader: threads checking packages side by side do not queue.

    A reader whose thread ended is dropped with it; its worker sees the pipe
    close and exits on its own.
    """
    reader: GuardedReader | None = getattr(_LOCAL, "reader", None)
    if reader is None:
        reader = _LOCAL.reader = GuardedReader()
        _ALL.add(reader)
    return reader


@atexit.register
def _close_all() -> None:
    for reader in list(_ALL):
        reader.close()


def read_file(
    name: str,
    data: bytes,
    sha256: str,
    *,
    max_pages: int = 300,
    timeout: float | None = DEFAULT_FILE_TIMEOUT,
) -> FileAnalysis:
    """:func:`analyse_file` with a time limit; ``timeout=None`` reads in this process."""
    if timeout is None:
        from extractors.analysis import analyse_file

        return analyse_file(name, data, sha256, max_pages=max_pages)
    return _reader().read(name, data, sha256, max_pages=max_pages, timeout=timeout)


if __name__ == "__main__":
    # Answers must pickle as extractors.reader.FileAnalysis, not __main__.FileAnalysis.
    from extractors.reader import serve as _serve_module

    _serve_module()
