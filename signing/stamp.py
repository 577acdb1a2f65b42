"""The visible signature stamp: who signed, when (Oral time) and which document.

pyHanko lays text out with HarfBuzz and embeds a subset of an OpenType font, but
as of 0.38 its ``GlyphAccumulator`` writes the glyph advances into the font's
``/W`` array in *font units*.  PDF reads ``/W`` in thousandths of an em, so for a
font with 2048 units per em (DejaVu, most TrueType fonts) every glyph is drawn
2.048 times as wide as HarfBuzz measured it: the stamp text runs out of its box,
and PDF/A's rule that ``/W`` agree with the embedded font program (ISO 19005-3
§6.2.11.5) is broken.  :class:`EmScaledGlyphAccumulator` works in 1000 units per
em throughout (HarfBuzz scale, ``/W``, font descriptor metrics), which is what
the PDF text model assumes.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import uharfbuzz as hb  # type: ignore[import-untyped]  # ships no type information
from fontTools import subset
from fontTools.ttLib import TTFont
from pydantic import BaseModel, ConfigDict, Field
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.api import FontEngine
from pyhanko.pdf_utils.font.opentype import (
    CIDFont,
    CIDFontType0,
    CIDFontType2,
    GlyphAccumulator,
    GlyphAccumulatorFactory,
    _check_ot_tag,
    _read_ps_name,
)
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import TextStampStyle

from signing import install_speedups

install_speedups()

DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
PDF_GLYPH_UNITS = 1000  # PDF glyph space: 1000 units per em (ISO 32000-1 §9.2.4)
DEFAULT_TIMEZONE = "Asia/Oral"

# Parameters of the stamp text; pyHanko fills ``ts`` from the signing time.
STAMP_TEXT = (
    "Электрондық цифрлық қолтаңбамен қол қойылды / Подписано электронной цифровой подписью\n"
    "Қол қойған / Подписант: %(signer_name)s\n"
    "Қол қойылған уақыт / Время подписания: %(ts)s\n"
    "Құжат нөмірі / Номер документа: %(document_number)s"
)
# Oral keeps UTC+5 all year; the explicit offset makes the time unambiguous on paper.
TIMESTAMP_FORMAT = "%d.%m.%Y %H:%M:%S (UTC%z)"


class StampSpec(BaseModel):
    """Where and how to draw the visible signature on the last page.

    ``box`` is ``(x1, y1, x2, y2)`` in PDF points from the bottom-left corner; the
    default is the strip every template leaves blank (``templates.SIGNATURE_AREA``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    box: tuple[float, float, float, float] | None = None
    page: int = -1  # negative counts from the end: -1 is the last page
    font_file: Path = DEJAVU_SANS
    font_size: int = Field(8, ge=4, le=24)
    timezone: str = DEFAULT_TIMEZONE
    signer_name: str | None = None  # default: the certificate's commonName

    def resolved_box(self) -> tuple[float, float, float, float]:
        if self.box is not None:
            return self.box
        # Imported here: the templates package pulls in WeasyPrint, which a
        # process that only signs or verifies should not have to load.
        from templates import SIGNATURE_AREA

        return SIGNATURE_AREA.box_pt


def stamp_lines(signer_name: str, when: dt.datetime, document_number: str) -> list[str]:
    """The stamp text exactly as drawn (tests compare ``pdftotext`` output to it)."""
    params = {
        "signer_name": signer_name,
        "ts": when.strftime(TIMESTAMP_FORMAT),
        "document_number": document_number,
    }
    return (STAMP_TEXT % params).split("\n")


def stamp_text_params(signer_name: str, document_number: str) -> dict[str, str]:
    return {"signer_name": signer_name, "document_number": document_number}


def stamp_style(spec: StampSpec) -> TextStampStyle:
    font = EmScaledGlyphAccumulatorFactory(
        font_file=str(spec.font_file),
        font_size=spec.font_size,
        # Kazakh and Russian are both Cyrillic; naming the script saves HarfBuzz
        # a guess and keeps the shaping identical for every line.
        ot_script_tag="cyrl",
    )
    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        timestamp_format=TIMESTAMP_FORMAT,
        text_box_style=TextBoxStyle(
            font=font, font_size=spec.font_size, leading=round(spec.font_size * 1.35)
        ),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(left=8, right=8, top=8, bottom=8),
            # A long provider name must shrink the text, never overflow the box.
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
        ),
        border_width=1,
        # No background: pyHanko draws backgrounds through a constant-alpha
        # ExtGState, the one transparency feature a PDF/A stamp does not need.
        background=None,
    )


