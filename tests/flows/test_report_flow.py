"""The daily-report flow, run by Prefect (test harness) over applications in the real
object storage: what the operator sees in its table artifact, and what it returns.

The report is made for a fixed moment (the flow's ``at`` parameter), so which
application is "due today" does not depend on when the test runs; the due times
themselves come from the rules, as in production.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from medlicense.licensing import review_due, step_due
from medlicense.models import ApplicationRequest, Outcome, PackageVerdict
from medlicense.records import ApplicationFile, AppState, StepEvent
from medlicense.register import Registry
from medlicense.rules import load_rulebook
from medlicense.settings import Settings
from storage.client import ObjectStore

pytestmark = pytest.mark.slow

# Monday 2 February 2026, 10:00 in Oral: an ordinary working day.
RECEIVED = dt.datetime(2026, 2, 2, 5, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def harness(s3_server: Settings) -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


class Apps:
    """Applications written as intake and review write them: application.json and step events."""

    def __init__(self, settings: Settings) -> None:
        self.reg = Registry(ObjectStore.from_settings(settings), settings)
        # What step_due and review_due read from a context: the settings and the rules.
        self.ctx: Any = SimpleNamespace(
            settings=settings, store=self.reg.store, rulebook=load_rulebook(None)
        )

    def add(
        self,
        name: str,
        received: dt.datetime,
        steps: list[tuple[str, AppState, dt.datetime]],
        *,
        edition: str | None = None,
    ) -> ApplicationFile:
        app_id = f"app-{uuid.uuid4().hex[:16]}"
        app = ApplicationFile(
            app_id=app_id,
            upload_key=f"incoming/report/{app_id}.zip",
            received_at=received,
            receipt_number=f"Q-{app_id[4:12].upper()}",
            receipt_key=f"applications/{app_id}/receipt.pdf",
            verdict=PackageVerdict(
                package="p.zip",
                package_sha256="0" * 64,
                outcome=Outcome.ACCEPTED,
                request=ApplicationRequest(applicant_name=name, iin_bin="990240001227"),
                edition=edition,
            ),
            package_key=f"applications/{app_id}/package/p.zip",
        )
        self.reg.save_application(app)
        for step, state, at in steps:
            key = step.removeprefix("provider.")
            self.reg.record_event(
                app_id, StepEvent(key=key, step=step, actor="t", at=at, state=state)
            )
        return app


def _read_table_artifact(flow_run_id: Any, key: str) -> tuple[list[dict[str, str]], str]:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
            )
        )
    assert artifact.type == "table"
    data: Any = artifact.data
    rows: list[dict[str, str]] = json.loads(data) if isinstance(data, str) else data
    return rows, artifact.description or ""


def test_the_daily_report_flow_shows_what_is_due_today_and_what_is_overdue(
    harness: None, s3_server: Settings
) -> None:
    from prefect import get_client

    from flows.report import REPORT_ARTIFACT, daily_report

    tz = ZoneInfo(s3_server.timezone)
    apps = Apps(s3_server)

    def registered_and_assigned(received: dt.datetime) -> list[tuple[str, AppState, dt.datetime]]:
        return [
            ("provider.register", AppState.ACCEPTED, received),
            ("provider.assign", AppState.IN_REVIEW, received + dt.timedelta(hours=1)),
        ]

    # With the executor, its review term ending later on the report's day.
    today = apps.add("ТОО «Бүгін»", RECEIVED, registered_and_assigned(RECEIVED))
    due_today = review_due(apps.ctx, today)
    at = due_today - dt.timedelta(minutes=1)
    assert at.astimezone(tz).date() == due_today.astimezone(tz).date()
    # With the executor long past its review term.
    old = RECEIVED - dt.timedelta(days=40)
    late_review = apps.add("ТОО «Кешіккен»", old, registered_and_assigned(old))
    # A draft waiting for the head's signature (2 working hours in the 2015 standard).
    reviewed = at - dt.timedelta(days=3)
    late_head = apps.add(
        "ТОО «Басшыда»",
        old,
        [
            *registered_and_assigned(old),
            ("provider.review", AppState.AWAITING_HEAD, reviewed),
        ],
        edition="standard-2015",
    )
    head_due = step_due(apps.ctx, late_head, "provider.sign", reviewed)
    assert head_due is not None and head_due < at
    # Not due yet: arrived an hour before the report, weeks of review ahead.
    fresh_at = at - dt.timedelta(hours=1)
    fresh = apps.add("ТОО «Жаңа»", fresh_at, registered_and_assigned(fresh_at))
    assert review_due(apps.ctx, fresh).astimezone(tz).date() > at.astimezone(tz).date()
    # Closed: a license was issued, nothing is due whatever the dates say.
    closed = apps.add(
        "ТОО «Берілген»",
        old,
        [
            *registered_and_assigned(old),
            ("provider.deliver", AppState.ISSUED, old + dt.timedelta(days=3)),
        ],
    )

    state = daily_report(at=at, return_state=True)
    items = state.result()
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    mine = {i.app_id: i for i in items}
    assert mine[today.app_id].status == "due today"
    assert mine[today.app_id].waiting_for == "provider.review"
    assert mine[today.app_id].due_by == due_today
    assert mine[late_review.app_id].status == "overdue"
    assert mine[late_review.app_id].waiting_for == "provider.review"
    assert mine[late_head.app_id].status == "overdue"
    assert mine[late_head.app_id].waiting_for == "provider.sign"
    assert mine[late_head.app_id].state == "awaiting_head"
    assert fresh.app_id not in mine and closed.app_id not in mine
    statuses = [i.status for i in items]
    assert statuses == sorted(statuses, key=lambda s: s != "overdue"), "overdue first"

    # The operator's view: the run named by the report's day, and its table artifact.
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    assert run.name == f"due report {at.astimezone(tz):%Y-%m-%d}"
    rows, description = _read_table_artifact(run_id, REPORT_ARTIFACT)
    by_app = {r["application"]: r for r in rows}
    assert by_app[today.app_id] == {
        "status": "due today",
        "application": today.app_id,
        "applicant": "ТОО «Бүгін»",
        "state": "in_review",
        "waiting for": "provider.review",
        "due by": f"{due_today.astimezone(tz):%Y-%m-%d %H:%M}",
    }
    assert by_app[late_review.app_id]["status"] == "overdue"
    assert by_app[late_head.app_id]["status"] == "overdue"
    assert by_app[late_head.app_id]["waiting for"] == "provider.sign"
    assert by_app[late_head.app_id]["due by"] == f"{head_due.astimezone(tz):%Y-%m-%d %H:%M}"
    assert fresh.app_id not in by_app and closed.app_id not in by_app
    overdue = statuses.count("overdue")
    assert description == f"{overdue} overdue, {len(items) - overdue} due today"
    assert len(rows) == len(items)
