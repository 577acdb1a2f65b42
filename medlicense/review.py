"""The executor's and the head's forms: what the Prefect UI shows and what comes back.

The review form is a Prefect ``RunInput`` built per application: its refusal
grounds and subtypes are enums of the application's edition (the UI renders
them as pick lists), its defaults come from the request, and its description
is a Markdown page with everything needed to decide.  The same form, as a
dict, is what ``medlicense review approve|refuse`` sends from a terminal.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from prefect.input import RunInput
from pydantic import Field, create_model

from medlicense.errors import MedLicenseError, RulesError
from medlicense.licensing import attention_findings, edition_of, review_due
from medlicense.processing import IntakeContext
from medlicense.records import (
    ApplicationFile,
    Decision,
    HeadDecision,
    ReviewDecision,
    ServiceResult,
)
from medlicense.rules import check_id, fee_due
from medlicense.rules.schema import Edition

# Presigned links cannot outlive 7 days under SigV4; the form says so.
LINK_VALIDITY = dt.timedelta(days=7)


class ReviewInput(RunInput):
    """The executor's decision (item 6, step 3)."""

    decision: Literal["approve", "refuse"]
    executor: str = Field(description="Who reviewed (the responsible executor)")
    grounds: list[str] = Field(
        default_factory=list, description="Refusal: grounds for refusal (item 10 codes)"
    )
    reasoning: str = Field("", description="Refusal: the reasoning printed on the refusal")
    subtypes: list[str] = Field(
        default_factory=list, description="Approval: subtypes of medical activity to license"
    )
    places: list[str] = Field(
        default_factory=list, description="Approval: addresses where the activity is carried out"
    )
    licensee_address: str | None = Field(
        None, description="The licensee's address (default: the first place of activity)"
    )


class HeadConfirmInput(RunInput):
    """The head's confirmation of the executor's draft (item 6, step 4)."""

    decision: Literal["sign", "return"] = Field(
        "sign", description="sign: sign and issue; return: send back to the executor"
    )
    head: str = Field(description="Who signs (the head)")
    comment: str = ""


def _codes_enum(name: str, codes: list[str]) -> type[StrEnum]:
    # An enum per edition, built the same way in every process that loads the form.
    return StrEnum(name, {c: c for c in codes})  # type: ignore[return-value]


def review_form(ctx: IntakeContext, app: ApplicationFile) -> type[ReviewInput]:
    """The review form of ``app``: edition-specific pick lists, defaults and description."""
    edition = edition_of(ctx, app)
    request = app.verdict.request
    grounds = [g.code for g in edition.refusal_grounds] or ["other"]
    subtypes = [s.code for s in edition.subtypes] or ["other"]
    ground_enum = _codes_enum("RefusalGroundCode", grounds)
    subtype_enum = _codes_enum("SubtypeCode", subtypes)
    known = set(subtypes)
    fields: dict[str, Any] = {
        "decision": (Literal["approve", "refuse"], Field("approve")),
        "executor": (str, Field(ctx.settings.executor_name, description="Who reviewed")),
        "grounds": (
            list[ground_enum],  # type: ignore[valid-type]
            Field(
                default_factory=list,
                description=f"Refusal: grounds of item {edition.refusal_item.value}",
            ),
        ),
        "subtypes": (
            list[subtype_enum],  # type: ignore[valid-type]
            # Plain defaults (not factories) so the UI shows them filled in.
            Field(
                [s for s in request.subtypes if s in known],
                description="Approval: subtypes of medical activity",
            ),
        ),
        "places": (
            list[str],
            Field(list(request.places), description="Approval: places"),
        ),
    }
    model = create_model("ReviewInput", __base__=ReviewInput, **fields)
    return model.with_initial_data(description=review_description(ctx, app))


def head_form(
    ctx: IntakeContext, app: ApplicationFile, draft_links: list[str]
) -> type[HeadConfirmInput]:
    lines = [
        f"## Sign the result for {app.app_id}",
        "",
        f"Applicant: **{app.verdict.request.applicant_name or '—'}**, "
        f"request: {app.verdict.request.kind.value}.",
        "",
        "Unsigned drafts prepared by the executor:",
        "",
        *(f"- {link}" for link in draft_links),
        "",
        "Choose **sign** to sign with the head's key and issue, **return** to send the "
        "application back to the executor.",
    ]
    model = create_model(
        "HeadConfirmInput",
        __base__=HeadConfirmInput,
        head=(str, Field(ctx.settings.head_name, description="Who signs")),
    )
    return model.with_initial_data(description="\n".join(lines))


def to_decision(reply: ReviewInput) -> ReviewDecision:
    return ReviewDecision(
        decision=Decision(reply.decision),
        actor=reply.executor,
        grounds=tuple(str(g) for g in reply.grounds),
        reasoning=reply.reasoning,
        subtypes=tuple(str(s) for s in reply.subtypes),
        places=tuple(reply.places),
        licensee_address=reply.licensee_address or None,
    )


def to_head_decision(reply: HeadConfirmInput) -> HeadDecision:
    return HeadDecision(confirmed=reply.decision == "sign", actor=reply.head, comment=reply.comment)


# --- the description ---------------------------------------------------------------------------


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
    base = f"applications/{app.app_id}/documents/"
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


def artifact_key(app_id: str) -> str:
    # Prefect artifact keys: lower-case letters, digits and dashes only.
    return "application-" + "".join(c if c.isalnum() else "-" for c in app_id.lower())


def application_markdown(
    ctx: IntakeContext, app: ApplicationFile, result: ServiceResult | None = None
) -> str:
    """The application's page in the UI: documents, findings, steps against their limits,
    the decision and what was issued."""
    from medlicense.register import Registry

    tz = ZoneInfo(ctx.settings.timezone)
    reg = Registry(ctx.store, ctx.settings)
    out = [review_description(ctx, app), "", "### Steps and time limits", ""]
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


class ReviewInputError(MedLicenseError):
    default_code = "review.invalid_input"


def terminal_input(
    decision: Decision,
    *,
    executor: str,
    grounds: list[str] | None = None,
    reasoning: str = "",
    subtypes: list[str] | None = None,
    places: list[str] | None = None,
    licensee_address: str | None = None,
) -> dict[str, Any]:
    """The review form as ``medlicense review approve|refuse`` sends it (``run_input``).

    Lists left empty are left out so the form's defaults (the request's subtypes and
    places) apply, as they would when a person submits the form untouched.
    """
    out: dict[str, Any] = {"decision": decision.value, "executor": executor}
    if grounds:
        out["grounds"] = grounds
    if reasoning:
        out["reasoning"] = reasoning
    if subtypes:
        out["subtypes"] = subtypes
    if places:
        out["places"] = places
    if licensee_address:
        out["licensee_address"] = licensee_address
    if decision is Decision.REFUSE and not grounds:
        raise ReviewInputError("a refusal needs --grounds", code="review.no_grounds")
    return out
