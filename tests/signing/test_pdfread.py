"""The indexing reader reads exactly what pyHanko's reader reads, object for
object, on real documents and on object streams with corrupted headers."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PdfFileWriter

from signing.pdfread import IndexingPdfFileReader
from signing.pki import PkiPaths
from signing.signer import PdfSigner
from signing.verify import verify_pdf

Reader = Callable[..., PdfFileReader]
READERS: tuple[Reader, Reader] = (PdfFileReader, IndexingPdfFileReader)


def _outcome(read: Callable[..., object], *args: object, **kwargs: object) -> tuple[str, str]:
    """What ``read(*args, **kwargs)`` produced: the serialised object, or its error."""
    try:
        obj = read(*args, **kwargs)
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}")
    out = BytesIO()
    assert isinstance(obj, generic.PdfObject)
    obj.write_to_stream(out)
    return (type(obj).__name__, out.getvalue().hex())


def _every_object(reader: PdfFileReader) -> list[tuple[str, str]]:
    """Every object of every revision, as of that revision, then as of now."""
    seen = []
    for revision in range(reader.xrefs.total_revisions):
        refs = reader.xrefs.explicit_refs_in_revision(revision)
        for ref in sorted(refs, key=lambda r: (r.idnum, r.generation)):
            seen.append(_outcome(reader.get_object, ref, revision=revision))
            seen.append(_outcome(reader.get_object, ref))
    return seen


@pytest.fixture(scope="module")
def lta_pdfa(pdf_signer: PdfSigner, pdfa_document: bytes) -> bytes:
    return pdf_signer.sign(pdfa_document, level="B-LTA", document_number="R-1")


def test_same_objects_as_pyhanko_in_a_signed_pdfa(lta_pdfa: bytes) -> None:
    plain, indexing = (cls(BytesIO(lta_pdfa)) for cls in READERS)
    # The point of the exercise: WeasyPrint's PDF/A keeps objects in streams.
    revisions = range(plain.xrefs.total_revisions)
    assert any(plain.xrefs.object_streams_used_in(r) for r in revisions)  # type: ignore[no-untyped-call]
    assert _every_object(indexing) == _every_object(plain)
    # And the index was what read them (pyHanko still calls the overridden method).
    assert isinstance(indexing, IndexingPdfFileReader) and indexing._headers


def test_verdict_unchanged_on_a_signed_pdfa(lta_pdfa: bytes, dev_pki: PkiPaths) -> None:
    report = verify_pdf(lta_pdfa, trust_roots=[dev_pki.root_cert])
    assert report.valid, report.errors
    assert report.modification_level == "LTA_UPDATES"
    assert report.pades_level == "B-LTA"


# --- malformed object streams ---------------------------------------------------------

MEMBERS = 6


def _member(i: int) -> generic.DictionaryObject:
    number = generic.NumberObject(i)  # type: ignore[no-untyped-call]
    return generic.DictionaryObject({generic.NameObject("/Member"): number})  # type: ignore[no-untyped-call]


def _pdf_with_object_stream() -> tuple[bytes, list[int]]:
    """A PDF whose objects live in one uncompressed object stream (so its header can be edited)."""
    writer = PdfFileWriter(stream_xrefs=True)  # type: ignore[no-untyped-call]
    object_stream = writer.prepare_object_stream(compress=False)  # type: ignore[no-untyped-call]
    refs = [
        writer.add_object(
            _member(i),
            obj_stream=object_stream,
        )
        for i in range(MEMBERS)
    ]
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue(), [ref.idnum for ref in refs]


def _header_span(pdf: bytes) -> tuple[int, int]:
    """Where the object stream's header (pairs of numbers before /First) sits in the file."""
    reader = PdfFileReader(BytesIO(pdf))
    last = reader.xrefs.total_revisions - 1
    for ref in reader.xrefs.object_streams_used_in(last):  # type: ignore[no-untyped-call]
        stream = reader.get_object(ref)  # type: ignore[no-untyped-call]
        header = stream.data[: stream["/First"]]
        start = pdf.index(stream.data)
        return start, start + len(header.rstrip())
    raise AssertionError("no object stream written")


def _lookups(pdf: bytes, numbers: list[int], strict: bool) -> dict[str, list[tuple[str, str]]]:
    # Last first, then all in order: the index must replay what it learnt
    # (and the errors it met) exactly as a scan from the start would.
    order = [numbers[-1], numbers[0], *numbers]
    results = {}
    for cls in READERS:
        reader = cls(BytesIO(pdf), strict=strict)
        results[cls.__name__] = [
            _outcome(reader.get_object, generic.Reference(n, 0, reader)) for n in order
        ]
    return results


def test_same_outcome_as_pyhanko_for_every_corrupted_header_byte() -> None:
    pdf, numbers = _pdf_with_object_stream()
    start, end = _header_span(pdf)
    assert end - start > 2 * MEMBERS
    clean = _lookups(pdf, numbers, strict=True)
    assert clean["PdfFileReader"] == clean["IndexingPdfFileReader"]
    assert all(kind == "DictionaryObject" for kind, _ in clean["PdfFileReader"])
    outcomes: set[str] = set()
    for position in range(start, end):
        # Digits also turn one member's number into another's: duplicates and
        # members found at the wrong index.
        for replacement in (b"x", b" ", b".", *(bytes([d]) for d in b"0123456789")):
            if pdf[position : position + 1] == replacement:
                continue
            damaged = pdf[:position] + replacement + pdf[position + 1 :]
            for strict in (True, False):
                results = _lookups(damaged, numbers, strict)
                assert results["IndexingPdfFileReader"] == results["PdfFileReader"], (
                    position,
                    replacement,
                    strict,
                )
                outcomes.update(kind for kind, _ in results["PdfFileReader"])
    # The corruptions reached pyHanko's error paths, not just harmless bytes.
    assert {"error", "NullObject", "DictionaryObject"} <= outcomes
