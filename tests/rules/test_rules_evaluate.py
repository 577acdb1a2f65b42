from __future__ import annotations

import itertools

import pytest

from medlicense.models import ApplicantType, ApplicationRequest, Channel, RequestKind, Severity
from medlicense.rules import Edition, Rulebook, evaluate
from medlicense.rules.schema import DocumentRequirement

EDITIONS = ["standard-2015", "rules-2020", "rules-2025"]
IIN = "900101300017"
BIN = "940140000385"
QUALIFICATION = [
    "qualification_form",
    "diploma",
    "specialist_certificate",
    "premises_title",
    "equipment_list",
    "sanitary_conclusion",
]
# What a complete package of each kind holds without gateway payment or representative.
FULL = {
    RequestKind.ISSUE: ["application", "fee_payment", *QUALIFICATION],
    RequestKind.REISSUE: ["application", "fee_payment"],
    RequestKind.DUPLICATE: ["application", "fee_payment"],
}


def req(**kw: object) -> ApplicationRequest:
    return ApplicationRequest.model_validate(kw)


def codes(found: object) -> list[str]:
    return [m.code for m in found]  # type: ignore[attr-defined]


def finding_codes(verdict: object) -> set[str]:
    return {f.code for f in verdict.findings}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("edition_id", "kind", "applicant"),
    list(itertools.product(EDITIONS, RequestKind, ApplicantType)),
)
def test_every_edition_kind_and_applicant(
    book: Rulebook, edition_id: str, kind: RequestKind, applicant: ApplicantType
) -> None:
    edition = book.edition(edition_id)
    ground = {
        RequestKind.REISSUE: "licensee_name_or_address"
        if applicant is ApplicantType.LEGAL_ENTITY
        else "individual_name"
    }.get(kind)
    request = req(
        kind=kind,
        applicant_type=applicant,
        iin_bin=IIN if applicant is ApplicantType.INDIVIDUAL else BIN,
        subtypes=["inpatient"],
        reissue_ground=ground,
        channel=next(iter(edition.channel_set)),
    )
    full = evaluate(edition, request, FULL[kind])
    assert full.complete and not full.missing, full.missing
    assert not [f for f in full.findings if f.severity is not Severity.INFO], full.findings
    record = "identity_record" if applicant is ApplicantType.INDIVIDUAL else "legal_entity_record"
    assert record in {r.code for r in full.checked}
    assert {r.code for r in full.submitted} == set(FULL[kind])

    empty = evaluate(edition, request, [])
    assert not empty.complete
    assert codes(empty.missing) == [r.code for r in empty.submitted]
    for m in empty.missing:
        assert m.name_kk and m.name_ru

    # each required document, when left out, is reported missing
    for left_out in FULL[kind]:
        partial = evaluate(edition, request, [k for k in FULL[kind] if k != left_out])
        assert codes(partial.missing) == [left_out]


def test_names_follow_applicant_type(book: Rulebook) -> None:
    e = book.edition("standard-2015")
    ind = evaluate(e, req(applicant_type="individual"), [])
    ent = evaluate(e, req(applicant_type="legal_entity"), [])
    assert ind.missing[0].code == ent.missing[0].code == "application"
    assert "физического" in ind.missing[0].name_ru and "юридического" in ent.missing[0].name_ru


def test_gateway_payment_replaces_receipt(book: Rulebook) -> None:
    e = book.edition("rules-2025")
    v = evaluate(e, req(kind="duplicate", payment_gateway_ref="PAY-1"), ["application"])
    assert v.complete
    assert "gateway_payment" in {r.code for r in v.checked}
    assert "fee_payment" not in {r.code for r in v.required}


def test_proxy_only_with_representative(book: Rulebook) -> None:
    e = book.edition("standard-2015")
    docs = ["application", "fee_payment"]
    with_rep = evaluate(e, req(kind="duplicate", representative=True), docs)
    assert codes(with_rep.missing) == ["proxy"]
    assert "notarised_proxy_record" in {r.code for r in with_rep.checked}
    assert evaluate(e, req(kind="duplicate", representative=True), [*docs, "proxy"]).complete
    without = evaluate(e, req(kind="duplicate"), [*docs, "proxy"])
    assert without.complete
    assert "rules.document_not_required" in finding_codes(without)


