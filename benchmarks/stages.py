"""Stage micro-benchmarks and the in-process side-by-side comparisons.

Each function measures one stage on warm objects (context built once, as a
worker has it) and returns seconds per unit; the unit is named in the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from extractors.classify import segment_pages
from extractors.fields import TABLE_KINDS, extract_fields, plumber_tables
from extractors.ocr import ocr_pages
from extractors.package import open_package
from extractors.pdf import _pdfium_text, _plumber_text, sniff_pdf
from extractors.tables import read_tables
from medlicense.errors import DocumentError, PackageError
from medlicense.processing import IntakeContext
from templates.render import Renderer
from templates.samples import sample_records


@dataclass
class StageTime:
    stage: str
    unit: str
    units: int
    seconds: float

    @property
    def per_unit(self) -> float:
        return self.seconds / self.units if self.units else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "seconds_per_unit": self.per_unit}


class _Clock:
    """Accumulates time and unit counts per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.units: dict[str, int] = {}

    def add(self, stage: str, seconds: float, units: int = 1) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.units[stage] = self.units.get(stage, 0) + units


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# --- reading: open and split, classify, extract fields, OCR ---------------------------------


@dataclass
class ReadingResult:
    fast: dict[str, StageTime]
    plumber_seconds: float  # the same packages, pdfplumber for text and tables everywhere
    fast_seconds: float
    packages: int


def reading_stages(packages: Sequence[tuple[str, bytes]]) -> ReadingResult:
    """Open and split, classify and extract, on the fast path (pypdfium2 text, tables read
    from pdfium's objects only where the kind needs them) and with pdfplumber everywhere
    (text and tables), on the same files."""
    clock = _Clock()
    plumber = 0.0
    for name, data in packages:
        dt_, opened = _timed(lambda d=data, n=name: _open(d, n))  # type: ignore[misc]
        clock.add("open and split", dt_, 0)
        if opened is None:
            continue
        for file in opened.files:
            try:
                sniff_pdf(file.data)
            except DocumentError:
                continue
            try:
                dt_, texts = _timed(lambda f=file: _pdfium_text(f.data))  # type: ignore[misc]
            except DocumentError:
                continue
            if not any(len(t.strip()) >= 20 for t in texts):
                continue  # image-only: the OCR stage covers it
            clock.add("open and split", dt_, len(texts))
            dt_, segments = _timed(lambda t=texts: segment_pages(t))  # type: ignore[misc]
            clock.add("classify", dt_, len(texts))
            t0 = time.perf_counter()
            for seg in segments:
                pages = list(range(seg.first_page, seg.last_page + 1))
                text = "\n".join(texts[p - 1] for p in pages)
                tables = read_tables(file.data, pages) if seg.kind in TABLE_KINDS else []
                extract_fields(seg.kind, text, tables=tables)
            clock.add("extract fields", time.perf_counter() - t0, len(segments))
            # The alternative: pdfplumber for the text layer and tables on every document.
            t0 = time.perf_counter()
            ptexts = _plumber_text(file.data)
            for seg in segment_pages(ptexts):
                pages = list(range(seg.first_page, seg.last_page + 1))
                tables = plumber_tables(file.data, pages)
                extract_fields(seg.kind, "\n".join(ptexts[p - 1] for p in pages), tables=tables)
            plumber += time.perf_counter() - t0
    fast = {
        "open and split": StageTime(
            "open and split",
            "page",
            clock.units.get("open and split", 0),
            clock.seconds.get("open and split", 0.0),
        ),
        "classify": StageTime(
            "classify", "page", clock.units.get("classify", 0), clock.seconds.get("classify", 0.0)
        ),
        "extract fields": StageTime(
            "extract fields",
            "document",
            clock.units.get("extract fields", 0),
            clock.seconds.get("extract fields", 0.0),
        ),
    }
    # Text-layer files only, so both sides read the same pages (ZIP opening is on the
    # fast side only: it is small, and it makes the ratio conservative).
    fast_total = sum(s.seconds for s in fast.values())
    return ReadingResult(
        fast=fast, plumber_seconds=plumber, fast_seconds=fast_total, packages=len(packages)
    )


def _open(data: bytes, name: str) -> Any:
    try:
        return open_package(data, name)
    except PackageError:
        return None


