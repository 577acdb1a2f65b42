"""Typed records of the operator workflow: what the review and issue steps pass and store.

They are JSON objects in the artifacts bucket (see :mod:`medlicense.register` for
the keys) and the parameters and results of the Prefect tasks, so every field is
plain data that survives a round trip through JSON.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlicense.models import Finding, PackageVerdict, RequestKind


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AppState(StrEnum):
    ACCEPTED = "accepted"  # receipt of acceptance issued, waiting for an executor
    IN_REVIEW = "in_review"  # executor assigned, the review form is open
    AWAITING_HEAD = "awaiting_head"  # draft prepared, waiting for the head's confirmation
    APPROVED = "approved"  # decision taken, documents being produced
    ISSUED = "issued"  # license / re-issued license / duplicate signed, stored, registered
    REFUSED = "refused"  # reasoned refusal signed and stored


DecisionKind = Literal["review", "head", "result"]
DecisionValue = Literal[
    "approve",  # review: the executor approves
    "refuse",  # review: the executor refuses, on grounds
    "confirm",  # head: signs the draft
    "return",  # head: sends the draft back to the executor
    "issued",  # result: what was signed and handed out
    "reissued",
    "duplicate",
    "refused",
]


class DecisionEntry(_Record):
    """One decision taken about an application, as plain data.

    Readers of ``record.json`` find every decision under ``decisions`` in the
    order taken: each review round's decision (``kind`` "review": approve or
    refuse, with the grounds' codes, the reasoning, subtypes and places), the
    head's answer to that round (``kind`` "head": confirm or return, with the
    comment) and the final result (``kind`` "result": issued, reissued,
    duplicate or refused, with the document number and the signed documents).
    """

    kind: DecisionKind
    decision: DecisionValue
    actor: str
    at: dt.datetime
    round: int | None = None  # review round (review and head decisions)
    grounds: tuple[str, ...] = ()  # refusal grounds, codes of the edition's item
    reasoning: str = ""  # the executor's reasoning
    comment: str = ""  # the head's comment
    subtypes: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    number: str | None = None  # result: license (or refusal) number
    documents: tuple[str, ...] = ()  # result: object keys of the signed documents


class StepEvent(_Record):
    """One step of the regulation done by someone, against its time limit.

    ``step`` is the edition's step id (``provider.review`` …); ``key`` makes it
    unique inside the application when a step can happen more than once (a
    second review round after the head sent a draft back).  A step that is a
    decision carries it as data in ``decision``.
    """

    key: str
    step: str
    actor: str
    at: dt.datetime
    due_by: dt.datetime | None = None
    overdue: bool = False
    state: AppState
    detail: str = ""
    decision: DecisionEntry | None = None


class ApplicationFile(_Record):
    """What intake knows about an accepted package; the review starts from it."""

    app_id: str
    upload_key: str
    received_at: dt.datetime
    receipt_number: str
    receipt_key: str
    verdict: PackageVerdict
    package_key: str


class DocumentDigest(_Record):
    key: str  # in the artifacts bucket
    sha256: str


class ApplicationRecord(_Record):
    """The state of one application and who did what when (``record.json``).

    Plain JSON for readers without this code: state, steps with times and actors,
    the decisions (:class:`DecisionEntry`), the automated findings, and the
    SHA-256 of every document received and produced.
    """

    app_id: str
    state: AppState
    kind: RequestKind
    applicant_name: str | None = None
    review_due_by: dt.datetime | None = None
    license_number: str | None = None
    result_keys: tuple[str, ...] = ()
    history: tuple[StepEvent, ...] = ()
    # Empty in records written before decisions were recorded as data.
    decisions: tuple[DecisionEntry, ...] = ()
    findings: tuple[Finding, ...] = ()
    documents: tuple[DocumentDigest, ...] = ()

    @model_validator(mode="after")
    def _decisions_from_history(self) -> ApplicationRecord:
        # The record is a view rebuilt from the step events, and a decision is
        # stored with its step; so the list follows the history unless given.
        if not self.decisions:
            found = tuple(e.decision for e in self.history if e.decision is not None)
            if found:
                # Frozen model: set once, during validation, before anyone reads it.
                object.__setattr__(self, "decisions", found)
        return self


class Decision(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"


class ReviewDecision(_Record):
    """The executor's decision, whatever brought it (UI form, terminal, auto policy)."""

    decision: Decision
    actor: str
    grounds: tuple[str, ...] = ()
    reasoning: str = ""
    subtypes: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    licensee_address: str | None = None


class HeadDecision(_Record):
    confirmed: bool
    actor: str
    comment: str = ""


class NumberClaim(_Record):
    """A create-only claim of one number in a sequence, bound to one application."""

    number: str
    seq: int
    scope: str  # the sequence: a year for license numbers, a license for duplicates
    app_id: str
    claimed_at: dt.datetime


class LicenseEntry(_Record):
    """One license in the register (``register/licenses/<number>/entry.json``)."""

    number: str
    app_id: str
    kind: Literal["issue", "reissue"]
    licensee_kind: str
    licensee_name: str
    licensee_iin_bin: str
    licensee_address: str
    subtypes: tuple[str, ...]
    places: tuple[str, ...]
    issued_at: dt.datetime
    first_issued_on: dt.date
    previous_number: str | None = None
    appendix_number: str = "001"
    license_key: str
    appendix_key: str


class DuplicateEntry(_Record):
    number: str  # the license's own number: a duplicate keeps it
    duplicate_no: int
    app_id: str
    issued_at: dt.datetime
    # Not "keys": Prefect treats a model with a keys attribute as a mapping.
    documents: tuple[str, ...]


class ServiceResult(_Record):
    """What one application ended with (``applications/<app-id>/result.json``)."""

    app_id: str
    outcome: Literal["issued", "reissued", "duplicate", "refused"]
    number: str
    documents: tuple[str, ...] = Field(min_length=1)  # object keys of the signed documents
    issued_at: dt.datetime
