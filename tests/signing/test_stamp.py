"""The visible stamp: exact text (pdftotext), correct glyph widths, PDF/A-friendly widget."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fontTools.ttLib import TTFont
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from medlicense.errors import SigningError
from signing import stamp
from signing.pki import PkiPaths
from signing.signer import PdfSigner
from signing.stamp import (
    DEJAVU_SANS,
    FONTS,
    EmScaledGlyphAccumulator,
    EmScaledGlyphAccumulatorFactory,
    StampSpec,
    scaled_advance,
    stamp_lines,
)
from signing.verify import verify_pdf
from templates import SIGNATURE_AREA
from tests.signing.helpers import PROVIDER_NAME, make_pdf, pdftotext

NUMBER = "KZ75VEG00012345"
SAMPLE = "Қазақстан Республикасы — Республика Казахстан, ӘҒҚҢӨҰҮҺІ әғқңөұүһі"


@pytest.fixture(scope="module")
def stamped(pdf_signer: PdfSigner, pdfa_document: bytes) -> bytes:
    return pdf_signer.sign(pdfa_document, document_number=NUMBER, stamp=StampSpec())


def _widget(data: bytes) -> generic.DictionaryObject:
    reader = PdfFileReader(BytesIO(data))
    field: generic.DictionaryObject = reader.embedded_signatures[0].sig_field
    return field


def _fonts(obj: generic.PdfObject, seen: set[int] | None = None) -> list[generic.DictionaryObject]:
    """Every Type0 font reachable from an appearance stream (fonts sit in nested XObjects)."""
    seen = set() if seen is None else seen
    found: list[generic.DictionaryObject] = []
    if isinstance(obj, generic.IndirectObject):
        if obj.idnum in seen:
            return found
        seen.add(obj.idnum)
        obj = obj.get_object()  # type: ignore[no-untyped-call]
    if isinstance(obj, generic.DictionaryObject):
        if obj.get("/Subtype") == "/Type0":
            found.append(obj)
        for key in obj:
            found.extend(_fonts(obj.raw_get(key), seen))
    elif isinstance(obj, generic.ArrayObject):
        for item in obj:
            found.extend(_fonts(item, seen))
    return found


def _widths(cidfont: generic.DictionaryObject) -> dict[int, int]:
    """``/W`` as {CID: width}; pyHanko writes only the ``c [w1 w2 ...]`` form."""
    w = list(cidfont["/W"])
    out: dict[int, int] = {}
    for first, run in zip(w[::2], w[1::2], strict=True):
        for offset, width in enumerate(run):
            out[int(first) + offset] = int(width)
    return out


def _expected_widths(cids: set[int]) -> dict[int, int]:
    tt = TTFont(str(DEJAVU_SANS))
    upem = tt["head"].unitsPerEm
    # CIDToGIDMap /Identity: CID == glyph id.
    return {cid: scaled_advance(tt["hmtx"][tt.getGlyphName(cid)][0], upem) for cid in cids}


def test_stamp_text_extracts_exactly(stamped: bytes, tmp_path: Path) -> None:
    path = tmp_path / "stamped.pdf"
    path.write_bytes(stamped)
    report = verify_pdf(stamped, trust_roots=[])  # only for the signing time
    signed_at = report.details[0].signing_time
    assert signed_at is not None
    expected = stamp_lines(PROVIDER_NAME, signed_at.astimezone(ZoneInfo("Asia/Oral")), NUMBER)
    text = pdftotext(path, SIGNATURE_AREA.box_pt)
    assert [line for line in text.splitlines() if line.strip()] == expected
    # Oral is UTC+5 all year round.
    assert "(UTC+0500)" in expected[2]


def test_stamp_glyph_widths_match_the_font(stamped: bytes) -> None:
    fonts = _fonts(_widget(stamped).raw_get("/AP"))
    assert fonts, "the stamp appearance uses no Type0 font"
    for font in fonts:
        cidfont = font["/DescendantFonts"][0]
        assert "DejaVuSans" in str(cidfont["/BaseFont"])
        widths = _widths(cidfont)
        assert len(widths) > 30  # every distinct letter of the four lines
        assert widths == _expected_widths(set(widths))
        descriptor = cidfont["/FontDescriptor"]
        assert "/FontFile2" in descriptor  # embedded, as PDF/A requires
        # Metrics in glyph space (1000/em), not DejaVu's 2048/em.
        assert int(descriptor["/Ascent"]) < 1000


@pytest.mark.parametrize(
    ("factory", "scaled"),
    [(GlyphAccumulatorFactory, False), (EmScaledGlyphAccumulatorFactory, True)],
)
def test_pyhanko_2048_upem_pitfall(factory: type[GlyphAccumulatorFactory], scaled: bool) -> None:
    # Documents the pitfall: pyHanko 0.38 writes /W in font units.  If the plain
    # factory ever passes as "scaled", pyHanko fixed it and the workaround can go.
    writer = IncrementalPdfFileWriter(BytesIO(make_pdf()))
    engine = factory(font_file=str(DEJAVU_SANS), font_size=8).create_font_engine(writer)
    engine.shape(SAMPLE)
    engine.prepare_write()  # type: ignore[no-untyped-call]
    widths = _widths(engine.cidfont_obj)
    expected = _expected_widths(set(widths))
    assert (widths == expected) is scaled
    if not scaled:
        tt = TTFont(str(DEJAVU_SANS))
        assert tt["head"].unitsPerEm == 2048
        assert all(widths[c] > expected[c] * 2 for c in widths if expected[c])


def test_widget_is_printable_opaque_and_in_the_reserved_box(stamped: bytes) -> None:
    widget = _widget(stamped)
    assert int(widget["/F"]) & 4, "PDF/A: a visible annotation must have the Print flag"
    assert int(widget["/F"]) & (1 | 2 | 32) == 0  # not Invisible / Hidden / NoView
    assert [round(float(v), 1) for v in widget["/Rect"]] == [
        round(v, 1) for v in SIGNATURE_AREA.box_pt
    ]
    assert set(widget["/AP"].keys()) == {"/N"}
    raw = stamped[-60_000:]
    assert b"/CA " not in raw and b"/ca " not in raw and b"/SMask" not in raw
    reader = PdfFileReader(BytesIO(stamped))
    last_page = reader.root["/Pages"]["/Kids"][-1]
    assert any(a.get_object() is widget or a.get_object() == widget for a in last_page["/Annots"])


def test_stamp_keeps_pdfa_identification(stamped: bytes, pdfa_document: bytes) -> None:
    assert stamped.startswith(pdfa_document)
    xmp = PdfFileReader(BytesIO(stamped)).root["/Metadata"].data.decode("utf-8")
    assert 'pdfaid:part="3"' in xmp


def test_stamp_time_is_oral_time_and_matches_signature(stamped: bytes) -> None:
    sig = PdfFileReader(BytesIO(stamped)).embedded_signatures[0]
    # /M carries the Oral offset, whatever the server's own time zone is.
    assert str(sig.sig_object["/M"]).endswith("+05'00'"), sig.sig_object["/M"]
    claimed = sig.self_reported_timestamp
    assert claimed is not None and claimed.microsecond == 0
    assert claimed.utcoffset() == dt.timedelta(hours=5)


def test_stamp_requires_a_document_number(pdf_signer: PdfSigner) -> None:
    with pytest.raises(SigningError) as info:
        pdf_signer.sign(make_pdf(), stamp=StampSpec())
    assert info.value.code == "signing.stamp_needs_number"


def test_stamp_in_a_custom_box(pdf_signer: PdfSigner, dev_pki: PkiPaths, tmp_path: Path) -> None:
    box = (72.0, 72.0, 400.0, 160.0)
    signed = pdf_signer.sign(make_pdf(), document_number="X-7", stamp=StampSpec(box=box))
    assert verify_pdf(signed, trust_roots=[dev_pki.root_cert]).valid
    path = tmp_path / "custom.pdf"
    path.write_bytes(signed)
    assert "X-7" in pdftotext(path, box)


def test_stamps_share_one_font_subset_and_each_reads_exactly(
    pdf_signer: PdfSigner, pdfa_document: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The font subset is made once per glyph set; later stamps reuse its bytes and still
    draw their own text with the right widths."""
    from fontTools import subset

    pdf_signer.sign(pdfa_document, document_number="KZ26-0001", stamp=StampSpec())
    calls: list[int] = []
    original = subset.Subsetter.subset

    def counting(self: subset.Subsetter, font: TTFont) -> None:
        calls.append(1)
        original(self, font)

    monkeypatch.setattr(subset.Subsetter, "subset", counting)
    for number in ("KZ26-0002", "KZ26-0913"):
        signed = pdf_signer.sign(pdfa_document, document_number=number, stamp=StampSpec())
        path = tmp_path / f"{number}.pdf"
        path.write_bytes(signed)
        text = pdftotext(path, SIGNATURE_AREA.box_pt)
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines[-1].endswith(f": {number}"), text
        [font] = _fonts(_widget(signed).raw_get("/AP"))
        cidfont = font["/DescendantFonts"][0]
        widths = _widths(cidfont)
        assert widths == _expected_widths(set(widths))
        assert "/FontFile2" in cidfont["/FontDescriptor"]
    assert calls == [], "a later stamp subset the font again"


