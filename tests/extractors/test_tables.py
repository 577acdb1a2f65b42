"""Ruled tables read from pdfium (extractors.tables) against pdfplumber, the reference.

The reader takes the tables of the application, payment and qualification
form from :mod:`extractors.tables`, which runs pdfplumber's table finder on
pdfium's ruling and glyph boxes.  These tests hold it to pdfplumber: the same
tables on every generated layout of those kinds, the same answer from each
re-implemented step on random input, and the fields that only table geometry
gets right (wrapped labels) still right.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pdfplumber
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdfplumber.table import edges_to_intersections, intersections_to_cells
from pdfplumber.table import merge_edges as plumber_merge_edges
from pdfplumber.utils.geometry import filter_edges
from pdfplumber.utils.text import extract_text
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

import extractors.tables as tables_module
from extractors.analysis import analyse_file
from extractors.fields import (
    TABLE_KINDS,
    ApplicationFields,
    PaymentFields,
    QualificationFields,
    extract_fields,
    plumber_tables,
)
from extractors.pdf import open_pdf
from extractors.tables import (
    EDGE_MIN_LENGTH,
    Char,
    Edge,
    Table,
    cell_text,
    cells_of,
    intersections,
    merge_edges,
    read_tables,
)
from medlicense.models import Language
from medlicense.samples import PackageSpec
from medlicense.samples.data import SUBTYPES
from medlicense.samples.documents import BUILDERS, Case
from medlicense.samples.layout import STYLES, register_fonts, render_pdf
from medlicense.samples.packages import make_case


def _case(seed: int, language: Language, **spec: object) -> Case:
    built = PackageSpec.model_validate({"seed": seed, "language": language, **spec})
    case, _, _ = make_case(built, random.Random(seed))
    return case


def _render(code: str, case: Case, language: Language, style: int, seed: int = 0) -> bytes:
    content = BUILDERS[code](case, language, random.Random(seed), 0)
    pdf, _ = render_pdf([(content, STYLES[style])])
    return pdf


def _page_count(pdf: bytes) -> int:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return len(doc.pages)


def _plumber_direct(pdf: bytes, page: int = 1) -> list[Table]:
    """pdfplumber on one page, without plumber_tables' skipping of pages."""
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        found = doc.pages[page - 1].extract_tables()
    return [[[re.sub(r"\s+", " ", c or "").strip() for c in row] for row in t] for t in found]


# ------------------------------------------------------------- generated forms


@pytest.mark.parametrize("language", ["kk", "ru"])
@pytest.mark.parametrize("style", range(len(STYLES)))
@pytest.mark.parametrize("code", sorted(TABLE_KINDS))
def test_every_table_kind_and_layout_reads_as_pdfplumber_reads_it(
    code: str, style: int, language: Language
) -> None:
    # Seed 0 draws the payment order with its header/row table; the others vary the cases.
    seed = 0 if code == "fee_payment" else 11 + style
    pdf = _render(code, _case(seed, language, representative=True), language, style, seed)
    pages = list(range(1, _page_count(pdf) + 1))
    expected = plumber_tables(pdf, pages)
    # Only the application in "lines" style has no ruling; all else has tables to compare.
    assert expected or (code == "application" and STYLES[style].fields_as == "lines")
    assert read_tables(pdf, pages) == expected


def test_wrapped_labels_are_read_from_cells() -> None:
    # The formal Russian layout wraps "Место осуществления деятельности" and the
    # subtype label in their cells; pdfium's text interleaves them with the values.
    language: Language = "ru"
    case = _case(11, language, representative=True)
    pdf = _render("application", case, language, 1)
    [doc] = analyse_file("x.pdf", pdf, "").documents
    fields = doc.fields
    assert isinstance(fields, ApplicationFields)
    assert fields.subtypes == tuple(SUBTYPES[s][1] for s in case.subtypes)
    assert fields.places == tuple(p.text(language) for p in case.places)
    assert fields.iin_bin == case.iin_bin
    assert fields.applicant_name == case.applicant_name(language)
    # Without the cells the same text gives other values: the tables did the work.
    with open_pdf(pdf) as opened:
        text = "\n".join(p.text for p in opened.text.pages)
    text_only = extract_fields("application", text)
    assert isinstance(text_only, ApplicationFields)
    assert (text_only.subtypes, text_only.places) != (fields.subtypes, fields.places)


