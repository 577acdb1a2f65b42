"""The result of the service for one accepted application, without Prefect.

Each function is one step of item 6 of the regulation (assign, review, head signs,
deliver) and is safe to repeat: numbers come from :meth:`Registry.allocate`
(the same number on a repeat), documents are stored with create-only writes and
never re-signed once stored, and the issue moment is the moment the number was
first claimed, so a repeat after a crash renders the very same record.

Outgoing documents (artifacts bucket, ``applications/<app-id>/``)::

    license-<number>.pdf, appendix-<number>-001.pdf      issue (B-LTA)
    reissued-<number>.pdf, reissued-appendix-<number>-001.pdf
    duplicate-<number>-D<n>.pdf, duplicate-appendix-<number>-001-D<n>.pdf
    refusal-<number>.pdf                                 reasoned refusal (B-T)
    draft-license.pdf, draft-appendix.pdf                unsigned drafts for the head

On delivery, licenses, appendices and duplicates are also published (object lock,
manifest per license) and the outcome goes to the event log: :mod:`medlicense.publish`.

:func:`issue` and :func:`refuse` are each one unit of work
(:func:`medlicense.register.unit_of_work`): ``record.json`` is rebuilt once at
the end rather than after each of their steps, and a run that has just bound
the application to its number (:func:`medlicense.register.bound_here`) knows
that no document or event carrying the number exists yet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from medlicense.errors import MedLicenseError, ObjectExists, RulesError
from medlicense.models import ApplicantType, ApplicationRequest, Finding, RequestKind, Severity
from medlicense.processing import PDF, IntakeContext
from medlicense.publish import MANIFEST, Publisher, emit, license_prefix
from medlicense.records import (
    ApplicationFile,
    AppState,
    Decision,
    DecisionEntry,
    DuplicateEntry,
    HeadDecision,
    LicenseEntry,
    NumberClaim,
    ReviewDecision,
    ServiceResult,
    StepEvent,
)
from medlicense.register import Registry, app_prefix, bound_here, unit_of_work
from medlicense.rules import Edition, Unit, check_id
from medlicense.rules.evaluate import resolve_applicant_type
from storage.events import EventType, first_attempt
from templates.models import (
    AppendixData,
    Change,
    DocumentRef,
    LicenseData,
    Licensee,
    ReasonedRefusalData,
    RefusalGround,
    Reissue,
)

APPENDIX_NO = "001"
DRAFT_NUMBER = "ЖОБА / ПРОЕКТ"
AUTO_ACTOR = "auto-review"


class LicensingError(MedLicenseError):
    """A decision cannot be carried out as given (missing data, unknown license …)."""

    default_code = "licensing.failed"


# --- time limits ------------------------------------------------------------------------------


def edition_of(ctx: IntakeContext, app: ApplicationFile) -> Edition:
    if app.verdict.edition:
        return ctx.rulebook.edition(app.verdict.edition)
    return ctx.rulebook.edition_for(app.received_at)


def step_due(
    ctx: IntakeContext, app: ApplicationFile, step: str, start: dt.datetime
) -> dt.datetime | None:
    """When ``step`` started at ``start`` is due under the application's edition; None if unknown."""
    try:
        deadline = ctx.rulebook.calendar().step_deadline(
            edition_of(ctx, app), step, start, app.verdict.request.kind
        )
    except RulesError:
        return None
    return deadline.due_by if deadline else None


def review_due(ctx: IntakeContext, app: ApplicationFile) -> dt.datetime:
    """The executor's deadline (working days from acceptance); unknown terms fall back to
    the issue term of the edition, or 14 working days, so a review never waits forever."""
    due = step_due(ctx, app, "provider.review", app.received_at)
    if due is not None:
        return due
    edition = edition_of(ctx, app)
    days = edition.terms.days(RequestKind.ISSUE) or 14
    return ctx.rulebook.calendar().deadline(app.received_at, days, Unit.WORKING_DAYS).due_by


