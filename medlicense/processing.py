"""Processing one portal upload end to end, without Prefect.

``process_package`` is the unit of work of the intake flow: read the upload,
keep its original, judge it, and answer with a signed receipt in object
storage.  Every write is keyed by the application id derived from the upload
key, and the receipt and the "processed" marker are create-only writes, so a
retry or a second run never produces a second receipt or overwrites a signed one.
Inside a unit of work that has just created the package's claim
(:func:`medlicense.register.claimed_here`) nothing of an earlier attempt can
exist, so the run does not look for the marker, the receipt or earlier events
before writing them; the create-only writes still decide.

Object layout (artifacts bucket)::

    applications/<app-id>/package/<upload file name>   original bytes, as received
    applications/<app-id>/verdict.json                  what the check found
    applications/<app-id>/receipt-<number>.pdf          signed receipt (kk + ru)
    applications/<app-id>/application.json              accepted only: what the review starts from
    claims/<app-id>.json                                which intake run is processing it
    queue/review/<app-id>.json                          accepted, its review run not started yet
    processed/<app-id>.json                             outcome; its presence ends processing

Unreadable packages go to the quarantine bucket (``<app-id>/<file>`` and
``<app-id>/reason.json``) with their rejection code.  Downstream systems learn of
each package from the event log in the published bucket (``application.received``,
then ``accepted``, ``refused`` or ``rejected``; see :mod:`medlicense.publish`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx

from medlicense.errors import (
    ObjectExists,
    ObjectNotFound,
    PackageError,
    RulesError,
    SigningError,
)
from medlicense.models import Outcome, PackageVerdict, ReceiptResult
from medlicense.publish import emit
from medlicense.rules import Rulebook, load_rulebook
from medlicense.settings import Settings
from storage.client import ObjectStore
from storage.events import EventType, first_attempt

# Reading (pdfplumber, pypdf), rendering (WeasyPrint) and signing (pyHanko) are
# imported where they are used: the serving process imports this module for its
# flows but only needs them once it builds a context itself (tests/test_imports.py).
if TYPE_CHECKING:
    from medlicense.records import ApplicationFile
    from signing.pki import PkiPaths
    from signing.signer import PdfSigner
    from templates.models import ReceiptData
    from templates.render import Renderer

PDF = "application/pdf"
JSON = "application/json"

_OUTCOME_EVENTS = {
    Outcome.ACCEPTED: EventType.APPLICATION_ACCEPTED,
    Outcome.REFUSED: EventType.APPLICATION_REFUSED,
    Outcome.REJECTED: EventType.APPLICATION_REJECTED,
}


def application_id(upload_key: str) -> str:
    """Stable id of the application behind an upload key (the portal never reuses keys)."""
    return "app-" + hashlib.sha256(upload_key.encode("utf-8")).hexdigest()[:16]


def receipt_number(app_id: str) -> str:
    # Derived from the application id, not from a counter: a re-run after a crash
    # must arrive at the same receipt, never a second one.
    return "Q-" + app_id.removeprefix("app-")[:10].upper()


def processed_key(app_id: str) -> str:
    return f"processed/{app_id}.json"


@dataclass
class IntakeContext:
    """Everything a worker needs, built once per process: key, renderer, storage, rules."""

    settings: Settings
    store: ObjectStore
    renderer: Renderer
    signer: PdfSigner
    rulebook: Rulebook
    # The head signs the results of the service (item 6, step 4); the clerk's key
    # signs receipts.  None: the same key signs both.
    head_signer: PdfSigner | None = None
    _sign_lock: threading.Lock = field(default_factory=threading.Lock)

    def sign(
        self, pdf: bytes, *, document_type: str, document_number: str, as_head: bool = False
    ) -> bytes:
        """Sign as the document type's profile says (PAdES level, visible stamp, reason)."""
        signer = self.head_signer if as_head and self.head_signer is not None else self.signer
        # One PdfSigner is not thread-safe; signing is short next to rendering.
        with self._sign_lock:
            return signer.sign_document(
                pdf,
                document_type=document_type,
                document_number=document_number,
                location=self.settings.provider_address_kk,
            )


