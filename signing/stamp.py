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
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from fontTools import subset
from pydantic import BaseModel, ConfigDict, Field
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import TextStampStyle

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
        self._data: dict[tuple[str, frozenset[int]], bytes] = {}
        self._limit = limit

    def get(self, key: tuple[str, frozenset[int]]) -> bytes | None:
        return self._data.get(key)

    def put(self, key: tuple[str, frozenset[int]], data: bytes) -> None:
        if len(self._data) >= self._limit:
            self._data.pop(next(iter(self._data)))
        self._data[key] = data


SUBSETS = _SubsetCache()


class EmScaledGlyphAccumulator(GlyphAccumulator):
    """A ``GlyphAccumulator`` whose every metric is in 1000 units per em."""

    def __init__(self, *args: Any, font_key: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._font_key = font_key
        self._subset_bytes: bytes | None = None
        # pyHanko asks the CID font for its file when it writes it; hand it the
        # subset bytes (cached or just made) instead of re-saving the font.
        self.cidfont_obj.set_font_file = self._set_font_file  # type: ignore[method-assign]
        self.font_units_per_em: int = self.tt["head"].unitsPerEm
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
        key = (self._font_key, frozenset(self._glyphs))
        cached = SUBSETS.get(key) if self._font_key else None
        if cached is not None:
            self._subset_bytes = cached
            return
        if options is None:
            # pyHanko's defaults, plus FFTM: DejaVu carries FontForge's timestamp
            # table, which fontTools cannot subset and drops with a warning.
            options = subset.Options(layout_closure=False)
            options.drop_tables += ["GPOS", "GDEF", "GSUB", "FFTM"]
        super()._extract_subset(options)
        buf = BytesIO()
        self.tt.save(buf)
        self._subset_bytes = buf.getvalue()
        if self._font_key:
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
        # fontTools reads tables lazily from the handle it is given; an in-memory
        # copy lets the file be closed now (pyHanko's own factory leaks it).
        with open(self.font_file, "rb") as fh:
            handle = BytesIO(fh.read())
        engine = EmScaledGlyphAccumulator(
            writer=writer,
            font_handle=handle,
            font_size=self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
            font_key=str(Path(self.font_file).resolve()),
        )
        engine.shape(STAMP_REPERTOIRE)
        return engine
