"""Input records of the document templates.

A template never reads settings, storage or rules itself: the caller gathers
everything the document shows into one frozen record, so the same record always
renders the same PDF and a test can build one by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from medlicense.models import ApplicantType, MissingDocument


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


# --- results of the service: reasoned refusal, license, appendix -------------------

IIN_BIN_PATTERN = r"^\d{12}$"
_CODE_PATTERN = r"^[a-z][a-z0-9_]*$"


class RefusalGround(_Frozen):
    """A ground for refusing the service (the Standard's item 10), by its rule-table code.

    The code is not printed; it travels in the HTML (``data-code``) so a
    document can be traced back to the rule that produced it.
    """

    code: str = Field(pattern=_CODE_PATTERN)
    name_kk: str = Field(min_length=1)
    name_ru: str = Field(min_length=1)


class Subtype(_Frozen):
    """A subtype of medical activity listed in a license appendix."""

    name_kk: str = Field(min_length=1)
    name_ru: str = Field(min_length=1)


class DocumentRef(_Frozen):
    """Another document, named by its number and date (previous license, original, application)."""

    number: str = Field(min_length=1)
    issued_on: dt.date


class Change(_Frozen):
    """One field changed by a re-issue: its label in both languages, the old and the new value."""

    label_kk: str = Field(min_length=1)
    label_ru: str = Field(min_length=1)
    old: str = Field(min_length=1)
    new: str = Field(min_length=1)


class Reissue(_Frozen):
    """What makes a license or appendix a re-issued one: the document it replaces and what changed."""

    previous: DocumentRef
    changes: tuple[Change, ...] = Field(min_length=1)

    @field_validator("changes", mode="before")
    @classmethod
    def _changes_from_tuples(cls, value: Any) -> Any:
        return _from_tuples(value, ("label_kk", "label_ru", "old", "new"))


class Licensee(_Frozen):
    """The holder of a license: a legal entity (name, BIN, location) or an individual
    (full name, IIN, address).  ``kind`` only picks the labels printed next to the values."""

    kind: ApplicantType
    name: str = Field(min_length=1)
    iin_bin: str = Field(pattern=IIN_BIN_PATTERN)
    address: str = Field(min_length=1)


class IssuedDocument(_Frozen):
    """Fields every result of the service carries.

    ``issued_at`` is the moment the document is issued (printed as a date, in
    its own UTC offset, so pass it in the office's time zone); it also fixes the
    PDF's creation date, which keeps the output reproducible.
    """

    number: str = Field(min_length=1)
    issued_at: AwareDatetime
    provider_name_kk: str = Field(min_length=1)
    provider_name_ru: str = Field(min_length=1)
    provider_address_kk: str = Field(min_length=1)
    provider_address_ru: str = Field(min_length=1)
    head_name: str = Field(min_length=1)
    verify_url: str = Field(pattern=r"^https?://\S+$")


class ReasonedRefusalData(IssuedDocument):
    """A reasoned refusal to render the service (дәлелді бас тарту / мотивированный отказ).

    The reasoning and the legal basis are printed in each language part, so
    both languages are required; the legal basis depends on the edition of
    the rules in force and therefore comes with the data, not the catalog.
    """

    applicant_name: str = Field(min_length=1)
    applicant_iin_bin: str = Field(pattern=IIN_BIN_PATTERN)
    applicant_address: str = Field(min_length=1)
    application: DocumentRef | None = None
    grounds: tuple[RefusalGround, ...] = Field(min_length=1)
    reasoning_kk: str = Field(min_length=1)
    reasoning_ru: str = Field(min_length=1)
    legal_basis_kk: str = Field(min_length=1)
    legal_basis_ru: str = Field(min_length=1)
    executor_name: str = Field(min_length=1)

    @field_validator("grounds", mode="before")
    @classmethod
    def _grounds_from_tuples(cls, value: Any) -> Any:
        return _from_tuples(value, ("code", "name_kk", "name_ru"))

    @model_validator(mode="after")
    def _unique_grounds(self) -> ReasonedRefusalData:
        codes = [g.code for g in self.grounds]
        if len(codes) != len(set(codes)):
            raise ValueError("a ground is listed twice")
        return self


class _LicenseDocument(IssuedDocument):
    """What the license and its appendix share, re-issue and duplicate included.

    ``reissue`` makes it a re-issued document (the one it replaces and what
    changed); ``duplicate_of`` makes it a duplicate of the original with the
    same number, issued on ``issued_at``.  Both may be set: a duplicate of a
    re-issued document repeats the re-issue details of its original.
    """

    licensee: Licensee
    place_of_issue_kk: str = Field(min_length=1)
    place_of_issue_ru: str = Field(min_length=1)
    special_conditions_kk: str | None = None
    special_conditions_ru: str | None = None
    reissue: Reissue | None = None
    duplicate_of: DocumentRef | None = None

    @model_validator(mode="after")
    def _consistent_variants(self) -> _LicenseDocument:
        if (self.special_conditions_kk is None) != (self.special_conditions_ru is None):
            raise ValueError("special conditions need both the Kazakh and the Russian text")
        if self.duplicate_of is not None:
            if self.duplicate_of.number != self.number:
                raise ValueError("a duplicate keeps the number of its original")
            if self.duplicate_of.issued_on > self.issued_at.date():
                raise ValueError("the original cannot be issued after its duplicate")
        if self.reissue is not None and self.reissue.previous.issued_on > self.issued_at.date():
            raise ValueError("the previous document cannot be issued after the re-issued one")
        return self


class LicenseData(_LicenseDocument):
    """A license for medical activity: first issue, re-issue or duplicate.

    The activity, the unlimited validity and the class note are the same on
    every license and come from the catalogs.  ``first_issued_on`` is the date
    the license was first issued; on a plain first issue it is the issue date.
    """

    first_issued_on: dt.date

    @model_validator(mode="after")
    def _first_issue_date(self) -> LicenseData:
        issued_on = self.issued_at.date()
        if self.first_issued_on > issued_on:
            raise ValueError("first_issued_on is after issued_at")
        if self.reissue is None and self.duplicate_of is None and self.first_issued_on != issued_on:
            raise ValueError("a first issue is issued on first_issued_on")
        return self


class AppendixData(_LicenseDocument):
    """An appendix to a license (``number`` is the appendix number): the subtypes of
    medical activity and the places where they are carried out."""

    license_number: str = Field(min_length=1)
    subtypes: tuple[Subtype, ...] = Field(min_length=1)
    places: tuple[Annotated[str, Field(min_length=1)], ...] = Field(min_length=1)

    @field_validator("subtypes", mode="before")
    @classmethod
    def _subtypes_from_tuples(cls, value: Any) -> Any:
        return _from_tuples(value, ("name_kk", "name_ru"))


# Any record the renderer turns into a document (see Renderer.render).
DocumentData = ReceiptData | ReasonedRefusalData | LicenseData | AppendixData
