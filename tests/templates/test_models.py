"""ReceiptData refuses records that would print a wrong or empty receipt."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from medlicense.models import MissingDocument
from templates import DocumentName

from .helpers import acceptance, refusal


def test_tuples_and_models_are_accepted() -> None:
    data = refusal(missing=[MissingDocument(code="a", name_kk="А", name_ru="А")])
    assert data.missing == (MissingDocument(code="a", name_kk="А", name_ru="А"),)
    assert acceptance().documents[0] == DocumentName(name_kk="Өтініш", name_ru="Заявление")


def test_frozen() -> None:
    data = acceptance()
    with pytest.raises(ValidationError):
        data.number = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("build", "overrides"),
    [
        (acceptance, {"accepted_at": dt.datetime(2016, 4, 5, 10, 32)}),  # naive
        (acceptance, {"due_date": None}),
        (acceptance, {"documents": []}),
        (acceptance, {"missing": [("a", "А", "А")]}),
        (refusal, {"missing": []}),
        (refusal, {"applicant_iin_bin": "12345"}),
        (refusal, {"verify_url": "javascript:alert(1)"}),
        (refusal, {"applicant_name": "  "}),
        (refusal, {"unexpected": "x"}),
    ],
)
def test_invalid_records(build: object, overrides: dict[str, object]) -> None:
    assert callable(build)
    with pytest.raises(ValidationError):
        build(**overrides)