# --- one parsed font per process ---------------------------------------------------------


def _engine(text: str = SAMPLE) -> EmScaledGlyphAccumulator:
    writer = IncrementalPdfFileWriter(BytesIO(make_pdf()))
    engine = EmScaledGlyphAccumulatorFactory(
        font_file=str(DEJAVU_SANS), font_size=8
    ).create_font_engine(writer)
    engine.shape(text)
    return engine


def _snapshot(tt: TTFont) -> tuple[object, ...]:
    """What subsetting or lazy loading would change in a TTFont."""
    return (
        sorted(tt.tables),
        len(tt.getGlyphOrder()),
        len(tt["glyf"].glyphs),
        len(tt["hmtx"].metrics),
        len(tt.getBestCmap()),
        tt["maxp"].numGlyphs,
    )


def test_engines_share_one_parsed_font() -> None:
    first, second = _engine(), _engine("Басқа мәтін")
    assert first.tt is second.tt
    assert first._font is second._font is FONTS.get(DEJAVU_SANS)
    # Each engine still has its own HarfBuzz font (the scale is set per engine),
    # its own glyph bookkeeping and its own subset prefix.
    assert first.hb_font is not second.hb_font
    assert first._glyphs is not second._glyphs


def test_engine_has_every_attribute_of_pyhankos() -> None:
    """Our engine sets up pyHanko's GlyphAccumulator state itself; a pyHanko that adds
    an attribute to its __init__ must not leave our engine without it."""
    writer = IncrementalPdfFileWriter(BytesIO(make_pdf()))
    with DEJAVU_SANS.open("rb") as handle:
        stock = GlyphAccumulator(writer=writer, font_handle=handle, font_size=8)
        assert set(vars(stock)) <= set(vars(_engine()))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(
        alphabet=st.sampled_from(SAMPLE + "ЁёЪъЩщЭэЮюЯя0123456789«»—–!?%&*ĀāÉéÜüßŁł"),
        min_size=1,
        max_size=40,
    )
)
def test_a_subset_miss_subsets_a_copy_and_keeps_glyph_ids(text: str) -> None:
    shared = FONTS.get(DEJAVU_SANS).tt
    before = _snapshot(shared)
    previous, stamp.SUBSETS = stamp.SUBSETS, stamp._SubsetCache()  # force a miss
    try:
        engine = _engine(text)
        engine.prepare_write()  # type: ignore[no-untyped-call]
        subset_bytes = engine._subset_bytes
    finally:
        stamp.SUBSETS = previous
    assert _snapshot(shared) == before, "subsetting changed the shared font"
    assert subset_bytes is not None
    part = TTFont(BytesIO(subset_bytes))
    # retain_gids: CIDToGIDMap /Identity needs every used glyph at its original id.
    assert part["maxp"].numGlyphs > max(engine._glyphs)
    for gid in engine._glyphs:
        name = shared.getGlyphName(gid)
        assert part.getGlyphName(gid) == name
        original, kept = shared["glyf"][name], part["glyf"][name]
        assert kept.numberOfContours == original.numberOfContours, name
        assert part["hmtx"][name] == shared["hmtx"][name]
    widths = _widths(engine.cidfont_obj)
    assert widths == _expected_widths(set(widths))


