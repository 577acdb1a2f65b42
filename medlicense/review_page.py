"""What the executor is shown: the application's page, the review form's contents, the wait.

Nothing here needs Prefect, so the worker that accepts a package (a process
that never imports Prefect) prepares all of it, and the review run, when the
intake batch hands the application over, is created already waiting at its
first form (:mod:`flows.handover`).  The form class itself is built from a
:class:`FormSpec` where Prefect is loaded (:func:`medlicense.review.form_from_spec`).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from medlicense.errors import RulesError
from medlicense.licensing import attention_findings, begin_review, edition_of, review_due
from medlicense.processing import IntakeContext, store_documents
from medlicense.records import ApplicationFile, ServiceResult
from medlicense.rules import check_id, fee_due
from medlicense.rules.schema import Edition

# Presigned links cannot outlive 7 days under SigV4; the form says so.
LINK_VALIDITY = dt.timedelta(days=7)
# A review found overdue still waits this long for the person before the run fails.
OVERDUE_GRACE = dt.timedelta(hours=8)


def review_pause_key(round_no: int) -> str:
    """The pause key of review round ``round_no``: its form's response is stored under it."""
    return f"review-{round_no}"


def review_wait_seconds(ctx: IntakeContext, app: ApplicationFile, now: dt.datetime) -> int:
    """How long a review run waits for the executor's form before it fails."""
    due = review_due(ctx, app)
    return int(max((due - now).total_seconds(), OVERDUE_GRACE.total_seconds()))


class FormSpec(BaseModel):
    """The contents of an application's review form: pick lists of its edition, defaults
    from its request, the page it shows."""

    model_config = ConfigDict(frozen=True)

    executor: str
    grounds: tuple[str, ...]
    subtypes: tuple[str, ...]
    default_subtypes: tuple[str, ...]
    places: tuple[str, ...]
    refusal_item: str
    description: str


def form_spec(ctx: IntakeContext, app: ApplicationFile) -> FormSpec:
    edition = edition_of(ctx, app)
    request = app.verdict.request
    subtypes = [s.code for s in edition.subtypes] or ["other"]
    return FormSpec(
        executor=ctx.settings.executor_name,
        grounds=tuple(g.code for g in edition.refusal_grounds) or ("other",),
        subtypes=tuple(subtypes),
        default_subtypes=tuple(s for s in request.subtypes if s in set(subtypes)),
        places=tuple(request.places),
        refusal_item=str(edition.refusal_item.value),
        description=review_description(ctx, app),
    )


def _link(ctx: IntakeContext, key: str) -> str:
    try:
        url = ctx.store.client.presigned_get_object(
            ctx.settings.bucket_artifacts, key, expires=LINK_VALIDITY
        )
    except Exception:  # no credentials to sign with: the key alone still locates it
        return f"`s3://{ctx.settings.bucket_artifacts}/{key}`"
    return f"[{key.rsplit('/', 1)[-1]}]({url})"


def _fee_lines(ctx: IntakeContext, app: ApplicationFile, edition: Edition) -> list[str]:
    request = app.verdict.request
    tz = ZoneInfo(ctx.settings.timezone)
    lines = []
    try:
        due = fee_due(
            edition, request.kind, app.received_at.astimezone(tz).date(), ctx.rulebook.mci
        )
        lines.append(
            f"- due: **{due.rate_mci} MCI × {due.mci_tenge} ₸ = {due.amount} ₸** "
            f"({request.kind.value}, MCI of {due.payment_date}; data status {due.status.value})"
        )
    except RulesError as exc:
        lines.append(f"- due: unknown ({exc.code})")
    if request.payment_gateway_ref:
        lines.append(
            f"- paid through the payment gateway, reference `{request.payment_gateway_ref}`"
        )
    else:
        attached = any(d.kind == "fee_payment" for d in app.verdict.documents)
        lines.append(f"- payment document attached: **{'yes' if attached else 'no'}**")
    fee_findings = [f for f in app.verdict.findings if f.code.startswith("fee.")]
    for f in fee_findings:
        lines.append(f"- {f.severity.value}: `{f.code}` {f.message}")
    if not fee_findings:
        lines.append("- the automated checks found nothing wrong with the payment")
    return lines


