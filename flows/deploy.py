"""The deployments: scheduled intake and per-application review, and ways to run them.

Two ways to execute them, both against the same Prefect server:

* ``serve`` (:func:`serve_all`, ``medlicense serve``): this process registers the
  deployments and runs their flow runs itself: intake and review runs on
  threads of this process, with warm workers and signing context
  (:mod:`flows.warm`), report runs each in a subprocess;
* a process work pool (:func:`deploy_to_pool`, ``medlicense serve --work-pool P``):
  the deployments are registered against the pool and any number of
  ``prefect worker start --pool P`` processes, on any machine with this project
  and access to the server and the object storage, pick their runs up.

Runs of either kind may overlap: intake claims each package, reviews are one
run per application, and every write is create-only.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from prefect.deployments.runner import RunnerDeployment
from prefect.runner import Runner

from medlicense.settings import Settings

from .intake import intake_batch
from .report import daily_report
from .review import review_application

PROJECT_DIR = Path(__file__).resolve().parent.parent


def intake_deployment_name(settings: Settings) -> str:
    return f"{settings.deployment_prefix}-intake"


def review_deployment_name(settings: Settings) -> str:
    return f"{settings.deployment_prefix}-review"


def report_deployment_name(settings: Settings) -> str:
    return f"{settings.deployment_prefix}-report"


def deployments(settings: Settings) -> list[RunnerDeployment]:
    intake: RunnerDeployment = intake_batch.to_deployment(  # type: ignore[assignment]
        name=intake_deployment_name(settings),
        cron=settings.intake_cron,
        description="New portal uploads in, receipts out, accepted applications on to review.",
        tags=["intake"],
    )
    review: RunnerDeployment = review_application.to_deployment(  # type: ignore[assignment]
        name=review_deployment_name(settings),
        description="One application: the executor's review, the head's signature, the result.",
        tags=["review"],
    )
    report: RunnerDeployment = daily_report.to_deployment(  # type: ignore[assignment]
        name=report_deployment_name(settings),
        cron=settings.report_cron,
        description="Applications due today and overdue under the regulation's time limits.",
        tags=["report"],
    )
    return [intake, review, report]


def serve_all(settings: Settings, *, limit: int | None = None) -> None:
    """Register the deployments and run their flow runs from this process until stopped."""
    from prefect import serve

    from .warm import WarmRunner

    intake, review, report = deployments(settings)
    # Sync here: async_dispatch picks the sync variant outside an event loop.
    intake_id: Any = intake.apply()
    review_id: Any = review.apply()
    warm: dict[Any, Any] = {intake_id: intake_batch, review_id: review_application}
    with WarmRunner(settings, warm, threads=limit or 4):
        serve(report, limit=limit)


def deploy_to_pool(settings: Settings, work_pool: str) -> list[str]:
    """Register the deployments against a process work pool; workers run them from this checkout.

    Code is taken from ``PROJECT_DIR`` on the worker's machine (the same path on
    every machine, e.g. a shared checkout or the same image), so nothing is pushed.
    """
    ids = []
    for flow_obj, name, cron in (
        (intake_batch, intake_deployment_name(settings), settings.intake_cron),
        (review_application, review_deployment_name(settings), None),
        (daily_report, report_deployment_name(settings), settings.report_cron),
    ):
        # Sync here: async_dispatch picks the sync variant outside an event loop.
        source: Any = flow_obj.from_source(
            source=str(PROJECT_DIR), entrypoint=_entrypoint(flow_obj)
        )
        deployment_id = source.deploy(
            name=name, work_pool_name=work_pool, cron=cron, build=False, push=False
        )
        ids.append(str(deployment_id))
    return ids


def _entrypoint(flow_obj: Any) -> str:
    module = Path(flow_obj.fn.__code__.co_filename).resolve().relative_to(PROJECT_DIR)
    return f"{module.as_posix()}:{flow_obj.fn.__name__}"


class BackgroundRunner:
    """A Prefect runner serving the review deployment in a thread (demo and tests).

    Suspended runs can only be resumed on something that serves their
    deployment; this is the smallest such thing that still runs every flow run
    in its own process, as production does.
    """

    def __init__(self, settings: Settings, *, query_seconds: float = 2.0) -> None:
        self.settings = settings
        self.runner = Runner(
            name=f"{settings.deployment_prefix}-background",
            query_seconds=query_seconds,
            pause_on_shutdown=False,
        )
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="review-runner", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        await self.runner.aadd_flow(review_application, name=review_deployment_name(self.settings))
        self._ready.set()
        await self.runner.start()

    def __enter__(self) -> BackgroundRunner:
        self._thread.start()
        self._ready.wait(timeout=120)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self.runner.started:
            asyncio.run_coroutine_threadsafe(self.runner.astop(), self._loop).result(timeout=60)
        self._thread.join(timeout=60)
