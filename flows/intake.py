"""The intake batch flow: new portal uploads in, receipts out.

Orchestration only: which packages are new, one task per package, retries, and
a per-batch table in the Prefect UI.  The work is
:func:`medlicense.processing.process_package`, which runs and is tested without
Prefect.
"""

from __future__ import annotations

import atexit
import datetime as dt
import threading
from contextlib import ExitStack
from functools import lru_cache

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State

from medlicense.errors import MedLicenseError, StorageUnavailable, TimestampError
from medlicense.models import ReceiptResult
from medlicense.processing import IntakeContext, intake_context, list_new_packages, process_package
from medlicense.settings import get_settings
from storage.client import ObjectStore

_stack = ExitStack()
atexit.register(_stack.close)
_context_lock = threading.Lock()


@lru_cache(maxsize=1)
def _build_context() -> IntakeContext:
    return _stack.enter_context(intake_context(get_settings()))


def _context() -> IntakeContext:
    # Built once per worker process: the signing key is parsed once, the
    # renderer's fonts and stylesheets are loaded once, the dev TSA starts once.
    # The lock matters: task threads start together, and two half-built contexts
    # would each create the development PKI over the other's files.
    with _context_lock:
        return _build_context()


def _retry_transient(task: object, task_run: object, state: State) -> bool:
    """Retry only what can heal by itself: storage and TSA outages."""
    try:
        state.result()
    except (StorageUnavailable, TimestampError):
        return True
    except Exception:
        return False
    return False


@task(name="list-new-packages", retries=3, retry_delay_seconds=[1, 5, 15])
def find_new_packages() -> list[str]:
    settings = get_settings()
    return list_new_packages(ObjectStore.from_settings(settings), settings)


@task(
    name="process-package",
    task_run_name="package {key}",
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=_retry_transient,
)
def process_package_task(key: str) -> ReceiptResult:
    return process_package(_context(), key)


def _batch_name() -> str:
    return f"intake {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}Z"


@flow(name="intake-batch", flow_run_name=_batch_name, log_prints=True)
def intake_batch(limit: int | None = None) -> list[ReceiptResult]:
    logger = get_run_logger()
    keys = find_new_packages()
    if limit is not None:
        keys = keys[:limit]
    logger.info("%d new package(s)", len(keys))
    futures = process_package_task.map(keys)
    results: list[ReceiptResult] = []
    for key, future in zip(keys, futures, strict=True):
        try:
            results.append(future.result())
        except MedLicenseError as exc:
            # The task run stays Failed in the UI with this code; the batch goes on.
            logger.error("package %s failed: %s", key, exc)
            results.append(ReceiptResult(package=key, error=exc.code))
        except Exception as exc:
            logger.error("package %s failed unexpectedly: %r", key, exc)
            results.append(ReceiptResult(package=key, error="internal.unexpected"))
    create_table_artifact(
        key="intake-batch",
        table=[
            {
                "package": r.package,
                "outcome": r.outcome.value if r.outcome else "failed",
                "missing": ", ".join(r.missing),
                "reason": r.reason or r.error or "",
                "receipt": ", ".join(r.receipt_keys),
            }
            for r in results
        ],
        description=f"Intake batch: {len(results)} package(s)",
    )
    return results
