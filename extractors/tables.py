"""Ruled tables from pdfium's page objects and glyph boxes: pdfplumber's method, not its parser.

``page.extract_tables()`` of pdfplumber cost 40-45 ms a ruled page of the
generated forms (more on a loaded machine), and nearly all of it before its
table finder starts: pdfminer parses the content stream again, in Python, and
pdfplumber turns every glyph, line and rectangle into a dict.  The finder itself
(snap, join, intersect, cells, tables) is about a millisecond of geometry.

So the same finder runs here on pdfium's view of the page, which the reader
has loaded anyway for the page text:

* ruling: the segments of the path objects (forms included), mapped through
  each object's matrix; what pdfplumber would call rect, line and curve edges;
* the finder: pdfplumber's default settings (``lines`` strategies, tolerances
  of 3 pt) and its steps, re-implemented on tuples where its dict copying was
  most of the cost (snap and join, intersections, cells) and called directly
  elsewhere (``cells_to_tables``);
* cell text as ``Table.extract``: a glyph belongs to the cell that holds the
  centre of its box, and the glyphs of a cell become words and lines as
  pdfplumber's ``extract_text`` (x and y tolerance 3) makes them.

The re-implemented steps are checked against pdfplumber's own functions in
``tests/extractors/test_tables.py``.  On the 300 generated accuracy packages
every field of every document is what it was with pdfplumber, at 5-6 ms a ruled
page.

Coordinates are pdfplumber's: points, x to the right and y *down* from the top
of the media box, after the page's /Rotate.  Glyph boxes are pdfium's loose ones
(advance width by the font's ascent and descent) where pdfminer's are advance
width by font size: their centres differ by well under a point, which matters
only for a glyph printed across a cell border.
"""

from __future__ import annotations

import ctypes
import itertools
import re
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, TypeVar

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfplumber.table import cells_to_tables
from pdfplumber.utils.text import LIGATURES, extract_text

Table = list[list[str]]
Matrix = tuple[float, float, float, float, float, float]
Cell = tuple[float, float, float, float]  # x0, top, x1, bottom
Point = tuple[float, float]

# pdfplumber's TableSettings defaults.
SNAP_TOLERANCE = 3.0
JOIN_TOLERANCE = 3.0
EDGE_MIN_LENGTH_PREFILTER = 1.0
EDGE_MIN_LENGTH = 3.0
INTERSECTION_TOLERANCE = 3.0
TEXT_TOLERANCE = 3.0
# A segment this close to an axis is a ruling line (float noise of the matrices).
AXIS_EPSILON = 0.01
# Forms nested deeper are not searched for ruling; pdfium stops parsing nested
# forms long before a stack is at risk.
MAX_FORM_DEPTH = 8
# A ruled form page draws a few hundred segments (a 5 x 40 staff table ~1 000).
# More is a drawing or a hostile stream, and the finder grows with the square of
# the edges: such a page gets no tables (its text is still read) rather than a
# spin for the file's time limit to end.
MAX_SEGMENTS = 20_000
# Every vertical edge meets every horizontal one in the finder.  A staff table has
# 6 x 80 edges after merging, and a 200 x 200 grid takes 0.7 s; a page beyond
# that is no form, and gets no tables (its text is still read).
MAX_CROSSINGS = 40_000

_T = TypeVar("_T")
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_WHITESPACE = re.compile(r"\s+")
_SURROGATE = re.compile("[\ud800-\udfff]")
# /Rotate as pdfminer applies it to the page (y up): the basis of "upright" glyphs.
_ROTATIONS: dict[int, tuple[float, float, float, float]] = {
    0: (1.0, 0.0, 0.0, 1.0),
    90: (0.0, -1.0, 1.0, 0.0),
    180: (-1.0, 0.0, 0.0, -1.0),
    270: (0.0, 1.0, -1.0, 0.0),
}


