from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from medlicense.errors import RulesDataError, RulesError
from medlicense.models import Channel, RequestKind
from medlicense.rules import Rulebook, Status, load_rulebook
from medlicense.rules.loader import PACKAGE_DATA_DIR, build_rulebook

EDITIONS = ["standard-2015", "rules-2020", "rules-2025"]
SUBMITTED_CODES = {
    "application",
    "fee_payment",
    "qualification_form",
    "diploma",
    "specialist_certificate",
    "premises_title",
    "equipment_list",
    "sanitary_conclusion",
    "proxy",
    "change_evidence",
}


def test_packaged_editions_load(book: Rulebook) -> None:
    assert [e.id for e in book.editions] == EDITIONS
    assert load_rulebook() is load_rulebook()  # the default is cached


@pytest.mark.parametrize(
    ("day", "edition_id"),
    [
        (dt.date(2015, 6, 16), "standard-2015"),
        (dt.date(2016, 5, 20), "standard-2015"),
        (dt.date(2020, 4, 19), "standard-2015"),
        (dt.date(2020, 4, 20), "rules-2020"),
        (dt.date(2025, 9, 14), "rules-2020"),
        (dt.date(2025, 9, 15), "rules-2025"),
        (dt.date(2030, 1, 1), "rules-2025"),
    ],
)
def test_edition_for(book: Rulebook, day: dt.date, edition_id: str) -> None:
    assert book.edition_for(day).id == edition_id


def test_edition_for_datetime_uses_local_date(book: Rulebook) -> None:
    # 19:30 UTC on 19 April 2020 is already 20 April in Oral (UTC+5)
    late = dt.datetime(2020, 4, 19, 19, 30, tzinfo=dt.UTC)
    assert book.edition_for(late).id == "rules-2020"
    assert book.edition_for(dt.datetime(2020, 4, 19, 23, 0)).id == "standard-2015"


def test_no_edition(book: Rulebook) -> None:
    with pytest.raises(RulesError) as exc:
        book.edition_for(dt.date(2010, 1, 1))
    assert exc.value.code == "rules.no_edition"
    with pytest.raises(RulesError):
        book.edition("rules-1999")


def test_standard_2015_facts(book: Rulebook) -> None:
    e = book.edition("standard-2015")
    assert e.list_item.value == "9" and e.refusal_item.value == "10"
    assert e.refusal_receipt_form.value is not None and "8" in e.refusal_receipt_form.value
    assert e.channel_set == set(Channel)
    assert [e.terms.days(k) for k in RequestKind] == [14, 2, 1]
    assert e.terms.days("incomplete") == 1
    assert e.step("provider.register").duration == 15
    assert e.step("provider.assign").duration == 2
    assert len(e.refusal_grounds) == 8


def test_later_editions_mark_unknowns(book: Rulebook) -> None:
    r2020, r2025 = book.edition("rules-2020"), book.edition("rules-2025")
    assert r2020.list_item.value == "8"
    assert r2020.channel_set == {Channel.PORTAL} == r2025.channel_set
    assert [r2020.terms.days(k) for k in RequestKind] == [15, 3, 2]
    assert [r2025.terms.days(k) for k in RequestKind] == [13, 3, 2]
    for e in (r2020, r2025):
        assert e.terms.days("incomplete") is None
        assert e.terms.incomplete.status is Status.UNKNOWN
        assert e.refusal_item.value is None
    assert r2025.list_item.value is None and r2025.list_item.status is Status.UNKNOWN


@pytest.mark.parametrize("edition_id", EDITIONS)
def test_every_edition_is_complete(book: Rulebook, edition_id: str) -> None:
    e = book.edition(edition_id)
    assert set(e.request_kinds) == set(RequestKind)
    codes = {d.code for d in e.documents}
    assert codes >= SUBMITTED_CODES
    assert {"identity_record", "legal_entity_record", "gateway_payment"} <= codes
    assert {"notarised_proxy_record"} <= codes
    assert {g.code for g in e.request_kinds[RequestKind.REISSUE].grounds} == {
        "licensee_name_or_address",
        "merger_accession_transformation",
        "division_separation",
        "object_address",
        "individual_name",
    }
    assert len(e.subtypes) == 12
    for doc in e.documents:
        assert doc.name.kk and doc.name.ru
        assert (doc.code in SUBMITTED_CODES) == (doc.mode.value == "submitted")
    assert e.step("provider.review").from_terms


