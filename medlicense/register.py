"""The application records and the license register, as JSON objects in the artifacts bucket.

Nothing here holds a lock or a database transaction: every fact is written once
under a key of its own with a create-only write (``If-None-Match: *``), so two
runs racing for the same fact cannot both win, and a run repeating a step after
a crash finds its earlier write and keeps it.  The only object ever rewritten is
``record.json``, a view rebuilt from the immutable objects each time; the
artifacts bucket is versioned, so each earlier state of it stays readable.

Keys (artifacts bucket)::

    claims/<app-id>.json                               intake claim of a package (owner, time)
    queue/review/<app-id>.json                         accepted, review run not started yet
    applications/<app-id>/application.json             what intake found (ApplicationFile)
    applications/<app-id>/events/<key>.json            one step done: who, when, due by
    applications/<app-id>/record.json                  state + history (a rebuilt view)
    applications/<app-id>/numbers/<purpose>.json       the number it holds (license, duplicate)
    applications/<app-id>/numbers/<purpose>.attempt.json scope and lowest sequence it may hold
    applications/<app-id>/result.json                  the final outcome (ServiceResult)
    register/numbers/<scope>/<seq>.json                create-only claim of one number
    register/licenses/<number>/entry.json              a license as issued (LicenseEntry)
    register/licenses/<number>/replaced-by.json        set once by the re-issue replacing it
    register/licenses/<number>/duplicates/<n>.json     duplicates issued for it

A unit of work (:func:`unit_of_work`: one intake job, one issue) records a
step of an application without rebuilding ``record.json`` each time: the
application is marked, and its view rebuilt once when the unit ends, whether
it ends well or with an exception.  Outside a unit every write refreshes the
view at once.  Inside one, the create-only objects above (all but claims,
queue entries and ``record.json``; signed documents too) are fetched at most
once (:func:`storage.client.create_only_reads`), and the unit knows which
claims and number bindings it created itself: nothing of what they guard can
have been done before, which spares looking for it (:func:`claimed_here`,
:func:`bound_here`).  The create-only writes stay what makes a repeat safe; that
knowledge only saves the look before them.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import PurePosixPath
from typing import TypeVar

from pydantic import BaseModel

from medlicense.errors import ObjectExists, ObjectNotFound, StorageError, StorageUnavailable
from medlicense.records import (
    ApplicationFile,
    ApplicationRecord,
    AppState,
    DocumentDigest,
    DuplicateEntry,
    LicenseEntry,
    NumberClaim,
    ServiceResult,
    StepEvent,
)
from medlicense.settings import Settings
from storage.client import ObjectStore, create_only_reads, remembered

M = TypeVar("M", bound=BaseModel)
JSON = "application/json"

# Objects of the artifacts bucket that are written once and never changed or deleted.
# Not claims (another run's may be taken over), queue entries (deleted), record.json
# (rewritten), drafts (rewritten every round), uploaded documents (never read back).
_CREATE_ONLY = re.compile(
    r"applications/[^/]+/(?:application\.json|result\.json|events/[^/]+\.json"
    r"|numbers/[^/]+\.json"
    r"|(?:receipt|license|appendix|reissued|duplicate|refusal)-[^/]*\.pdf)"
    r"|register/(?:numbers/[^/]+/\d+\.json"
    r"|licenses/[^/]+/(?:entry|replaced-by)\.json|licenses/[^/]+/duplicates/\d+\.json)"
)


def is_create_only(key: str) -> bool:
    return _CREATE_ONLY.fullmatch(key) is not None


class UnitOfWork:
    """What one unit of work knows: applications to refresh, claims and bindings it made."""

    def __init__(self) -> None:
        self._dirty: dict[str, Registry] = {}
        self._claimed: set[str] = set()
        self._bound: set[str] = set()
        self._lock = threading.Lock()

    def mark(self, registry: Registry, app_id: str) -> None:
        with self._lock:
            self._dirty.setdefault(app_id, registry)

    def flush(self, *, cause: BaseException | None = None) -> None:
        """Refresh ``record.json`` of every application marked so far, each once.

        A refresh that fails is not tried again by this unit (the view lags
        until the application's next step).  Without ``cause`` the first
        failure is raised after all were tried; with it, failures become notes
        on ``cause``, the exception the unit is already ending with.
        """
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        first: Exception | None = None
        for app_id, registry in dirty.items():
            try:
                registry.refresh_record(app_id)
            except Exception as exc:
                if cause is not None:
                    cause.add_note(f"record.json of {app_id} not refreshed: {exc!r}")
                elif first is None:
                    first = exc
        if first is not None:
            raise first


_unit: ContextVar[UnitOfWork | None] = ContextVar("medlicense_register_unit", default=None)

# Per store, per number scope: the highest sequence number this process has seen
# claimed.  Numbers are create-only and gap-free, so a later listing only needs
# what comes from there on, not the whole year's register.
_seen_numbers: weakref.WeakKeyDictionary[ObjectStore, dict[str, int]] = weakref.WeakKeyDictionary()
_seen_lock = threading.Lock()


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """One unit of work in this context (so this thread); a nested call joins the outer one.

    Every ``Registry`` of the unit defers its ``record.json`` refreshes to the
    end of the unit, and reads create-only objects once.  The refresh happens
    when the block ends with an exception too, and never hides that exception.
    """
    unit = _unit.get()
    if unit is not None:
        yield unit
        return
    unit = UnitOfWork()
    token = _unit.set(unit)
    try:
        with create_only_reads(lambda _bucket, key: is_create_only(key)):
            try:
                yield unit
            except BaseException as exc:
                unit.flush(cause=exc)
                raise
            unit.flush()
    finally:
        _unit.reset(token)


def claimed_here(app_id: str) -> bool:
    """This unit of work created the intake claim of ``app_id``: its intake starts now.

    Claims are never deleted, and everything intake writes it writes after
    claiming, so no earlier attempt has left anything of the application.
    """
    unit = _unit.get()
    return unit is not None and app_id in unit._claimed


def bound_here(app_id: str, binding: str) -> bool:
    """This unit of work bound ``app_id`` to its ``binding`` number (see Registry.allocate).

    Documents and events that carry the number come after the binding, and only
    one run creates it, so none of them exists yet.
    """
    unit = _unit.get()
    return unit is not None and f"{app_prefix(app_id)}/numbers/{binding}.json" in unit._bound


# The provider's steps of item 6, in the order they happen.
STEP_ORDER = {
    step: i
    for i, step in enumerate(
        (
            "provider.register",
            "provider.assign",
            "provider.review",
            "provider.sign",
            "provider.deliver",
        )
    )
}


class IntakeClaim(BaseModel):
    owner: str
    at: dt.datetime


class QueuedReview(BaseModel):
    app_id: str
    queued_at: dt.datetime


def app_prefix(app_id: str) -> str:
    return f"applications/{app_id}"


def _scope_name(scope: str) -> str:
    return scope.replace("/", "_")


class Registry:
    """Reads and create-only writes of workflow records in the artifacts bucket."""

    def __init__(self, store: ObjectStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.bucket = settings.bucket_artifacts

    # --- generic ---------------------------------------------------------------------
    def read(self, key: str, model: type[M]) -> M | None:
        try:
            data = self.store.get_bytes(self.bucket, key)
        except ObjectNotFound:
            return None
        return model.model_validate_json(data)

    def put(self, key: str, record: BaseModel) -> None:
        self.store.put_bytes(
            self.bucket, key, record.model_dump_json(indent=2).encode(), content_type=JSON
        )

    def put_once(self, key: str, record: M) -> M:
        """Create ``key`` with ``record``; if it exists, the stored record stands and is returned.

        ``record`` itself comes back only when this call created the key.
        """
        try:
            self.store.put_bytes(
                self.bucket,
                key,
                record.model_dump_json(indent=2).encode(),
                content_type=JSON,
                if_absent=True,
            )
        except ObjectExists:
            stored = self.read(key, type(record))
            if stored is None:  # deleted in between: nothing else deletes these keys
                raise
            return stored
        return record

    def keys(self, prefix: str) -> Iterator[str]:
        return self.store.list_keys(self.bucket, prefix)

    def delete(self, key: str) -> None:
        # The storage client has no delete (outgoing documents are never deleted);
        # only queue entries are, so the call stays here, mapped to our errors.
        try:
            self.store.client.remove_object(self.bucket, key)
        except Exception as exc:  # minio / urllib3 errors
            raise StorageUnavailable(f"s3://{self.bucket}/{key}: delete failed: {exc}") from exc

    # --- intake claims and the review queue ------------------------------------------------
    def claim_package(self, app_id: str, owner: str, now: dt.datetime) -> bool:
        """True when ``owner`` may process the package: it claimed it, held it, or took over.

        A claim older than ``claim_stale_seconds`` belongs to a run that died;
        taking it over is safe because every write after the claim is idempotent.
        """
        key = f"claims/{app_id}.json"
        claim = IntakeClaim(owner=owner, at=now)
        stored = self.put_once(key, claim)
        unit = _unit.get()
        if stored is claim and unit is not None:
            unit._claimed.add(app_id)
        if stored.owner == owner:
            return True
        age = (now - stored.at).total_seconds()
        return age >= self.settings.claim_stale_seconds

    def enqueue_review(self, app_id: str, now: dt.datetime) -> None:
        self.put_once(f"queue/review/{app_id}.json", QueuedReview(app_id=app_id, queued_at=now))

    def queued_reviews(self) -> list[str]:
        return sorted(PurePosixPath(k).stem for k in self.keys("queue/review/"))

    def intake_claim(self, app_id: str) -> IntakeClaim | None:
        return self.read(f"claims/{app_id}.json", IntakeClaim)

    def queued_review(self, app_id: str) -> QueuedReview | None:
        return self.read(f"queue/review/{app_id}.json", QueuedReview)

    def dequeue_review(self, app_id: str) -> None:
        self.delete(f"queue/review/{app_id}.json")

    # --- application records ---------------------------------------------------------------
    def save_application(self, app: ApplicationFile) -> ApplicationFile:
        return self.put_once(f"{app_prefix(app.app_id)}/application.json", app)

    def application(self, app_id: str) -> ApplicationFile:
        app = self.read(f"{app_prefix(app_id)}/application.json", ApplicationFile)
        if app is None:
            raise ObjectNotFound(
                f"application {app_id} has no application.json (not accepted at intake?)",
                code="register.unknown_application",
            )
        return app

    def event(self, app_id: str, key: str) -> StepEvent | None:
        return self.read(f"{app_prefix(app_id)}/events/{key}.json", StepEvent)

    def record_event(self, app_id: str, event: StepEvent) -> StepEvent:
        """Store one step once; a repeated step keeps its first record (who and when)."""
        stored = self.put_once(f"{app_prefix(app_id)}/events/{event.key}.json", event)
        self._refresh_soon(app_id)
        return stored

    def events(self, app_id: str, known: dict[str, StepEvent] | None = None) -> list[StepEvent]:
        """Every step of ``app_id``; ``known`` events (by key) are not read again: each
        is written once and never changes."""
        return self._events(self.keys(f"{app_prefix(app_id)}/events/"), known or {})

    def _events(self, keys: Iterable[str], known: dict[str, StepEvent]) -> list[StepEvent]:
        out = []
        for key in keys:
            event = known.get(PurePosixPath(key).stem) or self.read(key, StepEvent)
            if event is not None:
                out.append(event)
        # Same-instant events (a fast machine, a coarse clock) keep the regulation's order.
        return sorted(out, key=lambda e: (e.at, STEP_ORDER.get(e.step, 99)))

    def result(self, app_id: str) -> ServiceResult | None:
        return self.read(f"{app_prefix(app_id)}/result.json", ServiceResult)

    def save_result(self, result: ServiceResult) -> ServiceResult:
        stored = self.put_once(f"{app_prefix(result.app_id)}/result.json", result)
        self._refresh_soon(result.app_id)
        return stored

    def _refresh_soon(self, app_id: str) -> None:
        unit = _unit.get()
        if unit is None:
            self.refresh_record(app_id)
        else:
            unit.mark(self, app_id)

    def refresh_record(self, app_id: str) -> ApplicationRecord:
        """Rebuild ``record.json`` from the immutable objects (the view may lag, never lie).

        One listing of the application names its events and documents.  Events
        and documents are create-only, so what is already known of them is not
        read again: events this unit of work read or wrote, digests of documents
        this store wrote, and else what the previous view holds, read only when
        something is not known otherwise.  That keeps a refresh at a handful of
        requests however long the history grows.
        """
        app = self.application(app_id)
        prefix = f"{app_prefix(app_id)}/"
        listed = list(self.keys(prefix))
        event_keys = [k for k in listed if k.startswith(f"{prefix}events/")]
        doc_keys = [k for k in listed if _is_document(k[len(prefix) :])]
        known_events: dict[str, StepEvent] = {}
        for key in event_keys:
            data = remembered(self.bucket, key)
            if data is not None:
                event = StepEvent.model_validate_json(data)
                known_events[event.key] = event
        known_digests = {
            k: d for k in doc_keys if (d := self.store.digests.get(self.bucket, k)) is not None
        }
        if len(known_events) < len(event_keys) or len(known_digests) < len(doc_keys):
            prior = self.record(app_id)
            if prior is not None:
                for event in prior.history:
                    known_events.setdefault(event.key, event)
                for doc in prior.documents:
                    known_digests.setdefault(doc.key, doc.sha256)
        history = tuple(self._events(event_keys, known_events))
        result = self.result(app_id)
        state = history[-1].state if history else AppState.ACCEPTED
        review = next((e for e in reversed(history) if e.step == "provider.review"), None)
        record = ApplicationRecord(
            app_id=app_id,
            state=state,
            kind=app.verdict.request.kind,
            applicant_name=app.verdict.request.applicant_name,
            review_due_by=review.due_by if review else None,
            license_number=result.number if result else None,
            result_keys=result.documents if result else (),
            history=history,
            findings=app.verdict.findings,
            documents=tuple(self._digests(doc_keys, known_digests)),
        )
        self.put(f"{app_prefix(app_id)}/record.json", record)
        return record

    def document_digests(
        self, app_id: str, known: dict[str, str] | None = None
    ) -> Iterator[DocumentDigest]:
        """SHA-256 of each document received (package, its files) and produced (PDFs)."""
        prefix = f"{app_prefix(app_id)}/"
        keys = [k for k in self.keys(prefix) if _is_document(k[len(prefix) :])]
        return self._digests(keys, known or {})

    def _digests(self, keys: Iterable[str], known: dict[str, str]) -> Iterator[DocumentDigest]:
        for key in keys:
            digest = (
                known.get(key)
                or self.store.digests.get(self.bucket, key)
                or self.store.stat(self.bucket, key).get("sha256")
            )
            if digest:
                yield DocumentDigest(key=key, sha256=digest)

    def record(self, app_id: str) -> ApplicationRecord | None:
        return self.read(f"{app_prefix(app_id)}/record.json", ApplicationRecord)

    # --- number sequences ---------------------------------------------------------------------
    def held_number(self, app_id: str, binding: str) -> NumberClaim | None:
        return self.read(f"{app_prefix(app_id)}/numbers/{binding}.json", NumberClaim)

    def allocate(
        self,
        scope: str,
        app_id: str,
        fmt: Callable[[str, int], str],
        now: dt.datetime,
        *,
        binding: str,
    ) -> NumberClaim:
        """The next number of ``scope`` for ``app_id``: gap-free, unique, never reused.

        Idempotent: an application that already holds a number for ``binding``
        (its purpose: "license", "duplicate") gets it back.  Safe under
        concurrency: each number is a create-only object, and a run that loses
        the race moves on to the next one.  A run that died after claiming but
        before recording the claim with the application finds its claim again at
        or above the sequence it first tried (the attempt marker, which also pins
        the scope, so a repeat after New Year stays in the year it started in);
        no claimed number is ever left unused.
        """
        bound_key = f"{app_prefix(app_id)}/numbers/{binding}.json"
        held = self.read(bound_key, NumberClaim)
        if held is not None:
            return held
        bound = self._bind(bound_key, scope, app_id, fmt, now, binding=binding)
        unit = _unit.get()
        if unit is not None and bound.created:
            unit._bound.add(bound_key)
        return bound.claim

    def _bind(
        self,
        bound_key: str,
        scope: str,
        app_id: str,
        fmt: Callable[[str, int], str],
        now: dt.datetime,
        *,
        binding: str,
    ) -> _Bound:
        attempt_key = f"{app_prefix(app_id)}/numbers/{binding}.attempt.json"
        prefix = f"register/numbers/{_scope_name(scope)}/"
        taken = self._claimed_from(prefix)
        last = taken[-1] if taken else 0
        # Not looked for first: the create-only write hands back the marker an earlier
        # or concurrent run of this application left, which is rare, and its scope.
        attempt = self.put_once(attempt_key, _Attempt(scope=scope, from_seq=last + 1, at=now))
        if attempt.scope != scope:  # that run began in another scope (year): it stands
            return _Bound(self.allocate(attempt.scope, app_id, fmt, now, binding=binding))
        if taken and attempt.from_seq < taken[0]:
            # An earlier attempt of this application, from before what was listed.
            taken = self._claimed_from(prefix, attempt.from_seq)
        for seq in taken:
            if seq >= attempt.from_seq:
                claim = self.read(f"{prefix}{seq:06d}.json", NumberClaim)
                if claim is not None and claim.app_id == app_id:
                    return _Bound.of(claim, self.put_once(bound_key, claim))
        seq = last + 1
        while True:
            claim = NumberClaim(
                number=fmt(scope, seq), seq=seq, scope=scope, app_id=app_id, claimed_at=now
            )
            stored = self.put_once(f"{prefix}{seq:06d}.json", claim)
            self._seen(prefix, seq)  # ours or another's, it is taken
            if stored.app_id == app_id:
                return _Bound.of(stored, self.put_once(bound_key, stored))
            seq += 1

    def _claimed_from(self, prefix: str, floor: int | None = None) -> list[int]:
        """Sequence numbers claimed under ``prefix``, in order, from ``floor`` (default: the
        highest this process has seen there) on; every one when nothing is known.

        The listing starts at the known number itself: when that is not there (a
        store wiped under a long-lived process, as between tests), it starts over
        from the beginning rather than trust the memory.
        """
        with _seen_lock:
            known = _seen_numbers.setdefault(self.store, {}).get(prefix, 0)
        start = known if floor is None or not known else min(known, floor)
        taken: list[int] = []
        if start > 0:
            after = f"{prefix}{start - 1:06d}.json"
            taken = sorted(
                int(PurePosixPath(k).stem)
                for k in self.store.list_keys(self.bucket, prefix, start_after=after)
            )
            if not taken or taken[0] != start:
                taken = []
                start = 0
        if start == 0:
            taken = sorted(int(PurePosixPath(k).stem) for k in self.keys(prefix))
        if taken:
            self._seen(prefix, taken[-1])
        return taken

    def _seen(self, prefix: str, seq: int) -> None:
        with _seen_lock:
            seen = _seen_numbers.setdefault(self.store, {})
            seen[prefix] = max(seen.get(prefix, 0), seq)

    def claims(self, scope: str) -> list[NumberClaim]:
        out = []
        for key in self.keys(f"register/numbers/{_scope_name(scope)}/"):
            claim = self.read(key, NumberClaim)
            if claim is not None:
                out.append(claim)
        return sorted(out, key=lambda c: c.seq)

    # --- the license register ------------------------------------------------------------------
    def license(self, number: str) -> LicenseEntry | None:
        return self.read(f"register/licenses/{_scope_name(number)}/entry.json", LicenseEntry)

    def register_license(self, entry: LicenseEntry) -> LicenseEntry:
        return self.put_once(f"register/licenses/{_scope_name(entry.number)}/entry.json", entry)

    def licenses(self) -> list[LicenseEntry]:
        out = []
        for key in self.keys("register/licenses/"):
            if key.endswith("/entry.json"):
                entry = self.read(key, LicenseEntry)
                if entry is not None:
                    out.append(entry)
        return sorted(out, key=lambda e: e.issued_at)

    def replaced_by(self, number: str) -> NumberClaim | None:
        return self.read(f"register/licenses/{_scope_name(number)}/replaced-by.json", NumberClaim)

    def mark_replaced(self, number: str, successor: NumberClaim) -> NumberClaim:
        """Record once that ``successor`` replaces license ``number``; the first re-issue wins."""
        return self.put_once(f"register/licenses/{_scope_name(number)}/replaced-by.json", successor)

    def register_duplicate(self, entry: DuplicateEntry) -> DuplicateEntry:
        return self.put_once(
            f"register/licenses/{_scope_name(entry.number)}/duplicates/{entry.duplicate_no:03d}.json",
            entry,
        )

    def duplicates(self, number: str) -> list[DuplicateEntry]:
        out = []
        for key in self.keys(f"register/licenses/{_scope_name(number)}/duplicates/"):
            entry = self.read(key, DuplicateEntry)
            if entry is not None:
                out.append(entry)
        return sorted(out, key=lambda e: e.duplicate_no)


class _Attempt(BaseModel):
    scope: str
    from_seq: int
    at: dt.datetime


class _Bound:
    """A binding's number, and whether this call created the binding."""

    def __init__(self, claim: NumberClaim, *, created: bool = False) -> None:
        self.claim = claim
        self.created = created

    @classmethod
    def of(cls, offered: NumberClaim, stored: NumberClaim) -> _Bound:
        return cls(stored, created=stored is offered)


def _is_document(rest: str) -> bool:
    """Received (the package, its files) or produced (PDFs), relative to the application."""
    return rest.startswith(("package/", "documents/")) or rest.endswith(".pdf")


__all__ = [
    "IntakeClaim",
    "QueuedReview",
    "Registry",
    "StorageError",
    "UnitOfWork",
    "app_prefix",
    "bound_here",
    "claimed_here",
    "is_create_only",
    "unit_of_work",
]
