"""What a reader (and pdftotext) finds on the reasoned refusal, license and
appendix, in both languages, with their re-issue and duplicate variants."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from medlicense.models import ApplicantType
from templates import Licensee, Renderer
from templates.render import qr_data_uri

from .documents import (
    BUILDERS,
    CHANGES,
    ENTITY_BIN,
    ENTITY_NAME,
    EXECUTOR,
    GROUNDS,
    HEAD,
    NEW_NAME,
    OLD_NAME,
    PERSON_IIN,
    PLACES,
    SUBTYPES,
    license_,
    reasoned_refusal,
    reissued_license,
)
from .helpers import KAZAKH_ADDRESS, KAZAKH_LETTERS, KAZAKH_NAME, flat, pdftotext

PROVIDER_KK = "Батыс Қазақстан облысының денсаулық сақтау басқармасы"
PROVIDER_RU = "Управление здравоохранения Западно-Казахстанской области"


@pytest.fixture(scope="module")
def texts(document_pdfs: dict[str, Path]) -> dict[str, str]:
    """pdftotext of every document, whitespace runs made single spaces."""
    return {kind: flat(pdftotext(path)) for kind, path in document_pdfs.items()}


def contains(text: str, phrase: str) -> bool:
    """``phrase in text``, hyphens aside: pdftotext joins a word broken at its
    hyphen at a line end and drops the hyphen ("Западно-⏎Казахстанской")."""
    return phrase.replace("-", "") in text.replace("-", "")


def _catalog(renderer: Renderer, lang: str, section: str, key: str) -> str:
    text = renderer.catalogs[lang][section][key]
    assert isinstance(text, str)
    return flat(text)


def test_kazakh_letters_survive_extraction(document_pdf: Path) -> None:
    text = pdftotext(document_pdf)
    assert KAZAKH_NAME in flat(text)
    assert KAZAKH_ADDRESS in flat(text)
    for letter in KAZAKH_LETTERS:
        assert letter in text, letter


def test_kazakh_part_comes_first(document_kind: str, texts: dict[str, str]) -> None:
    text = texts[document_kind]
    assert text.index("Басшы (уәкілетті тұлға)") < text.index("Руководитель (уполномоченное лицо)")


def test_common_data_everywhere(document_kind: str, texts: dict[str, str]) -> None:
    text = texts[document_kind]
    for phrase in (PROVIDER_KK, PROVIDER_RU, HEAD, "(ЭЦҚ)", "(ЭЦП)"):
        assert contains(text, phrase), phrase


# --- reasoned refusal ------------------------------------------------------------------


def test_reasoned_refusal_phrases(renderer: Renderer, texts: dict[str, str]) -> None:
    text = texts["reasoned-refusal"]
    expected = [
        "Мемлекеттік қызмет көрсетуден дәлелді бас тарту",
        "Мотивированный отказ в оказании государственной услуги",
        "№ MR-2016-000047",
        "17.05.2016",
        PERSON_IIN,
        EXECUTOR,
        # The application it answers, in each language's word order.
        "29.04.2016 № ML-2016-000311",
        "№ ML-2016-000311 от 29.04.2016",
        "Күндізгі стационарға қажетті жабдықтар тізбесі ұсынылмаған.",
        "Не представлен перечень оборудования дневного стационара.",
        "Мемлекеттік көрсетілетін қызмет стандартының 10-тармағы",
        "Пункт 10 стандарта государственной услуги",
        # The statement names the provider and the service.
        f"{PROVIDER_KK} «Медициналық қызметке лицензия беру» мемлекеттік көрсетілетін қызметін",
        f"{PROVIDER_RU}, рассмотрев заявление на получение государственной услуги "
        "«Выдача лицензии на медицинскую деятельность»",
        # Appeal: the provider's head, the quality-assessment body, the court.
        f"көрсетілетін қызметті берушінің басшысына ({PROVIDER_KK});",
        f"руководителю услугодателя ({PROVIDER_RU});",
    ]
    for phrase in expected:
        assert contains(text, phrase), phrase
    for lang in ("kk", "ru"):
        for key in ("grounds", "reasoning", "legal_basis", "appeal"):
            assert _catalog(renderer, lang, "reasoned_refusal", key) + ":" in text, (lang, key)
        for key in ("appeal_intro", "appeal_quality", "appeal_court"):
            assert _catalog(renderer, lang, "reasoned_refusal", key) in text, (lang, key)
    assert "«Мемлекеттік көрсетілетін қызметтер туралы»" in text
    assert "«О государственных услугах»" in text


def test_grounds_are_numbered(document_pdfs: dict[str, Path]) -> None:
    text = pdftotext(document_pdfs["reasoned-refusal"], layout=True)
    for index, (_code, name_kk, name_ru) in enumerate(GROUNDS, start=1):
        for name in (name_kk, name_ru):
            assert re.search(rf"^\s*{index}\)\s+{re.escape(name)}\s*$", text, re.M), name


def test_ground_codes_travel_in_the_html(renderer: Renderer) -> None:
    html = renderer.reasoned_refusal_html(reasoned_refusal())
    for code, _kk, _ru in GROUNDS:
        assert html.count(f'data-code="{code}"') == 2  # once per language part


# --- license ---------------------------------------------------------------------------


def test_license_phrases(texts: dict[str, str]) -> None:
    text = texts["license"]
    expected = [
        "№ 16006514",
        "«Медициналық қызмет»",
        "«Медицинская деятельность»",
        "Мерзімсіз",
        "Бессрочная",
        "Иеліктен шығарылмайтын, 1-сынып",
        "Неотчуждаемая, класс 1",
        "Алғашқы берілген күні 22.04.2016",
        "Дата первичной выдачи 22.04.2016",
        "Берілген жері Орал қ.",
        "Место выдачи г. Уральск",
        "Лицензиар " + PROVIDER_KK,
        "Лицензиар " + PROVIDER_RU,
        # An individual licensee: full name, IIN, address.
        "Тегі, аты, әкесінің аты (бар болса) " + KAZAKH_NAME,
        "Фамилия, имя, отчество (при наличии) " + KAZAKH_NAME,
        "ЖСН " + PERSON_IIN,
        "ИИН " + PERSON_IIN,
        "Тек қосымшада көрсетілген мекенжайларда.",
        "Только по адресам, указанным в приложении.",
    ]
    for phrase in expected:
        assert contains(text, phrase), phrase
    for absent in ("ТЕЛНҰСҚА", "ДУБЛИКАТ", "Переоформленная", "Қайта ресімделген"):
        assert absent not in text, absent


def test_entity_licensee_labels(renderer: Renderer) -> None:
    entity = Licensee(
        kind=ApplicantType.LEGAL_ENTITY,
        name=ENTITY_NAME,
        iin_bin=ENTITY_BIN,
        address=KAZAKH_ADDRESS,
    )
    html = renderer.license_html(license_(licensee=entity))
    for label in ("Заңды тұлғаның атауы", "БСН", "Орналасқан жері"):
        assert label in html, label
    for label in ("Наименование юридического лица", "БИН", "Местонахождение"):
        assert label in html, label
    for label in ("ЖСН", "ИИН", "Тегі, аты", "Фамилия, имя"):
        assert label not in html, label


def test_special_conditions_are_optional(renderer: Renderer) -> None:
    html = renderer.license_html(license_(special_conditions_kk=None, special_conditions_ru=None))
    for lang in ("kk", "ru"):
        assert _catalog(renderer, lang, "license", "special_conditions") not in html


# --- appendix --------------------------------------------------------------------------


def test_appendix_phrases(texts: dict[str, str]) -> None:
    text = texts["appendix"]
    expected = [
        "Лицензияға қосымша",
        "Приложение к лицензии",
        "Қосымша № 001",
        "Приложение № 001",
        "Лицензияның нөмірі № 16006514",
        "Номер лицензии № 16006514",
        "Қосымшаның берілген күні 22.04.2016",
        "Дата выдачи приложения 22.04.2016",
        "Лицензияланатын қызмет түрінің кіші түрлері:",
        "Подвиды лицензируемого вида деятельности:",
        "Қызметті жүзеге асыру орындары:",
        "Места осуществления деятельности:",
    ]
    for phrase in expected:
        assert contains(text, phrase), phrase


def test_subtypes_and_places_are_numbered(document_pdfs: dict[str, Path]) -> None:
    text = pdftotext(document_pdfs["appendix"], layout=True)
    for index, (name_kk, name_ru) in enumerate(SUBTYPES, start=1):
        for name in (name_kk, name_ru):
            assert re.search(rf"^\s*{index}\)\s+{re.escape(name)}\s*$", text, re.M), name
    for index, place in enumerate(PLACES, start=1):
        # Once in each language part.
        found = re.findall(rf"^\s*{index}\)\s+{re.escape(place)}\s*$", text, re.M)
        assert len(found) == 2, place


# --- re-issue --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "title_kk", "title_ru", "statement_kk", "statement_ru"),
    [
        (
            "license-reissued",
            "Қайта ресімделген лицензия",
            "Переоформленная лицензия",
            "Лицензия 22.04.2016 берілген № 16006514 лицензияның орнына қайта ресімделді.",
            "Лицензия переоформлена взамен лицензии № 16006514 от 22.04.2016.",
        ),
        (
            "appendix-reissued",
            "Лицензияға қайта ресімделген қосымша",
            "Переоформленное приложение к лицензии",
            "Қосымша 22.04.2016 берілген № 001 қосымшаның орнына қайта ресімделді.",
            "Приложение переоформлено взамен приложения № 001 от 22.04.2016.",
        ),
    ],
)
def test_reissue_shows_what_changed(
    texts: dict[str, str],
    kind: str,
    title_kk: str,
    title_ru: str,
    statement_kk: str,
    statement_ru: str,
) -> None:
    text = texts[kind]
    expected = [
        title_kk,
        title_ru,
        statement_kk,
        statement_ru,
        "Қайта ресімдеу туралы мәліметтер",
        "Сведения о переоформлении",
        "Қайта ресімделген күні 13.06.2018",
        "Дата переоформления 13.06.2018",
        "Деректеме Бұрынғы мәні Жаңа мәні",
        "Реквизит Прежнее значение Новое значение",
    ]
    for phrase in expected:
        assert contains(text, phrase), phrase
    for label_kk, label_ru, old, new in CHANGES:
        for phrase in (label_kk, label_ru, old, new):
            assert contains(text, phrase), phrase
    assert text.count(OLD_NAME) == 2 and text.count(NEW_NAME) == 2  # one change row per part
    assert "ТЕЛНҰСҚА" not in text and "ДУБЛИКАТ" not in text


def test_reissue_rows_pair_old_and_new(renderer: Renderer) -> None:
    html = renderer.license_html(reissued_license())
    rows = re.findall(
        r'<td class="label">(.*?)</td>\s*<td class="old">(.*?)</td>\s*<td class="new">(.*?)</td>',
        html,
    )
    unescape = {"&#34;": '"', "&amp;": "&"}

    def plain(value: str) -> str:
        for entity, char in unescape.items():
            value = value.replace(entity, char)
        return value

    got = [tuple(plain(cell) for cell in row) for row in rows]
    expected_kk = [(kk, old, new) for kk, _ru, old, new in CHANGES]
    expected_ru = [(ru, old, new) for _kk, ru, old, new in CHANGES]
    assert got == expected_kk + expected_ru


# --- duplicate -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "number", "statement_kk", "statement_ru"),
    [
        (
            "license-duplicate",
            "№ 16006514",
            "Телнұсқа 22.04.2016 берілген № 16006514 лицензияның түпнұсқасының орнына берілді.",
            "Дубликат выдан взамен оригинала лицензии № 16006514 от 22.04.2016.",
        ),
        (
            "appendix-duplicate",
            "№ 001",
            "Телнұсқа 22.04.2016 берілген № 001 қосымшаның түпнұсқасының орнына берілді.",
            "Дубликат выдан взамен оригинала приложения № 001 от 22.04.2016.",
        ),
    ],
)
def test_duplicate_is_marked_and_keeps_the_number(
    texts: dict[str, str], kind: str, number: str, statement_kk: str, statement_ru: str
) -> None:
    text = texts[kind]
    original = texts[kind.removesuffix("-duplicate")]
    for phrase in (
        statement_kk,
        statement_ru,
        "Телнұсқаның берілген күні 13.06.2018",
        "Дата выдачи дубликата 13.06.2018",
    ):
        assert contains(text, phrase), phrase
    # The mark stands above the title of each part.
    assert text.index("ТЕЛНҰСҚА") < text.index("Лицензия") < text.index("ДУБЛИКАТ")
    assert text.count("ТЕЛНҰСҚА") == 1 and text.count("ДУБЛИКАТ") == 1
    # Same number and data as the original, dated like the original.
    assert text.count(number) >= original.count(number) >= 2
    for phrase in (KAZAKH_NAME, PERSON_IIN, "22.04.2016", "«Медицинская деятельность»"):
        if phrase in original:
            assert contains(text, phrase), phrase


# --- HTML structure, shared by every kind -----------------------------------------------


def _html(renderer: Renderer, kind: str) -> str:
    return renderer.html(BUILDERS[kind]())


def test_html_language_structure(renderer: Renderer, document_kind: str) -> None:
    html = _html(renderer, document_kind)
    assert '<html lang="kk">' in html
    parts = re.findall(r'<section class="part part-(\w+)" lang="(\w+)">', html)
    assert parts == [("kk", "kk"), ("ru", "ru")]
    ru_part = html[html.index('<section class="part part-ru"') :]
    assert "Руководитель (уполномоченное лицо)" in ru_part
    assert "Басшы (уәкілетті тұлға)" not in ru_part


def test_qr_code_encodes_the_verify_url(renderer: Renderer, document_kind: str) -> None:
    html = _html(renderer, document_kind)
    url = BUILDERS[document_kind]().verify_url
    assert qr_data_uri(url) in html


def test_licensee_text_is_escaped(renderer: Renderer) -> None:
    hostile = Licensee(
        kind=ApplicantType.LEGAL_ENTITY,
        name='ТОО «A&B» <img src="x">',
        iin_bin=ENTITY_BIN,
        address=KAZAKH_ADDRESS,
    )
    html = renderer.license_html(license_(licensee=hostile))
    assert '<img src="x">' not in html
    assert "ТОО «A&amp;B» &lt;img" in html