# --- validation errors name the file and the field ------------------------------------------


def _override(tmp_path: Path, name: str, edit: object) -> Path:
    src = PACKAGE_DATA_DIR / name
    dst = tmp_path / name
    dst.parent.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    edit(data)  # type: ignore[operator]
    dst.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return dst


def _fails(tmp_path: Path, *fragments: str) -> RulesDataError:
    with pytest.raises(RulesDataError) as exc:
        build_rulebook(tmp_path)
    for fragment in fragments:
        assert fragment in exc.value.message, exc.value.message
    assert exc.value.code == "rules.data_invalid"
    return exc.value


def test_typo_in_field_name(tmp_path: Path) -> None:
    path = _override(
        tmp_path,
        "editions/rules-2020.yaml",
        lambda d: d["documents"][3].update({"kindz": d["documents"][3].pop("kinds")}),
    )
    _fails(tmp_path, str(path), "documents[3].kindz", "documents[3].kinds")


def test_typo_in_value(tmp_path: Path) -> None:
    path = _override(
        tmp_path, "editions/standard-2015.yaml", lambda d: d["documents"][0].update(mode="submited")
    )
    err = _fails(tmp_path, str(path), "documents[0].mode")
    assert err.details["field"] == "documents[0].mode"


def test_unknown_must_be_null(tmp_path: Path) -> None:
    def edit(d: dict[str, object]) -> None:
        d["terms"]["incomplete"]["days"] = 5  # type: ignore[index]

    _override(tmp_path, "editions/rules-2025.yaml", edit)
    _fails(tmp_path, "rules-2025.yaml", "terms.incomplete", "must be empty")


def test_value_without_status_unknown(tmp_path: Path) -> None:
    def edit(d: dict[str, object]) -> None:
        d["terms"]["issue"]["days"] = None  # type: ignore[index]

    _override(tmp_path, "editions/standard-2015.yaml", edit)
    _fails(tmp_path, "terms.issue", "status must be unknown")


def test_bad_condition_and_ground(tmp_path: Path) -> None:
    _override(
        tmp_path,
        "editions/standard-2015.yaml",
        lambda d: d["documents"][2].update(conditions=["unless_paid"]),
    )
    _fails(tmp_path, "documents[2].conditions[0]")
    _override(
        tmp_path,
        "editions/standard-2015.yaml",
        lambda d: d["documents"][10].update(reissue_grounds=["object_adress"]),
    )
    _fails(tmp_path, "object_adress")


def test_overlapping_documents(tmp_path: Path) -> None:
    _override(
        tmp_path,
        "editions/standard-2015.yaml",
        lambda d: d["documents"][0].update(applicants=["individual", "legal_entity"]),
    )
    _fails(tmp_path, "overlaps")


def test_overlapping_editions(tmp_path: Path) -> None:
    _override(tmp_path, "editions/rules-2020.yaml", lambda d: d.update(valid_to=None))
    _fails(tmp_path, "rules-2020", "overlaps")


def test_id_must_match_file_name(tmp_path: Path) -> None:
    _override(tmp_path, "editions/rules-2020.yaml", lambda d: d.update(id="rules-2021"))
    _fails(tmp_path, "id:", "rules-2020")


def test_broken_yaml_names_line(tmp_path: Path) -> None:
    (tmp_path / "mci.yaml").write_text("known_until: 2026-12-31\nperiods: [\n", encoding="utf-8")
    _fails(tmp_path, "mci.yaml", "line")


