"""Drawing: a tiny document model and a flowing writer on a reportlab canvas.

Documents are described as data (:class:`DocContent`: header lines, a title,
blocks of fields, paragraphs and tables) and drawn by :func:`draw_document` in
one of several :class:`Style` variants.  Keeping content and look apart is what
gives every document kind more than one visual layout for free: the same
application can come out with a centred Sans title and ``label: value`` lines,
or a left-aligned upper-case Serif title and a ruled two-column table.

We draw straight on the canvas instead of using platypus: it is several times
faster, and generating hundreds of packages must stay well under a minute.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
_FONT_FILES: dict[str, str] = {
    "DejaVuSans": "DejaVuSans.ttf",
    "DejaVuSans-Bold": "DejaVuSans-Bold.ttf",
    "DejaVuSerif": "DejaVuSerif.ttf",
    "DejaVuSerif-Bold": "DejaVuSerif-Bold.ttf",
    "DejaVuSansCondensed": "DejaVuSansCondensed.ttf",
    "DejaVuSansCondensed-Bold": "DejaVuSansCondensed-Bold.ttf",
}

PAGE_W, PAGE_H = A4


@functools.cache
def register_fonts() -> None:
    """Register the DejaVu faces once per process (parsing a TTF is the slow part)."""
    for name, file in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, f"{FONT_DIR}/{file}"))


# --------------------------------------------------------------------- content


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Fields:
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]  # relative column widths


@dataclass(frozen=True)
class Signatures:
    items: tuple[tuple[str, str], ...]  # (role, name)


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Heading | Para | Fields | Table | Signatures | PageBreak


@dataclass(frozen=True)
class DocContent:
    """Everything printed on one logical document."""

    title: str
    header: tuple[str, ...] = ()  # issuing body, form annotation, addressee
    subtitle: str | None = None
    number_line: str | None = None  # "№ 123, 15.01.2026"
    blocks: tuple[Block, ...] = ()
    footer: str | None = None


# ----------------------------------------------------------------------- style


@dataclass(frozen=True)
class Style:
    name: str
    font: str
    bold: str
    size: float
    title_size: float
    title_align: Literal["center", "left"]
    title_upper: bool
    header_align: Literal["right", "left", "center"]
    fields_as: Literal["lines", "grid"]
    frame: bool = False
    margin: float = 56.0
    leading: float = field(default=0.0)

    @property
    def line_h(self) -> float:
        return self.leading or self.size * 1.35


STYLES: tuple[Style, ...] = (
    Style("classic", "DejaVuSans", "DejaVuSans-Bold", 10, 14, "center", False, "right", "lines"),
    Style(
        "formal",
        "DejaVuSerif",
        "DejaVuSerif-Bold",
        10.5,
        13,
        "left",
        True,
        "left",
        "grid",
        frame=True,
        margin=62,
    ),
    Style(
        "compact",
        "DejaVuSansCondensed",
        "DejaVuSansCondensed-Bold",
        9.5,
        15,
        "center",
        True,
        "center",
        "grid",
        margin=48,
    ),
)


def drawn_title(content: DocContent, style: Style) -> str:
    """The title exactly as it is put on the page (some styles upper-case it)."""
    return content.title.upper() if style.title_upper else content.title


# ---------------------------------------------------------------------- writer


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy word wrap by real glyph widths; over-long words are kept whole."""
    lines: list[str] = []
    for raw in text.split("\n"):
        words = raw.split()
        cur = ""
        for word in words:
            cand = f"{cur} {word}" if cur else word
            if cur and pdfmetrics.stringWidth(cand, font, size) > width:
                lines.append(cur)
                cur = word
            else:
                cur = cand
        lines.append(cur)
    return lines