def record_step(
    ctx: IntakeContext,
    app: ApplicationFile,
    *,
    key: str,
    step: str,
    actor: str,
    state: AppState,
    start: dt.datetime,
    at: dt.datetime,
    detail: str = "",
    decision: DecisionEntry | None = None,
) -> StepEvent:
    due = step_due(ctx, app, step, start)
    event = StepEvent(
        key=key,
        step=step,
        actor=actor,
        at=at,
        due_by=due,
        overdue=due is not None and at > due,
        state=state,
        detail=detail,
        decision=decision,
    )
    return registry(ctx).record_event(app.app_id, event)


def registry(ctx: IntakeContext) -> Registry:
    return Registry(ctx.store, ctx.settings)


def _local(ctx: IntakeContext, moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(ZoneInfo(ctx.settings.timezone)).replace(microsecond=0)


def last_event_at(ctx: IntakeContext, app: ApplicationFile) -> dt.datetime:
    events = registry(ctx).events(app.app_id)
    return events[-1].at if events else app.received_at


# --- review --------------------------------------------------------------------------------------


def begin_review(ctx: IntakeContext, app_id: str, now: dt.datetime) -> ApplicationFile:
    """The head assigns the responsible executor (item 6, step 2); once per application."""
    reg = registry(ctx)
    app = reg.application(app_id)
    if reg.event(app_id, "assign") is None:
        record_step(
            ctx,
            app,
            key="assign",
            step="provider.assign",
            actor=ctx.settings.head_name,
            state=AppState.IN_REVIEW,
            start=app.received_at,
            at=now,
            detail=f"executor: {ctx.settings.executor_name}",
        )
    return app


def attention_findings(app: ApplicationFile) -> list[Finding]:
    """Findings a person must look at (everything but informational notes)."""
    return [f for f in app.verdict.findings if f.severity is not Severity.INFO]


def auto_decision(ctx: IntakeContext, app: ApplicationFile) -> ReviewDecision | None:
    """The ``auto`` policy: approve what the checks found nothing wrong with, else None.

    "Nothing wrong" also means the request carries what a license needs (a valid
    IIN/BIN, a name, subtypes of the edition and places), since no one is
    there to fill them in.
    """
    if attention_findings(app):
        return None
    request = app.verdict.request
    if not request.iin_bin or not check_id(request.iin_bin).valid or not request.applicant_name:
        return None
    if request.kind is RequestKind.ISSUE:
        known = edition_of(ctx, app).subtype_codes()
        if not request.subtypes or not request.places or set(request.subtypes) - known:
            return None
    elif not request.license_number or registry(ctx).license(request.license_number) is None:
        return None
    return ReviewDecision(
        decision=Decision.APPROVE,
        actor=AUTO_ACTOR,
        subtypes=request.subtypes,
        places=request.places,
    )


def record_decision(
    ctx: IntakeContext,
    app: ApplicationFile,
    decision: ReviewDecision,
    *,
    round_no: int,
    at: dt.datetime,
) -> StepEvent:
    detail = decision.decision.value
    if decision.grounds:
        detail += f" ({', '.join(decision.grounds)})"
    return record_step(
        ctx,
        app,
        key=f"review-{round_no}",
        step="provider.review",
        actor=decision.actor,
        state=AppState.APPROVED if decision.decision is Decision.APPROVE else AppState.REFUSED,
        start=app.received_at,
        at=at,
        detail=detail,
        decision=DecisionEntry(
            kind="review",
            decision=decision.decision.value,
            actor=decision.actor,
            at=at,
            round=round_no,
            grounds=decision.grounds,
            reasoning=decision.reasoning,
            subtypes=decision.subtypes,
            places=decision.places,
        ),
    )


def validate_decision(ctx: IntakeContext, app: ApplicationFile, decision: ReviewDecision) -> None:
    """Reject a decision that cannot be carried out, before anything is signed."""
    edition = edition_of(ctx, app)
    if decision.decision is Decision.REFUSE:
        known = {g.code for g in edition.refusal_grounds}
        if not decision.grounds:
            raise LicensingError("a refusal needs at least one ground", code="licensing.no_grounds")
        unknown = set(decision.grounds) - known
        if unknown:
            raise LicensingError(
                f"grounds {sorted(unknown)} are not item {edition.refusal_item.value} grounds "
                f"of {edition.id}",
                code="licensing.ground_unknown",
            )
        if not decision.reasoning.strip():
            raise LicensingError("a refusal needs its reasoning", code="licensing.no_reasoning")
        return
    request = app.verdict.request
    if request.kind is RequestKind.ISSUE:
        nomenclature = edition.subtype_codes()
        if not decision.subtypes:
            raise LicensingError("approval needs the subtypes", code="licensing.no_subtypes")
        unknown = set(decision.subtypes) - nomenclature
        if unknown:
            raise LicensingError(
                f"subtypes {sorted(unknown)} are not in the nomenclature of {edition.id}",
                code="licensing.subtype_unknown",
            )
        if not decision.places:
            raise LicensingError(
                "approval needs the places of activity", code="licensing.no_places"
            )
    _applicant_id(request)


def _applicant_id(request: ApplicationRequest) -> str:
    if not request.iin_bin or not check_id(request.iin_bin).valid:
        raise LicensingError(
            f"the application has no valid IIN/BIN ({request.iin_bin!r})",
            code="licensing.applicant_id_invalid",
        )
    return request.iin_bin


# --- documents ------------------------------------------------------------------------------------


def _provider(ctx: IntakeContext) -> dict[str, str]:
    s = ctx.settings
    return {
        "provider_name_kk": s.provider_name_kk,
        "provider_name_ru": s.provider_name_ru,
        "provider_address_kk": s.provider_address_kk,
        "provider_address_ru": s.provider_address_ru,
    }


def _place_of_issue(ctx: IntakeContext) -> dict[str, str]:
    # The office's city is the first part of its address ("Орал қ., …").
    return {
        "place_of_issue_kk": ctx.settings.provider_address_kk.split(",")[0],
        "place_of_issue_ru": ctx.settings.provider_address_ru.split(",")[0],
    }


def _verify_url(ctx: IntakeContext, ref: str) -> str:
    return f"{ctx.settings.public_verify_url.rstrip('/')}/{ref}"


def _subtype_names(edition: Edition, codes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    names = {s.code: s.name for s in edition.subtypes}
    missing = [c for c in codes if c not in names]
    if missing:
        raise LicensingError(
            f"subtypes {missing} are not in the nomenclature of {edition.id}",
            code="licensing.subtype_unknown",
        )
    return tuple((names[c].kk, names[c].ru) for c in codes)


def new_licensee(app: ApplicationFile, decision: ReviewDecision) -> Licensee:
    request = app.verdict.request
    kind, _ = resolve_applicant_type(request)
    address = decision.licensee_address or (decision.places[0] if decision.places else None)
    if not request.applicant_name or not address:
        raise LicensingError(
            "the licensee's name and address are needed", code="licensing.licensee_incomplete"
        )
    return Licensee(
        kind=kind, name=request.applicant_name, iin_bin=_applicant_id(request), address=address
    )


def issue_records(
    ctx: IntakeContext,
    app: ApplicationFile,
    decision: ReviewDecision,
    *,
    number: str,
    issued_at: dt.datetime,
    head_name: str,
) -> tuple[LicenseData, AppendixData]:
    """License and appendix of a first issue (also used for the head's unsigned draft)."""
    edition = edition_of(ctx, app)
    licensee = new_licensee(app, decision)
    common = {**_provider(ctx), **_place_of_issue(ctx), "head_name": head_name}
    lic = LicenseData(
        **common,
        number=number,
        issued_at=issued_at,
        first_issued_on=issued_at.date(),
        licensee=licensee,
        verify_url=_verify_url(ctx, number.replace(" ", "")),
    )
    appendix = AppendixData(
        **common,
        number=APPENDIX_NO,
        license_number=number,
        issued_at=issued_at,
        licensee=licensee,
        subtypes=_subtype_names(edition, decision.subtypes),
        places=decision.places,
        verify_url=_verify_url(ctx, f"{number}-{APPENDIX_NO}".replace(" ", "")),
    )
    return lic, appendix


def store_draft(
    ctx: IntakeContext, app: ApplicationFile, decision: ReviewDecision, now: dt.datetime
) -> tuple[str, ...]:
    """Unsigned drafts for the head (item 6, step 4); rewritten on every review round."""
    request = app.verdict.request
    base = app_prefix(app.app_id)
    if request.kind is not RequestKind.ISSUE:
        # Re-issue and duplicate repeat a registered license; the draft is the decision itself.
        return ()
    lic, appendix = issue_records(
        ctx, app, decision, number=DRAFT_NUMBER, issued_at=_local(ctx, now), head_name="—"
    )
    keys = (f"{base}/draft-license.pdf", f"{base}/draft-appendix.pdf")
    for key, pdf in zip(
        keys,
        (ctx.renderer.render_license(lic), ctx.renderer.render_appendix(appendix)),
        strict=True,
    ):
        ctx.store.put_bytes(ctx.settings.bucket_artifacts, key, pdf, content_type=PDF)
    return keys


def _store_signed(
    ctx: IntakeContext,
    key: str,
    render: Callable[[], bytes],
    *,
    document_type: str,
    number: str,
    new: bool = False,
) -> str:
    """Render, sign and store once; a document already stored is never signed again.

    ``new``: the caller knows the document cannot exist yet (its number was bound
    in this unit of work), so it is not looked for.
    """
    bucket = ctx.settings.bucket_artifacts
    if not new and ctx.store.exists(bucket, key):
        return key
    signed = ctx.sign(render(), document_type=document_type, document_number=number, as_head=True)
    # Another run may have stored its copy in the meantime; the first one stands.
    with contextlib.suppress(ObjectExists):
        ctx.store.put_bytes(bucket, key, signed, content_type=PDF, if_absent=True)
    return key


def _store_signed_pair(
    ctx: IntakeContext,
    app_id: str,
    lic: LicenseData,
    appendix: AppendixData,
    *,
    names: tuple[str, str],
    numbers: tuple[str, str],
    document_types: tuple[str, str],
    new: bool = False,
) -> tuple[str, str]:
    """A license and its appendix, each rendered, signed and stored once (see _store_signed)."""
    base = app_prefix(app_id)
    return (
        _store_signed(
            ctx,
            f"{base}/{names[0]}.pdf",
            lambda: ctx.renderer.render_license(lic),
            document_type=document_types[0],
            number=numbers[0],
            new=new,
        ),
        _store_signed(
            ctx,
            f"{base}/{names[1]}.pdf",
            lambda: ctx.renderer.render_appendix(appendix),
            document_type=document_types[1],
            number=numbers[1],
            new=new,
        ),
    )


def _year_scope(ctx: IntakeContext, now: dt.datetime) -> tuple[str, int]:
    year = _local(ctx, now).year
    return str(year), year


def allocate_license_number(ctx: IntakeContext, app_id: str, now: dt.datetime) -> NumberClaim:
    """The application's license number: the next of the year it is first claimed in."""
    year = _local(ctx, now).year
    return registry(ctx).allocate(
        str(year),
        app_id,
        lambda scope, seq: ctx.settings.license_number(int(scope), seq),
        now,
        binding="license",
    )


def issue(
    ctx: IntakeContext,
    app_id: str,
    decision: ReviewDecision,
    head: HeadDecision,
    now: dt.datetime,
) -> ServiceResult:
    """Approve → number → render → sign → store → register → deliver, for any request kind."""
    with unit_of_work():
        reg = registry(ctx)
        done = reg.result(app_id)
        if done is not None:
            return done
        app = reg.application(app_id)
        validate_decision(ctx, app, decision)
        kind = app.verdict.request.kind
        if kind is RequestKind.ISSUE:
            result = _issue_new(ctx, app, decision, head, now)
        elif kind is RequestKind.REISSUE:
            result = _reissue(ctx, app, decision, head, now)
        else:
            result = _duplicate(ctx, app, head, now)
        return _deliver(ctx, app, result, head, now)


def _sign_event(
    ctx: IntakeContext,
    app: ApplicationFile,
    head: HeadDecision,
    at: dt.datetime,
    detail: str,
    state: AppState,
    result: ServiceResult,
    *,
    history: list[StepEvent],
) -> StepEvent:
    start = max((e.at for e in history if e.step == "provider.review"), default=app.received_at)
    return record_step(
        ctx,
        app,
        key="sign",
        step="provider.sign",
        actor=head.actor,
        state=state,
        start=start,
        at=at,
        detail=detail,
        decision=DecisionEntry(
            kind="result",
            decision=result.outcome,
            actor=head.actor,
            at=at,
            number=result.number,
            documents=result.documents,
        ),
    )


def _deliver(
    ctx: IntakeContext,
    app: ApplicationFile,
    result: ServiceResult,
    head: HeadDecision,
    now: dt.datetime,
) -> ServiceResult:
    """Head's signature and delivery, recorded at the moments they happen (not ``now``)."""
    reg = registry(ctx)
    # One listing tells which of the two steps are done and when the review ended.  A
    # step a concurrent run records after it is kept by the create-only write.
    history = reg.events(app.app_id)
    done = {e.key: e for e in history}
    signed = done.get("sign")
    if signed is None:
        at = max(dt.datetime.now(dt.UTC), now)
        state = AppState.REFUSED if result.outcome == "refused" else AppState.APPROVED
        signed = _sign_event(
            ctx,
            app,
            head,
            at,
            f"{result.outcome} {result.number}",
            state,
            result,
            history=history,
        )
    _publish(ctx, app, result)
    stored = reg.save_result(result)
    if "deliver" not in done:
        record_step(
            ctx,
            app,
            key="deliver",
            step="provider.deliver",
            actor=ctx.settings.clerk_name,
            state=AppState.REFUSED if result.outcome == "refused" else AppState.ISSUED,
            start=signed.at,
            at=max(dt.datetime.now(dt.UTC), signed.at + dt.timedelta(microseconds=1)),
            detail=", ".join(result.documents),
        )
    return stored


_RESULT_EVENTS = {
    "issued": EventType.LICENSE_ISSUED,
    "reissued": EventType.LICENSE_REISSUED,
    "duplicate": EventType.LICENSE_DUPLICATED,
    "refused": EventType.APPLICATION_REFUSED,
}


def _publish(ctx: IntakeContext, app: ApplicationFile, result: ServiceResult) -> None:
    """Publish the signed documents, then tell downstream (so the event finds them there).

    Before ``result.json``: a run that dies in between repeats both, and both keep
    what they wrote first.
    """
    publisher = Publisher(ctx.store, ctx.settings)
    # Bound here: no event carrying the number can be in the log yet (see bound_here).
    new = result.outcome != "refused" and bound_here(
        app.app_id, "duplicate" if result.outcome == "duplicate" else "license"
    )
    license_number: str | None = None
    data: dict[str, str | None] = {"outcome": result.outcome}
    if result.outcome != "refused":
        license_number = result.number
        publisher.publish(result.number)
        entry = registry(ctx).license(result.number)
        if entry is not None and entry.previous_number:
            # The replaced license's manifest now says so (a new manifest version).
            publisher.publish(entry.previous_number)
            data["previous_number"] = entry.previous_number
        data["manifest"] = f"{license_prefix(result.number)}{MANIFEST}"
    else:
        data["refusal_number"] = result.number
        data["stage"] = "review"
    with first_attempt(app.app_id) if new else contextlib.nullcontext():
        emit(
            ctx.store,
            ctx.settings,
            _RESULT_EVENTS[result.outcome],
            app.app_id,
            license_number=license_number,
            data=data,
        )


def _issue_new(
    ctx: IntakeContext,
    app: ApplicationFile,
    decision: ReviewDecision,
    head: HeadDecision,
    now: dt.datetime,
) -> ServiceResult:
    claim = allocate_license_number(ctx, app.app_id, now)
    issued_at = _local(ctx, claim.claimed_at)
    lic, appendix = issue_records(
        ctx, app, decision, number=claim.number, issued_at=issued_at, head_name=head.actor
    )
    license_key, appendix_key = _store_signed_pair(
        ctx,
        app.app_id,
        lic,
        appendix,
        names=(f"license-{claim.number}", f"appendix-{claim.number}-{APPENDIX_NO}"),
        numbers=(claim.number, f"{claim.number}-{APPENDIX_NO}"),
        document_types=("license", "appendix"),
        new=bound_here(app.app_id, "license"),
    )
    registry(ctx).register_license(
        LicenseEntry(
            number=claim.number,
            app_id=app.app_id,
            kind="issue",
            licensee_kind=lic.licensee.kind.value,
            licensee_name=lic.licensee.name,
            licensee_iin_bin=lic.licensee.iin_bin,
            licensee_address=lic.licensee.address,
            subtypes=decision.subtypes,
            places=decision.places,
            issued_at=issued_at,
            first_issued_on=issued_at.date(),
            license_key=license_key,
            appendix_key=appendix_key,
        )
    )
    return ServiceResult(
        app_id=app.app_id,
        outcome="issued",
        number=claim.number,
        documents=(license_key, appendix_key),
        issued_at=issued_at,
    )


def _existing_license(ctx: IntakeContext, app: ApplicationFile) -> LicenseEntry:
    number = app.verdict.request.license_number
    entry = registry(ctx).license(number) if number else None
    if entry is None:
        raise LicensingError(
            f"license {number!r} is not in the register", code="licensing.license_not_found"
        )
    return entry


def _reissue(
    ctx: IntakeContext,
    app: ApplicationFile,
    decision: ReviewDecision,
    head: HeadDecision,
    now: dt.datetime,
) -> ServiceResult:
    reg = registry(ctx)
    previous = _existing_license(ctx, app)
    successor = reg.replaced_by(previous.number)
    if successor is not None and successor.app_id != app.app_id:
        raise LicensingError(
            f"license {previous.number} was already re-issued as {successor.number}",
            code="licensing.already_reissued",
        )
    claim = allocate_license_number(ctx, app.app_id, now)
    successor = reg.mark_replaced(previous.number, claim)
    if successor.app_id != app.app_id:
        # Another re-issue won the race after our check; our number stays claimed by
        # this application (never reused) and the run fails visibly for a person to settle.
        raise LicensingError(
            f"license {previous.number} was re-issued concurrently as {successor.number}",
            code="licensing.already_reissued",
        )
    issued_at = _local(ctx, claim.claimed_at)
    request = app.verdict.request
    name = request.applicant_name or previous.licensee_name
    address = decision.licensee_address or previous.licensee_address
    licensee = Licensee(
        kind=ApplicantType(previous.licensee_kind),
        name=name,
        iin_bin=previous.licensee_iin_bin,
        address=address,
    )
    changes = []
    if name != previous.licensee_name:
        changes.append(
            Change(
                label_kk="Лицензиаттың атауы",
                label_ru="Наименование лицензиата",
                old=previous.licensee_name,
                new=name,
            )
        )
    if address != previous.licensee_address:
        changes.append(
            Change(
                label_kk="Лицензиаттың орналасқан жері",
                label_ru="Местонахождение лицензиата",
                old=previous.licensee_address,
                new=address,
            )
        )
    number_change = Change(
        label_kk="Лицензияның нөмірі",
        label_ru="Номер лицензии",
        old=previous.number,
        new=claim.number,
    )
    # The license lists what changed about the licensee; when only the document
    # changed (a reorganisation, a new object address in the appendix) it lists
    # the new number, since a re-issue must name at least one change.
    license_changes = tuple(changes) or (number_change,)
    previous_on = previous.issued_at.date()
    common = {**_provider(ctx), **_place_of_issue(ctx), "head_name": head.actor}
    lic = LicenseData(
        **common,
        number=claim.number,
        issued_at=issued_at,
        first_issued_on=previous.first_issued_on,
        licensee=licensee,
        reissue=Reissue(
            previous=DocumentRef(number=previous.number, issued_on=previous_on),
            changes=license_changes,
        ),
        verify_url=_verify_url(ctx, claim.number),
    )
    edition = edition_of(ctx, app)
    subtypes = decision.subtypes or previous.subtypes
    places = decision.places or previous.places
    appendix = AppendixData(
        **common,
        number=APPENDIX_NO,
        license_number=claim.number,
        issued_at=issued_at,
        licensee=licensee,
        subtypes=_subtype_names(edition, subtypes),
        places=places,
        reissue=Reissue(
            previous=DocumentRef(number=previous.appendix_number, issued_on=previous_on),
            changes=(*changes, number_change),
        ),
        verify_url=_verify_url(ctx, f"{claim.number}-{APPENDIX_NO}"),
    )
    license_key, appendix_key = _store_signed_pair(
        ctx,
        app.app_id,
        lic,
        appendix,
        names=(f"reissued-{claim.number}", f"reissued-appendix-{claim.number}-{APPENDIX_NO}"),
        numbers=(claim.number, f"{claim.number}-{APPENDIX_NO}"),
        document_types=("reissued", "reissued"),
        new=bound_here(app.app_id, "license"),
    )
    reg.register_license(
        LicenseEntry(
            number=claim.number,
            app_id=app.app_id,
            kind="reissue",
            licensee_kind=previous.licensee_kind,
            licensee_name=name,
            licensee_iin_bin=previous.licensee_iin_bin,
            licensee_address=address,
            subtypes=subtypes,
            places=places,
            issued_at=issued_at,
            first_issued_on=previous.first_issued_on,
            previous_number=previous.number,
            license_key=license_key,
            appendix_key=appendix_key,
        )
    )
    return ServiceResult(
        app_id=app.app_id,
        outcome="reissued",
        number=claim.number,
        documents=(license_key, appendix_key),
        issued_at=issued_at,
    )


def _duplicate(
    ctx: IntakeContext, app: ApplicationFile, head: HeadDecision, now: dt.datetime
) -> ServiceResult:
    reg = registry(ctx)
    original = _existing_license(ctx, app)
    successor = reg.replaced_by(original.number)
    if successor is not None:
        raise LicensingError(
            f"license {original.number} was re-issued as {successor.number}; "
            "a duplicate is issued for the license in force",
            code="licensing.license_replaced",
        )
    claim = reg.allocate(
        f"duplicates-{original.number}",
        app.app_id,
        lambda _scope, seq: str(seq),
        now,
        binding="duplicate",
    )
    n = claim.seq
    issued_at = _local(ctx, claim.claimed_at)
    licensee = Licensee(
        kind=ApplicantType(original.licensee_kind),
        name=original.licensee_name,
        iin_bin=original.licensee_iin_bin,
        address=original.licensee_address,
    )
    common = {**_provider(ctx), **_place_of_issue(ctx), "head_name": head.actor}
    original_on = original.issued_at.date()
    lic = LicenseData(
        **common,
        number=original.number,
        issued_at=issued_at,
        first_issued_on=original.first_issued_on,
        licensee=licensee,
        duplicate_of=DocumentRef(number=original.number, issued_on=original_on),
        verify_url=_verify_url(ctx, f"{original.number}-D{n}"),
    )
    appendix = AppendixData(
        **common,
        number=original.appendix_number,
        license_number=original.number,
        issued_at=issued_at,
        licensee=licensee,
        subtypes=_subtype_names(edition_of(ctx, app), original.subtypes),
        places=original.places,
        duplicate_of=DocumentRef(number=original.appendix_number, issued_on=original_on),
        verify_url=_verify_url(ctx, f"{original.number}-{original.appendix_number}-D{n}"),
    )
    appendix_dup = f"{original.number}-{original.appendix_number}-D{n}"
    keys = _store_signed_pair(
        ctx,
        app.app_id,
        lic,
        appendix,
        names=(f"duplicate-{original.number}-D{n}", f"duplicate-appendix-{appendix_dup}"),
        numbers=(f"{original.number}-D{n}", appendix_dup),
        document_types=("duplicate", "duplicate"),
        new=bound_here(app.app_id, "duplicate"),
    )
    reg.register_duplicate(
        DuplicateEntry(
            number=original.number,
            duplicate_no=n,
            app_id=app.app_id,
            issued_at=issued_at,
            documents=keys,
        )
    )
    return ServiceResult(
        app_id=app.app_id,
        outcome="duplicate",
        number=original.number,
        documents=keys,
        issued_at=issued_at,
    )


# --- reasoned refusal ------------------------------------------------------------------------------


def refusal_number(app_id: str) -> str:
    # Derived from the application like the receipt: one refusal per application, ever.
    return "MR-" + app_id.removeprefix("app-")[:10].upper()


def refuse(
    ctx: IntakeContext,
    app_id: str,
    decision: ReviewDecision,
    head: HeadDecision,
    now: dt.datetime,
) -> ServiceResult:
    """Reasoned refusal → sign → store → deliver; a repeat returns the first result."""
    with unit_of_work():
        return _refuse(ctx, app_id, decision, head, now)


def _refuse(
    ctx: IntakeContext,
    app_id: str,
    decision: ReviewDecision,
    head: HeadDecision,
    now: dt.datetime,
) -> ServiceResult:
    reg = registry(ctx)
    done = reg.result(app_id)
    if done is not None:
        return done
    app = reg.application(app_id)
    validate_decision(ctx, app, decision)
    edition = edition_of(ctx, app)
    request = app.verdict.request
    grounds = {g.code: g for g in edition.refusal_grounds}
    # The moment of the decision, stored once, dates the refusal on every repeat.
    reviewed = [e for e in reg.events(app_id) if e.step == "provider.review"]
    issued_at = _local(ctx, reviewed[-1].at if reviewed else now)
    number = refusal_number(app_id)
    item = edition.refusal_item.value or "?"
    data = ReasonedRefusalData(
        **_provider(ctx),
        number=number,
        issued_at=issued_at,
        head_name=head.actor,
        verify_url=_verify_url(ctx, number),
        applicant_name=request.applicant_name or "—",
        applicant_iin_bin=_applicant_id(request),
        applicant_address=decision.licensee_address
        or (request.places[0] if request.places else "—"),
        application=DocumentRef(
            number=app.receipt_number, issued_on=_local(ctx, app.received_at).date()
        ),
        grounds=tuple(
            RefusalGround(code=c, name_kk=grounds[c].name.kk, name_ru=grounds[c].name.ru)
            for c in decision.grounds
        ),
        reasoning_kk=decision.reasoning,
        reasoning_ru=decision.reasoning,
        legal_basis_kk=f"{edition.title.kk}, {item}-тармақ ({edition.act.kk})",
        legal_basis_ru=f"Пункт {item}: {edition.title.ru} ({edition.act.ru})",
        executor_name=decision.actor,
    )
    key = _store_signed(
        ctx,
        f"{app_prefix(app_id)}/refusal-{number}.pdf",
        lambda: ctx.renderer.render_reasoned_refusal(data),
        document_type="refusal",
        number=number,
    )
    result = ServiceResult(
        app_id=app_id, outcome="refused", number=number, documents=(key,), issued_at=issued_at
    )
    return _deliver(ctx, app, result, head, now)


def record_head(
    ctx: IntakeContext, app: ApplicationFile, head: HeadDecision, *, round_no: int, at: dt.datetime
) -> StepEvent:
    review = registry(ctx).event(app.app_id, f"review-{round_no}")
    return record_step(
        ctx,
        app,
        key=f"head-{round_no}",
        step="provider.sign",
        actor=head.actor,
        state=AppState.APPROVED if head.confirmed else AppState.IN_REVIEW,
        start=review.at if review else at,
        at=at,
        detail=("confirmed" if head.confirmed else "returned to the executor")
        + (f": {head.comment}" if head.comment else ""),
        decision=DecisionEntry(
            kind="head",
            decision="confirm" if head.confirmed else "return",
            actor=head.actor,
            at=at,
            round=round_no,
            comment=head.comment,
        ),
    )


__all__ = [
    "AUTO_ACTOR",
    "LicensingError",
    "allocate_license_number",
    "attention_findings",
    "auto_decision",
    "begin_review",
    "issue",
    "record_decision",
    "record_head",
    "refuse",
    "review_due",
    "store_draft",
    "validate_decision",
]