@pytest.mark.parametrize("style", range(len(STYLES)))
def test_payment_order_header_table_gives_amount_purpose_and_kbk(style: int) -> None:
    language: Language = "kk"
    case = _case(0, language)
    pdf = _render("fee_payment", case, language, style, 0)
    [doc] = analyse_file("x.pdf", pdf, "").documents
    fields = doc.fields
    assert isinstance(fields, PaymentFields)
    assert fields.amount == Decimal(case.fee_amount)
    assert fields.kbk == "217114"
    assert fields.purpose
    assert fields.payer_iin_bin == case.payer_id


@pytest.mark.parametrize("language", ["kk", "ru"])
@pytest.mark.parametrize("style", range(len(STYLES)))
def test_qualification_staff_table_in_every_layout(style: int, language: Language) -> None:
    case = _case(21, language, subtypes=("inpatient", "laboratory_diagnostics"))
    pdf = _render("qualification_form", case, language, style)
    [doc] = analyse_file("x.pdf", pdf, "").documents
    fields = doc.fields
    assert isinstance(fields, QualificationFields)
    assert [(s.name, s.certificate_number, s.certificate_date) for s in fields.staff] == [
        (s.person.full, s.cert_no, s.cert_date) for s in case.staff
    ]


def test_pages_kept_from_the_text_pass_and_reloaded_ones_give_the_same_tables() -> None:
    case = _case(21, "ru", subtypes=("inpatient", "laboratory_diagnostics"))
    pdf = _render("qualification_form", case, "ru", 2)
    pages = list(range(1, _page_count(pdf) + 1))
    results = []
    for keep in (0, 1, 24):
        with open_pdf(pdf, keep_pages=keep) as opened:
            results.append(opened.tables(pages))
    assert results[0] == results[1] == results[2] == plumber_tables(pdf, pages)


# --------------------------------------------------------- forms, rotation


def _grid(canvas: Canvas, x: float, y: float, rows: list[list[str]]) -> None:
    canvas.setFont("DejaVuSans", 9)
    for r, row in enumerate(rows):
        left = x
        for text, width in zip(row, (150, 250), strict=True):
            canvas.rect(left, y - 20 * (r + 1), width, 20)
            canvas.drawString(left + 3, y - 20 * (r + 1) + 6, text)
            left += width


ROWS = [["Заявитель", "ТОО «Ромашка»"], ["БИН", "180840700375"], ["Адрес", "г. Астана, ул. Абая 1"]]


def _pdf(draw: Callable[[Canvas], None], rotation: int = 0) -> bytes:
    register_fonts()
    buf = io.BytesIO()
    canvas = Canvas(buf)
    canvas.setPageRotation(rotation)
    draw(canvas)
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def test_a_table_drawn_in_a_form_xobject_is_read() -> None:
    def draw(canvas: Canvas) -> None:
        canvas.beginForm("grid")
        _grid(canvas, 0, 100, ROWS)
        canvas.endForm()
        canvas.translate(50, 500)
        canvas.scale(1.2, 1.2)
        canvas.doForm("grid")

    pdf = _pdf(draw)
    assert read_tables(pdf, [1]) == _plumber_direct(pdf) == [ROWS]


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_rotated_pages_read_as_pdfplumber_reads_them(rotation: int) -> None:
    # Sideways text on a turned page (pdfplumber's word extractor then) ...
    pdf = _pdf(lambda canvas: _grid(canvas, 60, 700, ROWS), rotation)
    assert read_tables(pdf, [1]) == _plumber_direct(pdf)


def test_a_landscape_page_drawn_upright_reads_upright() -> None:
    # ... and a page turned by /Rotate whose content is turned back, as scanners
    # and office suites save landscape forms: upright text on a turned page.
    def draw(canvas: Canvas) -> None:
        canvas.translate(A4[0], 0)
        canvas.rotate(90)
        _grid(canvas, 60, 500, ROWS)

    pdf = _pdf(draw, 90)
    assert read_tables(pdf, [1]) == _plumber_direct(pdf) == [ROWS]


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize(("limit", "value"), [("MAX_SEGMENTS", 10), ("MAX_CROSSINGS", 8)])
def test_a_page_over_the_ruling_limits_gets_no_tables(
    monkeypatch: pytest.MonkeyPatch, limit: str, value: int
) -> None:
    pdf = _pdf(lambda canvas: _grid(canvas, 60, 700, ROWS))  # 3 x 4 edges, 30 segments
    assert read_tables(pdf, [1]) == [ROWS]
    monkeypatch.setattr(tables_module, limit, value)
    assert read_tables(pdf, [1]) == []


