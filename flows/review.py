"""One application after acceptance: review in the Prefect UI, the head's signature, the result.

The flow suspends (not pauses) while it waits for a person: the process exits,
the run's state and the form live in the Prefect database, and submitting the
form schedules the run again on whichever worker serves the deployment.  On
resumption the flow starts from the top; the steps before the wait are
idempotent (create-only records, cached task results), and ``suspend_flow_run``
with the same key hands back the submitted input instead of suspending again.

The work is in :mod:`medlicense.licensing`; the forms in :mod:`medlicense.review`
and :mod:`medlicense.review_page`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.flow_runs import suspend_flow_run

from medlicense.licensing import (
    LicensingError,
    auto_decision,
    begin_review,
    issue,
    record_decision,
    record_head,
    refuse,
    store_draft,
    validate_decision,
)
from medlicense.processing import IntakeContext
from medlicense.records import (
    ApplicationFile,
    Decision,
    HeadDecision,
    ReviewDecision,
    ServiceResult,
)
from medlicense.register import Registry
from medlicense.review import head_form, review_form, to_decision, to_head_decision
from medlicense.review_page import (
    application_markdown,
    artifact_description,
    artifact_key,
    review_pause_key,
    review_wait_seconds,
)

from .context import RETRY_DELAYS, REVIEW_FLOW, retry_transient, worker_context

# More rounds than this (the head returning drafts, invalid forms) means something is off.
MAX_ROUNDS = 10
# The head's 2-hour limit is counted in working time; the wait allows a working day and more.
HEAD_WAIT = dt.timedelta(days=3)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@task(
    name="assign-executor",
    retries=3,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def assign_task(app_id: str) -> ApplicationFile:
    return begin_review(worker_context(), app_id, _now())


@task(
    name="record-review",
    retries=3,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def record_review_task(app_id: str, decision: ReviewDecision, round_no: int) -> None:
    ctx = worker_context()
    record_decision(
        ctx,
        Registry(ctx.store, ctx.settings).application(app_id),
        decision,
        round_no=round_no,
        at=_now(),
    )


@task(
    name="prepare-draft",
    retries=3,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def draft_task(app_id: str, decision: ReviewDecision) -> tuple[str, ...]:
    ctx = worker_context()
    app = Registry(ctx.store, ctx.settings).application(app_id)
    return store_draft(ctx, app, decision, _now())


@task(
    name="record-head",
    retries=3,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def record_head_task(app_id: str, head: HeadDecision, round_no: int) -> None:
    ctx = worker_context()
    app = Registry(ctx.store, ctx.settings).application(app_id)
    record_head(ctx, app, head, round_no=round_no, at=_now())


@task(
    name="issue-result",
    retries=3,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def issue_task(app_id: str, decision: ReviewDecision, head: HeadDecision) -> ServiceResult:
    return issue(worker_context(), app_id, decision, head, _now())


@task(
    name="reasoned-refusal",
    retries=3,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def refuse_task(app_id: str, decision: ReviewDecision, head: HeadDecision) -> ServiceResult:
    return refuse(worker_context(), app_id, decision, head, _now())


@flow(
    name=REVIEW_FLOW,
    flow_run_name="review {app_id}",
    persist_result=True,
    log_prints=True,
)
def review_application(app_id: str) -> ServiceResult:
    logger = get_run_logger()
    ctx = worker_context()
    settings = ctx.settings
    done = Registry(ctx.store, settings).result(app_id)
    if done is not None:
        return done
    app = assign_task(app_id)
    if not _resuming():
        # A resumed run's page was published before its pause, by the run itself or by
        # the hand-over that created it suspended, and nothing on it has changed since.
        _application_artifact(ctx, app)
    decision: ReviewDecision | None = None
    if settings.review_policy == "auto":
        decision = auto_decision(ctx, app)
        if decision is None:
            logger.info("the automated checks found something: a person decides")
    head = HeadDecision(confirmed=True, actor=settings.head_name)
    for round_no in range(1, MAX_ROUNDS + 1):
        if decision is None:
            form = review_form(ctx, app)
            reply = suspend_flow_run(
                wait_for_input=form,
                timeout=review_wait_seconds(ctx, app, _now()),
                # The intake batch may have suspended round 1 at creation with this key
                # (flows.handover): the server then hands back the stored response.
                key=review_pause_key(round_no),
            )
            decision = to_decision(reply)
        try:
            validate_decision(ctx, app, decision)
        except LicensingError as exc:
            # A form that cannot be carried out goes back to the executor, not to a failed run.
            logger.error("review round %d: %s; the form is shown again", round_no, exc)
            decision = None
            continue
        record_review_task(app_id, decision, round_no)
        if settings.head_confirmation:
            drafts = draft_task(app_id, decision) if decision.decision is Decision.APPROVE else ()
            reply_head = suspend_flow_run(
                wait_for_input=head_form(
                    ctx, app, [f"s3://{settings.bucket_artifacts}/{k}" for k in drafts]
                ),
                timeout=int(HEAD_WAIT.total_seconds()),
                key=f"head-{round_no}",
            )
            head = to_head_decision(reply_head)
            record_head_task(app_id, head, round_no)
            if not head.confirmed:
                logger.info("the head returned the draft: %s", head.comment or "no comment")
                decision = None
                continue
        break
    else:
        raise LicensingError(
            f"no decision after {MAX_ROUNDS} rounds", code="licensing.too_many_rounds"
        )
    assert decision is not None
    if decision.decision is Decision.APPROVE:
        result = issue_task(app_id, decision, head)
    else:
        result = refuse_task(app_id, decision, head)
    _application_artifact(ctx, app, result)
    return result


def _resuming() -> bool:
    """This execution of the run comes after a person answered one of its forms."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    # The keys of the pauses the run has been through; the server's own "resuming"
    # flag is already cleared again when the run executes.
    return bool(run is not None and run.empirical_policy.pause_keys)


