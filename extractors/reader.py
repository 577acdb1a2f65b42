"""Reading one file of a package into documents, under a time limit.

:func:`analyse_file` is the whole per-file work: parse the PDF, OCR image-only
pages, split the pages into documents, classify them and read their fields.
Which text engine is used where (measured by ``benchmarks/extraction.py`` on
300 generated packages, 2 cores):

* **pypdfium2 for the page text** that classification and most fields read:
  1.7-2.3 ms a page against 53-67 ms for pdfplumber (2 798 pages; the range is
  an idle vs a loaded machine), and classification is as accurate on it: 100 %
  of 2 236 text documents and 33 scanned ones with either engine.  Getting
  there with pdfium needed the ``continued`` phrases of kinds.yaml: pdfium
  emits a wrapped table header cell ("Маман сертификатының №") on its own line
  near the top of page 2 of a qualification form, which read as a new
  certificate until a page opening with "Кіші түрі:" was declared a
  continuation;
* **ruled tables only where cell geometry is needed**: the application, the
  payment and the qualification form (:data:`extractors.fields.TABLE_KINDS`),
  where a wrapped label and its neighbour's value interleave in reading order
  and only the cells separate them.  pdfplumber's ``extract_tables`` cost
  40-45 ms a ruled page, nearly all of it pdfminer parsing the page again;
  :mod:`extractors.tables` runs pdfplumber's table finder on what pdfium has
  already parsed, 5-6 ms a ruled page, with the same tables on every page of
  the accuracy set.  The document is opened once (:class:`extractors.pdf.OpenPdf`)
  and the pages loaded for their text stay loaded for their tables.

On the 300-package accuracy set the whole check went from 187 s (pdfplumber
for everything) to about 65 s on two cores, and reading a package (OCR aside)
from 122-144 ms with pdfplumber tables to 27-31 ms of CPU; OCR of scanned pages is
most of what remains.

A hostile PDF can make a parser spin (a content stream of millions of tiny
operators, a page tree a hundred thousand levels deep).  Threads cannot be
stopped, so :class:`GuardedReader` runs :func:`analyse_file` in one long-lived
worker process and kills it when a file takes longer than its limit; the file
then gets ``document.timeout``.  The worker is started once and reused, so a
normal file costs one pipe round trip (well under a millisecond plus the
copy of its bytes), not a process start: measured 9.1 ms a file through the
worker against 9.0 ms in-process, and 0.48 s once for the worker's start.
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

from extractors.classify import segment_pages
from extractors.fields import TABLE_KINDS, extract_fields
from extractors.pdf import OpenPdf, open_pdf
from medlicense.errors import ConfigurationError, DocumentError, MedLicenseError
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


def analyse_file(name: str, data: bytes, sha256: str, *, max_pages: int = 300) -> FileAnalysis:
    """Read, split, classify and extract one file (no time limit: see GuardedReader)."""
    try:
        with open_pdf(data, max_pages=max_pages) as pdf:
            return FileAnalysis(documents=_documents(name, sha256, pdf))
    except DocumentError as exc:
        return FileAnalysis(error_code=exc.code, error_message=exc.message)


def _documents(name: str, sha256: str, pdf: OpenPdf) -> tuple[DocumentInfo, ...]:
    pages = pdf.text.pages
    segments = segment_pages([p.text for p in pages])
    documents: list[DocumentInfo] = []
    for seg in segments:
        span = pages[seg.first_page - 1 : seg.last_page]
        text = "\n".join(p.text for p in span)
        text_pages = [p.number for p in span if not p.ocr]
        tables = pdf.tables(text_pages) if seg.kind in TABLE_KINDS and text_pages else []
        documents.append(
            DocumentInfo(
                file=name,
                kind=seg.kind,
                pages=seg.last_page - seg.first_page + 1,
                sha256=sha256,
                confidence=seg.confidence,
                evidence=seg.evidence,
                language=seg.language,
                page_range=(seg.first_page, seg.last_page) if len(segments) > 1 else None,
                text_chars=sum(len(p.text) for p in span),
                ocr_pages=sum(1 for p in span if p.ocr),
                fields=extract_fields(seg.kind, text, tables=tables),
            )
        )
    return tuple(documents)


def _answer(request: tuple[str, bytes, str, int]) -> FileAnalysis:
    name, data, sha256, max_pages = request
    try:
        return analyse_file(name, data, sha256, max_pages=max_pages)
    except MedLicenseError as exc:
        return FileAnalysis(error_code=exc.code, error_message=exc.message)
    except RecursionError:
        return FileAnalysis(
            error_code="document.malformed", error_message="the PDF nests too deeply"
        )
    except Exception as exc:  # a parser bug must cost one file, not the worker
        return FileAnalysis(
            error_code="document.malformed",
            error_message=f"the PDF cannot be read: {type(exc).__name__}",
        )


def serve() -> None:
    """Worker loop (``python -m extractors.reader``): one request in, one answer out.

    The protocol runs over the original stdout, which is then pointed at stderr
    so a library that prints cannot corrupt it.
    """
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
        answers.send(_answer(request))
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
        return analyse_file(name, data, sha256, max_pages=max_pages)
    return _reader().read(name, data, sha256, max_pages=max_pages, timeout=timeout)


if __name__ == "__main__":
    # Answers must pickle as extractors.reader.FileAnalysis, not __main__.FileAnalysis.
    from extractors.reader import serve as _serve_module

    _serve_module()
