"""Typed records passed between the pipeline's steps.

Every step takes and returns these models (never loose dicts), so a flow can
persist any intermediate result and a test can build one by hand.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from extractors.fields import DocumentFields

Language = Literal["kk", "ru"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RequestKind(StrEnum):
    ISSUE = "issue"
    REISSUE = "reissue"
    DUPLICATE = "duplicate"


class ApplicantType(StrEnum):
    INDIVIDUAL = "individual"
    LEGAL_ENTITY = "legal_entity"


class Channel(StrEnum):
    OFFICE = "office"
    STATE_CORPORATION = "state_corporation"
    PORTAL = "portal"


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # complete package: receipt of acceptance
    REFUSED = "refused"  # incomplete package: receipt of refusal (appendix 8)
    REJECTED = "rejected"  # unreadable package: coded rejection, original quarantined


class Severity(StrEnum):
    BLOCKING = "blocking"
    WARNING = "warning"
    INFO = "info"


class ApplicationRequest(_Frozen):
    """What the portal sends next to the PDFs (``request.json``); all optional but the kind."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: RequestKind = RequestKind.ISSUE
    applicant_type: ApplicantType | None = None
    iin_bin: str | None = None
    applicant_name: str | None = None
    representative: bool = False
    subtypes: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    payment_gateway_ref: str | None = None
    license_number: str | None = None
    reissue_ground: str | None = None
    channel: Channel = Channel.PORTAL
    submitted_at: dt.datetime | None = None
    language: Language = "kk"


class Finding(_Frozen):
    code: str
    message: str
    severity: Severity = Severity.WARNING
    document: str | None = None


class MissingDocument(_Frozen):
    code: str
    name_kk: str
    name_ru: str


class DocumentInfo(_Frozen):
    """One logical document found in a package (a file, or a part of a merged file)."""

    file: str
    kind: str | None
    pages: int
    sha256: str
    confidence: float = 0.0
    evidence: tuple[str, ...] = ()
    language: Language | None = None
    page_range: tuple[int, int] | None = None  # 1-based, inclusive, inside ``file``
    text_chars: int = 0
    ocr_pages: int = 0  # pages read by OCR because they had no text layer
    fields: DocumentFields | None = None  # what the document says (extractors/fields.py)


class PackageVerdict(_Frozen):
    package: str
    package_sha256: str
    outcome: Outcome
    missing: tuple[MissingDocument, ...] = ()
    findings: tuple[Finding, ...] = ()
    documents: tuple[DocumentInfo, ...] = ()
    reason: str | None = None  # machine code, set when outcome is ``rejected``
    request: ApplicationRequest = Field(default_factory=ApplicationRequest)
    edition: str | None = None
    checked_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def to_public(self) -> dict[str, object]:
        """The stable JSON contract of ``medlicense check --json``."""
        out: dict[str, object] = {
            "package": self.package,
            "sha256": self.package_sha256,
            "outcome": self.outcome.value,
            "missing": [m.code for m in self.missing],
            "missing_documents": [m.model_dump() for m in self.missing],
            "findings": [f.model_dump(mode="json") for f in self.findings],
            "documents": [d.model_dump(mode="json") for d in self.documents],
            "edition": self.edition,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


class StoredObject(_Frozen):
    bucket: str
    key: str
    sha256: str
    size: int


class ReceiptResult(_Frozen):
    """What the intake flow reports per package."""

    package: str
    outcome: Outcome | None = None  # None: processing failed, see ``error``
    missing: tuple[str, ...] = ()
    reason: str | None = None
    receipt_number: str | None = None
    receipt_keys: tuple[str, ...] = ()
    error: str | None = None  # coded error when a step after validation failed
    app_id: str | None = None
    applicant: str | None = None
