"""The records of the reasoned refusal, license and appendix refuse what would
print a wrong or self-contradictory document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from pydantic import BaseModel, ValidationError

from templates import Change, DocumentRef, RefusalGround, Subtype

from .documents import (
    ISSUED,
    LATER,
    TZ,
    appendix,
    duplicate_license,
    license_,
    reasoned_refusal,
    reissued_appendix,
    reissued_license,
)


def test_tuples_are_accepted() -> None:
    assert reasoned_refusal().grounds[1] == RefusalGround(
        code="fee_not_paid",
        name_kk="Лицензиялық алым төленбеген",
        name_ru="Не внесён лицензионный сбор",
    )
    assert appendix().subtypes[0] == Subtype(
        name_kk="Стационарлық көмек", name_ru="Стационарная помощь"
    )
    reissue = reissued_license().reissue
    assert reissue is not None
    assert isinstance(reissue.changes[0], Change)
    assert reissue.previous == DocumentRef(number="16006514", issued_on=ISSUED.date())


def test_frozen() -> None:
    data = license_()
    with pytest.raises(ValidationError):
        data.number = "other"  # type: ignore[misc]


def test_text_is_stripped() -> None:
    assert appendix(places=["  Орал қ.  "]).places == ("Орал қ.",)


def test_variants_combine() -> None:
    # A duplicate of a re-issued license repeats the re-issue of its original.
    data = reissued_license(
        issued_at=LATER + dt.timedelta(days=30),
        duplicate_of={"number": "18011207", "issued_on": LATER.date()},
    )
    assert data.reissue is not None and data.duplicate_of is not None


@pytest.mark.parametrize(
    ("build", "overrides"),
    [
        (reasoned_refusal, {"grounds": []}),
        (reasoned_refusal, {"grounds": [("Bad Code", "А", "А")]}),
        (reasoned_refusal, {"grounds": [("fee", "А", "А"), ("fee", "Б", "Б")]}),
        (reasoned_refusal, {"reasoning_ru": " "}),
        (reasoned_refusal, {"applicant_iin_bin": "86010130012"}),
        (reasoned_refusal, {"issued_at": dt.datetime(2016, 5, 17, 12, 15)}),  # naive
        (reasoned_refusal, {"verify_url": "file:///etc/passwd"}),
        (license_, {"first_issued_on": dt.date(2016, 4, 21)}),  # a first issue, dated otherwise
        (license_, {"first_issued_on": dt.date(2016, 4, 23)}),  # after the issue
        (license_, {"special_conditions_ru": None}),  # one language only
        (
            license_,
            {"licensee": {"kind": "company", "name": "А", "iin_bin": "1" * 12, "address": "А"}},
        ),
        (license_, {"validity": "5 years"}),  # fixed text, not data
        (duplicate_license, {"duplicate_of": {"number": "99", "issued_on": ISSUED.date()}}),
        (duplicate_license, {"issued_at": dt.datetime(2016, 4, 1, tzinfo=TZ)}),  # before original
        (reissued_license, {"reissue": {"previous": {"number": "1", "issued_on": ISSUED.date()}}}),
        (
            reissued_license,
            {"reissue": {"previous": {"number": "1", "issued_on": ISSUED.date()}, "changes": []}},
        ),
        (reissued_appendix, {"issued_at": dt.datetime(2015, 1, 1, tzinfo=TZ)}),  # before previous
        (appendix, {"subtypes": []}),
        (appendix, {"places": []}),
        (appendix, {"places": [""]}),
    ],
)
def test_invalid_records(build: Callable[..., BaseModel], overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        build(**overrides)