def _application_artifact(
    ctx: IntakeContext, app: ApplicationFile, result: ServiceResult | None = None
) -> None:
    # Keyed by application: the UI shows its latest version and keeps the earlier ones.
    create_markdown_artifact(
        key=artifact_key(app.app_id),
        markdown=application_markdown(ctx, app, result),
        description=artifact_description(app, result),
    )


# --- operations from a terminal (``medlicense review``) -----------------------------------------


def waiting_reviews() -> list[dict[str, Any]]:
    """Suspended review runs: application, what they wait for, since when, run id."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[REVIEW_FLOW])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
            ),
        )
    out = []
    for run in runs:
        state = run.state
        key = state.state_details.pause_key if state else None
        out.append(
            {
                "app_id": run.parameters.get("app_id"),
                "flow_run_id": str(run.id),
                "flow_run_name": run.name,
                "waiting_for": "head" if key and key.startswith("head") else "executor",
                "pause_key": key,
                "since": state.timestamp.isoformat() if state and state.timestamp else None,
                "timeout_at": state.state_details.pause_timeout.isoformat()
                if state and state.state_details.pause_timeout
                else None,
            }
        )
    return sorted(out, key=lambda r: r["since"] or "")


def resume_review(app_id: str, run_input: dict[str, Any], *, head: bool = False) -> uuid.UUID:
    """Submit the executor's (or, with ``head``, the head's) form of ``app_id`` from a terminal."""
    from prefect.flow_runs import resume_flow_run

    wanted = "head" if head else "executor"
    for run in waiting_reviews():
        if run["app_id"] == app_id and run["waiting_for"] == wanted:
            run_id = uuid.UUID(run["flow_run_id"])
            resume_flow_run(run_id, run_input=run_input)
            return run_id
    raise LicensingError(
        f"no review run of {app_id} is waiting for the {wanted}",
        code="review.not_waiting",
    )
