"""Input records of the document templates.

A template never reads settings, storage or rules itself: the caller gathers
everything the document shows into one frozen record, so the same record always
renders the same PDF and a test can build one by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from medlicense.models import MissingDocument


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class DocumentName(_Frozen):
    """One accepted document, named in both languages of the receipt."""

    name_kk: str = Field(min_length=1)
    name_ru: str = Field(min_length=1)


def _from_tuples(value: Any, fields: tuple[str, ...]) -> Any:
    """Let callers pass plain ``(name_kk, name_ru)`` / ``(code, name_kk, name_ru)`` tuples.

    The intake step naturally holds such tuples (rule tables), and spelling
    out a model per row there would only add noise; models and dicts pass through.
    """
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [
            dict(zip(fields, item, strict=True))
            if isinstance(item, Sequence) and not isinstance(item, str | bytes)
            else item
            for item in value
        ]
    return value


class ReceiptData(_Frozen):
    """Everything printed on a receipt of acceptance or of refusal to accept (appendix 8).

    ``accepted_at`` is printed in its own UTC offset, so pass it already
    converted to the office's time zone (``Settings.timezone``).
    """

    number: str = Field(min_length=1)
    accepted: bool
    accepted_at: AwareDatetime
    due_date: dt.date | None = None
    applicant_name: str = Field(min_length=1)
    applicant_address: str | None = None
    applicant_iin_bin: str | None = Field(None, pattern=r"^\d{12}$")
    provider_name_kk: str = Field(min_length=1)
    provider_name_ru: str = Field(min_length=1)
    provider_address_kk: str = Field(min_length=1)
    provider_address_ru: str = Field(min_length=1)
    clerk_name: str = Field(min_length=1)
    # The Standard's form also names the responsible executor; optional because
    # a receipt handed out at the front desk is issued before one is assigned.
    executor_name: str | None = None
    documents: tuple[DocumentName, ...] = ()
    missing: tuple[MissingDocument, ...] = ()
    verify_url: str = Field(pattern=r"^https?://\S+$")

    @field_validator("documents", mode="before")
    @classmethod
    def _documents_from_tuples(cls, value: Any) -> Any:
        return _from_tuples(value, ("name_kk", "name_ru"))

    @field_validator("missing", mode="before")
    @classmethod
    def _missing_from_tuples(cls, value: Any) -> Any:
        return _from_tuples(value, ("code", "name_kk", "name_ru"))

    @model_validator(mode="after")
    def _consistent_outcome(self) -> ReceiptData:
        # Each receipt kind is meaningless without its list: catch a wrong flag
        # here rather than print an empty acceptance or an empty refusal.
        if self.accepted:
            if self.due_date is None:
                raise ValueError("an acceptance receipt needs due_date")
            if not self.documents:
                raise ValueError("an acceptance receipt needs the accepted documents")
            if self.missing:
                raise ValueError("an acceptance receipt cannot list missing documents")
        elif not self.missing:
            raise ValueError("a refusal receipt needs at least one missing document")
        return self
