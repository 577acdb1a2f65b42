"""HTML templates to PDF/A-3b documents with WeasyPrint.

Setting WeasyPrint up (fontconfig, @font-face loading, CSS parsing) costs far
more than laying out a one-page receipt, so a :class:`Renderer` does it once and
every document reuses it; :func:`get_renderer` keeps one per process.

What is left per document is layout (about half), drawing and writing the PDF.
These choices keep it down without changing a word or the layout: the QR code
is a bitmap rather than an SVG path of a thousand sub-paths, with its mask
scored on whole rows (:func:`qr_matrix`); WeasyPrint's user-agent stylesheet
loses the pseudo-elements that cost a style per element and draw nothing here
(:func:`ua_stylesheet_text`); the templates' indentation is dropped before
parsing (:func:`drop_indentation`); the field and signature tables use the
fixed table layout, and the letterhead is two floats rather than a flex box
(both in ``style.css``).  A render also leaves much cyclic garbage: in a worker
holding a large heap, full garbage collections then cost about as much per
document as the bitmap QR code saved; ``gc.freeze()`` after start-up cuts that,
and belongs to the process, not here.

Texts come only from the per-language catalogs in ``i18n/``; the templates hold
structure.  Every document carries both languages, Kazakh first, each part in an
element with its own ``lang``.

Page geometry lives here, not in ``style.css``, because the signer must know
where the visible signature stamp goes: :data:`SIGNATURE_AREA` is the strip at
the bottom of the content area of the last page that every template leaves blank.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import itertools
import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import qrcode
import qrcode.constants
import qrcode.util
import yaml
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateRuntimeError,
)
from PIL import Image
from weasyprint import CSS, HTML
from weasyprint import html as wp_html
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from medlicense.errors import RenderError

from .models import (
    AppendixData,
    DocumentData,
    IssuedDocument,
    LicenseData,
    ReasonedRefusalData,
    ReceiptData,
)

__all__ = [
    "DEFAULT_FONT_DIR",
    "LANGUAGES",
    "PAGE",
    "SIGNATURE_AREA",
    "Catalog",
    "PageGeometry",
    "Renderer",
    "SignatureArea",
    "drop_indentation",
    "get_renderer",
    "load_catalogs",
    "qr_data_uri",
    "qr_matrix",
    "ua_stylesheet_text",
]

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent
CATALOG_DIR = TEMPLATE_DIR / "i18n"
DEFAULT_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

# Order of the language parts on every document: the state language first.
LANGUAGES: tuple[str, ...] = ("kk", "ru")

PDF_VARIANT = "pdf/a-3b"

# CSS family name -> (regular, bold) file names.  DejaVu covers all Kazakh
# Cyrillic letters; only regular and bold ship in fonts-dejavu-core, so the
# stylesheet uses no italics.
FONT_FILES: Mapping[str, tuple[str, str]] = {
    "ML Sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "ML Serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
}

Catalog = Mapping[str, Any]

_MM_TO_PT = 72 / 25.4


@dataclass(frozen=True)
class PageGeometry:
    """A4 page and margins in millimetres, shared by every template."""

    width: float = 210.0
    height: float = 297.0
    top: float = 15.0
    right: float = 15.0
    bottom: float = 20.0
    left: float = 25.0


@dataclass(frozen=True)
class SignatureArea:
    """The blank strip left for the signer's visible stamp on the last page."""

    page: PageGeometry
    height: float = 45.0  # mm

    @property
    def box_pt(self) -> tuple[float, float, float, float]:
        """``(x1, y1, x2, y2)`` in PDF points, origin bottom-left (pyHanko's ``box``)."""
        p = self.page
        return (
            round(p.left * _MM_TO_PT, 2),
            round(p.bottom * _MM_TO_PT, 2),
            round((p.width - p.right) * _MM_TO_PT, 2),
            round((p.bottom + self.height) * _MM_TO_PT, 2),
        )


PAGE = PageGeometry()
SIGNATURE_AREA = SignatureArea(PAGE)