def test_absurd_matrices_and_page_numbers_do_not_raise() -> None:
    content = b"1e30 0 0 1e30 0 0 cm 0 0 10 10 re S 1 0 0 1 0 0 cm 0 0 1e38 1e38 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    assert read_tables(bytes(out), [0, 1, 2, 99]) == []
    assert read_tables(b"not a pdf", [1]) == []


def test_a_failing_page_costs_its_tables_not_the_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(edges: object) -> list[list[tuple[float, float, float, float]]]:
        raise ValueError("a geometry bug")

    language: Language = "ru"
    case = _case(11, language)
    pdf = _render("application", case, language, 2)
    monkeypatch.setattr(tables_module, "find_tables", broken)
    [doc] = analyse_file("x.pdf", pdf, "").documents
    assert doc.kind == "application"
    assert isinstance(doc.fields, ApplicationFields)
    assert doc.fields.iin_bin == case.iin_bin


# ------------------------------------------ the re-implemented steps, on random input

_COORD = st.integers(0, 160).map(lambda n: n / 4)  # 0-40 pt in quarter points


@st.composite
def _edges(draw: st.DrawFn) -> list[Edge]:
    out = []
    for _ in range(draw(st.integers(0, 40))):
        at, start = draw(_COORD), draw(_COORD)
        end = start + draw(st.integers(4, 120).map(lambda n: n / 4))
        if draw(st.booleans()):
            out.append(Edge(at, start, at, end, end - start, True))
        else:
            out.append(Edge(start, at, end, at, end - start, False))
    return out


def _as_plumber(edge: Edge) -> dict[str, Any]:
    return {
        "x0": edge.x0,
        "x1": edge.x1,
        "top": edge.top,
        "bottom": edge.bottom,
        "doctop": edge.top,
        "width": 0.0 if edge.vertical else edge.length,
        "height": edge.length if edge.vertical else 0.0,
        "orientation": "v" if edge.vertical else "h",
        "object_type": "line",
    }


def _from_plumber(edge: dict[str, Any]) -> Edge:
    vertical = edge["orientation"] == "v"
    length = edge["height"] if vertical else edge["width"]
    return Edge(edge["x0"], edge["top"], edge["x1"], edge["bottom"], length, vertical)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edges())
def test_the_finder_steps_agree_with_pdfplumber(edges: list[Edge]) -> None:
    ordered = [e for e in edges if e.vertical] + [e for e in edges if not e.vertical]
    theirs = filter_edges(
        plumber_merge_edges([_as_plumber(e) for e in ordered], 3, 3, 3, 3),
        min_length=EDGE_MIN_LENGTH,
    )
    ours = [e for e in merge_edges(edges) if e.length >= EDGE_MIN_LENGTH]
    assert ours == [_from_plumber(e) for e in theirs]

    their_points = edges_to_intersections(theirs, 3, 3)
    our_points = intersections(ours)
    assert {
        p: (
            {(e["x0"], e["top"], e["x1"], e["bottom"]) for e in at["v"]},
            {(e["x0"], e["top"], e["x1"], e["bottom"]) for e in at["h"]},
        )
        for p, at in their_points.items()
    } == our_points
    assert cells_of(our_points) == intersections_to_cells(their_points)


@st.composite
def _chars(draw: st.DrawFn) -> list[Char]:
    out = []
    x = 0.0
    for order in range(draw(st.integers(0, 30))):
        top = draw(st.sampled_from([0.0, 0.5, 2.5, 3.0, 4.0, 6.5, 12.0, 13.0]))
        width = draw(st.integers(4, 28).map(lambda n: n / 4))
        x = max(0.0, x + draw(st.integers(-24, 24).map(lambda n: n / 4)))
        text = draw(st.sampled_from(["а", "Б", "1", ".", " ", "ﬁ", "қ", "\u00a0"]))
        upright = draw(st.sampled_from([True] * 9 + [False]))
        out.append(Char(text, x, x + width, top, top + 9.0, upright, order))
        x += width
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_chars())
def test_cell_text_agrees_with_pdfplumber(chars: list[Char]) -> None:
    as_dicts = [
        {
            "text": c.text,
            "x0": c.x0,
            "x1": c.x1,
            "top": c.top,
            "bottom": c.bottom,
            "doctop": c.top,
            "width": c.x1 - c.x0,
            "height": c.bottom - c.top,
            "upright": c.upright,
        }
        for c in chars
    ]
    assert cell_text(chars) == extract_text(as_dicts, x_tolerance=3, y_tolerance=3)