def test_engines_only_read_the_shared_font() -> None:
    """Everything an engine reads was decompiled at load: engines in other threads
    never see a table appear (fontTools decompiles lazily, writing to the font)."""
    shared = FONTS.get(DEJAVU_SANS).tt
    before = _snapshot(shared)
    # Combining accents make two-glyph clusters, for which pyHanko reads the cmap.
    engine = _engine(SAMPLE + " е\u0301 g\u0308")
    assert engine._GlyphAccumulator__reverse_cmap is not None
    engine.prepare_write()
    assert _snapshot(shared) == before


def test_first_load_happens_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    fonts = stamp._FontPrograms()
    loads: list[Path] = []
    original = stamp._load_font_program

    def counting(path: Path, key: stamp.FontKey) -> stamp.FontProgram:
        loads.append(path)
        return original(path, key)

    monkeypatch.setattr(stamp, "_load_font_program", counting)
    barrier = threading.Barrier(8)

    def load() -> stamp.FontProgram:
        barrier.wait()
        return fonts.get(DEJAVU_SANS)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: load(), range(8)))
    assert len(loads) == 1
    assert all(result is results[0] for result in results)


def test_a_replaced_font_file_is_parsed_again(tmp_path: Path) -> None:
    fonts = stamp._FontPrograms()
    copy = tmp_path / "font.ttf"
    shutil.copyfile(DEJAVU_SANS, copy)
    first = fonts.get(copy)
    assert fonts.get(copy) is first
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = fonts.get(copy)
    assert second is not first and second.key != first.key