def test_applicant_type_inference(book: Rulebook) -> None:
    e = book.edition("standard-2015")
    by_iin = evaluate(e, req(kind="duplicate", iin_bin=IIN), [])
    assert by_iin.applicant_type is ApplicantType.INDIVIDUAL
    by_bin = evaluate(e, req(kind="duplicate", iin_bin=BIN), [])
    assert by_bin.applicant_type is ApplicantType.LEGAL_ENTITY
    nothing = evaluate(e, req(kind="duplicate"), [])
    assert nothing.applicant_type is ApplicantType.LEGAL_ENTITY
    assert "rules.applicant_type_assumed" in finding_codes(nothing)
    bad = evaluate(e, req(kind="duplicate", iin_bin="900101300018"), [])
    assert bad.applicant_type is ApplicantType.LEGAL_ENTITY
    assert "rules.iin_bin_invalid" in finding_codes(bad)
    mismatch = evaluate(e, req(kind="duplicate", applicant_type="individual", iin_bin=BIN), [])
    assert mismatch.applicant_type is ApplicantType.INDIVIDUAL
    assert "rules.applicant_type_mismatch" in finding_codes(mismatch)


@pytest.mark.parametrize("edition_id", EDITIONS)
def test_reissue_grounds(book: Rulebook, edition_id: str) -> None:
    e = book.edition(edition_id)
    base = ["application", "fee_payment"]
    moved = evaluate(e, req(kind="reissue", reissue_ground="object_address"), base)
    assert codes(moved.missing) == ["change_evidence"]
    division = evaluate(e, req(kind="reissue", reissue_ground="division_separation"), base)
    assert codes(division.missing) == QUALIFICATION
    merger = evaluate(
        e, req(kind="reissue", reissue_ground="merger_accession_transformation"), base
    )
    assert merger.complete
    wrong_applicant = evaluate(
        e,
        req(kind="reissue", applicant_type="individual", reissue_ground="division_separation"),
        [],
    )
    assert "rules.reissue_ground_applicant" in finding_codes(wrong_applicant)

    unknown = evaluate(e, req(kind="reissue"), base)
    assert unknown.complete  # the ground-specific documents cannot be required blindly ...
    assert {"rules.reissue_ground_missing", "rules.ground_specific_not_checked"} <= finding_codes(
        unknown
    )  # ... but the reviewer is told
    typo = evaluate(e, req(kind="reissue", reissue_ground="adress"), base)
    assert "rules.reissue_ground_unknown" in finding_codes(typo)


def test_subtypes(book: Rulebook) -> None:
    e = book.edition("rules-2020")
    docs = FULL[RequestKind.ISSUE]
    one_form = evaluate(e, req(subtypes=["inpatient", "day_hospital", "blood_service"]), docs)
    assert one_form.complete  # one form is enough for the package check
    assert "rules.per_subtype_coverage" in finding_codes(one_form)
    three = evaluate(
        e,
        req(subtypes=["inpatient", "day_hospital", "blood_service"]),
        [*docs, "qualification_form", "qualification_form"],
    )
    assert "rules.per_subtype_coverage" not in finding_codes(three)
    unknown = evaluate(e, req(subtypes=["cosmetology"]), docs)
    assert "rules.subtype_unknown" in finding_codes(unknown)
    assert "rules.subtypes_missing" in finding_codes(evaluate(e, req(), docs))


def test_channel_outside_edition(book: Rulebook) -> None:
    e = book.edition("rules-2025")
    v = evaluate(e, req(kind="duplicate", channel=Channel.OFFICE), FULL[RequestKind.DUPLICATE])
    assert v.complete and "rules.channel_not_in_edition" in finding_codes(v)


def test_unknown_and_none_kinds_are_tolerated(book: Rulebook) -> None:
    e = book.edition("standard-2015")
    v = evaluate(e, req(kind="duplicate"), ["application", "fee_payment", None, "selfie"])
    assert v.complete
    assert any(f.document == "selfie" for f in v.findings)


def test_non_blocking_document_is_a_finding(book: Rulebook) -> None:
    e = book.edition("standard-2015")
    docs: list[DocumentRequirement] = [
        d.model_copy(update={"blocking": False}) if d.code == "sanitary_conclusion" else d
        for d in e.documents
    ]
    soft: Edition = e.model_copy(update={"documents": tuple(docs)})
    found = [k for k in FULL[RequestKind.ISSUE] if k != "sanitary_conclusion"]
    v = evaluate(soft, req(subtypes=["inpatient"]), found)
    assert v.complete
    assert [f.document for f in v.findings if f.code == "rules.document_missing_nonblocking"] == [
        "sanitary_conclusion"
    ]
