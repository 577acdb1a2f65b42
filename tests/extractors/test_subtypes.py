"""Requested subtypes read from the application by name and mapped to the edition's codes.

About 15 % of packages come without request.json; then only the application
says which subtypes are asked for, by their Kazakh or Russian names.  The
names are rules data (``edition.subtypes``), so every test takes them from the
rulebook, never from a list of its own.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from extractors.analysis import analyse_file
from extractors.fields import (
    ApplicationFields,
    QualificationFields,
    extract_fields,
    match_names,
    normalize,
)
from medlicense.crosscheck import crosscheck, effective_request, subtype_names
from medlicense.intake import check_package_bytes
from medlicense.models import ApplicantType, ApplicationRequest, DocumentInfo, Language
from medlicense.rules import load_rulebook
from medlicense.rules.schema import Edition
from medlicense.samples import PackageSpec, render_package
from medlicense.samples.documents import BUILDERS
from medlicense.samples.layout import STYLES, binary_streams, new_canvas, render_pdf
from medlicense.samples.packages import make_case
from medlicense.samples.scan import draw_scanned

RULEBOOK = load_rulebook(None)
# Generated packages are submitted in 2026 (medlicense.samples.packages.make_case).
EDITION = RULEBOOK.edition_for(dt.date(2026, 3, 2))
NAMES = subtype_names(EDITION)
CODES = tuple(s.code for s in EDITION.subtypes)
ON = dt.date(2026, 3, 2)
BIN = "180840700375"  # valid


def _printed(code: str, language: Language, edition: Edition = EDITION) -> str:
    subtype = next(s for s in edition.subtypes if s.code == code)
    return subtype.name.kk if language == "kk" else subtype.name.ru


code_lists = st.lists(st.sampled_from(CODES), min_size=1, max_size=len(CODES), unique=True)
LANGUAGES: tuple[Language, ...] = ("kk", "ru")
languages = st.sampled_from(LANGUAGES)


# ------------------------------------------------------------------- match_names


@st.composite
def printed_lists(draw: st.DrawFn) -> tuple[tuple[str, ...], str]:
    """A list of subtypes as an applicant might print it: (codes, text)."""
    codes = tuple(draw(code_lists))
    names = []
    for n, code in enumerate(codes, start=1):
        name = _printed(code, draw(languages))
        name = draw(st.sampled_from([name, name.upper(), name.lower()]))
        marker = draw(st.sampled_from(["", f"{n}) ", f"{n}. ", "- ", "• "]))
        names.append(marker + name)
    text = names[0]
    for name in names[1:]:
        text += draw(st.sampled_from(["; ", ";", " ;\n", "\n", ";\n"])) + name
    # Wrap at some spaces and in-word hyphens, as a narrow table cell or a scan would.
    out = []
    for i, ch in enumerate(text):
        if ch == " " and draw(st.integers(0, 4)) == 0:
            ch = "\n"
        elif ch == "-" and text[i + 1 : i + 2].isalpha() and draw(st.integers(0, 4)) == 0:
            ch = "-\n"
        out.append(ch)
    return codes, "".join(out)


@settings(max_examples=300, deadline=None)
@given(printed_lists())
def test_any_printed_list_maps_to_exactly_its_codes(printed: tuple[tuple[str, ...], str]) -> None:
    codes, text = printed
    assert match_names(text, NAMES) == match_names(text, NAMES, tolerant=True)
    read = match_names(text, NAMES)
    assert read.codes == codes
    assert read.unknown == ()


# Words of two letters and more: single letters read as list markers ("а)", "б)").
unknown_names = st.lists(
    st.text(alphabet="абвгдежзиклмнопрстуфхцэюяқұүә", min_size=2, max_size=12),
    min_size=1,
    max_size=4,
).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(code_lists, unknown_names, st.integers(0, 12), languages)
def test_a_name_outside_the_nomenclature_is_reported_not_dropped(
    codes: list[str], stranger: str, at: int, language: Language
) -> None:
    # A stray word that is itself a whole name would be a name, not a stranger.
    assume(all(stranger.casefold() != n.casefold() for n in NAMES))
    names = [_printed(c, language) for c in codes]
    names.insert(min(at, len(names)), stranger)
    read = match_names("; ".join(names), NAMES)
    assert read.codes == tuple(codes)
    assert read.unknown == (stranger,)


@st.composite
def misreads(draw: st.DrawFn) -> tuple[str, str, str, Edition]:
    """(code, its name with one letter misread, the exact name, edition) from any edition."""
    edition = draw(st.sampled_from(RULEBOOK.editions))
    code = draw(st.sampled_from([s.code for s in edition.subtypes]))
    name = _printed(code, draw(languages), edition)
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    i = draw(st.sampled_from(letters))
    # Look-alikes (қ for к) are folded before matching: a misread must be another letter.
    wrong = draw(st.sampled_from("оаеилнтрсзбвкмп").filter(lambda c: c != normalize(name[i])))
    return code, name[:i] + wrong + name[i + 1 :], name, edition


@settings(max_examples=300, deadline=None)
@given(misreads())
def test_one_misread_letter_never_turns_into_another_subtype(
    sample: tuple[str, str, str, Edition],
) -> None:
    code, misread, name, edition = sample
    names = subtype_names(edition)
    tolerant = match_names(misread, names, tolerant=True)
    # The nomenclature's names are far enough apart that a misread is its own name
    # or, for the shortest names, nothing at all; never a different code.
    assert tolerant.codes in ((code,), ())
    if len(re.sub(r"\W", "", name)) >= 12:
        assert tolerant.codes == (code,)
    if tolerant.codes == ():
        assert tolerant.unknown == (misread,)
    # Exact matching (a text layer) does not guess.
    exact = match_names(misread, names)
    assert exact.codes == () and exact.unknown == (misread,)


def test_ocr_damage_that_is_too_much_stays_unknown() -> None:
    name = _printed("outpatient_primary", "kk")
    # An OCR line that lost half of the name ("медициналық-санитариялық" read as "Вана").
    damaged = name.replace("медициналық-санитариялық", "Вана")
    read = match_names(f"{damaged}; {_printed('inpatient', 'kk')}", NAMES, tolerant=True)
    assert read.codes == ("inpatient",)
    assert read.unknown == (damaged,)


# --------------------------------------------------------- from the form's text


@settings(max_examples=60, deadline=None)
@given(printed_lists(), languages)
def test_the_line_reader_keeps_wrapped_and_line_separated_lists(
    printed: tuple[tuple[str, ...], str], language: Language
) -> None:
    codes, listed = printed
    kk = language == "kk"
    # The numbered markers would read as a numbered heading ending the value: the
    # line reader's rule for every field, so the form's list here has none.
    listed = re.sub(r"(?m)^\d+[.)] ", "", listed)
    text = "\n".join(
        [
            "Медициналық қызметке лицензия беруіңізді сұраймын."
            if kk
            else "Прошу выдать лицензию на занятие медицинской деятельностью.",
            f"{'БСН' if kk else 'БИН'}: {BIN}",
            f"{'Кіші түрлері' if kk else 'Подвиды'}: {listed}",
            f"{'Қызметті жүзеге асыру орны' if kk else 'Место осуществления деятельности'}: "
            "Орал қ., Абай даңғылы, 38",
        ]
    )
    fields = extract_fields("application", text)
    assert isinstance(fields, ApplicationFields)
    assert fields.places == ("Орал қ., Абай даңғылы, 38",)
    effective = effective_request(None, [_doc("application", fields)], EDITION)
    assert effective.subtypes == codes


# ------------------------------------------------------------ whole packages


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    code_lists,
    languages,
    st.sampled_from(list(ApplicantType)),
    st.integers(0, 2**32 - 1),
)
def test_a_package_without_request_json_asks_for_the_printed_subtypes(
    codes: list[str], language: Language, applicant: ApplicantType, seed: int
) -> None:
    spec = PackageSpec(
        seed=seed,
        language=language,
        applicant_type=applicant,
        subtypes=tuple(codes),
        request_json=False,
    )
    built = render_package(spec)
    verdict = check_package_bytes(built.data, "p.zip", rulebook=RULEBOOK)
    assert verdict.outcome.value == "accepted"
    assert verdict.request.subtypes == tuple(codes)
    assert not [f for f in verdict.findings if f.code.startswith(("subtype.", "request."))]
    assert "rules.subtypes_missing" not in {f.code for f in verdict.findings}


@pytest.mark.parametrize(
    ("language", "codes", "seed"),
    [
        ("ru", ("inpatient", "laboratory_diagnostics"), 3),
        ("kk", ("day_hospital", "medical_examinations", "traditional_medicine"), 5),
    ],
)
def test_a_scanned_application_in_lines_layout(
    language: Language, codes: tuple[str, ...], seed: int
) -> None:
    # Only the "label: value" layout survives OCR with its labels; grid layouts lose
    # the label column, so there the subtypes stay unread (and a person fills them in).
    spec = PackageSpec(seed=seed, language=language, subtypes=codes)
    case, _, _ = make_case(spec, random.Random(seed))
    content = BUILDERS["application"](case, language, random.Random(seed), 0)
    drawn, _ = render_pdf([(content, STYLES[0])])
    buf = io.BytesIO()
    with binary_streams():
        canvas = new_canvas(buf)
        draw_scanned(canvas, drawn, random.Random(seed))
        canvas.save()
    [doc] = analyse_file("scan.pdf", buf.getvalue(), "").documents
    assert doc.kind == "application" and doc.ocr_pages == 1
    assert effective_request(None, [doc], EDITION).subtypes == codes
    assert not [f.code for f in crosscheck(None, [doc], EDITION, on=ON) if "subtype" in f.code]


# -------------------------------------------------------------- cross-checks


def _doc(kind: str, fields: object, ocr: int = 0, language: Language = "ru") -> DocumentInfo:
    return DocumentInfo(
        file=f"{kind}.pdf",
        kind=kind,
        pages=1,
        sha256="",
        fields=fields,
        ocr_pages=ocr,
        language=language,
    )


def _app(*subtypes: str, ocr: int = 0) -> DocumentInfo:
    fields = ApplicationFields(
        request_kind="issue", applicant_type="legal_entity", iin_bin=BIN, subtypes=subtypes
    )
    return _doc("application", fields, ocr)


def _findings(request: ApplicationRequest | None, *docs: DocumentInfo) -> list[tuple[str, str]]:
    return sorted((f.code, f.message) for f in crosscheck(request, docs, EDITION, on=ON))


def test_an_unknown_name_is_a_finding_and_the_known_ones_are_asked_for() -> None:
    app = _app("Стационарная помощь", "Косметология")
    assert effective_request(None, [app], EDITION).subtypes == ("inpatient",)
    [(code, message)] = _findings(None, app)
    assert code == "subtype.unknown"
    assert "'Косметология'" in message and "(read by OCR)" not in message


def test_without_the_edition_the_request_keeps_request_json_subtypes() -> None:
    request = ApplicationRequest(subtypes=("blood_service",))
    assert effective_request(request, [_app("Стационарная помощь")]).subtypes == ("blood_service",)


def test_request_json_naming_other_subtypes_is_a_mismatch_and_the_application_wins() -> None:
    request = ApplicationRequest(iin_bin=BIN, subtypes=("blood_service",))
    app = _app("Стационарная помощь")
    [(code, message)] = _findings(request, app)
    assert code == "request.mismatch"
    assert "subtypes blood_service vs inpatient" in message
    assert effective_request(request, [app], EDITION).subtypes == ("inpatient",)
    same = ApplicationRequest(iin_bin=BIN, subtypes=("inpatient",))
    assert _findings(same, app) == []


def test_an_ocr_leftover_is_not_held_against_request_json() -> None:
    request = ApplicationRequest(iin_bin=BIN, subtypes=("inpatient", "blood_service"))
    app = _app("Стационарная помощь; Сл@ж6а кр", ocr=1)
    assert _findings(request, app) == []
    assert effective_request(request, [app], EDITION).subtypes == ("inpatient", "blood_service")
    # Without request.json nobody else says what the leftover was: a person must look.
    [(code, message)] = _findings(None, app)
    assert code == "subtype.unknown" and "(read by OCR)" in message
    assert effective_request(None, [app], EDITION).subtypes == ("inpatient",)


def test_a_qualification_form_in_the_other_language_covers_the_subtype() -> None:
    app = _app("Стационарная помощь", "Лабораторная диагностика")
    form = _doc(
        "qualification_form",
        QualificationFields(iin_bin=BIN, subtypes=("Стационарлық көмек",)),
        language="kk",
    )
    [(code, message)] = _findings(None, app, form)
    assert code == "subtype.uncovered"
    assert "'Лабораторная диагностика'" in message
