"""What a reader (and pdftotext) finds on the receipts, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from templates import ReceiptData, Renderer

from .helpers import (
    DOCUMENTS,
    KAZAKH_ADDRESS,
    KAZAKH_LETTERS,
    KAZAKH_NAME,
    MISSING,
    flat,
    pdftotext,
)

SERVICE_KK = "«Медициналық қызметке лицензия беру»"
SERVICE_RU = "«Выдача лицензии на медицинскую деятельность»"


@pytest.mark.parametrize("layout", [False, True], ids=["plain", "layout"])
def test_kazakh_letters_survive_extraction(any_pdf: Path, layout: bool) -> None:
    text = pdftotext(any_pdf, layout=layout)
    assert KAZAKH_NAME in flat(text)
    assert KAZAKH_ADDRESS in flat(text)
    assert set(KAZAKH_LETTERS) <= set(KAZAKH_NAME + KAZAKH_ADDRESS)  # the sample is complete
    for letter in KAZAKH_LETTERS:
        assert letter in text, letter


def test_acceptance_phrases(renderer: Renderer, acceptance_pdf: Path) -> None:
    text = flat(pdftotext(acceptance_pdf))
    kk, ru = renderer.catalogs["kk"], renderer.catalogs["ru"]
    expected = [
        "Құжаттарды қабылдау туралы қолхат",
        "Расписка о приёме документов",
        "№ ML-2016-000123",
        SERVICE_KK,
        SERVICE_RU,
        "05.04.2016 10:32",  # accepted_at, in its own offset
        "25.04.2016",  # due date
        "Серікова Айгүл Нұрланқызы",
        "860101300123",
        KAZAKH_ADDRESS,
        "Батыс Қазақстан облысының денсаулық сақтау басқармасы",
        "Управление здравоохранения Западно-Казахстанской области",
        kk["receipt"]["accepted_at"],
        ru["receipt"]["accepted_at"],
        kk["receipt"]["documents"],
        ru["receipt"]["documents"],
        kk["receipt"]["accepted_statement"].format(service=kk["common"]["service_name"]),
        ru["receipt"]["accepted_statement"].format(service=ru["common"]["service_name"]),
    ]
    for phrase in expected:
        assert flat(phrase) in text, phrase
    assert "Расписка об отказе" not in text


def test_refusal_phrases(renderer: Renderer, refusal_pdf: Path) -> None:
    text = flat(pdftotext(refusal_pdf))
    expected = [
        "Құжаттарды қабылдаудан бас тарту туралы қолхат",
        "Расписка об отказе в приёме документов",
        SERVICE_KK,
        SERVICE_RU,
        # The legal basis: article 20, item 2 of the Law on public services.
        "«Мемлекеттік көрсетілетін қызметтер туралы» Заңының 20-бабының 2-тармағына",
        "пунктом 2 статьи 20 Закона Республики Казахстан от 15 апреля 2013 года "
        "«О государственных услугах»",
        # Issuing office with its address, inside the statement.
        "Батыс Қазақстан облысының денсаулық сақтау басқармасы "
        "(Орал қ., Достық-Дружба даңғылы, 201)",
        "Управление здравоохранения Западно-Казахстанской области "
        "(г. Уральск, проспект Достык-Дружба, 201)",
        "Серікова Айгүл Нұрланқызы",
        "Жақсылықов Бауыржан",
        KAZAKH_ADDRESS,
        # Acknowledgment of the applicant, with a blank date.
        "Алдым:",
        "Получил(а):",
        "20____ ж.",
        "20____ г.",
    ]
    for phrase in expected:
        assert phrase in text, phrase
    for lang in ("kk", "ru"):
        receipt = renderer.catalogs[lang]["receipt"]
        for key in ("missing", "copies", "received_hint"):
            assert flat(receipt[key]) in text, (lang, key)
    assert "Расписка о приёме документов" not in text


def test_missing_documents_are_numbered(refusal_pdf: Path) -> None:
    text = pdftotext(refusal_pdf, layout=True)
    for index, (_code, name_kk, name_ru) in enumerate(MISSING, start=1):
        for name in (name_kk, name_ru):
            assert re.search(rf"^\s*{index}\)\s+{re.escape(name)}\s*$", text, re.M), name


def test_accepted_documents_are_numbered(acceptance_pdf: Path) -> None:
    text = pdftotext(acceptance_pdf, layout=True)
    for index, (name_kk, name_ru) in enumerate(DOCUMENTS, start=1):
        for name in (name_kk, name_ru):
            assert re.search(rf"^\s*{index}\)\s+{re.escape(name)}\s*$", text, re.M), name


def test_kazakh_part_comes_first(any_pdf: Path) -> None:
    text = flat(pdftotext(any_pdf))
    assert text.index("Медициналық қызметке лицензия беру") < text.index(
        "Выдача лицензии на медицинскую деятельность"
    )


def test_html_language_structure(
    renderer: Renderer, acceptance_data: ReceiptData, refusal_data: ReceiptData
) -> None:
    for data in (acceptance_data, refusal_data):
        html = renderer.receipt_html(data)
        assert '<html lang="kk">' in html
        parts = re.findall(r'<section class="part part-(\w+)" lang="(\w+)">', html)
        assert parts == [("kk", "kk"), ("ru", "ru")]
        ru_part = html[html.index('<section class="part part-ru"') :]
        assert "Выдача лицензии на медицинскую деятельность" in ru_part
        assert "Медициналық қызметке лицензия беру" not in ru_part


def test_applicant_text_is_escaped(renderer: Renderer, acceptance_data: ReceiptData) -> None:
    data = acceptance_data.model_copy(update={"applicant_name": 'ТОО «A&B» <img src="x">'})
    html = renderer.receipt_html(data)
    assert '<img src="x">' not in html
    assert "ТОО «A&amp;B» &lt;img" in html


def test_qr_code_encodes_the_verify_url(renderer: Renderer, acceptance_data: ReceiptData) -> None:
    from templates.render import qr_data_uri

    html = renderer.receipt_html(acceptance_data)
    assert qr_data_uri(acceptance_data.verify_url) in html
    assert qr_data_uri(acceptance_data.verify_url) != qr_data_uri(acceptance_data.verify_url + "x")