class Edge(NamedTuple):
    """A ruling line as pdfplumber's finder sees it; ``length`` is its height if
    vertical, its width if horizontal (kept as pdfplumber updates them, not recomputed)."""

    x0: float
    top: float
    x1: float
    bottom: float
    length: float
    vertical: bool


class Char(NamedTuple):
    """One glyph; ``order`` is its place in the content stream."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    upright: bool
    order: int


class _TooManySegments(Exception):
    pass


def read_tables(data: bytes, pages: Sequence[int]) -> list[Table]:
    """Ruled tables of the given 1-based pages of a PDF, cells' whitespace collapsed.

    For callers without an open document; the reader uses
    :meth:`extractors.pdf.OpenPdf.tables`, which reuses the pages loaded for text.
    """
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return []
    try:
        out: list[Table] = []
        for number in pages:
            if not 1 <= number <= len(doc):
                continue
            try:
                page = doc[number - 1]
            except pdfium.PdfiumError:
                continue
            try:
                out.extend(page_tables(page))
            finally:
                page.close()
        return out
    finally:
        doc.close()


def page_tables(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage | None = None) -> list[Table]:
    """The ruled tables of one page, top to bottom, as pdfplumber's ``extract_tables``
    gives them (``None`` cells as ""), with each cell's whitespace collapsed.

    Never raises: tables are a bonus on top of the page text, and an odd page
    must cost its tables, not the fields its text gives.
    """
    try:
        return _page_tables(page, textpage)
    except Exception:
        return []


def _page_tables(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage | None) -> list[Table]:
    rotation = page.get_rotation() % 360
    to_display = _display_matrix(page.get_mediabox(), rotation)
    try:
        edges = page_edges(page, to_display)
    except _TooManySegments:
        return []
    groups = find_tables(edges) if edges else []
    if not groups:
        return []
    tp = page.get_textpage() if textpage is None else textpage
    try:
        chars = page_chars(tp, to_display, rotation)
    finally:
        if textpage is None:
            tp.close()
    chars.sort(key=lambda ch: ch.top + ch.bottom)
    middles = [(ch.top + ch.bottom) / 2 for ch in chars]
    return [_extract(cells, chars, middles) for cells in groups]


# ------------------------------------------------------------------ ruling


def _display_matrix(mediabox: tuple[float, float, float, float], rotation: int) -> Matrix:
    """PDF user space -> pdfplumber's: y down from the media box top, /Rotate applied."""
    x0, y0, x1, y1 = mediabox
    if rotation == 90:
        return (0.0, 1.0, 1.0, 0.0, -y0, -x0)
    if rotation == 180:
        return (-1.0, 0.0, 0.0, 1.0, x1, -y0)
    if rotation == 270:
        return (0.0, -1.0, -1.0, 0.0, y1, x1)
    return (1.0, 0.0, 0.0, -1.0, -x0, y1)


def _then(inner: Matrix, outer: Matrix) -> Matrix:
    """The matrix applying ``inner`` first, then ``outer`` (PDF row-vector convention)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (
        a * A + b * C,
        a * B + b * D,
        c * A + d * C,
        c * B + d * D,
        e * A + f * C + E,
        e * B + f * D + F,
    )


def _object_matrix(obj: Any) -> Matrix:
    m = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, m):
        return _IDENTITY
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def page_edges(page: pdfium.PdfPage, to_display: Matrix) -> list[Edge]:
    """Horizontal and vertical segments of the page's painted paths, 1 pt or longer."""
    edges: list[Edge] = []
    budget = [MAX_SEGMENTS]
    raw = page.raw
    for i in range(pdfium_c.FPDFPage_CountObjects(raw)):
        _object_edges(pdfium_c.FPDFPage_GetObject(raw, i), to_display, 0, edges, budget)
    return edges