def review_description(ctx: IntakeContext, app: ApplicationFile) -> str:
    edition = edition_of(ctx, app)
    request = app.verdict.request
    tz = ZoneInfo(ctx.settings.timezone)
    due = review_due(ctx, app)
    now = dt.datetime.now(dt.UTC)
    id_ok = bool(request.iin_bin) and check_id(request.iin_bin or "").valid
    out = [
        f"## Review: {request.applicant_name or 'applicant not named'} — {request.kind.value}",
        "",
        f"- application `{app.app_id}`, receipt **{app.receipt_number}** "
        f"({_link(ctx, app.receipt_key)}), received "
        f"{app.received_at.astimezone(tz):%Y-%m-%d %H:%M}",
        f"- IIN/BIN: `{request.iin_bin or '—'}` ({'valid' if id_ok else 'NOT valid'}); "
        f"applicant type: {request.applicant_type.value if request.applicant_type else 'not given'}"
        + ("; through a representative" if request.representative else ""),
        f"- edition: {edition.id}",
        f"- **review due by {due.astimezone(tz):%Y-%m-%d %H:%M}**"
        + (" — **OVERDUE**" if now > due else ""),
    ]
    if request.license_number:
        out.append(f"- license concerned: **{request.license_number}**")
    if request.reissue_ground:
        out.append(f"- re-issue ground: `{request.reissue_ground}`")
    out += ["", "### Documents", "", "| file | kind | pages | confidence |", "|---|---|---|---|"]
    # The page links to each document on its own: stored here, for the pages that are shown.
    base = f"applications/{app.app_id}/documents/"
    store_documents(ctx, app)
    for doc in app.verdict.documents:
        name = edition.document_name(doc.kind).ru if doc.kind else "не распознан / танылмады"
        pages = f"{doc.pages}" + (
            f" (p. {doc.page_range[0]}–{doc.page_range[1]})" if doc.page_range else ""
        )
        out.append(f"| {_link(ctx, base + doc.file)} | {name} | {pages} | {doc.confidence:.2f} |")
    out.append(f"\nThe package as uploaded: {_link(ctx, app.package_key)}")
    out += ["", "### Automated checks", ""]
    findings = attention_findings(app)
    if not findings:
        out.append("Nothing found that needs attention.")
    for f in findings:
        where = f" ({f.document})" if f.document else ""
        out.append(f"- **{f.severity.value}** `{f.code}`{where}: {f.message}")
    notes = [f for f in app.verdict.findings if f not in findings]
    for f in notes:
        out.append(f"- note `{f.code}`: {f.message}")
    out += ["", "### Fee", "", *_fee_lines(ctx, app, edition)]
    out += ["", f"### Refusal grounds (item {edition.refusal_item.value})", ""]
    out += [f"- `{g.code}` — {g.name.ru}" for g in edition.refusal_grounds]
    out += [
        "",
        "Approve with the subtypes and places to license, or refuse with the grounds and "
        "the reasoning. Links are valid for 7 days; `medlicense review list` prints fresh ones.",
    ]
    return "\n".join(out)


def artifact_description(app: ApplicationFile, result: ServiceResult | None = None) -> str:
    return f"{app.verdict.request.applicant_name or app.app_id}: " + (
        result.outcome if result else "in review"
    )


def artifact_key(app_id: str) -> str:
    # Prefect artifact keys: lower-case letters, digits and dashes only.
    return "application-" + "".join(c if c.isalnum() else "-" for c in app_id.lower())


def application_markdown(
    ctx: IntakeContext,
    app: ApplicationFile,
    result: ServiceResult | None = None,
    *,
    description: str | None = None,
) -> str:
    """The application's page in the UI: documents, findings, steps against their limits,
    the decision and what was issued.  ``description``: the review description, when
    the caller has just built it for the form."""
    from medlicense.register import Registry

    tz = ZoneInfo(ctx.settings.timezone)
    reg = Registry(ctx.store, ctx.settings)
    if description is None:
        description = review_description(ctx, app)
    out = [description, "", "### Steps and time limits", ""]
    out += ["| step | by | at | due by | |", "|---|---|---|---|---|"]
    for e in reg.events(app.app_id):
        due = f"{e.due_by.astimezone(tz):%Y-%m-%d %H:%M}" if e.due_by else "—"
        out.append(
            f"| {e.step} ({e.detail}) | {e.actor} | {e.at.astimezone(tz):%Y-%m-%d %H:%M} "
            f"| {due} | {'**overdue**' if e.overdue else 'in time'} |"
        )
    out += ["", "### Decision", ""]
    if result is None:
        out.append("Waiting for the executor's decision (*Runs* → this run → *Resume*).")
    else:
        out.append(
            f"**{result.outcome}** — number **{result.number}**, {result.issued_at:%Y-%m-%d}"
        )
        out += [f"- {_link(ctx, key)}" for key in result.documents]
        if result.outcome != "refused":
            out.append(
                f"\nPublished for downstream systems under "
                f"`s3://{ctx.settings.bucket_published}/licenses/{result.number}/`."
            )
    return "\n".join(out)


class ReviewHandover(BaseModel):
    """A review run's first wait for the executor, prepared where the application was accepted.

    Everything the review run would build itself before its first suspension:
    with it the intake batch creates the run already waiting at its first form
    (:mod:`flows.handover`), and the run executes for the first time when the
    person has decided.
    """

    model_config = ConfigDict(frozen=True)

    app_id: str
    form: FormSpec
    page: str  # the application's page (Markdown artifact)
    page_description: str
    wait_seconds: int


def prepare_handover(ctx: IntakeContext, app_id: str, now: dt.datetime) -> ReviewHandover:
    """The executor is assigned, as the review run's first step would, and the form filled."""
    app = begin_review(ctx, app_id, now)
    form = form_spec(ctx, app)
    return ReviewHandover(
        app_id=app_id,
        form=form,
        page=application_markdown(ctx, app, description=form.description),
        page_description=artifact_description(app),
        wait_seconds=review_wait_seconds(ctx, app, now),
    )
