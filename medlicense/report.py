"""Which applications are due today and which are overdue, per the regulation's time limits.

Open applications only (not yet issued or refused).  The limit that matters is
the one of the step the application is waiting for: the executor's review
while it is with the executor, the head's signature while a draft waits for
the head, the assignment while nobody has taken it yet.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from medlicense.licensing import review_due, step_due
from medlicense.processing import IntakeContext
from medlicense.records import AppState
from medlicense.register import Registry

_WAITING_FOR = {
    AppState.ACCEPTED: "provider.assign",
    AppState.IN_REVIEW: "provider.review",
    AppState.AWAITING_HEAD: "provider.sign",
    AppState.APPROVED: "provider.sign",
}


class DueItem(BaseModel):
    app_id: str
    applicant: str
    state: str
    waiting_for: str
    due_by: dt.datetime
    status: str  # "overdue" | "due today"


def due_report(ctx: IntakeContext, now: dt.datetime) -> list[DueItem]:
    tz = ZoneInfo(ctx.settings.timezone)
    today = now.astimezone(tz).date()
    reg = Registry(ctx.store, ctx.settings)
    out = []
    for key in reg.keys("applications/"):
        if not key.endswith("/application.json"):
            continue
        app_id = key.split("/")[1]
        record = reg.record(app_id)
        if record is None or record.state not in _WAITING_FOR:
            continue
        app = reg.application(app_id)
        step = _WAITING_FOR[record.state]
        if step == "provider.review":
            due: dt.datetime | None = review_due(ctx, app)
        else:
            start = record.history[-1].at if record.history else app.received_at
            due = step_due(ctx, app, step, start)
        if due is None:
            continue
        if due < now:
            status = "overdue"
        elif due.astimezone(tz).date() == today:
            status = "due today"
        else:
            continue
        out.append(
            DueItem(
                app_id=app_id,
                applicant=record.applicant_name or "—",
                state=record.state.value,
                waiting_for=step,
                due_by=due,
                status=status,
            )
        )
    return sorted(out, key=lambda i: (i.status != "overdue", i.due_by))