# --- catalogs --------------------------------------------------------------------


def _flatten(node: Mapping[str, Any], prefix: str, out: dict[str, object]) -> None:
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(value, f"{path}.", out)
        else:
            out[path] = value


def load_catalogs(
    directory: Path = CATALOG_DIR, languages: Sequence[str] = LANGUAGES
) -> dict[str, Catalog]:
    """Load ``<lang>.yaml`` for every language and check they are complete.

    A key present in one language and absent in another would print a
    one-language document, so it is refused here, at start-up, for all
    templates at once (``render.catalog``).  Keys absent from every catalog
    surface when a template uses them (``render.template``).
    """
    catalogs: dict[str, Catalog] = {}
    flat: dict[str, dict[str, object]] = {}
    for lang in languages:
        path = directory / f"{lang}.yaml"
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise RenderError(
                f"cannot read catalog {path}: {exc}", code="render.catalog", path=path
            ) from exc
        if not isinstance(loaded, Mapping):
            raise RenderError(f"catalog {path} is not a mapping", code="render.catalog", path=path)
        flat[lang] = {}
        _flatten(loaded, "", flat[lang])
        not_text = sorted(k for k, v in flat[lang].items() if not isinstance(v, str))
        if not_text:
            raise RenderError(
                f"catalog {path}: values must be text: {', '.join(not_text)}",
                code="render.catalog",
                path=path,
            )
        catalogs[lang] = loaded
    all_keys = set().union(*(f.keys() for f in flat.values()))
    for lang in languages:
        missing = sorted(all_keys - flat[lang].keys())
        if missing:
            raise RenderError(
                f"catalog {lang}.yaml lacks keys: {', '.join(missing)}",
                code="render.catalog",
                language=lang,
                keys=",".join(missing),
            )
    return catalogs


# --- template helpers ------------------------------------------------------------


# The QR code is embedded as a small PNG, not as SVG: WeasyPrint parses an SVG
# path command by command, and qrcode's path has one sub-path per dark module
# (~1,000), which cost about as much as laying out a page.  Each module is a
# square of _QR_MODULE_PX pixels, drawn without interpolation
# (``image-rendering: pixelated`` in style.css, /Interpolate false in the PDF),
# so edges stay sharp; several pixels per module (~350 dpi at the printed 24 mm)
# keep it sharp in viewers that smooth scaled images whatever the PDF says.
_QR_MODULE_PX = 8
_QR_BORDER = 4  # modules of quiet zone, the minimum the QR specification asks


# qrcode chooses the mask (one of eight patterns inverting the data modules) as
# the QR specification asks: it lays the code out with each mask in turn and
# keeps the one with the lowest penalty.  Those eight layouts and penalty scans,
# module by module in Python, are three quarters of the ~4 ms it takes per code.
# Where the data modules lie and what they hold before masking do not depend on
# the mask, so here the code is laid out once, each mask is applied to whole
# rows held as integers, and the same penalty is scored on those rows; qrcode
# then lays the code out with the chosen mask, so the matrix is still its own
# (tests/templates/test_qr_code.py compares the choice with qrcode's).

# Penalty rules 1 and 3: runs of five or more modules of one colour in a line,
# and the 1:1:3:1:1 finder-like pattern with four light modules on either side.
_PENALTY_RUN = re.compile(r"0{5,}|1{5,}")
_PENALTY_FINDER_LIKE = re.compile(r"(?=10111010000|00001011101)")


class _DataLayout(qrcode.QRCode[Any]):
    """A QR code that notes which modules carry data when it lays them out."""

    data_modules: list[list[bool]]

    def map_data(self, data: Sequence[int], mask_pattern: int) -> None:
        self.data_modules = [[module is None for module in row] for row in self.modules]
        super().map_data(data, mask_pattern)


def _row_bits(rows: Sequence[Sequence[bool | None]]) -> list[int]:
    """Rows of modules as integers, the leftmost module the highest bit, dark = 1."""
    return [int("".join("1" if module else "0" for module in row), 2) for row in rows]