# Characters every stamp may draw besides its fixed text: the digits and separators
# of times and document numbers, and Latin capitals of numbers such as "KZ26-0001".
# Shaped into every stamp so that stamps of one signer use the same glyphs, and
# the font subset made for one serves all (see _SubsetCache).
STAMP_REPERTOIRE = "0123456789 .,:;/-+()№ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _SubsetCache:
    """Font subsets by (font file, glyph ids), kept for the life of the process.

    fontTools needs ~0.3 s of CPU to subset DejaVu Sans, for every stamp; with
    the glyph ids kept (CIDToGIDMap /Identity) the subset depends only on the
    font and the set of glyphs, so it is made once and its bytes reused.
    """

    def __init__(self, limit: int = 64) -> None:
        self._data: dict[tuple[FontKey, frozenset[int]], bytes] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def get(self, key: tuple[FontKey, frozenset[int]]) -> bytes | None:
        return self._data.get(key)

    def put(self, key: tuple[FontKey, frozenset[int]], data: bytes) -> None:
        # Locked: two threads evicting at once would pop the same oldest key.
        with self._lock:
            if key not in self._data and len(self._data) >= self._limit:
                self._data.pop(next(iter(self._data)))
            self._data[key] = data


SUBSETS = _SubsetCache()

# A font file as identified on disk: resolved path, modification time, size.  A
# file replaced while the process runs is then read afresh, never mixed with
# metrics or subsets of its former content.
FontKey = tuple[str, int, int]

# What a stamp's font engine reads from the font, decompiled when the font is
# first loaded.  fontTools decompiles tables (and cmap subtables) lazily on first
# access, which writes to the TTFont; after this, engines sharing it only read.
_ENGINE_TABLES = ("head", "hhea", "maxp", "OS/2", "post", "name", "cmap", "hmtx")


@dataclass(frozen=True, eq=False)
class FontProgram:
    """One font file, parsed once per process and shared read-only by every engine.

    pyHanko's ``GlyphAccumulator`` parses the font anew for each engine, i.e.
    for every stamp: decompiling the glyf, hmtx and post tables of DejaVu Sans
    took ~10 ms of CPU per stamp, ten times the rest of setting up its text.
    """

    key: FontKey
    data: bytes
    tt: TTFont  # never subset, saved or otherwise changed: see EmScaledGlyphAccumulator
    face: hb.Face  # HarfBuzz faces are immutable and safe to share between threads

    @property
    def truetype(self) -> bool:
        """TrueType outlines (no CFF): the only kind whose engines share :attr:`tt`."""
        return "CFF " not in self.tt

    def parsed_copy(self) -> TTFont:
        """A private TTFont of the same file, for whoever needs to change one."""
        return TTFont(BytesIO(self.data))


def _load_font_program(path: Path, key: FontKey) -> FontProgram:
    data = path.read_bytes()
    tt = TTFont(BytesIO(data))
    for tag in _ENGINE_TABLES:
        if tag in tt:
            _ = tt[tag]
    tt.getGlyphOrder()
    tt.getReverseGlyphMap()
    tt.getGlyphSet(preferCFF=True)  # glyf/loca (or CFF), and the metrics it reads
    tt["cmap"].buildReversed()  # every cmap subtable, as pyHanko's cluster fallback reads them
    return FontProgram(key=key, data=data, tt=tt, face=hb.Face(data))


