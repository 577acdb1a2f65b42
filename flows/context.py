"""The per-process working context of the flows (key, renderer, storage, rules), built once."""

from __future__ import annotations

import atexit
import fcntl
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import lru_cache

from prefect.client.schemas.objects import State

from medlicense.errors import StorageUnavailable, TimestampError
from medlicense.processing import (
    IntakeContext,
    ensure_pki,
    intake_context,
    start_dev_pki_services,
)
from medlicense.settings import Settings, get_settings

_stack = ExitStack()
atexit.register(_stack.close)
_context_lock = threading.Lock()


@lru_cache(maxsize=1)
def _build_context() -> IntakeContext:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Worker processes start together; without a lock across processes two of
    # them would each create the development PKI over the other's files.
    with (settings.data_dir / ".context.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _stack.enter_context(intake_context(settings))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def worker_context() -> IntakeContext:
    # Built once per worker process: the signing key is parsed once, the
    # renderer's fonts and stylesheets are loaded once, the dev TSA starts once.
    # The thread lock keeps concurrent task threads of one process to one build.
    with _context_lock:
        return _build_context()


def retry_transient(task: object, task_run: object, state: State) -> bool:
    """Retry only what can heal by itself: storage and TSA outages."""
    try:
        state.result()
    except (StorageUnavailable, TimestampError):
        return True
    except Exception:
        return False
    return False


REVIEW_FLOW = "review-application"

# Backoff of the retried steps: storage and TSA outages usually last seconds to minutes.
RETRY_DELAYS: list[float] = [2.0, 10.0, 30.0]


@contextmanager
def dev_pki_services(settings: Settings) -> Iterator[None]:
    """Serve the development TSA/OCSP/CRL from this (long-lived) process while inside.

    Flow runs and worker processes come and go; whichever of them binds the
    services' port first would take them along when it exits.  ``medlicense serve``
    and the demo hold them instead.  Nothing to do when a real TSA is configured.
    """
    if settings.tsa_url:
        yield
        return
    with ExitStack() as stack:
        start_dev_pki_services(settings, ensure_pki(settings), stack)
        yield