class Writer:
    """Flows blocks down the page and starts new pages as needed."""

    def __init__(self, canvas: Canvas, style: Style, footer: str | None) -> None:
        self.c = canvas
        self.s = style
        self.footer = footer
        self.left = style.margin
        self.right = PAGE_W - style.margin
        self.width = self.right - self.left
        self.bottom = style.margin + 20
        self.pages = 0
        self._start_page()

    def _start_page(self) -> None:
        self.pages += 1
        self.y = PAGE_H - self.s.margin
        if self.s.frame:
            m = self.s.margin - 18
            self.c.setLineWidth(0.8)
            self.c.rect(m, m, PAGE_W - 2 * m, PAGE_H - 2 * m)

    def _finish_page(self) -> None:
        self.c.setFont(self.s.font, 8)
        label = f"{self.footer} · {self.pages}" if self.footer else f"— {self.pages} —"
        self.c.drawCentredString(PAGE_W / 2, self.s.margin - 8, label)
        self.c.showPage()

    def new_page(self) -> None:
        self._finish_page()
        self._start_page()

    def finish(self) -> int:
        self._finish_page()
        return self.pages

    def ensure(self, height: float) -> None:
        if self.y - height < self.bottom:
            self.new_page()

    def gap(self, h: float) -> None:
        self.y -= h

    def lines(
        self,
        text: str,
        *,
        font: str | None = None,
        size: float | None = None,
        align: str = "left",
        indent: float = 0.0,
    ) -> None:
        font = font or self.s.font
        size = size or self.s.size
        lh = size * 1.35
        for line in wrap(text, font, size, self.width - indent):
            self.ensure(lh)
            self.y -= lh
            self.c.setFont(font, size)
            if align == "center":
                self.c.drawCentredString(PAGE_W / 2, self.y, line)
            elif align == "right":
                self.c.drawRightString(self.right, self.y, line)
            else:
                self.c.drawString(self.left + indent, self.y, line)

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        rel: Sequence[float],
        *,
        bold_first_col: bool = False,
    ) -> None:
        total = sum(rel)
        widths = [self.width * r / total for r in rel]
        size = self.s.size - 1
        lh = size * 1.3
        pad = 3.0

        def draw_row(cells: Sequence[str], bold: bool) -> None:
            wrapped = []
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
                face = self.s.bold if bold or (bold_first_col and i == 0) else self.s.font
                wrapped.append((face, wrap(cell, face, size, w - 2 * pad)))
            height = max(len(ls) for _, ls in wrapped) * lh + 2 * pad
            if self.y - height < self.bottom:
                self.new_page()
                if header and not bold:
                    draw_row(header, True)  # repeat the header on a continuation page
            x = self.left
            top = self.y
            self.c.setLineWidth(0.5)
            for (face, ls), w in zip(wrapped, widths, strict=True):
                self.c.rect(x, top - height, w, height)
                ty = top - pad - size
                self.c.setFont(face, size)
                for line in ls:
                    self.c.drawString(x + pad, ty, line)
                    ty -= lh
                x += w
            self.y = top - height

        if header:
            draw_row(header, True)
        for row in rows:
            draw_row(row, False)
        self.gap(6)


def draw_document(canvas: Canvas, content: DocContent, style: Style) -> int:
    """Draw one logical document from a fresh page; returns its page count."""
    register_fonts()
    w = Writer(canvas, style, content.footer)
    for line in content.header:
        w.lines(line, size=style.size - 1, align=style.header_align)
    if content.header:
        w.gap(style.line_h)
    w.lines(
        drawn_title(content, style), font=style.bold, size=style.title_size, align=style.title_align
    )
    if content.subtitle:
        w.lines(content.subtitle, align=style.title_align)
    if content.number_line:
        w.lines(content.number_line, align=style.title_align)
    w.gap(style.line_h)
    for block in content.blocks:
        _draw_block(w, block, style)
    return w.finish()


def _draw_block(w: Writer, block: Block, style: Style) -> None:
    if isinstance(block, Heading):
        w.gap(4)
        w.ensure(style.line_h * 3)  # keep a heading with what follows it
        w.lines(block.text, font=style.bold)
        w.gap(2)
    elif isinstance(block, Para):
        w.lines(block.text)
        w.gap(4)
    elif isinstance(block, Fields):
        if style.fields_as == "grid":
            w.table((), [list(kv) for kv in block.items], (2, 3), bold_first_col=True)
        else:
            for label, value in block.items:
                w.lines(f"{label}: {value}")
            w.gap(4)
    elif isinstance(block, Table):
        w.table(block.header, block.rows, block.widths)
    elif isinstance(block, Signatures):
        w.gap(style.line_h)
        for role, name in block.items:
            w.ensure(style.line_h * 2)
            w.lines(f"{role}  ____________________  {name}")
            w.gap(6)
    else:
        w.new_page()


@contextlib.contextmanager
def binary_streams() -> Iterator[None]:
    """Write streams without the ASCII85 filter while drawing and saving.

    Without reportlab's optional C accelerator, ASCII85-encoding fonts and
    images in pure Python was a third of the generation time; plain Flate
    streams are also smaller.  The switch is global in reportlab, so it is set
    only around our own drawing and restored after (not thread-safe; the
    generator is single-threaded).
    """
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved


def new_canvas(buffer: io.BytesIO, **kwargs: Any) -> Canvas:
    """A canvas whose bytes depend only on what is drawn (fixed dates and /ID)."""
    register_fonts()
    c = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1, **kwargs)
    c.setCreator("medlicense sample generator")
    return c


def render_pdf(
    contents: Sequence[tuple[DocContent, Style]], **kwargs: Any
) -> tuple[bytes, list[int]]:
    """Render documents into one PDF; returns the bytes and each document's page count."""
    buf = io.BytesIO()
    with binary_streams():
        c = new_canvas(buf, **kwargs)
        counts = [draw_document(c, content, style) for content, style in contents]
        c.save()
    return buf.getvalue(), counts
