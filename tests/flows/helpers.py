"""Helpers of the workflow tests: packages with a given request, waiting for flow runs."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from medlicense.models import ApplicantType, RequestKind
from medlicense.settings import Settings
from storage.client import ObjectStore

# A place of activity in the region of the provider (the auto policy needs one).
PLACE = "Батыс Қазақстан облысы, Орал қ., Құрманғазы көшесі, 154"

# Subtype codes of the editions (the sample generator draws its own vocabulary).
EDITION_SUBTYPES = ("outpatient_consultative", "laboratory_diagnostics")


T = TypeVar("T")


def present(value: T | None) -> T:
    """``value``, which the test expects to be there by now (fails the test if not)."""
    assert value is not None, "expected a stored record, found none"
    return value


def package(
    seed: int,
    *,
    kind: RequestKind = RequestKind.ISSUE,
    omit: frozenset[str] = frozenset(),
    **request: Any,
) -> bytes:
    """A generated legal-entity package whose request.json is patched with ``request``.

    Issue requests get subtypes of the edition, so the automated checks find
    nothing and the ``auto`` policy can approve them.
    """
    from medlicense.samples import PackageSpec, build_package

    subtypes = request.get("subtypes", list(EDITION_SUBTYPES))
    known = set(EDITION_SUBTYPES)
    data = build_package(
        PackageSpec(
            kind=kind,
            applicant_type=ApplicantType.LEGAL_ENTITY,
            language="ru",
            seed=seed,
            omit=omit,
            # The application form lists what request.json asks for, as the portal's
            # own forms do; an unknown code stays in request.json only.
            subtypes=tuple(subtypes)
            if kind is RequestKind.ISSUE and set(subtypes) <= known
            else None,
        )
    )
    if kind is RequestKind.ISSUE:
        request.setdefault("subtypes", list(EDITION_SUBTYPES))
    return patch_request(data, request)


def patch_request(data: bytes, updates: dict[str, Any]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "request.json":
                req = json.loads(body)
                req.update(updates)
                body = json.dumps(req, ensure_ascii=False).encode()
            dst.writestr(info, body)
    return out.getvalue()


def upload(settings: Settings, prefix: str, packages: dict[str, bytes]) -> dict[str, str]:
    """Upload as the portal would; returns name -> application id."""
    from medlicense.processing import application_id

    store = ObjectStore.from_settings(settings)
    out = {}
    for name, data in packages.items():
        key = f"{settings.uploads_prefix}{prefix}/{name}"
        store.put_bytes(settings.bucket_uploads, key, data, content_type="application/zip")
        out[name] = application_id(key)
    return out


def review_runs(app_id: str) -> list[Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[app_id]))
        )


def wait_for_state(app_id: str, states: set[str], timeout: float = 120.0) -> Any:
    """The review run of ``app_id`` once its state type is one of ``states``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        runs = review_runs(app_id)
        if runs:
            last = runs[0]
            if last.state and last.state.type.value in states:
                return last
            if last.state and last.state.type.value in {"FAILED", "CRASHED"} - states:
                raise AssertionError(f"review of {app_id} ended {last.state}")
        time.sleep(1.0)
    raise AssertionError(
        f"review of {app_id} not in {states} after {timeout} s: {last and last.state}"
    )


@contextmanager
def reconfigured(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[None]:
    """Run with these ``MEDLICENSE_*`` settings, in this process and in what it starts.

    Settings and the flows' signing context are read once per process (as in
    ``serve``); here they are dropped so the next use reads the new values.
    """
    from flows.context import _build_context
    from medlicense.settings import get_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    _build_context.cache_clear()
    try:
        yield
    finally:
        for name in env:
            monkeypatch.delenv(name)
        get_settings.cache_clear()
        _build_context.cache_clear()