class _FontPrograms:
    """The parsed fonts of this process, by :data:`FontKey`."""

    def __init__(self, limit: int = 8) -> None:
        self._fonts: dict[FontKey, FontProgram] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def get(self, font_file: str | Path) -> FontProgram:
        path = Path(font_file).resolve()
        stat = path.stat()
        key: FontKey = (str(path), stat.st_mtime_ns, stat.st_size)
        font = self._fonts.get(key)
        if font is not None:
            return font
        # One thread parses; the others wait for its result instead of parsing too,
        # and nobody sees a TTFont whose tables are still being decompiled.
        with self._lock:
            font = self._fonts.get(key)
            if font is None:
                font = _load_font_program(path, key)
                if len(self._fonts) >= self._limit:
                    self._fonts.pop(next(iter(self._fonts)))
                self._fonts[key] = font
        return font

    def clear(self) -> None:
        with self._lock:
            self._fonts.clear()


FONTS = _FontPrograms()


class EmScaledGlyphAccumulator(GlyphAccumulator):
    """A ``GlyphAccumulator`` whose every metric is in 1000 units per em.

    It also takes its font already parsed (a :class:`FontProgram`) instead of a
    file handle, and never changes it: the subset is made from a private copy.
    """

    def __init__(
        self,
        writer: BasePdfFileWriter,
        font: FontProgram,
        font_size: int,
        *,
        features: Any = None,
        ot_language_tag: str | None = None,
        ot_script_tag: str | None = None,
        writing_direction: str | None = None,
        bcp47_lang_code: str | None = None,
        obj_stream: Any = None,
    ) -> None:
        # GlyphAccumulator.__init__ minus its parsing of the font: the same
        # attributes, set from the shared font (tests/signing/test_stamp.py
        # checks that no attribute of pyHanko's is missing).
        self._font = font
        # CFF-based engines write into their TTFont (pyHanko's CIDFontType0 renames
        # the CFF font), so only TrueType engines share it.
        tt = font.tt if font.truetype else font.parsed_copy()
        self.tt = tt
        self.hb_font = hb.Font(font.face)
        base_ps_name = _read_ps_name(tt)
        FontEngine.__init__(
            self,
            writer,
            base_ps_name,
            embedded_subset=True,
            obj_stream=obj_stream,
            font_size=font_size,
        )
        self._font_ref = writer.allocate_placeholder()
        self.cidfont_obj: CIDFont
        if "CFF " in tt:
            self.cff_charset = tt["CFF "].cff[0].charset
            self.cidfont_obj = cff_font = CIDFontType0(tt, base_ps_name, self.subset_prefix)
            self.use_raw_gids = cff_font.use_raw_gids
        else:
            self.cff_charset = None
            self.use_raw_gids = True
            self.cidfont_obj = CIDFontType2(tt, base_ps_name, self.subset_prefix)
        self.features = features
        self._glyphs: dict[int, tuple[int, int]] = {}
        self._glyph_set = tt.getGlyphSet(preferCFF=True)
        self._cid_to_unicode: dict[int, str] = {}
        self._GlyphAccumulator__reverse_cmap = None  # pyHanko's name-mangled lazy cache
        self.ot_language_tag = _check_ot_tag(ot_language_tag)  # type: ignore[no-untyped-call]
        self.ot_script_tag = _check_ot_tag(ot_script_tag)  # type: ignore[no-untyped-call]
        if writing_direction not in (None, "ltr", "rtl", "ttb", "btt"):
            raise ValueError("Writing direction must be one of 'ltr', 'rtl', 'ttb' or 'btt'.")
        self.writing_direction = writing_direction
        self.bcp47_lang_code = bcp47_lang_code
        self._subset_created = self._write_prepared = False

        self._subset_bytes: bytes | None = None
        # pyHanko asks the CID font for its file when it writes it; hand it the
        # subset bytes (cached or just made) instead of re-saving the font.
        self.cidfont_obj.set_font_file = self._set_font_file  # type: ignore[method-assign]
        self.font_units_per_em: int = tt["head"].unitsPerEm
        factor = PDF_GLYPH_UNITS / self.font_units_per_em
        # HarfBuzz then reports advances and offsets in PDF glyph units, which is
        # what pyHanko feeds into TJ adjustments and /W.
        self.hb_font.scale = (PDF_GLYPH_UNITS, PDF_GLYPH_UNITS)
        self.units_per_em = PDF_GLYPH_UNITS
        descriptor: generic.DictionaryObject = self.cidfont_obj._font_descriptor
        for key in ("/Ascent", "/Descent", "/CapHeight"):
            if key in descriptor:
                descriptor[key] = _number(round(int(descriptor[key]) * factor))
        if "/FontBBox" in descriptor:
            descriptor["/FontBBox"] = generic.ArrayObject(
                _number(round(int(v) * factor)) for v in descriptor["/FontBBox"]
            )

    def _extract_subset(self, options: subset.Options | None = None) -> None:
        key = (self._font.key, frozenset(self._glyphs))
        cached = SUBSETS.get(key)
        if cached is not None:
            self._subset_bytes = cached
            return
        if options is None:
            # pyHanko's defaults, plus FFTM: DejaVu carries FontForge's timestamp
            # table, which fontTools cannot subset and drops with a warning.
            options = subset.Options(layout_closure=False)
            options.drop_tables += ["GPOS", "GDEF", "GSUB", "FFTM"]
        if self.use_raw_gids:
            # pyHanko's rule: with CIDToGIDMap /Identity (TrueType) the CIDs in
            # the content stream are glyph ids, which the subset must keep.
            options.retain_gids = True
        # Subsetting rewrites the font it is given; the shared one must stay whole.
        font = self._font.parsed_copy()
        subsetter = subset.Subsetter(options=options)
        subsetter.populate(gids=list(self._glyphs))
        subsetter.subset(font)
        buf = BytesIO()
        font.save(buf)
        self._subset_bytes = buf.getvalue()
        SUBSETS.put(key, self._subset_bytes)

    def _set_font_file(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        assert self._subset_bytes is not None, "the subset is made before the font is written"
        stream = generic.StreamObject(stream_data=self._subset_bytes)
        stream.compress()  # type: ignore[no-untyped-call]
        ref: generic.IndirectObject = writer.add_object(stream)
        self.cidfont_obj._font_descriptor[generic.pdf_name("/FontFile2")] = ref
        return ref

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        cached: tuple[int, int] | None = self._glyphs.get(glyph_id)
        if cached is not None:
            return cached
        cid, _ = super()._get_cid_and_width(glyph_id)
        # Read the advance from hmtx ourselves rather than rescale pyHanko's
        # value, so a future pyHanko that scales by itself is not scaled twice.
        advance = self.tt["hmtx"][self.tt.getGlyphName(glyph_id)][0]
        result = (cid, scaled_advance(advance, self.font_units_per_em))
        self._glyphs[glyph_id] = result
        return result


def _number(value: int) -> generic.NumberObject:
    return generic.NumberObject(value)  # type: ignore[no-untyped-call]


def scaled_advance(advance: int, units_per_em: int) -> int:
    return round(advance * PDF_GLYPH_UNITS / units_per_em)


@dataclass(frozen=True)
class EmScaledGlyphAccumulatorFactory(GlyphAccumulatorFactory):
    """``GlyphAccumulatorFactory`` producing :class:`EmScaledGlyphAccumulator`."""

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: Any = None
    ) -> EmScaledGlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()  # type: ignore[no-untyped-call]
        engine = EmScaledGlyphAccumulator(
            writer,
            FONTS.get(self.font_file),
            self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
        )
        engine.shape(STAMP_REPERTOIRE)
        return engine
