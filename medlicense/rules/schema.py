"""Typed schema of the rule data files (``medlicense/rules/data``).

Every model forbids unknown fields, so a misspelt key in a YAML file is reported with the
file and the field path instead of being silently ignored.  Every fact carries a
``status`` (regulation / verified / reconstructed / unknown) and a ``source`` so the
service's staff know what still has to be checked; a fact whose status is ``unknown``
has no value (``None``), and a value whose status is ``unknown`` is rejected on load.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from medlicense.models import ApplicantType, Channel, RequestKind


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Status(StrEnum):
    REGULATION = "regulation"  # [R] stated in the regulation text
    VERIFIED = "verified"  # [V] verified in public sources
    RECONSTRUCTED = "reconstructed"  # [D] best reconstruction, to be checked by staff
    UNKNOWN = "unknown"  # not known: the value is left empty on purpose


class Mode(StrEnum):
    SUBMITTED = "submitted"  # the applicant submits it
    CHECKED = "checked"  # the provider checks it in a state database


class Unit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    WORKING_DAYS = "working_days"


class Names(_Data):
    kk: str = Field(min_length=1)
    ru: str = Field(min_length=1)


class Sourced(_Data):
    status: Status
    source: str = ""
    note: str = ""


class Condition(StrEnum):
    """Closed vocabulary of conditions the evaluator understands."""

    UNLESS_GATEWAY_PAYMENT = "unless_gateway_payment"
    ONLY_GATEWAY_PAYMENT = "only_gateway_payment"
    ONLY_WITH_REPRESENTATIVE = "only_with_representative"
    PER_SUBTYPE = "per_subtype"


CONDITION_LABELS: dict[Condition, Names] = {
    Condition.UNLESS_GATEWAY_PAYMENT: Names(
        kk="ЭҮТШ арқылы төленбеген жағдайда", ru="если не оплачено через ПШЭП"
    ),
    Condition.ONLY_GATEWAY_PAYMENT: Names(
        kk="ЭҮТШ арқылы төленген жағдайда", ru="если оплачено через ПШЭП"
    ),
    Condition.ONLY_WITH_REPRESENTATIVE: Names(
        kk="өкіл арқылы жүгінген жағдайда", ru="только при обращении через представителя"
    ),
    Condition.PER_SUBTYPE: Names(kk="әр кіші түр бойынша", ru="по каждому подвиду"),
}


class DocumentRequirement(Sourced):
    """One entry of the document list (item 9 of the Standard, item 8 of the Rules …)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Names
    mode: Mode
    kinds: tuple[RequestKind, ...] = Field(min_length=1)
    applicants: tuple[ApplicantType, ...] = (ApplicantType.INDIVIDUAL, ApplicantType.LEGAL_ENTITY)
    # Re-issue only: the grounds this entry applies to; empty = every ground.
    reissue_grounds: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    # False: a missing document is a non-blocking finding, not a reason to refuse acceptance.
    blocking: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.reissue_grounds and RequestKind.REISSUE not in self.kinds:
            raise ValueError("reissue_grounds is only allowed when kinds includes reissue")
        if {Condition.UNLESS_GATEWAY_PAYMENT, Condition.ONLY_GATEWAY_PAYMENT} <= set(
            self.conditions
        ):
            raise ValueError("unless_gateway_payment and only_gateway_payment exclude each other")
        if self.mode is Mode.CHECKED and not self.blocking:
            raise ValueError("blocking: false only makes sense for submitted documents")
        return self


class RefusalGround(Sourced):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Names


class Subtype(Sourced):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Names


class Ground(Sourced):
    """A ground of a request kind (re-issue: what changed; duplicate: lost or damaged)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Names
    applicants: tuple[ApplicantType, ...] = (ApplicantType.INDIVIDUAL, ApplicantType.LEGAL_ENTITY)


class KindInfo(Sourced):
    name: Names
    grounds: tuple[Ground, ...] = ()

    @field_validator("grounds")
    @classmethod
    def _unique_grounds(cls, v: tuple[Ground, ...]) -> tuple[Ground, ...]:
        _unique([g.code for g in v], "ground code")
        return v


class Term(Sourced):
    """A review term in working days; ``days`` is None exactly when status is unknown."""

    days: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _known(self) -> Self:
        _value_matches_status(self.days, self.status, "days")
        return self


class Terms(_Data):
    issue: Term
    reissue: Term
    duplicate: Term
    incomplete: Term  # written refusal to continue when the package turns out incomplete

    def days(self, key: RequestKind | Literal["incomplete"]) -> int | None:
        term: Term = getattr(self, str(key))
        return term.days

    def term(self, key: RequestKind | Literal["incomplete"]) -> Term:
        result: Term = getattr(self, str(key))
        return result


class Step(Sourced):
    """A step of the procedure with its time limit."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    actor: str
    channel: Channel | None = None  # None: the provider's own steps, whatever the channel
    name: Names
    unit: Unit | None = None
    duration: int | None = Field(default=None, ge=0)
    # True: the duration is the review term of the request kind (``terms``).
    from_terms: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.from_terms:
            if self.unit is not Unit.WORKING_DAYS or self.duration is not None:
                raise ValueError("from_terms needs unit: working_days and no duration")
            return self
        _value_matches_status(self.duration, self.status, "duration")
        if self.duration is not None and self.unit is None:
            raise ValueError("a duration needs a unit")
        return self


