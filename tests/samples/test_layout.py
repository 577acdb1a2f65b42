from __future__ import annotations

from pathlib import Path

from medlicense.samples.layout import STYLES, DocContent, Fields, Para, drawn_title, render_pdf
from tests.samples.conftest import pdftotext_pages, squash

KAZAKH_LETTERS = "ӘҒҚҢӨҰҮҺІәғқңөұүһі"


def test_every_kazakh_letter_survives_extraction(tmp_path: Path) -> None:
    content = DocContent(
        title="Қазақ әліпбиі: Ә Ғ Қ Ң Ө Ұ Ү Һ І",
        blocks=(Para(f"Гауһар, Зуһра, {KAZAKH_LETTERS}"), Fields((("Өтініш беруші", "Ұлжан"),))),
    )
    for style in STYLES:
        pdf, pages = render_pdf([(content, style)])
        assert pages == [1]
        path = tmp_path / f"{style.name}.pdf"
        path.write_bytes(pdf)
        text = squash(pdftotext_pages(path)[0])
        assert drawn_title(content, style) in text
        assert KAZAKH_LETTERS in text


def test_long_tables_flow_onto_new_pages() -> None:
    from medlicense.samples.layout import Table

    rows = tuple((str(i), f"Жабдық {i}", "Модель") for i in range(120))
    pdf, pages = render_pdf(
        [
            (
                DocContent(
                    title="Тізбе", blocks=(Table(("№", "Атауы", "Моделі"), rows, (1, 4, 2)),)
                ),
                STYLES[0],
            )
        ]
    )
    assert pages[0] >= 3
    assert pdf.startswith(b"%PDF")