def test_mci_table_errors(tmp_path: Path) -> None:
    _override(tmp_path, "mci.yaml", lambda d: d["periods"].reverse())
    _fails(tmp_path, "mci.yaml", "increasing")
    _override(tmp_path, "mci.yaml", lambda d: d["periods"][0].update(tenge="1 982"))
    _fails(tmp_path, "mci.yaml", "periods[0].tenge")


def test_unquoted_time_is_refused(tmp_path: Path) -> None:
    (tmp_path / "working-hours.yaml").write_text(
        "status: reconstructed\nday: {start: 9:00, end: '18:30'}\n", encoding="utf-8"
    )
    _fails(tmp_path, "working-hours.yaml", "day.start", "quotes")


def test_missing_override_dir() -> None:
    with pytest.raises(RulesDataError):
        build_rulebook(Path("/nonexistent/rules"))


# --- override directories --------------------------------------------------------------------


def test_override_subset_and_new_edition(tmp_path: Path) -> None:
    def end_2025(d: dict[str, object]) -> None:
        d["valid_to"] = dt.date(2027, 1, 31)

    _override(tmp_path, "editions/rules-2025.yaml", end_2025)
    src = yaml.safe_load((PACKAGE_DATA_DIR / "editions/rules-2025.yaml").read_text("utf-8"))
    src.update(id="rules-2027", valid_from=dt.date(2027, 2, 1), valid_to=None)
    src["terms"]["issue"].update(days=10, status="verified")
    (tmp_path / "editions/rules-2027.yaml").write_text(
        yaml.safe_dump(src, allow_unicode=True), encoding="utf-8"
    )
    (tmp_path / "calendar-overrides.yaml").write_text(
        "days_off:\n  - {date: 2027-02-01, reason: test}\n", encoding="utf-8"
    )
    book = load_rulebook(tmp_path)
    assert [e.id for e in book.editions] == [*EDITIONS, "rules-2027"]
    assert book.edition_for(dt.date(2027, 2, 1)).terms.days(RequestKind.ISSUE) == 10
    assert book.files["mci.yaml"] == PACKAGE_DATA_DIR / "mci.yaml"  # not overridden
    assert book.files["rules-2025"] == tmp_path / "editions/rules-2025.yaml"
    assert not book.calendar().is_working_day(dt.date(2027, 2, 1))


def test_rules_dir_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medlicense.rules import clear_cache
    from medlicense.settings import get_settings

    shutil.copy(PACKAGE_DATA_DIR / "working-hours.yaml", tmp_path / "working-hours.yaml")
    monkeypatch.setenv("MEDLICENSE_RULES_DIR", str(tmp_path))
    get_settings.cache_clear()
    clear_cache()
    try:
        assert load_rulebook().files["working-hours.yaml"] == tmp_path / "working-hours.yaml"
    finally:
        monkeypatch.delenv("MEDLICENSE_RULES_DIR")
        get_settings.cache_clear()
        clear_cache()


def test_document_name(book: Rulebook) -> None:
    from medlicense.models import ApplicantType

    e = book.edition("standard-2015")
    assert e.document_name("diploma").ru == "Копия диплома о медицинском образовании"
    assert "юридического" in e.document_name("application", ApplicantType.LEGAL_ENTITY).ru
    assert "физического" in e.document_name("application", ApplicantType.INDIVIDUAL).ru
    assert e.document_name("selfie").kk == "selfie"


def test_review_due_date(book: Rulebook) -> None:
    from zoneinfo import ZoneInfo

    received = dt.datetime(2016, 4, 4, 10, 0, tzinfo=ZoneInfo("Asia/Oral"))
    std = book.edition("standard-2015")
    assert book.review_due_date(std, RequestKind.ISSUE, received) == dt.date(2016, 4, 22)
    assert book.review_due_date(std, RequestKind.DUPLICATE, received) == dt.date(2016, 4, 5)
    r2025 = book.edition("rules-2025")
    assert book.review_due_date(r2025, RequestKind.ISSUE, received, incomplete=True) is None