class ChannelInfo(Sourced):
    channel: Channel


class FeeRate(Sourced):
    """The license fee of one request kind, in MCI.

    Either ``mci`` (a fixed rate) or ``percent_of_issue`` (optionally capped by ``cap_mci``).
    """

    mci: Decimal | None = Field(default=None, ge=0)
    percent_of_issue: Decimal | None = Field(default=None, ge=0)
    cap_mci: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if self.status is Status.UNKNOWN:
            if self.mci is not None or self.percent_of_issue is not None:
                raise ValueError("a fee with status unknown must have no rate")
            return self
        if (self.mci is None) == (self.percent_of_issue is None):
            raise ValueError("give exactly one of mci and percent_of_issue")
        if self.cap_mci is not None and self.percent_of_issue is None:
            raise ValueError("cap_mci only applies to percent_of_issue")
        return self


class Fees(_Data):
    issue: FeeRate
    reissue: FeeRate
    duplicate: FeeRate

    @model_validator(mode="after")
    def _issue_fixed(self) -> Self:
        if self.issue.percent_of_issue is not None:
            raise ValueError("issue: the issue fee must be given in mci")
        return self

    def rate(self, kind: RequestKind) -> FeeRate:
        result: FeeRate = getattr(self, kind.value)
        return result


class Fact(Sourced):
    """A single textual fact (an item number, a form reference); None when unknown."""

    value: str | None = None

    @model_validator(mode="after")
    def _known(self) -> Self:
        _value_matches_status(self.value, self.status, "value")
        return self