def _object_edges(obj: Any, parent: Matrix, depth: int, out: list[Edge], budget: list[int]) -> None:
    kind = pdfium_c.FPDFPageObj_GetType(obj)
    if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
        _path_edges(obj, _then(_object_matrix(obj), parent), out, budget)
    elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < MAX_FORM_DEPTH:
        # Path points are in their object's space, a form's objects in the form's.
        matrix = _then(_object_matrix(obj), parent)
        for i in range(pdfium_c.FPDFFormObj_CountObjects(obj)):
            child = pdfium_c.FPDFFormObj_GetObject(obj, i)
            if child:
                _object_edges(child, matrix, depth + 1, out, budget)


def _path_edges(obj: Any, matrix: Matrix, out: list[Edge], budget: list[int]) -> None:
    fill = ctypes.c_int()
    stroke = ctypes.c_int()
    # pdfminer keeps every painted path (a filled thin bar rules as well as a
    # stroked line) and drops unpainted ones (clipping paths).
    if pdfium_c.FPDFPath_GetDrawMode(obj, fill, stroke) and not fill.value and not stroke.value:
        return
    count = pdfium_c.FPDFPath_CountSegments(obj)
    budget[0] -= max(count, 0)
    if budget[0] < 0:
        raise _TooManySegments
    a, b, c, d, e, f = matrix
    x = ctypes.c_float()
    y = ctypes.c_float()
    start: Point | None = None
    current: Point | None = None
    for k in range(count):
        segment = pdfium_c.FPDFPath_GetPathSegment(obj, k)
        if not segment or not pdfium_c.FPDFPathSegment_GetPoint(segment, x, y):
            continue
        point = (a * x.value + c * y.value + e, b * x.value + d * y.value + f)
        if pdfium_c.FPDFPathSegment_GetType(segment) == pdfium_c.FPDF_SEGMENT_MOVETO:
            start = current = point
            continue
        # Bézier control points count as vertices: pdfminer keeps them in a
        # curve's points and pdfplumber draws edges between consecutive points.
        if current is not None:
            _add_edge(current, point, out)
        current = point
        if pdfium_c.FPDFPathSegment_GetClose(segment) and start is not None:
            _add_edge(point, start, out)
            current = start


def _add_edge(p: Point, q: Point, out: list[Edge]) -> None:
    x0, x1 = (p[0], q[0]) if p[0] <= q[0] else (q[0], p[0])
    top, bottom = (p[1], q[1]) if p[1] <= q[1] else (q[1], p[1])
    if not (-1e7 < x0 <= x1 < 1e7 and -1e7 < top <= bottom < 1e7):
        return  # NaN or absurd coordinates from a hostile matrix
    vertical = x1 - x0 <= AXIS_EPSILON
    if vertical and bottom - top >= EDGE_MIN_LENGTH_PREFILTER:
        x = (x0 + x1) / 2
        out.append(Edge(x, top, x, bottom, bottom - top, True))
    elif not vertical and bottom - top <= AXIS_EPSILON and x1 - x0 >= EDGE_MIN_LENGTH_PREFILTER:
        y = (top + bottom) / 2
        out.append(Edge(x0, y, x1, y, x1 - x0, False))
    # A slanted segment rules no cell.


# ------------------------------------------------------------------ the finder


def find_tables(edges: Sequence[Edge]) -> list[list[Cell]]:
    """pdfplumber's ``TableFinder`` on these edges: the cells of each table, tables
    top to bottom, tables of one cell dropped."""
    merged = [e for e in merge_edges(edges) if e.length >= EDGE_MIN_LENGTH]
    vertical = sum(1 for e in merged if e.vertical)
    if vertical * (len(merged) - vertical) > MAX_CROSSINGS:
        return []
    tables: list[list[Cell]] = cells_to_tables(cells_of(intersections(merged)))
    return tables