def test_stamp_with_new_glyphs_reads_exactly_after_a_miss(
    pdf_signer: PdfSigner, pdfa_document: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stamp, "SUBSETS", stamp._SubsetCache())
    name = "Ёлкин Щукин Ъ Эмма Юлия Ягодкина ЖШ"
    signed = pdf_signer.sign(
        pdfa_document, document_number=NUMBER, stamp=StampSpec(signer_name=name)
    )
    path = tmp_path / "new-glyphs.pdf"
    path.write_bytes(signed)
    lines = [line for line in pdftotext(path, SIGNATURE_AREA.box_pt).splitlines() if line]
    assert lines[1].endswith(name), lines
    assert lines[-1].endswith(NUMBER), lines


def test_stamp_font_is_an_embedded_unicode_subset(stamped: bytes, tmp_path: Path) -> None:
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (poppler-utils) is required")
    path = tmp_path / "stamped.pdf"
    path.write_bytes(stamped)
    rows = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    stamp_rows = [row for row in rows if "DejaVuSans-Identity-H" in row or "+DejaVuSans" in row]
    assert stamp_rows, rows
    for row in stamp_rows:
        cells = row.split()
        # Columns from the right: emb, sub, uni, object, ID; the type may hold spaces.
        assert cells[-5:-2] == ["yes", "yes", "yes"], row
        assert "CID TrueType" in row, row