class Edition(Sourced):
    """One edition of the service's rules, as read from ``editions/<id>.yaml``."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: Names
    act: Names  # the legal act behind the edition
    valid_from: dt.date
    valid_to: dt.date | None = None  # last day in force (inclusive); None = still in force
    list_item: Fact  # the item holding the document list
    refusal_item: Fact  # the item holding the grounds for refusal
    refusal_receipt_form: Fact  # the form of the receipt refusing an incomplete package
    channels: tuple[ChannelInfo, ...] = Field(min_length=1)
    request_kinds: dict[RequestKind, KindInfo]
    terms: Terms
    fees: Fees
    steps: tuple[Step, ...] = ()
    documents: tuple[DocumentRequirement, ...] = Field(min_length=1)
    refusal_grounds: tuple[RefusalGround, ...] = ()
    subtypes: tuple[Subtype, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        missing = set(RequestKind) - set(self.request_kinds)
        if missing:
            raise ValueError(f"request_kinds lacks {sorted(k.value for k in missing)}")
        _unique([c.channel.value for c in self.channels], "channel")
        _unique([s.id for s in self.steps], "step id")
        _unique([g.code for g in self.refusal_grounds], "refusal ground code")
        _unique([s.code for s in self.subtypes], "subtype code")
        grounds = {g.code for g in self.request_kinds[RequestKind.REISSUE].grounds}
        for i, doc in enumerate(self.documents):
            unknown = set(doc.reissue_grounds) - grounds
            if unknown:
                raise ValueError(
                    f"documents[{i}] ({doc.code}): reissue_grounds {sorted(unknown)} "
                    "are not among request_kinds.reissue.grounds"
                )
        self._check_document_overlap()
        return self

    def _check_document_overlap(self) -> None:
        """Two entries with the same code must never apply to the same request."""
        seen: dict[tuple[str, str, str, str], int] = {}
        grounds = [g.code for g in self.request_kinds[RequestKind.REISSUE].grounds] or ["*"]
        for i, doc in enumerate(self.documents):
            gw = {Condition.UNLESS_GATEWAY_PAYMENT: "no", Condition.ONLY_GATEWAY_PAYMENT: "yes"}
            gateway = {gw[c] for c in doc.conditions if c in gw} or {"no", "yes"}
            for kind in doc.kinds:
                for applicant in doc.applicants:
                    doc_grounds = (
                        (doc.reissue_grounds or grounds) if kind is RequestKind.REISSUE else ["*"]
                    )
                    for ground in doc_grounds:
                        for g in gateway:
                            key = (doc.code, f"{kind.value}/{applicant.value}", ground, g)
                            if key in seen:
                                raise ValueError(
                                    f"documents[{i}] ({doc.code}) overlaps documents[{seen[key]}]"
                                    f" for {kind.value}/{applicant.value}"
                                )
                            seen[key] = i

    @property
    def channel_set(self) -> frozenset[Channel]:
        return frozenset(c.channel for c in self.channels)

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def document_name(self, code: str, applicant: ApplicantType | None = None) -> Names:
        """The kk/ru name of a document code (the applicant's variant when there are several).

        An unknown code gets its own code as the name, so a receipt can still list it.
        """
        matches = [d for d in self.documents if d.code == code]
        for doc in matches:
            if applicant is None or applicant in doc.applicants:
                return doc.name
        return matches[0].name if matches else Names(kk=code, ru=code)

    def subtype_codes(self) -> frozenset[str]:
        return frozenset(s.code for s in self.subtypes)


class MciPeriod(Sourced):
    start: dt.date = Field(alias="from")
    tenge: int | None = Field(default=None, gt=0)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _known(self) -> Self:
        _value_matches_status(self.tenge, self.status, "tenge")
        return self


class MciTable(_Data):
    """The monthly calculation index (MCI, АЕК/МРП) in tenge, by period."""

    known_until: dt.date  # last date for which the table is known to be complete
    periods: tuple[MciPeriod, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        starts = [p.start for p in self.periods]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ValueError("periods must be in strictly increasing order of 'from'")
        if self.known_until < starts[-1]:
            raise ValueError("known_until is before the last period")
        return self


class DatedEntry(_Data):
    date: dt.date
    reason: str = ""
    source: str = ""


class CalendarOverrides(_Data):
    """Local corrections to the ``holidays`` KZ calendar (future decrees, corrections)."""

    days_off: tuple[DatedEntry, ...] = ()  # become non-working days
    working_days: tuple[DatedEntry, ...] = ()  # become working days (e.g. worked Saturdays)

    @model_validator(mode="after")
    def _disjoint(self) -> Self:
        both = {d.date for d in self.days_off} & {d.date for d in self.working_days}
        if both:
            raise ValueError(f"dates both off and working: {sorted(str(d) for d in both)}")
        return self


class Interval(_Data):
    start: dt.time
    end: dt.time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _quoted(cls, v: object) -> object:
        # Unquoted 09:00 is read by YAML as the number 540; insist on "HH:MM" text.
        if not isinstance(v, str | dt.time):
            raise ValueError('write the time in quotes, as "HH:MM"')
        return v

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class WorkingHours(Sourced):
    """The provider's working-time window used for minute/hour limits."""

    timezone: str | None = None  # None: the ``timezone`` setting (Asia/Oral)
    day: Interval
    breaks: tuple[Interval, ...] = ()
    # Whether the day the step starts counts as the first of its working days.
    count_start_day: bool = False

    @model_validator(mode="after")
    def _breaks_inside(self) -> Self:
        last = self.day.start
        for b in self.breaks:
            if b.start < last or b.end > self.day.end:
                raise ValueError("breaks must be ordered, disjoint and inside the day")
            last = b.end
        return self

    def intervals(self) -> tuple[tuple[dt.time, dt.time], ...]:
        """The working intervals of one day, breaks removed."""
        out: list[tuple[dt.time, dt.time]] = []
        start = self.day.start
        for b in self.breaks:
            if b.start > start:
                out.append((start, b.start))
            start = b.end
        if self.day.end > start:
            out.append((start, self.day.end))
        return tuple(out)


def _unique(values: list[str], what: str) -> None:
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"duplicate {what}: {', '.join(dupes)}")


def _value_matches_status(value: object, status: Status, field: str) -> None:
    if status is Status.UNKNOWN and value is not None:
        raise ValueError(f"status is unknown, so {field} must be empty (null)")
    if status is not Status.UNKNOWN and value is None:
        raise ValueError(f"{field} is empty, so status must be unknown")