@cache  # at most 40 versions x 8 masks
def _mask_rows(size: int, mask: int) -> tuple[int, ...]:
    """The modules ``mask`` inverts, as rows of bits (see _row_bits)."""
    inverts = qrcode.util.mask_func(mask)
    return tuple(
        sum(1 << (size - 1 - col) for col in range(size) if inverts(row, col))
        for row in range(size)
    )


def _penalty(rows: Sequence[int], size: int) -> int:
    """qrcode's penalty (``qrcode.util.lost_point``) of a code given as rows of bits."""
    lines = [format(row, f"0{size}b") for row in rows]
    lines += ["".join(column) for column in zip(*lines, strict=True)]
    score = sum(len(run) - 2 for line in lines for run in _PENALTY_RUN.findall(line))
    score += 40 * sum(len(_PENALTY_FINDER_LIKE.findall(line)) for line in lines)
    # Rule 2: every 2x2 block of one colour (blocks may overlap).
    pairs = (1 << (size - 1)) - 1
    for upper, lower in itertools.pairwise(rows):
        same_below = ~(upper ^ lower)
        same_right = ~(upper ^ (upper >> 1))
        score += 3 * (same_below & (same_below >> 1) & same_right & pairs).bit_count()
    # Rule 4: ten points for each full 5% the share of dark modules is off half.
    dark = sum(row.bit_count() for row in rows)
    score += 10 * int(abs(float(dark) / size**2 * 100 - 50) / 5)
    return score


def qr_matrix(text: str) -> list[list[bool]]:
    """Modules of the QR code of ``text``, quiet zone included (True = dark)."""
    qr = _DataLayout(error_correction=qrcode.constants.ERROR_CORRECT_M, border=_QR_BORDER)
    qr.add_data(text)
    qr.best_fit()
    # A trial layout, as qrcode's own: the format information is left light.
    qr.makeImpl(True, 0)
    size = qr.modules_count
    laid_out, data_modules = _row_bits(qr.modules), _row_bits(qr.data_modules)
    fixed = [row & ~free for row, free in zip(laid_out, data_modules, strict=True)]
    unmasked = [
        (row ^ inverted) & free
        for row, inverted, free in zip(laid_out, _mask_rows(size, 0), data_modules, strict=True)
    ]

    def penalty(mask: int) -> int:
        inverted = _mask_rows(size, mask)
        rows = [
            fix | ((bits ^ inv) & free)
            for fix, bits, inv, free in zip(fixed, unmasked, inverted, data_modules, strict=True)
        ]
        return _penalty(rows, size)

    qr.makeImpl(False, min(range(8), key=penalty))  # the first of equal scores, as qrcode
    return [[bool(module) for module in row] for row in qr.get_matrix()]


# Not cached: every document has a verify URL of its own, so a cache would
# only flatter benchmarks that render the same samples over and over.
def qr_data_uri(text: str) -> str:
    """A QR code of ``text`` as a grayscale PNG ``data:`` URI, black on white."""
    matrix = qr_matrix(text)
    size = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (size, size), pixels).resize(
        (size * _QR_MODULE_PX, size * _QR_MODULE_PX), Image.Resampling.NEAREST
    )
    png = io.BytesIO()
    image.save(png, format="PNG")
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")


# The templates are indented for people; WeasyPrint parses, styles and boxes
# every run of that indentation only to drop it, since white space next to a
# block-level element is never drawn.  Such runs are dropped before it sees
# them (the output is the same, tests/templates/test_render_cost.py): only
# runs between two tags, with a block-level tag on one side, so the space
# between two inline elements stays.  This relies on no element that keeps
# line breaks (``white-space: pre*``) holding other elements.
_BLOCK_TAG = (
    r"</?(?:html|head|title|meta|body|header|section|div|figure|figcaption"
    r"|h1|h2|p|ol|li|table|thead|tbody|tr|th|td)\b[^>]*>"
)
_INDENT_BEFORE_BLOCK = re.compile(r">\s+(?=" + _BLOCK_TAG + ")")
_INDENT_AFTER_BLOCK = re.compile("(" + _BLOCK_TAG + r")\s+(?=<)")


