"""The executor's and the head's forms: what the Prefect UI shows and what comes back.

The review form is a Prefect ``RunInput`` built per application: its refusal
grounds and subtypes are enums of the application's edition (the UI renders
them as pick lists), its defaults come from the request, and its description
is a Markdown page with everything needed to decide (:mod:`medlicense.review_page`).
The same form, as a dict, is what ``medlicense review approve|refuse`` sends
from a terminal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from prefect.input import RunInput
from pydantic import Field, create_model

from medlicense.errors import MedLicenseError
from medlicense.processing import IntakeContext
from medlicense.records import (
    ApplicationFile,
    Decision,
    HeadDecision,
    ReviewDecision,
)
from medlicense.review_page import FormSpec, form_spec


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
    return form_from_spec(form_spec(ctx, app))


def form_from_spec(spec: FormSpec) -> type[ReviewInput]:
    """The form class of ``spec``; the same spec gives the same form in every process."""
    ground_enum = _codes_enum("RefusalGroundCode", list(spec.grounds))
    subtype_enum = _codes_enum("SubtypeCode", list(spec.subtypes))
    fields: dict[str, Any] = {
        "decision": (Literal["approve", "refuse"], Field("approve")),
        "executor": (str, Field(spec.executor, description="Who reviewed")),
        "grounds": (
            list[ground_enum],  # type: ignore[valid-type]
            Field(
                default_factory=list,
                description=f"Refusal: grounds of item {spec.refusal_item}",
            ),
        ),
        "subtypes": (
            list[subtype_enum],  # type: ignore[valid-type]
            # Plain defaults (not factories) so the UI shows them filled in.
            Field(
                list(spec.default_subtypes), description="Approval: subtypes of medical activity"
            ),
        ),
        "places": (
            list[str],
            Field(list(spec.places), description="Approval: places"),
        ),
    }
    model = create_model("ReviewInput", __base__=ReviewInput, **fields)
    return model.with_initial_data(description=spec.description)


def form_schema(form: type[ReviewInput]) -> dict[str, Any]:
    """The JSON schema of ``form`` as Prefect's ``RunInput.save`` stores it, so the UI
    renders it and the server validates a response against it the stock way."""
    from prefect._internal.pydantic.v2_schema import create_v2_schema

    return create_v2_schema(form.__name__, model_base=form)


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