def ensure_pki(settings: Settings) -> PkiPaths:
    from signing.pki import init_pki
    from signing.services import services_url

    return init_pki(
        settings.resolved_pki_dir,
        settings.signer_passphrase.get_secret_value(),
        provider_name=settings.provider_name_kk,
        provider_bin=settings.provider_bin,
        services_url=services_url(settings),
    )


def start_dev_pki_services(settings: Settings, pki: PkiPaths, stack: ExitStack) -> str:
    """TSA, OCSP and CRL of the development PKI on their configured port; returns the TSA URL.

    Several worker processes share one port: the first binds it, the others find
    it answering and use it.  The process that binds it serves it until it exits,
    so long-lived processes (``medlicense serve``, the demo) start it first.
    """
    from signing.pki import CRL_PATH, TSA_PATH
    from signing.services import LocalPkiServices, services_url

    services = LocalPkiServices(
        pki,
        settings.signer_passphrase.get_secret_value(),
        host=settings.pki_services_host,
        port=settings.pki_services_port,
    )
    base = services_url(settings)
    # The port may be held by a process that is starting or shutting down; give
    # it a few seconds to either answer or free the port.
    for attempt in range(20):
        try:
            stack.enter_context(services)
            break
        except SigningError:
            try:
                answered = httpx.get(f"{base}{CRL_PATH}", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                answered = False
            if answered:
                break
            if attempt == 19:
                raise
            time.sleep(0.5)
    return f"{base}{TSA_PATH}"


@contextmanager
def intake_context(settings: Settings) -> Iterator[IntakeContext]:
    from signing.signer import PdfSigner
    from templates.render import Renderer

    with ExitStack() as stack:
        pki = ensure_pki(settings)
        tsa_url = settings.tsa_url
        if not tsa_url:
            tsa_url = start_dev_pki_services(settings, pki, stack)
        roots = [*settings.trust_roots, pki.root_cert]
        signer = PdfSigner.from_pkcs12(
            settings.resolved_signer_pkcs12,
            settings.signer_passphrase,
            tsa_url=tsa_url,
            trust_roots=roots,
        )
        head_signer = None
        if settings.resolved_head_pkcs12 != settings.resolved_signer_pkcs12:
            head_signer = PdfSigner.from_pkcs12(
                settings.resolved_head_pkcs12,
                settings.resolved_head_passphrase,
                tsa_url=tsa_url,
                trust_roots=roots,
            )
        yield IntakeContext(
            settings=settings,
            store=ObjectStore.from_settings(settings),
            renderer=Renderer(),
            signer=signer,
            rulebook=load_rulebook(settings.rules_dir),
            head_signer=head_signer,
        )


def list_new_packages(store: ObjectStore, settings: Settings) -> list[str]:
    """Upload keys not yet processed, oldest name first."""
    done = {PurePosixPath(k).stem for k in store.list_keys(settings.bucket_artifacts, "processed/")}
    return [
        key
        for key in sorted(store.list_keys(settings.bucket_uploads, settings.uploads_prefix))
        if not key.endswith("/") and application_id(key) not in done
    ]


def claim_package(
    store: ObjectStore, settings: Settings, key: str, owner: str, *, now: dt.datetime | None = None
) -> bool:
    """Whether the intake run ``owner`` may process ``key`` (see :meth:`Registry.claim_package`)."""
    from medlicense.register import Registry

    return Registry(store, settings).claim_package(
        application_id(key), owner, now or dt.datetime.now(dt.UTC)
    )


def process_package(
    ctx: IntakeContext, key: str, *, now: dt.datetime | None = None
) -> ReceiptResult:
    from medlicense.register import claimed_here

    s = ctx.settings
    store = ctx.store
    app_id = application_id(key)
    marker = processed_key(app_id)
    first = claimed_here(app_id)
    if not first:
        with contextlib.suppress(ObjectNotFound):
            return ReceiptResult.model_validate_json(store.get_bytes(s.bucket_artifacts, marker))

    with first_attempt(app_id) if first else contextlib.nullcontext():
        return _process(ctx, key, app_id, now, first=first)


def _process(
    ctx: IntakeContext, key: str, app_id: str, now: dt.datetime | None, *, first: bool
) -> ReceiptResult:
    from medlicense.intake import check_package_bytes

    s = ctx.settings
    store = ctx.store
    marker = processed_key(app_id)
    data = store.get_bytes(s.bucket_uploads, key)
    file_name = PurePosixPath(key).name
    received = now or dt.datetime.now(dt.UTC)
    emit(store, s, EventType.APPLICATION_RECEIVED, app_id, data={"upload_key": key})
    verdict = check_package_bytes(data, file_name, rulebook=ctx.rulebook, received_at=received)
    base = f"applications/{app_id}"
    store.put_bytes(
        s.bucket_artifacts, f"{base}/package/{file_name}", data, content_type=_guess(file_name)
    )
    store.put_bytes(
        s.bucket_artifacts,
        f"{base}/verdict.json",
        json.dumps(verdict.to_public(), ensure_ascii=False, indent=2).encode("utf-8"),
        content_type=JSON,
    )

    if verdict.outcome is Outcome.REJECTED:
        store.put_bytes(
            s.bucket_quarantine, f"{app_id}/{file_name}", data, content_type=_guess(file_name)
        )
        reason = {
            "upload_key": key,
            "reason": verdict.reason,
            "findings": verdict.to_public()["findings"],
        }
        store.put_bytes(
            s.bucket_quarantine,
            f"{app_id}/reason.json",
            json.dumps(reason, ensure_ascii=False, indent=2).encode("utf-8"),
            content_type=JSON,
        )
        result = ReceiptResult(
            package=key,
            outcome=verdict.outcome,
            reason=verdict.reason,
            app_id=app_id,
            applicant=verdict.request.applicant_name,
        )
    else:
        number = receipt_number(app_id)
        receipt_key = f"{base}/receipt-{number}.pdf"
        if first or not store.exists(s.bucket_artifacts, receipt_key):
            pdf = ctx.renderer.render_receipt(receipt_data(ctx, verdict, number, received))
            signed = ctx.sign(pdf, document_type="receipt", document_number=number)
            # A concurrent run may have stored its receipt first; that one stands.
            with contextlib.suppress(ObjectExists):
                store.put_bytes(
                    s.bucket_artifacts, receipt_key, signed, content_type=PDF, if_absent=True
                )
        result = ReceiptResult(
            package=key,
            outcome=verdict.outcome,
            missing=tuple(m.code for m in verdict.missing),
            receipt_number=number,
            receipt_keys=(receipt_key,),
            app_id=app_id,
            applicant=verdict.request.applicant_name,
        )
        if verdict.outcome is Outcome.ACCEPTED:
            hand_over_for_review(
                ctx,
                key,
                verdict,
                number,
                receipt_key,
                f"{base}/package/{file_name}",
                received,
            )
    # Before the marker: a run that dies in between repeats the append, which keeps
    # the first event (same id), so downstream sees each outcome once.
    emit(
        store,
        s,
        _OUTCOME_EVENTS[verdict.outcome],
        app_id,
        data={
            "reason": result.reason,
            "missing": list(result.missing),
            "receipt_number": result.receipt_number,
        },
    )
    try:
        store.put_bytes(
            s.bucket_artifacts,
            marker,
            result.model_dump_json().encode(),
            content_type=JSON,
            if_absent=True,
        )
    except ObjectExists:
        return ReceiptResult.model_validate_json(store.get_bytes(s.bucket_artifacts, marker))
    return result


def hand_over_for_review(
    ctx: IntakeContext,
    key: str,
    verdict: PackageVerdict,
    number: str,
    receipt_key: str,
    package_key: str,
    received: dt.datetime,
) -> None:
    """Registration done (item 6, step 1): the documents, the application file, its first
    step and the review queue.

    All of it happens before the "processed" marker, so a run that dies here is
    repeated, and each write keeps its first version (or the same bytes) on a repeat.
    """
    from medlicense.records import ApplicationFile, AppState, StepEvent
    from medlicense.register import Registry

    reg = Registry(ctx.store, ctx.settings)
    app = reg.save_application(
        ApplicationFile(
            app_id=application_id(key),
            upload_key=key,
            received_at=received,
            receipt_number=number,
            receipt_key=receipt_key,
            verdict=verdict,
            package_key=package_key,
        )
    )
    edition = (
        ctx.rulebook.edition(verdict.edition)
        if verdict.edition
        else ctx.rulebook.edition_for(received)
    )
    try:
        deadline = ctx.rulebook.calendar().step_deadline(
            edition, "provider.register", app.received_at, verdict.request.kind
        )
    except RulesError:
        deadline = None
    # The package is registered the moment it is read: receipt and step share the time.
    at = app.received_at
    reg.record_event(
        app.app_id,
        StepEvent(
            key="register",
            step="provider.register",
            actor=ctx.settings.clerk_name,
            at=at,
            due_by=deadline.due_by if deadline else None,
            overdue=deadline is not None and at > deadline.due_by,
            state=AppState.ACCEPTED,
            detail=f"receipt {number}",
        ),
    )
    reg.enqueue_review(app.app_id, at)


def store_documents(ctx: IntakeContext, app: ApplicationFile) -> None:
    """Each file of ``app``'s package stored on its own, for the links of the review form.

    Only an application a person reviews needs them, so they are stored when its
    form is prepared, not at intake: under the ``auto`` policy most applications
    are decided without a form, and their files would otherwise be a second copy of
    the kept package, about a sixth of a batch's objects.  Files already stored
    are not written again.
    """
    from extractors.package import open_package

    bucket = ctx.settings.bucket_artifacts
    prefix = f"applications/{app.app_id}/documents/"
    present = set(ctx.store.list_keys(bucket, prefix))
    if all(prefix + doc.file in present for doc in app.verdict.documents):
        return
    try:
        files = open_package(
            ctx.store.get_bytes(bucket, app.package_key), PurePosixPath(app.package_key).name
        ).files
    except PackageError:
        # Accepted, so it opened once; the form still links the package as a whole.
        return
    for doc in files:
        if prefix + doc.name not in present:
            ctx.store.put_bytes(bucket, prefix + doc.name, doc.data, content_type=_guess(doc.name))


def receipt_data(
    ctx: IntakeContext, verdict: PackageVerdict, number: str, received: dt.datetime
) -> ReceiptData:
    from templates.models import ReceiptData

    s = ctx.settings
    tz = ZoneInfo(s.timezone)
    request = verdict.request
    accepted = verdict.outcome is Outcome.ACCEPTED
    edition = (
        ctx.rulebook.edition(verdict.edition)
        if verdict.edition
        else ctx.rulebook.edition_for(received)
    )
    documents = []
    if accepted:
        seen: set[str] = set()
        for doc in verdict.documents:
            if doc.kind and doc.kind not in seen:
                seen.add(doc.kind)
                name = edition.document_name(doc.kind)
                documents.append((name.kk, name.ru))
    due = None
    if accepted:
        due = ctx.rulebook.review_due_date(edition, request.kind, received.astimezone(tz))
    return ReceiptData(
        number=number,
        accepted=accepted,
        accepted_at=received.astimezone(tz).replace(microsecond=0),
        due_date=due,
        applicant_name=request.applicant_name or "—",
        applicant_iin_bin=request.iin_bin
        if request.iin_bin and request.iin_bin.isdigit() and len(request.iin_bin) == 12
        else None,
        provider_name_kk=s.provider_name_kk,
        provider_name_ru=s.provider_name_ru,
        provider_address_kk=s.provider_address_kk,
        provider_address_ru=s.provider_address_ru,
        clerk_name=s.clerk_name,
        documents=tuple(documents),
        missing=verdict.missing,
        verify_url=f"{s.public_verify_url.rstrip('/')}/{number}",
    )


def _guess(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".zip"):
        return "application/zip"
    if lower.endswith(".pdf"):
        return PDF
    return "application/octet-stream"