def drop_indentation(html: str) -> str:
    """``html`` without the white space between tags that a block-level tag makes invisible."""
    return _INDENT_AFTER_BLOCK.sub(r"\1", _INDENT_BEFORE_BLOCK.sub(">", html))


def _fill(text: str, **values: object) -> str:
    """Fill ``{name}`` placeholders of a catalog text (autoescaped afterwards by Jinja)."""
    try:
        return text.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise TemplateRuntimeError(f"catalog text {text!r}: bad placeholder {exc}") from exc


def _loc(obj: object, field: str, lang: str) -> object:
    """``doc | loc("name", lang)`` reads ``doc.name_kk`` / ``doc.name_ru``."""
    name = f"{field}_{lang}"
    if isinstance(obj, Mapping):
        return obj[name]
    return getattr(obj, name)


def _date_fmt(value: dt.date) -> str:
    # dd.mm.yyyy reads the same in both languages and needs no month names.
    return value.strftime("%d.%m.%Y")


def _datetime_fmt(value: dt.datetime) -> str:
    return value.strftime("%d.%m.%Y %H:%M")


# --- WeasyPrint plumbing -----------------------------------------------------------


class _LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint is untyped
    """Resolve only ``file:`` (our fonts and CSS) and ``data:`` (the QR code) URLs.

    A receipt must never reach the network, whatever ends up in the HTML.
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("file", "data"))


class _ErrorCollector(logging.Handler):
    """WeasyPrint logs, rather than raises, most failures (an image that does not
    load, a broken @font-face) and then prints the document without it.  An
    official document with a silently missing part is worse than none."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _weasyprint_errors() -> Iterator[list[str]]:
    logger = logging.getLogger("weasyprint")
    handler = _ErrorCollector()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _resolve_fonts(font_dir: Path) -> dict[str, tuple[Path, Path]]:
    fonts: dict[str, tuple[Path, Path]] = {}
    for family, names in FONT_FILES.items():
        paths = tuple(font_dir / name for name in names)
        absent = [str(p) for p in paths if not p.is_file()]
        if absent:
            raise RenderError(
                f"font file(s) not found: {', '.join(absent)} "
                "(install fonts-dejavu-core or pass font_dir)",
                code="render.font_missing",
                files=",".join(absent),
            )
        fonts[family] = (paths[0].resolve(), paths[1].resolve())
    return fonts


def _generated_css(fonts: Mapping[str, tuple[Path, Path]]) -> str:
    p = PAGE
    rules = [
        f"@page {{ size: {p.width}mm {p.height}mm; "
        f"margin: {p.top}mm {p.right}mm {p.bottom}mm {p.left}mm; }}",
        f".signature-area {{ height: {SIGNATURE_AREA.height}mm; }}",
    ]
    for family, (regular, bold) in fonts.items():
        for weight, path in (("normal", regular), ("bold", bold)):
            rules.append(
                f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); '
                f"font-weight: {weight}; font-style: normal; }}"
            )
    return "\n".join(rules)


# --- the user-agent stylesheet ------------------------------------------------------
#
# WeasyPrint's default stylesheet gives six pseudo-elements to *every* element:
# ::marker, and the ::footnote-* and ::note-* of footnotes and notes.  Each is a
# style WeasyPrint computes per element, more than four in five of all the
# styles of a document, and none of them draws anything here: nothing is a
# footnote or a note, and only <li> is ever a list item.  The copy used instead
# drops the footnote and note rules and keeps ::marker for <li> alone, which
# prints the same bytes for less work (tests/templates/test_render_cost.py).
# Only WeasyPrint's own sheet is edited, so a new version brings its other rules
# along; if its text or the private hook below change, the stock sheet is used.

