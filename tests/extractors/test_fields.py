"""Field extraction in every drawn layout and from OCR-like text, and the cross-checks."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from extractors.analysis import analyse_file
from extractors.fields import (
    ApplicationFields,
    CertificateFields,
    PaymentFields,
    ProxyFields,
    QualificationFields,
    SanitaryFields,
    extract_fields,
    parse_amount,
    parse_date,
)
from medlicense.crosscheck import crosscheck, effective_request
from medlicense.models import ApplicationRequest, DocumentInfo, Language, RequestKind
from medlicense.rules import load_rulebook
from medlicense.samples import PackageSpec
from medlicense.samples.data import SUBTYPES
from medlicense.samples.documents import BUILDERS, Case
from medlicense.samples.layout import STYLES, render_pdf
from medlicense.samples.packages import make_case


def _case(seed: int, language: Language, **spec: object) -> Case:
    built = PackageSpec.model_validate({"seed": seed, "language": language, **spec})
    case, _, _ = make_case(built, random.Random(seed))
    return case


def _read(code: str, case: Case, language: Language, style: int, seed: int = 0) -> object:
    content = BUILDERS[code](case, language, random.Random(seed), 0)
    pdf, _ = render_pdf([(content, STYLES[style])])
    docs = analyse_file("x.pdf", pdf, "").documents
    assert [d.kind for d in docs] == [code]
    return docs[0].fields


@pytest.mark.parametrize("style", range(len(STYLES)))
@pytest.mark.parametrize("language", ["kk", "ru"])
def test_application_fields_in_every_layout(style: int, language: Language) -> None:
    case = _case(11 + style, language, representative=True)
    fields = _read("application", case, language, style)
    assert isinstance(fields, ApplicationFields)
    assert fields.request_kind == "issue"
    assert fields.applicant_type == "legal_entity"
    assert fields.applicant_name == case.applicant_name(language)
    assert fields.iin_bin == case.iin_bin
    assert fields.subtypes == tuple(
        SUBTYPES[s][0 if language == "kk" else 1] for s in case.subtypes
    )
    assert fields.places == tuple(p.text(language) for p in case.places)
    assert fields.address == case.address.text(language)
    assert case.representative is not None
    assert fields.representative_iin == case.representative.iin
    assert fields.date == case.submitted


@pytest.mark.parametrize("seed", range(6))  # three payment layouts, two languages
def test_payment_fields(seed: int) -> None:
    language: Language = "kk" if seed % 2 else "ru"
    case = _case(seed, language)
    fields = _read("fee_payment", case, language, seed % len(STYLES), seed)
    assert isinstance(fields, PaymentFields)
    assert fields.amount == Decimal(case.fee_amount)
    assert fields.date == case.payment_date
    assert fields.payer_iin_bin == case.payer_id
    assert fields.payer_name == case.payer_name
    assert fields.kbk == "217114"


@pytest.mark.parametrize("style", range(len(STYLES)))
def test_qualification_form_staff_and_subtypes(style: int) -> None:
    case = _case(21, "ru", subtypes=("inpatient", "laboratory_diagnostics"))
    fields = _read("qualification_form", case, "ru", style)
    assert isinstance(fields, QualificationFields)
    assert fields.subtypes == ("Стационарная помощь", "Лабораторная диагностика")
    assert [(s.name, s.certificate_number) for s in fields.staff] == [
        (s.person.full, s.cert_no) for s in case.staff
    ]


def test_reissue_ground_becomes_a_rules_code() -> None:
    for seed in range(40):
        case = _case(seed, "kk", kind=RequestKind.REISSUE)
        if case.reissue_ground == "address_change":
            break
    fields = _read("application", case, "kk", 0)
    assert isinstance(fields, ApplicationFields)
    assert (fields.request_kind, fields.reissue_ground_code) == ("reissue", "object_address")
    assert fields.license_number == case.license_number


def test_ocr_like_text_with_lookalike_letters() -> None:
    text = (
        "САНИТАРИЯЛЫК-ЭПИДЕМИОЛОГИЯЛЫК КОРЫТЫНДЫ\n№ KZ12VBS00000001 17.02.2025\n"
        "Мекенжайы Орал к., Абай дангылы, 38 үй\nӨтініш беруші «Мейірім» ЖШС\n"
        "БСН 180840700375\n"
    )
    fields = extract_fields("sanitary_conclusion", text)
    assert isinstance(fields, SanitaryFields)
    assert fields.iin_bin == "180840700375"
    assert fields.issued == dt.date(2025, 2, 17)
    assert fields.applicant_name == "«Мейірім» ЖШС"


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Күні: 2026 жылғы 10 сәуір М.О.", dt.date(2026, 4, 10)),
        ("Дата: 12 июня 2026 г. М.П.", dt.date(2026, 6, 12)),
        ("Төлем күні 06.04.2026", dt.date(2026, 4, 6)),
        ("31.02.2026", None),
    ],
)
def test_dates(text: str, day: dt.date | None) -> None:
    assert parse_date(text) == day


def test_amounts() -> None:
    assert parse_amount("43 250,00 ₸") == Decimal("43250.00")
    assert parse_amount("4325 тенге") == Decimal("4325")
    assert parse_amount("-4 325,00 ₸") == Decimal("-4325.00")


# ------------------------------------------------------------------ cross-checks

BIN = "180840700375"  # valid
OTHER_BIN = "210840675646"  # valid
ON = dt.date(2026, 3, 2)


def _doc(kind: str, fields: object, ocr: int = 0) -> DocumentInfo:
    return DocumentInfo(
        file=f"{kind}.pdf", kind=kind, pages=1, sha256="", fields=fields, ocr_pages=ocr
    )


def _app(**changes: object) -> DocumentInfo:
    base: dict[str, object] = {
        "request_kind": "issue",
        "applicant_type": "legal_entity",
        "applicant_name": "ТОО «Мейірім»",
        "iin_bin": BIN,
        "subtypes": ("Стационарная помощь",),
        "date": ON,
    }
    return _doc("application", ApplicationFields.model_validate({**base, **changes}))


def _pay(amount: str, payer: str = BIN) -> DocumentInfo:
    return _doc(
        "fee_payment",
        PaymentFields(amount=Decimal(amount), date=ON, payer_iin_bin=payer, payer_name="X"),
    )


def _codes(request: ApplicationRequest | None, *docs: DocumentInfo) -> list[str]:
    edition = load_rulebook().edition_for(dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    return sorted(f.code for f in crosscheck(request, docs, edition, on=ON))


def test_a_consistent_package_has_no_findings() -> None:
    form = _doc(
        "qualification_form", QualificationFields(iin_bin=BIN, subtypes=("Стационарная помощь",))
    )
    assert _codes(None, _app(), _pay("43250"), form) == []


def test_underpaid_fee_names_the_shortfall() -> None:
    edition = load_rulebook().edition_for(dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    findings = crosscheck(None, [_app(), _pay("39320")], edition, on=ON)
    assert [f.code for f in findings] == ["fee.underpaid"]
    assert "short by 3930" in findings[0].message


def test_paid_by_someone_else() -> None:
    assert _codes(None, _app(), _pay("43250", payer="760902482616")) == ["fee.paid_by_other"]


def test_identifier_checks_and_mismatch() -> None:
    bad = BIN[:11] + str((int(BIN[11]) + 1) % 10)
    assert _codes(None, _app(iin_bin=bad)) == ["id.checksum"]
    sanitary = _doc("sanitary_conclusion", SanitaryFields(iin_bin=OTHER_BIN))
    assert _codes(None, _app(), sanitary) == ["id.mismatch"]
    # An OCR-read number that fails its check digit is a misread, not a mismatch.
    misread = _doc("sanitary_conclusion", SanitaryFields(iin_bin=bad), ocr=1)
    assert _codes(None, _app(), misread) == []


def test_request_json_disagreeing_with_the_application() -> None:
    request = ApplicationRequest(iin_bin=BIN, applicant_name="ТОО «Другое»")
    assert _codes(request, _app()) == ["request.mismatch"]
    same = ApplicationRequest(iin_bin=BIN, applicant_name="ТОО  «мейірім»")
    assert _codes(same, _app()) == []


def test_uncovered_subtype_and_expired_documents() -> None:
    form = _doc("qualification_form", QualificationFields(iin_bin=BIN, subtypes=("Другое",)))
    cert = _doc("specialist_certificate", CertificateFields(valid_until=dt.date(2026, 1, 1)))
    proxy = _doc("proxy", ProxyFields(principal_iin_bin=BIN, valid_until=dt.date(2027, 1, 1)))
    assert _codes(None, _app(), form, cert, proxy) == ["document.expired", "subtype.uncovered"]


def test_the_application_corrects_request_json() -> None:
    request = ApplicationRequest(kind=RequestKind.ISSUE, payment_gateway_ref="PGW-1")
    app = _app(request_kind="reissue", reissue_ground_code="object_address")
    effective = effective_request(request, [app])
    assert effective.kind is RequestKind.REISSUE
    assert effective.reissue_ground == "object_address"
    assert effective.payment_gateway_ref == "PGW-1"  # only request.json knows it
    assert effective.submitted_at is not None and effective.submitted_at.date() == ON