def ocr_stage(packages: Sequence[tuple[str, bytes]], *, max_pages: int) -> StageTime:
    """OCR of image-only pages (tesseract), per page."""
    seconds, pages = 0.0, 0
    for name, data in packages:
        opened = _open(data, name)
        if opened is None:
            continue
        for file in opened.files:
            if pages >= max_pages:
                break
            try:
                texts = _pdfium_text(file.data)
            except DocumentError:
                continue
            blank = [i + 1 for i, t in enumerate(texts) if len(t.strip()) < 20]
            blank = blank[: max_pages - pages]
            if not blank:
                continue
            dt_, _ = _timed(lambda f=file, b=blank: ocr_pages(f.data, b))  # type: ignore[misc]
            seconds += dt_
            pages += len(blank)
    return StageTime("OCR", "page", pages, seconds)


# --- rendering, signing, storage ---------------------------------------------------------------


def render_stage(renderer: Renderer, repeat: int) -> tuple[StageTime, StageTime]:
    """Per document: the reused renderer against a fresh WeasyPrint setup per document."""
    records = list(sample_records().values())
    renderer.render(records[0])  # first layout loads fonts; not part of the steady state
    reused, fresh, n = 0.0, 0.0, 0
    for _ in range(repeat):
        for record in records:
            dt_, _ = _timed(lambda r=record: renderer.render(r))  # type: ignore[misc]
            reused += dt_
            dt_, _ = _timed(lambda r=record: Renderer().render(r))  # type: ignore[misc]
            fresh += dt_
            n += 1
    return (
        StageTime("render (reused setup)", "document", n, reused),
        StageTime("render (fresh setup)", "document", n, fresh),
    )


def sample_pdf(renderer: Renderer) -> bytes:
    """A rendered receipt, the document signed most often."""
    return renderer.render(next(iter(sample_records().values())))


def sign_stage(ctx: IntakeContext, pdf: bytes, repeat: int) -> dict[str, StageTime]:
    """The cached-key signer (the pipeline's) at each PAdES level, per signature."""
    out = {}
    for level in ("B-B", "B-T", "B-LTA"):
        ctx.signer.sign(pdf, level=level)  # warm-up: TSA probe, OCSP, CRL
        dt_, _ = _timed(lambda lv=level: [ctx.signer.sign(pdf, level=lv) for _ in range(repeat)])  # type: ignore[misc]
        out[level] = StageTime(f"sign {level}", "signature", repeat, dt_)
    return out


def stock_pyhanko_stage(ctx: IntakeContext, pdf: bytes, repeat: int) -> StageTime:
    """pyHanko used as its documentation shows: key loaded from the PKCS#12 file and a
    stock HTTP timestamper per document, PAdES B-T."""
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers, timestamps

    settings = ctx.settings
    passphrase = settings.signer_passphrase.get_secret_value().encode()
    tsa = ctx.signer.tsa_url

    def once() -> bytes:
        signer = signers.SimpleSigner.load_pkcs12(  # type: ignore[no-untyped-call]
            str(settings.resolved_signer_pkcs12), passphrase=passphrase
        )
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1",
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
        )
        out = signers.sign_pdf(
            IncrementalPdfFileWriter(BytesIO(pdf)),
            meta,
            signer=signer,
            timestamper=timestamps.HTTPTimeStamper(tsa) if tsa else None,
        )
        data: bytes = out.getvalue()
        return data

    once()
    dt_, _ = _timed(lambda: [once() for _ in range(repeat)])
    return StageTime("sign B-T (stock pyHanko)", "signature", repeat, dt_)


def store_stage(ctx: IntakeContext, pdf: bytes, repeat: int) -> StageTime:
    """One object written and read back (a signed receipt's size), per object."""
    s = ctx.settings
    t0 = time.perf_counter()
    for i in range(repeat):
        key = f"bench/store/{i:05d}.pdf"
        ctx.store.put_bytes(s.bucket_artifacts, key, pdf, content_type="application/pdf")
        ctx.store.get_bytes(s.bucket_artifacts, key)
    return StageTime("store (put + get)", "object", repeat, time.perf_counter() - t0)


def load_packages(folder: Path, names: Iterable[str]) -> list[tuple[str, bytes]]:
    return [(n, (folder / n).read_bytes()) for n in names]