def merge_edges(edges: Sequence[Edge]) -> list[Edge]:
    """pdfplumber's ``merge_edges``: snap parallel edges within the tolerance to their
    mean position, then join collinear ones whose ends are within the tolerance.

    The arithmetic is pdfplumber's to the last bit (an edge moves by ``mean - own``,
    a joined vertical edge grows by the difference of the bottoms), so that
    points that are equal there are equal here.
    """
    vertical = [e for e in edges if e.vertical]
    horizontal = [e for e in edges if not e.vertical]
    snapped: list[Edge] = []
    for cluster in _clusters(vertical, lambda e: e.x0, SNAP_TOLERANCE):
        mean = sum(e.x0 for e in cluster) / len(cluster)
        for e in cluster:
            shift = mean - e.x0
            snapped.append(Edge(e.x0 + shift, e.top, e.x1 + shift, e.bottom, e.length, True))
    for cluster in _clusters(horizontal, lambda e: e.top, SNAP_TOLERANCE):
        mean = sum(e.top for e in cluster) / len(cluster)
        for e in cluster:
            shift = mean - e.top
            snapped.append(Edge(e.x0, e.top + shift, e.x1, e.bottom + shift, e.length, False))

    def line(e: Edge) -> tuple[bool, float]:
        return (e.vertical, e.x0 if e.vertical else e.top)

    joined: list[Edge] = []
    for (vertical_line, _), group in itertools.groupby(sorted(snapped, key=line), key=line):
        joined.extend(_join(list(group), vertical_line))
    return joined


def _join(group: list[Edge], vertical: bool) -> list[Edge]:
    if vertical:
        group.sort(key=lambda e: e.top)
        out = [group[0]]
        for e in group[1:]:
            last = out[-1]
            if e.top <= last.bottom + JOIN_TOLERANCE:
                if e.bottom > last.bottom:
                    grown = last.length + (e.bottom - last.bottom)
                    out[-1] = Edge(last.x0, last.top, last.x1, e.bottom, grown, True)
            else:
                out.append(e)
        return out
    group.sort(key=lambda e: e.x0)
    out = [group[0]]
    for e in group[1:]:
        last = out[-1]
        if e.x0 <= last.x1 + JOIN_TOLERANCE:
            if e.x1 > last.x1:
                out[-1] = Edge(last.x0, last.top, e.x1, last.bottom, e.x1 - last.x0, False)
        else:
            out.append(e)
    return out


Intersections = dict[Point, tuple[set[Cell], set[Cell]]]  # point -> (vertical, horizontal) edges


def intersections(edges: Sequence[Edge]) -> Intersections:
    """pdfplumber's ``edges_to_intersections``: where a vertical and a horizontal
    edge meet within the tolerance, and which edges (by their boxes) meet there."""
    tol = INTERSECTION_TOLERANCE
    vertical = sorted((e for e in edges if e.vertical), key=lambda e: (e.x0, e.top))
    horizontal = sorted((e for e in edges if not e.vertical), key=lambda e: (e.top, e.x0))
    found: Intersections = {}
    for v in vertical:
        for h in horizontal:
            if (
                v.top <= h.top + tol
                and v.bottom >= h.top - tol
                and h.x0 - tol <= v.x0 <= h.x1 + tol
            ):
                at = found.setdefault((v.x0, h.top), (set(), set()))
                at[0].add((v.x0, v.top, v.x1, v.bottom))
                at[1].add((h.x0, h.top, h.x1, h.bottom))
    return found


def cells_of(found: Intersections) -> list[Cell]:
    """pdfplumber's ``intersections_to_cells``: for each point, the smallest cell it is
    the top left corner of, whose four sides are each one edge.  Same cells, same
    order; the candidates below and to the right of a point are looked up, not
    searched for among all later points."""
    points = sorted(found)
    column: dict[float, list[Point]] = {}
    row: dict[float, list[Point]] = {}
    for p in points:
        column.setdefault(p[0], []).append(p)
        row.setdefault(p[1], []).append(p)

    def connects(p: Point, q: Point) -> bool:
        return bool(
            (p[0] == q[0] and not found[p][0].isdisjoint(found[q][0]))
            or (p[1] == q[1] and not found[p][1].isdisjoint(found[q][1]))
        )

    cells: list[Cell] = []
    for p in points:
        same_x = column[p[0]]
        same_top = row[p[1]]
        below = same_x[same_x.index(p) + 1 :]
        right = same_top[same_top.index(p) + 1 :]
        cell = _smallest_cell(p, below, right, found, connects)
        if cell is not None:
            cells.append(cell)
    return cells


