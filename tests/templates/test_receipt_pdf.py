"""The PDF itself: PDF/A-3b claims, embedded fonts, structure, reproducibility,
and the blank strip the signer stamps into."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
import pytest

from templates import SIGNATURE_AREA, Renderer

from .helpers import refusal, run, tool

PDFAID = "{http://www.aiim.org/pdfa/ns/id/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


def test_every_font_is_embedded(any_pdf: Path) -> None:
    lines = run(tool("pdffonts"), str(any_pdf)).splitlines()
    assert lines[0].split()[-5:] == ["emb", "sub", "uni", "object", "ID"]
    rows = lines[2:]
    assert rows, "no fonts at all"
    names = set()
    for row in rows:
        # Read from the right: the "type" column can hold spaces ("CID TrueType").
        cells = row.split()
        names.add(cells[0].split("+")[-1])
        assert cells[-5] == "yes", row
    assert {"ML-Sans", "ML-Sans-Bold", "ML-Serif-Bold"} <= names


def test_embedded_fonts_are_dejavu(any_pdf: Path) -> None:
    from fontTools.ttLib import TTFont

    reader = pypdf.PdfReader(any_pdf)
    families = set()
    resources: Any = reader.pages[0]["/Resources"]  # pypdf types nested objects loosely
    for font in resources["/Font"].values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        data = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
        families.add(TTFont(io.BytesIO(data))["name"].getDebugName(1))
    assert families == {"DejaVu Sans", "DejaVu Serif"}


def test_claims_pdfa_3b(any_pdf: Path) -> None:
    reader = pypdf.PdfReader(any_pdf)
    assert reader.pdf_header == "%PDF-1.7"
    root: Any = reader.trailer["/Root"]
    packet = root["/Metadata"].get_object().get_data()
    end_tag = b"</x:xmpmeta>"
    xmp = ET.fromstring(packet[packet.index(b"<x:xmpmeta") : packet.index(end_tag) + len(end_tag)])
    ids = [d for d in xmp.iter(f"{RDF}Description") if f"{PDFAID}part" in d.attrib]
    assert len(ids) == 1
    assert ids[0].attrib[f"{PDFAID}part"] == "3"
    assert ids[0].attrib[f"{PDFAID}conformance"] == "B"
    (intent,) = root["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1"
    assert root["/Lang"] == "kk"


def test_document_metadata(acceptance_pdf: Path) -> None:
    info: Any = pypdf.PdfReader(acceptance_pdf).metadata
    assert info is not None
    assert info.title == (
        "Құжаттарды қабылдау туралы қолхат № ML-2016-000123 / "
        "Расписка о приёме документов № ML-2016-000123"
    )
    # Fixed from accepted_at (10:32 in Oral, UTC+5), never the rendering time.
    assert info["/CreationDate"] == "D:20160405103200+05'00"
    assert info["/ModDate"] == "D:20160405103200+05'00"
    assert info.author == "Батыс Қазақстан облысының денсаулық сақтау басқармасы"


def test_qpdf_check_passes(any_pdf: Path) -> None:
    out = run(tool("qpdf"), "--check", str(any_pdf))
    assert "No syntax or stream encoding errors found" in out


def test_output_is_reproducible(renderer: Renderer, acceptance_pdf: Path) -> None:
    from .helpers import acceptance

    assert renderer.render_receipt(acceptance()) == acceptance_pdf.read_bytes()


def _last_page_objects(pdf: bytes) -> tuple[list[str], list[str]]:
    """Text and drawings of the last page: (inside the signature strip, above it)."""
    x0, y0, x1, y1 = SIGNATURE_AREA.box_pt
    inside, above = [], []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[-1]
        # pdfplumber measures from the top of the page, PDF boxes from the bottom.
        top, bottom = page.height - y1, page.height - y0
        for obj in page.chars + page.rects + page.lines + page.curves + page.images:
            label = obj.get("text") or obj["object_type"]
            if obj["x1"] > x0 and obj["x0"] < x1 and obj["bottom"] > top and obj["top"] < bottom:
                inside.append(label)
            elif obj["bottom"] <= top:
                above.append(label)
    return inside, above


# With these list lengths the Russian part ends well above the strip (1), just
# above it (9, 10), or would run into it so the closing lines move to a new
# page (11), or the part spans pages (30); found by trying.
@pytest.mark.parametrize("count", [1, 9, 10, 11, 30])
def test_signature_area_is_blank_on_last_page(renderer: Renderer, count: int) -> None:
    missing = [(f"doc{i}", f"Құжат {i}", f"Документ {i}") for i in range(1, count + 1)]
    inside, above = _last_page_objects(renderer.render_receipt(refusal(missing=missing)))
    assert inside == []
    # Never a page holding nothing but the stamp: the signature lines come along.
    assert "".join(above).count("Получил(а)") == 1


def test_signature_area_geometry() -> None:
    x0, y0, x1, y1 = SIGNATURE_AREA.box_pt
    assert y1 - y0 == pytest.approx(45 * 72 / 25.4, abs=0.01)
    assert 0 < x0 < x1 < 595.28 and 0 < y0 < y1 < 841.89