_FOOTNOTE_AND_NOTE_RULES = re.compile(r"^::(?:footnote|note)-[\w-]+\s*\{[^{}]*\}[ \t]*\n?", re.M)
_ANY_ELEMENT_MARKER = re.compile(r"^::marker(?=\s*\{)", re.M)


def ua_stylesheet_text() -> str | None:
    """WeasyPrint's user-agent stylesheet without the pseudo-elements no document
    uses, or None if this WeasyPrint does not expose it."""
    stock = getattr(wp_html, "UA", None)
    if not isinstance(stock, str):
        return None
    return _ANY_ELEMENT_MARKER.sub("li::marker", _FOOTNOTE_AND_NOTE_RULES.sub("", stock))


@lru_cache(maxsize=1)
def _lean_ua_stylesheets() -> tuple[Any, ...] | None:
    # Parsed once per process, as WeasyPrint does its own: parsing costs more
    # than a render, and every Renderer would otherwise pay it again.
    text = ua_stylesheet_text()
    return None if text is None else (CSS(string=text),)


class _DocumentHTML(HTML):  # type: ignore[misc]  # weasyprint is untyped
    """An HTML document styled with the given user-agent stylesheets (None: WeasyPrint's)."""

    def __init__(self, *, ua_stylesheets: Sequence[Any] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._medlicense_ua = ua_stylesheets

    def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
        if forms or self._medlicense_ua is None:
            stock: list[Any] = super()._ua_stylesheets(forms)
            return stock
        return list(self._medlicense_ua)


# --- renderer ----------------------------------------------------------------------


class Renderer:
    """Builds the Jinja environment, catalogs, fonts and stylesheets once; renders many.

    Thread-safe: WeasyPrint's shared font configuration is not, so layouts are
    serialised with a lock (a receipt takes a fraction of a second).
    """

    def __init__(
        self,
        *,
        template_dir: Path = TEMPLATE_DIR,
        catalog_dir: Path = CATALOG_DIR,
        font_dir: Path = DEFAULT_FONT_DIR,
    ) -> None:
        self._template_dir = template_dir
        self._fonts = _resolve_fonts(font_dir)
        self._catalogs = load_catalogs(catalog_dir)
        self._env = Environment(
            loader=FileSystemLoader(template_dir),
            autoescape=True,
            # A missing catalog key or context value must fail, not print blank.
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters.update(
            fill=_fill, loc=_loc, date_fmt=_date_fmt, datetime_fmt=_datetime_fmt
        )
        self._fetcher = _LocalOnlyFetcher()
        self._font_config = FontConfiguration()
        self._lock = threading.Lock()
        try:
            with _weasyprint_errors() as errors:
                self._ua_sheets = _lean_ua_stylesheets()
                self._stylesheets = [
                    CSS(
                        string=_generated_css(self._fonts),
                        font_config=self._font_config,
                        url_fetcher=self._fetcher,
                    ),
                    CSS(
                        filename=str(template_dir / "style.css"),
                        font_config=self._font_config,
                        url_fetcher=self._fetcher,
                    ),
                ]
        except Exception as exc:  # WeasyPrint has no common exception base
            raise RenderError(f"cannot load stylesheets: {exc}", code="render.failed") from exc
        if errors:
            raise RenderError(
                f"cannot load stylesheets or fonts: {'; '.join(errors)}", code="render.failed"
            )

    @property
    def catalogs(self) -> Mapping[str, Catalog]:
        return self._catalogs

    # --- receipts --------------------------------------------------------------

    def receipt_html(self, data: ReceiptData) -> str:
        """The HTML of a receipt (what :meth:`render_receipt` prints); for debugging."""
        return self._html("receipt.html.j2", self._receipt_context(data))

    def render_receipt(self, data: ReceiptData) -> bytes:
        """A receipt of acceptance or of refusal to accept, as PDF/A-3b bytes."""
        return self._pdf(self.receipt_html(data))

    def _receipt_context(self, data: ReceiptData) -> dict[str, Any]:
        return self._base_context(
            provider={
                "kk": {"name": data.provider_name_kk, "address": data.provider_address_kk},
                "ru": {"name": data.provider_name_ru, "address": data.provider_address_ru},
            },
            created=data.accepted_at,
            verify_url=data.verify_url,
            data=data,
        )

    # --- results of the service ---------------------------------------------------

    def reasoned_refusal_html(self, data: ReasonedRefusalData) -> str:
        """The HTML of a reasoned refusal (what :meth:`render_reasoned_refusal` prints)."""
        return self._html("reasoned_refusal.html.j2", self._issued_context(data))

    def render_reasoned_refusal(self, data: ReasonedRefusalData) -> bytes:
        """A reasoned refusal to render the service, as PDF/A-3b bytes."""
        return self._pdf(self.reasoned_refusal_html(data))

    def license_html(self, data: LicenseData) -> str:
        """The HTML of a license (what :meth:`render_license` prints)."""
        return self._html("license.html.j2", self._issued_context(data))

    def render_license(self, data: LicenseData) -> bytes:
        """A license (first issue, re-issue or duplicate), as PDF/A-3b bytes."""
        return self._pdf(self.license_html(data))

    def appendix_html(self, data: AppendixData) -> str:
        """The HTML of a license appendix (what :meth:`render_appendix` prints)."""
        return self._html("appendix.html.j2", self._issued_context(data))

    def render_appendix(self, data: AppendixData) -> bytes:
        """A license appendix (first issue, re-issue or duplicate), as PDF/A-3b bytes."""
        return self._pdf(self.appendix_html(data))

    def html(self, data: DocumentData) -> str:
        """The HTML of any document, picked by the type of its record."""
        if isinstance(data, ReceiptData):
            return self.receipt_html(data)
        if isinstance(data, ReasonedRefusalData):
            return self.reasoned_refusal_html(data)
        if isinstance(data, LicenseData):
            return self.license_html(data)
        if isinstance(data, AppendixData):
            return self.appendix_html(data)
        raise RenderError(
            f"no template for {type(data).__name__}",
            code="render.unknown_document",
            type=type(data).__name__,
        )

    def render(self, data: DocumentData) -> bytes:
        """Any document as PDF/A-3b bytes, picked by the type of its record (for
        callers holding a mix, such as a command printing specimens)."""
        return self._pdf(self.html(data))

    def _issued_context(self, data: IssuedDocument) -> dict[str, Any]:
        return self._base_context(
            provider={
                "kk": {"name": data.provider_name_kk, "address": data.provider_address_kk},
                "ru": {"name": data.provider_name_ru, "address": data.provider_address_ru},
            },
            created=data.issued_at,
            verify_url=data.verify_url,
            data=data,
        )

    # --- shared by every document type ----------------------------------------------

    def _base_context(
        self,
        *,
        provider: Mapping[str, Mapping[str, str]],
        created: dt.datetime,
        verify_url: str,
        **extra: Any,
    ) -> dict[str, Any]:
        """What ``base.html.j2`` needs; later document types add their own ``extra``."""
        return {
            "catalogs": self._catalogs,
            "languages": LANGUAGES,
            "provider": provider,
            # Fixed from the document's own date, never "now": the same input
            # must give the same bytes (and the same hash in storage).
            "created": created.isoformat(timespec="seconds"),
            "qr": qr_data_uri(verify_url),
            "verify_url": verify_url,
            **extra,
        }

    def _html(self, template_name: str, context: Mapping[str, Any]) -> str:
        try:
            html = self._env.get_template(template_name).render(context)
        except TemplateError as exc:
            raise RenderError(
                f"template {template_name}: {exc}", code="render.template", template=template_name
            ) from exc
        return drop_indentation(html)

    def _pdf(self, html: str) -> bytes:
        with self._lock, _weasyprint_errors() as errors:
            try:
                document = _DocumentHTML(
                    ua_stylesheets=self._ua_sheets,
                    string=html,
                    base_url=self._template_dir.as_uri() + "/",
                    url_fetcher=self._fetcher,
                )
                pdf = document.write_pdf(
                    stylesheets=self._stylesheets,
                    font_config=self._font_config,
                    pdf_variant=PDF_VARIANT,
                    # Tagged PDF: reading order, tables and the language of each part.
                    pdf_tags=True,
                )
            except Exception as exc:  # WeasyPrint has no common exception base
                raise RenderError(f"WeasyPrint failed: {exc}", code="render.failed") from exc
        if errors:
            raise RenderError(f"WeasyPrint reported: {'; '.join(errors)}", code="render.failed")
        if not isinstance(pdf, bytes):
            raise RenderError("WeasyPrint returned no PDF", code="render.failed")
        return pdf


# --- language tags in the PDF structure ------------------------------------------------
#
# WeasyPrint (through 70) writes a tagged PDF but keeps only the document's own
# language (catalog /Lang), dropping the ``lang`` of inner elements.  Screen
# readers and PDF/UA checks need the Russian part marked as Russian, so each
# structure element built for an HTML element with ``lang`` gets its /Lang.
# This wraps one private WeasyPrint function; if it disappears the wrap is
# skipped and the tests on /Lang fail, which is the signal to revisit it.


def _install_lang_tagging() -> bool:
    try:
        import pydyf
        from weasyprint.pdf import tags as wp_tags
    except ImportError:
        return False
    original = getattr(wp_tags, "_build_box_tree", None)
    if original is None or getattr(original, "_medlicense_lang", False):
        return original is not None

    def build_box_tree_with_lang(box: Any, parent: Any, *args: Any) -> Iterator[Any]:
        element = getattr(box, "element", None)
        lang = element.get("lang") if element is not None and hasattr(element, "get") else None
        for struct in original(box, parent, *args):
            if lang and "Lang" not in struct:
                struct["Lang"] = pydyf.String(lang)
            yield struct

    build_box_tree_with_lang._medlicense_lang = True  # type: ignore[attr-defined]
    wp_tags._build_box_tree = build_box_tree_with_lang
    return True


LANG_TAGGING = _install_lang_tagging()


# --- the HTML tokenizer's regex cache -------------------------------------------------
#
# tinyhtml5 (2.1.0) caches the regex that ``chars_until`` builds for a set of
# characters, but files it under the compiled pattern instead of the characters,
# so every call misses and builds it again: about 1.7 ms of a 100 ms render, on
# nearly 200 calls a document.  Filing each pattern under the key that is looked
# up makes the cache work; the original method does the rest unchanged.  If the
# private names disappear the fix is skipped and tests/templates/test_render_cost.py
# fails, which is the signal to look again.


def _install_tokenizer_cache() -> bool:
    try:
        from tinyhtml5 import inputstream
    except ImportError:
        return False
    cache = getattr(inputstream, "characters_until_regex", None)
    stream = getattr(inputstream, "HTMLUnicodeInputStream", None)
    original = getattr(stream, "chars_until", None)
    if not isinstance(cache, dict) or original is None:
        return False
    if getattr(original, "_medlicense_cache", False):
        return True

    def chars_until(self: Any, characters: Any, opposite: bool = False) -> str:
        key = (characters, opposite)
        if key not in cache:
            # The same pattern the original builds.
            body = "".join(f"\\x{ord(c):02x}" for c in characters)
            cache[key] = re.compile(f"[{body}]+" if opposite else f"[^{body}]+")
        result: str = original(self, characters, opposite)
        return result

    chars_until._medlicense_cache = True  # type: ignore[attr-defined]
    chars_until._medlicense_original = original  # type: ignore[attr-defined]
    stream.chars_until = chars_until  # type: ignore[union-attr]
    return True


TOKENIZER_CACHE = _install_tokenizer_cache()


@lru_cache(maxsize=1)
def get_renderer() -> Renderer:
    """The process-wide renderer with the packaged templates and system DejaVu fonts."""
    return Renderer()
