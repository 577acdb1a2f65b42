"""The daily report: applications due today and overdue, as a table in the Prefect UI."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.artifacts import create_table_artifact

from medlicense.report import DueItem, due_report
from medlicense.settings import get_settings

from .context import worker_context

REPORT_ARTIFACT = "daily-due-report"


def _report_moment(at: dt.datetime | None, tz: ZoneInfo) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    # A time typed into the UI's parameter form has no zone: the office's clock is meant.
    return at if at.tzinfo is not None else at.replace(tzinfo=tz)


def _report_name() -> str:
    from prefect.runtime import flow_run

    tz = ZoneInfo(get_settings().timezone)
    at = flow_run.parameters.get("at")
    moment = _report_moment(at if isinstance(at, dt.datetime) else None, tz)
    return f"due report {moment.astimezone(tz):%Y-%m-%d}"


def report_table(items: list[DueItem], tz: ZoneInfo) -> list[dict[str, str]]:
    """One row per application: what the operator chases today."""
    return [
        {
            "status": i.status,
            "application": i.app_id,
            "applicant": i.applicant,
            "state": i.state,
            "waiting for": i.waiting_for,
            "due by": f"{i.due_by.astimezone(tz):%Y-%m-%d %H:%M}",
        }
        for i in items
    ]


@flow(name="daily-report", flow_run_name=_report_name, log_prints=True)
def daily_report(at: dt.datetime | None = None) -> list[DueItem]:
    """Open applications whose current step is overdue or due today.

    ``at`` is the moment the report is made for (default: now); a past moment
    shows what the report said then, e.g. to check a missed morning report.
    """
    ctx = worker_context()
    tz = ZoneInfo(ctx.settings.timezone)
    items = due_report(ctx, _report_moment(at, tz))
    overdue = sum(1 for i in items if i.status == "overdue")
    create_table_artifact(
        key=REPORT_ARTIFACT,
        table=report_table(items, tz),
        description=f"{overdue} overdue, {len(items) - overdue} due today",
    )
    print(f"{overdue} overdue, {len(items) - overdue} due today")
    return items
