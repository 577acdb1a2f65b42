"""Reading one file of a package into documents.

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

Nothing here limits time: :mod:`extractors.reader` runs this module in a
process of its own, so only that process loads the PDF libraries.
"""

from __future__ import annotations

from extractors.classify import segment_pages
from extractors.fields import TABLE_KINDS, extract_fields
from extractors.pdf import OpenPdf, open_pdf
from extractors.reader import FileAnalysis
from medlicense.errors import DocumentError, MedLicenseError
from medlicense.models import DocumentInfo


def analyse_file(name: str, data: bytes, sha256: str, *, max_pages: int = 300) -> FileAnalysis:
    """Read, split, classify and extract one file (no time limit: see extractors.reader)."""
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


def answer(request: tuple[str, bytes, str, int]) -> FileAnalysis:
    """The reader process's answer to one request: whatever happens, a FileAnalysis."""
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
