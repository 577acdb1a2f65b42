"""The ``auto`` review policy carried out inside the intake batch, without a review run.

A review run exists so a person can decide in the Prefect UI: it suspends,
its process exits, and it comes back when the form is submitted.  When the
policy is ``auto`` and the automated checks leave nothing for a person to look
at, there is nothing to wait for, and starting a flow run (a new process that
imports Prefect and builds its signing context) per application would cost
more than the licensing work itself.  Such applications are decided and
issued right after their receipt, by the same warm worker.  Everything a
person has to see still goes to a review run: findings that need attention,
requests without what a license needs, and every application when the head
confirms results (``head_confirmation``).

The steps are the review flow's, in the same order and with the same
create-only records, so an application that a crash leaves half-way is
finished by either path without a second license.
"""

from __future__ import annotations

import datetime as dt

from medlicense.licensing import (
    LicensingError,
    auto_decision,
    begin_review,
    issue,
    record_decision,
    refuse,
    registry,
    validate_decision,
)
from medlicense.processing import IntakeContext
from medlicense.records import Decision, HeadDecision, ServiceResult


def can_auto_review(ctx: IntakeContext) -> bool:
    """Whether this installation lets accepted applications be decided without a person."""
    return ctx.settings.review_policy == "auto" and not ctx.settings.head_confirmation


def auto_review(ctx: IntakeContext, app_id: str, now: dt.datetime) -> ServiceResult | None:
    """Decide and issue ``app_id`` under the ``auto`` policy; None when a person must decide.

    On None the application stays in the review queue and the intake batch
    starts its review run.  On a result the application leaves the queue.
    """
    if not can_auto_review(ctx):
        return None
    reg = registry(ctx)
    done = reg.result(app_id)
    if done is not None:
        reg.dequeue_review(app_id)
        return done
    app = begin_review(ctx, app_id, now)
    decision = auto_decision(ctx, app)
    if decision is None:
        return None
    try:
        # auto_decision only approves what it checked; a decision that still cannot
        # be carried out (the edition changed under it, say) is a person's call.
        validate_decision(ctx, app, decision)
    except LicensingError:
        return None
    record_decision(ctx, reg.application(app_id), decision, round_no=1, at=now)
    head = HeadDecision(confirmed=True, actor=ctx.settings.head_name)
    if decision.decision is Decision.APPROVE:
        result = issue(ctx, app_id, decision, head, now)
    else:
        result = refuse(ctx, app_id, decision, head, now)
    reg.dequeue_review(app_id)
    return result