def _smallest_cell(
    p: Point,
    below: list[Point],
    right: list[Point],
    found: Intersections,
    connects: Callable[[Point, Point], bool],
) -> Cell | None:
    for below_pt in below:
        if not connects(p, below_pt):
            continue
        for right_pt in right:
            if not connects(p, right_pt):
                continue
            corner = (right_pt[0], below_pt[1])
            if corner in found and connects(corner, right_pt) and connects(corner, below_pt):
                return (p[0], p[1], corner[0], corner[1])
    return None


# ------------------------------------------------------------------ glyphs


def page_chars(tp: pdfium.PdfTextPage, to_display: Matrix, rotation: int = 0) -> list[Char]:
    """The page's glyphs in content order.  pdfium's generated spaces and line breaks
    are left out: pdfplumber has no such glyphs, gaps make its word breaks."""
    raw = tp.raw
    a, b, c, d, e, f = to_display
    ra, rb, rc, rd = _ROTATIONS.get(rotation, _ROTATIONS[0])
    box = pdfium_c.FS_RECTF()
    m = pdfium_c.FS_MATRIX()
    is_generated = pdfium_c.FPDFText_IsGenerated
    unicode_of = pdfium_c.FPDFText_GetUnicode
    box_of = pdfium_c.FPDFText_GetLooseCharBox
    matrix_of = pdfium_c.FPDFText_GetMatrix
    count = pdfium_c.FPDFText_CountChars(raw)
    # One call for the whole text instead of one a glyph (FPDFText_GetUnicode: 2.3 us,
    # the dearest call here), while it maps one to one onto the glyphs; pdfium leaves
    # control characters and glyphs without Unicode out of its text, and a character
    # beyond the BMP takes two UTF-16 units.
    bulk: str | None = tp.get_text_range() if count > 0 else ""
    if bulk is None or len(bulk) != count or _SURROGATE.search(bulk):
        bulk = None
    unrotated = (a, b, c, d) == (1.0, 0.0, 0.0, -1.0)
    chars: list[Char] = []
    for i in range(count):
        if bulk is None:
            if is_generated(raw, i) == 1:
                continue
            code = unicode_of(raw, i)
        else:
            code = ord(bulk[i])
            # pdfium generates spaces and line breaks only: ask about those alone.
            if chr(code).isspace() and is_generated(raw, i) == 1:
                continue
        if not code or code > 0x10FFFF or not box_of(raw, i, box):
            continue
        # pdfminer's test on the glyph's matrix (page rotation applied, y up).
        if not matrix_of(raw, i, m):
            upright = True
        elif rotation == 0:
            upright = m.a * m.d > 0 and m.b * m.c <= 0
        else:
            ma, mb = m.a * ra + m.b * rc, m.a * rb + m.b * rd
            mc, md = m.c * ra + m.d * rc, m.c * rb + m.d * rd
            upright = ma * md > 0 and mb * mc <= 0
        if unrotated:  # the usual page: no min/max, a third of this loop's time
            chars.append(
                Char(
                    chr(code), box.left + e, box.right + e, f - box.top, f - box.bottom, upright, i
                )
            )
            continue
        xa = a * box.left + c * box.bottom + e
        xb = a * box.right + c * box.top + e
        ya = b * box.left + d * box.bottom + f
        yb = b * box.right + d * box.top + f
        chars.append(
            Char(chr(code), min(xa, xb), max(xa, xb), min(ya, yb), max(ya, yb), upright, i)
        )
    return chars


