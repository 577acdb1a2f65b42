"""The PDFs of the reasoned refusal, license and appendix (re-issue and duplicate
included): PDF/A-3b claims, embedded fonts, structure, reproducibility and the
blank strip the signer stamps into."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
import pytest

from templates import Renderer
from templates.render import PAGE

from .documents import (
    BUILDERS,
    HEAD,
    PERSON_IIN,
    appendix,
    last_page_objects,
    pdfa_claim,
    reasoned_refusal,
)
from .helpers import flat, run, tool


def test_every_font_is_embedded(document_pdf: Path) -> None:
    lines = run(tool("pdffonts"), str(document_pdf)).splitlines()
    assert lines[0].split()[-5:] == ["emb", "sub", "uni", "object", "ID"]
    names = set()
    for row in lines[2:]:
        cells = row.split()  # read from the right: the type column can hold spaces
        names.add(cells[0].split("+")[-1])
        assert cells[-5] == "yes", row  # embedded
        assert cells[-3] == "yes", row  # with a ToUnicode map: text stays extractable
    assert {"ML-Sans", "ML-Sans-Bold", "ML-Serif-Bold"} <= names


def test_claims_pdfa_3b(document_pdf: Path) -> None:
    pdf = document_pdf.read_bytes()
    assert pdfa_claim(pdf) == ("3", "B")
    reader = pypdf.PdfReader(document_pdf)
    assert reader.pdf_header == "%PDF-1.7"
    root: Any = reader.trailer["/Root"]  # pypdf types nested objects loosely
    (intent,) = root["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1"
    assert root["/Lang"] == "kk"


def test_qpdf_check_passes(document_pdf: Path) -> None:
    out = run(tool("qpdf"), "--check", str(document_pdf))
    assert "No syntax or stream encoding errors found" in out


def test_output_is_reproducible(
    renderer: Renderer, document_kind: str, document_pdfs: dict[str, Path]
) -> None:
    again = renderer.render(BUILDERS[document_kind]())
    assert again == document_pdfs[document_kind].read_bytes()


def test_creation_date_comes_from_the_record(document_pdfs: dict[str, Path]) -> None:
    dates = {
        "reasoned-refusal": "D:20160517121500+05'00",
        "license": "D:20160422154000+05'00",
        "license-duplicate": "D:20180613162000+05'00",
        "appendix-reissued": "D:20180613162000+05'00",
    }
    for kind, date in dates.items():
        info: Any = pypdf.PdfReader(document_pdfs[kind]).metadata
        assert info["/CreationDate"] == date, kind
        assert info["/ModDate"] == date, kind
        assert info.author == "Батыс Қазақстан облысының денсаулық сақтау басқармасы"


def test_titles(document_pdfs: dict[str, Path]) -> None:
    titles = {
        "reasoned-refusal": "Мемлекеттік қызмет көрсетуден дәлелді бас тарту № MR-2016-000047 / "
        "Мотивированный отказ в оказании государственной услуги № MR-2016-000047",
        "license": "Лицензия № 16006514 / Лицензия № 16006514",
        "license-reissued": "Қайта ресімделген лицензия № 18011207 / "
        "Переоформленная лицензия № 18011207",
        "license-duplicate": "Лицензия (телнұсқа) № 16006514 / Лицензия (дубликат) № 16006514",
        "appendix": "Лицензияға қосымша Қосымша № 001, № 16006514 / "
        "Приложение к лицензии Приложение № 001, № 16006514",
    }
    for kind, title in titles.items():
        info: Any = pypdf.PdfReader(document_pdfs[kind]).metadata
        assert info.title == title, kind


def test_each_language_part_starts_a_page(document_pdf: Path) -> None:
    reader = pypdf.PdfReader(document_pdf)
    first = flat(reader.pages[0].extract_text())
    last = flat(reader.pages[-1].extract_text())
    assert "Басшы (уәкілетті тұлға)" in first
    assert "Руководитель" not in first
    assert "Руководитель (уполномоченное лицо)" in last
    assert "Басшы" not in last


def test_signature_area_is_blank_on_last_page(document_pdf: Path) -> None:
    inside, above = last_page_objects(document_pdf.read_bytes())
    assert inside == []
    # The head's signature line stands on the same page, just above the stamp.
    assert above.count("(ЭЦП)") == 1


# With these list lengths the Russian part of the appendix ends just above the
# strip (14), would run into it so the closing lines move to a new page (15),
# or both parts span pages (30); found by trying.  The short case (2 places) is
# the session's "appendix" document, checked above.
@pytest.mark.parametrize("count", [14, 15, 30])
def test_signature_area_blank_whatever_the_appendix_length(renderer: Renderer, count: int) -> None:
    places = [f"Орал қ., Мұхит көшесі, {i}" for i in range(1, count + 1)]
    inside, above = last_page_objects(renderer.render_appendix(appendix(places=places)))
    assert inside == []
    assert above.count("(ЭЦП)") == 1


def test_signature_area_blank_with_long_reasoning(renderer: Renderer) -> None:
    paragraphs = 40
    data = reasoned_refusal(
        reasoning_kk="\n".join(f"{i}. Жабдық тізбесі толық емес." for i in range(paragraphs)),
        reasoning_ru="\n".join(f"{i}. Перечень оборудования неполон." for i in range(paragraphs)),
    )
    pdf = renderer.render_reasoned_refusal(data)
    inside, above = last_page_objects(pdf)
    assert inside == []
    assert above.count("(ЭЦП)") == 1
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) > 2  # the parts did span pages


def test_table_columns_keep_their_share_of_the_width(document_pdfs: dict[str, Path]) -> None:
    # The field and signature tables use the fixed table layout (cheaper than
    # measuring every cell); their label column must still end at 34% of the
    # width and the "(ЭЦҚ)" column start at 78%, as with the automatic layout.
    mm = 72 / 25.4
    left = PAGE.left * mm
    width = (PAGE.width - PAGE.left - PAGE.right) * mm
    with pdfplumber.open(document_pdfs["license"]) as doc:
        words = doc.pages[0].extract_words()
    starts = {w["text"]: float(w["x0"]) for w in words}
    assert starts[PERSON_IIN] == pytest.approx(left + 0.34 * width, abs=0.1)  # a field value
    assert starts[HEAD.split()[0]] == pytest.approx(left + 0.34 * width, abs=0.1)
    assert starts["(ЭЦҚ)"] == pytest.approx(left + 0.78 * width + 2 * mm, abs=0.1)
