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


def _report_name() -> str:
    tz = ZoneInfo(get_settings().timezone)
    return f"due report {dt.datetime.now(tz):%Y-%m-%d}"


@flow(name="daily-report", flow_run_name=_report_name, log_prints=True)
def daily_report() -> list[DueItem]:
    ctx = worker_context()
    tz = ZoneInfo(ctx.settings.timezone)
    items = due_report(ctx, dt.datetime.now(dt.UTC))
    overdue = sum(1 for i in items if i.status == "overdue")
    create_table_artifact(
        key=REPORT_ARTIFACT,
        table=[
            {
                "status": i.status,
                "application": i.app_id,
                "applicant": i.applicant,
                "state": i.state,
                "waiting for": i.waiting_for,
                "due by": f"{i.due_by.astimezone(tz):%Y-%m-%d %H:%M}",
            }
            for i in items
        ],
        description=f"{overdue} overdue, {len(items) - overdue} due today",
    )
    print(f"{overdue} overdue, {len(items) - overdue} due today")
    return items