def _extract(cells: list[Cell], chars: list[Char], middles: list[float]) -> Table:
    """``Table.extract``: a glyph belongs to the cell that holds the centre of its box.

    ``chars`` are sorted by the vertical middle of their boxes, ``middles`` are
    those middles, so a cell looks only at the glyphs of its own band.
    """
    table: Table = []
    for row in _rows(cells):
        out: list[str] = []
        for cell in row:
            if cell is None:
                out.append("")
                continue
            x0, top, x1, bottom = cell
            inside = [
                ch
                for ch in chars[bisect_left(middles, top) : bisect_left(middles, bottom)]
                if x0 <= (ch.x0 + ch.x1) / 2 < x1
            ]
            inside.sort(key=lambda ch: ch.order)
            out.append(_WHITESPACE.sub(" ", cell_text(inside)).strip())
        table.append(out)
    return table


def _rows(cells: list[Cell]) -> Iterator[list[Cell | None]]:
    """``Table.rows``: cells by top, one slot for every column start of the table."""
    columns = sorted({cell[0] for cell in cells})
    by_top: dict[float, dict[float, Cell]] = {}
    for cell in sorted(cells, key=lambda cell: (cell[1], cell[0])):
        by_top.setdefault(cell[1], {})[cell[0]] = cell
    for top in sorted(by_top):
        row = by_top[top]
        yield [row.get(x) for x in columns]


def cell_text(chars: Sequence[Char]) -> str:
    """``extract_text(chars, x_tolerance=3, y_tolerance=3)`` of glyphs in content order:
    lines by the tops of the glyphs, then words by the gaps between them.

    Upright text (all of it on the forms read here) is put together directly,
    five times faster than pdfplumber's general word extractor; anything else
    goes to that extractor.
    """
    if not chars:
        return ""
    if not all(ch.upright for ch in chars):
        return str(
            extract_text(
                [_as_dict(ch) for ch in chars],
                x_tolerance=TEXT_TOLERANCE,
                y_tolerance=TEXT_TOLERANCE,
            )
        )
    words: list[tuple[float, str]] = []  # (top, text)
    for line in _clusters(chars, lambda ch: ch.top, TEXT_TOLERANCE):
        line.sort(key=lambda ch: ch.x0)
        word: list[Char] = []
        for ch in line:
            if ch.text.isspace():
                _close_word(word, words)
                word = []
            elif word and (
                ch.x0 < word[-1].x0
                or ch.x0 > word[-1].x1 + TEXT_TOLERANCE
                or abs(ch.top - word[-1].top) > TEXT_TOLERANCE
            ):
                _close_word(word, words)
                word = [ch]
            else:
                word.append(ch)
        _close_word(word, words)
    return "\n".join(
        " ".join(text for _, text in line)
        for line in _clusters(words, lambda w: w[0], TEXT_TOLERANCE)
    )


def _close_word(word: list[Char], words: list[tuple[float, str]]) -> None:
    if word:
        text = "".join(LIGATURES.get(ch.text, ch.text) for ch in word)
        words.append((min(ch.top for ch in word), text))


def _clusters(items: Sequence[_T], key: Callable[[_T], float], tolerance: float) -> list[list[_T]]:
    """pdfplumber's ``cluster_objects``: sorted distinct values chained while each is
    within the tolerance of the one before; items keep their order in a cluster."""
    values = sorted({key(item) for item in items})
    if len(values) <= 1:  # one line of one font, the usual cell (or nothing)
        return [list(items)] if values else []
    cluster_of: dict[float, int] = {}
    index = 0
    for k, value in enumerate(values):
        if k and value > values[k - 1] + tolerance:
            index += 1
        cluster_of[value] = index
    groups: list[list[_T]] = [[] for _ in range(index + 1)]
    for item in items:
        groups[cluster_of[key(item)]].append(item)
    return groups


def _as_dict(ch: Char) -> dict[str, Any]:
    return {
        "text": ch.text,
        "x0": ch.x0,
        "x1": ch.x1,
        "top": ch.top,
        "bottom": ch.bottom,
        "doctop": ch.top,
        "width": ch.x1 - ch.x0,
        "height": ch.bottom - ch.top,
        "upright": ch.upright,
    }
