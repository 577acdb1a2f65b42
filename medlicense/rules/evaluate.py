"""Completeness of a package against an edition's document list.

Only documents the applicant *submits* can be missing; documents the provider *checks* in
state databases are listed in ``required`` (so receipts and reviewers see them) but never
block acceptance.  Everything that should be looked at but does not block is a finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable

from pydantic import BaseModel, ConfigDict

from medlicense.models import (
    ApplicantType,
    ApplicationRequest,
    Finding,
    MissingDocument,
    RequestKind,
    Severity,
)
from medlicense.rules.identifiers import check_id
from medlicense.rules.schema import Condition, DocumentRequirement, Edition, Mode


class CompletenessVerdict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    edition: str
    kind: RequestKind
    applicant_type: ApplicantType  # as used for the evaluation (given or inferred)
    complete: bool
    missing: tuple[MissingDocument, ...] = ()
    findings: tuple[Finding, ...] = ()
    required: tuple[DocumentRequirement, ...] = ()  # every requirement that applied

    @property
    def submitted(self) -> tuple[DocumentRequirement, ...]:
        return tuple(r for r in self.required if r.mode is Mode.SUBMITTED)

    @property
    def checked(self) -> tuple[DocumentRequirement, ...]:
        return tuple(r for r in self.required if r.mode is Mode.CHECKED)


def _finding(
    code: str, message: str, severity: Severity = Severity.WARNING, document: str | None = None
) -> Finding:
    return Finding(code=code, message=message, severity=severity, document=document)


def resolve_applicant_type(request: ApplicationRequest) -> tuple[ApplicantType, list[Finding]]:
    """The applicant type to evaluate with, and what was noticed on the way.

    Unknown type: individual when the IIN/BIN has the structure of an IIN, else legal entity.
    """
    findings: list[Finding] = []
    id_kind = None
    if request.iin_bin:
        result = check_id(request.iin_bin)
        id_kind = result.kind if result.kind is not None and result.code is None else None
        if not result.valid:
            findings.append(
                _finding(
                    "rules.iin_bin_invalid",
                    f"IIN/BIN {request.iin_bin!r} is not valid: {result.code} ({result.message})",
                )
            )
    inferred = ApplicantType.INDIVIDUAL if id_kind == "iin" else ApplicantType.LEGAL_ENTITY
    if request.applicant_type is None:
        why = f"the IIN/BIN is a{'n IIN' if id_kind == 'iin' else ' BIN'}" if id_kind else None
        findings.append(
            _finding(
                "rules.applicant_type_assumed",
                f"applicant type not given; assumed {inferred.value}"
                + (f" because {why}" if why else ""),
                Severity.INFO,
            )
        )
        return inferred, findings
    if id_kind is not None and inferred is not request.applicant_type:
        findings.append(
            _finding(
                "rules.applicant_type_mismatch",
                f"applicant type is {request.applicant_type.value} but {request.iin_bin} "
                f"is a{'n IIN' if id_kind == 'iin' else ' BIN'}",
            )
        )
    return request.applicant_type, findings


def _conditions_hold(doc: DocumentRequirement, request: ApplicationRequest) -> bool:
    gateway = bool(request.payment_gateway_ref)
    for cond in doc.conditions:
        if cond is Condition.UNLESS_GATEWAY_PAYMENT and gateway:
            return False
        if cond is Condition.ONLY_GATEWAY_PAYMENT and not gateway:
            return False
        if cond is Condition.ONLY_WITH_REPRESENTATIVE and not request.representative:
            return False
    return True


def _names(codes: Iterable[str]) -> str:
    return ", ".join(sorted(set(codes)))


def evaluate(
    edition: Edition, request: ApplicationRequest, found_kinds: Collection[str | None]
) -> CompletenessVerdict:
    """Check the document kinds found in a package against ``edition`` for ``request``."""
    kind = request.kind
    applicant, findings = resolve_applicant_type(request)

    if request.channel not in edition.channel_set:
        findings.append(
            _finding(
                "rules.channel_not_in_edition",
                f"channel {request.channel.value} is not a channel of edition {edition.id}",
            )
        )

    ground = _check_ground(edition, request, applicant, findings)
    _check_subtypes(edition, request, findings)

    applied: list[DocumentRequirement] = []
    undetermined: list[DocumentRequirement] = []
    for doc in edition.documents:
        if kind not in doc.kinds or applicant not in doc.applicants:
            continue
        if not _conditions_hold(doc, request):
            continue
        if kind is RequestKind.REISSUE and doc.reissue_grounds:
            if ground is None:
                undetermined.append(doc)
                continue
            if ground not in doc.reissue_grounds:
                continue
        applied.append(doc)

    counts = Counter(k for k in found_kinds if k)
    missing: list[MissingDocument] = []
    for doc in applied:
        if doc.mode is not Mode.SUBMITTED or counts[doc.code]:
            continue
        if doc.blocking:
            missing.append(MissingDocument(code=doc.code, name_kk=doc.name.kk, name_ru=doc.name.ru))
        else:
            findings.append(
                _finding(
                    "rules.document_missing_nonblocking",
                    f"{doc.code} ({doc.name.ru}) is not in the package; it does not block acceptance",
                    document=doc.code,
                )
            )

    if undetermined:
        submitted = [d.code for d in undetermined if d.mode is Mode.SUBMITTED]
        if submitted:
            absent = [c for c in submitted if not counts[c]]
            findings.append(
                _finding(
                    "rules.ground_specific_not_checked",
                    "re-issue ground unknown: documents that depend on the ground were not "
                    f"checked ({_names(submitted)}"
                    + (f"; not in the package: {_names(absent)}" if absent else "")
                    + ")",
                )
            )

    for doc in applied:
        if Condition.PER_SUBTYPE in doc.conditions and counts[doc.code]:
            wanted = len(request.subtypes)
            if wanted > 1 and counts[doc.code] < wanted:
                findings.append(
                    _finding(
                        "rules.per_subtype_coverage",
                        f"{counts[doc.code]} {doc.code} document(s) found for {wanted} "
                        "requested subtypes; coverage of each subtype is to be checked",
                        Severity.INFO,
                        document=doc.code,
                    )
                )

    expected = {d.code for d in applied if d.mode is Mode.SUBMITTED} | {
        d.code for d in undetermined
    }
    for extra in sorted(set(counts) - expected):
        findings.append(
            _finding(
                "rules.document_not_required",
                f"{extra} was found but is not required for this request",
                Severity.INFO,
                document=extra,
            )
        )

    return CompletenessVerdict(
        edition=edition.id,
        kind=kind,
        applicant_type=applicant,
        complete=not missing,
        missing=tuple(missing),
        findings=tuple(findings),
        required=tuple(applied),
    )


def _check_ground(
    edition: Edition, request: ApplicationRequest, applicant: ApplicantType, out: list[Finding]
) -> str | None:
    """The re-issue ground to evaluate with (None when absent or not recognised)."""
    if request.kind is not RequestKind.REISSUE:
        return None
    grounds = {g.code: g for g in edition.request_kinds[RequestKind.REISSUE].grounds}
    code = request.reissue_ground
    if code is None:
        out.append(_finding("rules.reissue_ground_missing", "the re-issue ground is not given"))
        return None
    if code not in grounds:
        out.append(
            _finding(
                "rules.reissue_ground_unknown",
                f"re-issue ground {code!r} is not one of edition {edition.id}: {_names(grounds)}",
            )
        )
        return None
    if applicant not in grounds[code].applicants:
        out.append(
            _finding(
                "rules.reissue_ground_applicant",
                f"re-issue ground {code} does not apply to {applicant.value} applicants",
            )
        )
    return code


def _check_subtypes(edition: Edition, request: ApplicationRequest, out: list[Finding]) -> None:
    if request.kind is RequestKind.ISSUE and not request.subtypes:
        out.append(
            _finding("rules.subtypes_missing", "no subtype is named in the request", Severity.INFO)
        )
    known = edition.subtype_codes()
    for code in request.subtypes:
        if known and code not in known:
            out.append(
                _finding(
                    "rules.subtype_unknown",
                    f"subtype {code!r} is not in the nomenclature of edition {edition.id}",
                )
            )
