"""An append-only event log in object storage that downstream systems poll from a cursor.

Each event is one JSON object at ``events/<seq>.json`` (sequence zero-padded, so
S3's lexical listing is numeric order).  A sequence number is taken with a
create-only write: two writers racing for the same number cannot both win, the
loser moves on to the next one, so numbers are unique and strictly increasing
in the order events were committed.  Nothing is ever rewritten or deleted.

Delivery is at least once with a stable ``id`` per event (derived from what it
records, e.g. type and application id): a retry after a crash between the two
writes of :meth:`EventLog.append` may repeat an event under a new ``seq``, never
lose one, and a consumer drops repeats by ``id``.

The second write is the index, ``events-index/<id>``, create-only: a repeated
append finds the first event there and returns it instead of appending again.
A writer that knows no event of an application can be in the log yet (its
work on the application has just begun: it created the claim on it) says so
with :func:`first_attempt`, and its appends do not look the index up.  Should
that knowledge be wrong, the event is appended again under a new ``seq``,
which is the repeat the contract above already allows; the index still names
the first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from medlicense.errors import ObjectExists, ObjectNotFound
from storage.client import ObjectStore

PREFIX = "events/"
INDEX_PREFIX = "events-index/"
SEQ_WIDTH = 12


class EventType(StrEnum):
    APPLICATION_RECEIVED = "application.received"
    APPLICATION_ACCEPTED = "application.accepted"
    APPLICATION_REFUSED = "application.refused"
    APPLICATION_REJECTED = "application.rejected"
    LICENSE_ISSUED = "license.issued"
    LICENSE_REISSUED = "license.reissued"
    LICENSE_DUPLICATED = "license.duplicated"


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    id: str
    type: EventType
    time: dt.datetime
    application_id: str
    license_number: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


def event_id(type_: EventType, application_id: str, license_number: str | None = None) -> str:
    basis = f"{type_.value}|{application_id}|{license_number or ''}"
    return hashlib.sha256(basis.encode()).hexdigest()[:24]


def seq_key(seq: int) -> str:
    return f"{PREFIX}{seq:0{SEQ_WIDTH}d}.json"


_first_attempts: ContextVar[frozenset[str]] = ContextVar(
    "storage_events_first_attempts", default=frozenset()
)


@contextlib.contextmanager
def first_attempt(application_id: str) -> Iterator[None]:
    """Appends in this block (this context, so this thread) are the first of any event of
    ``application_id``: none looks for an earlier copy in the index.

    Only for a caller that can tell, e.g. because it has just created the claim
    under which every event of the application is appended; see the module
    docstring for what a wrong claim costs.
    """
    token = _first_attempts.set(_first_attempts.get() | {application_id})
    try:
        yield
    finally:
        _first_attempts.reset(token)


class EventLog:
    def __init__(self, store: ObjectStore, bucket: str) -> None:
        self.store = store
        self.bucket = bucket
        self._lock = threading.Lock()
        self._next_hint = 1

    def last_seq(self) -> int:
        last = 0
        start = seq_key(self._next_hint - 1) if self._next_hint > 1 else None
        for name in self.store.list_keys(self.bucket, PREFIX, start_after=start):
            if name.endswith(".json"):
                last = max(last, int(name[len(PREFIX) : -len(".json")]))
        if last == 0 and self._next_hint > 1:
            return self._next_hint - 1
        return last

    def append(
        self,
        type_: EventType,
        application_id: str,
        *,
        license_number: str | None = None,
        data: dict[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> Event:
        """Record an event once; a second append of the same event returns the first
        (unless inside :func:`first_attempt` of the application)."""
        ident = event_id(type_, application_id, license_number)
        index_key = f"{INDEX_PREFIX}{ident}"
        if application_id not in _first_attempts.get():
            with contextlib.suppress(ObjectNotFound):
                return Event.model_validate_json(self.store.get_bytes(self.bucket, index_key))
        with self._lock:
            seq = self.last_seq() + 1
            while True:
                event = Event(
                    seq=seq,
                    id=ident,
                    type=type_,
                    time=at or dt.datetime.now(dt.UTC),
                    application_id=application_id,
                    license_number=license_number,
                    data=data or {},
                )
                try:
                    self.store.put_bytes(
                        self.bucket,
                        seq_key(seq),
                        event.model_dump_json().encode(),
                        content_type="application/json",
                        if_absent=True,
                    )
                    break
                except ObjectExists:
                    seq += 1  # another writer took this number; the next one is ours to try
            self._next_hint = seq + 1
        # A concurrent append of the same event may have indexed first; both are in
        # the log under one id, which is what consumers deduplicate on.
        with contextlib.suppress(ObjectExists):
            self.store.put_bytes(
                self.bucket,
                index_key,
                event.model_dump_json().encode(),
                content_type="application/json",
                if_absent=True,
            )
        return event

    def since(self, cursor: int = 0, *, limit: int | None = None) -> Iterator[Event]:
        """Events with ``seq > cursor``, in order."""
        start = seq_key(cursor) if cursor > 0 else None
        count = 0
        for name in self.store.list_keys(self.bucket, PREFIX, start_after=start):
            if not name.endswith(".json"):
                continue
            yield Event.model_validate_json(self.store.get_bytes(self.bucket, name))
            count += 1
            if limit is not None and count >= limit:
                return
