"""``medlicense fetch`` and ``medlicense events``: what downstream systems see.

Both read only the published bucket, so they work with the downstream
identity alone (``--downstream``), as an integration partner would run them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from medlicense.publish import current_files, event_log
from medlicense.settings import get_settings
from storage.client import ObjectStore


def register(sub: Any) -> None:
    fetch: argparse.ArgumentParser = sub.add_parser(
        "fetch", help="links to (or copies of) a published license's current documents"
    )
    fetch.add_argument("license_number")
    fetch.add_argument("--out", type=Path, help="download into this directory instead")
    fetch.add_argument("--json", action="store_true", help="one JSON object per file")
    fetch.add_argument(
        "--downstream", action="store_true", help="use the downstream (read-only) credentials"
    )
    fetch.set_defaults(func=_fetch)
    events: argparse.ArgumentParser = sub.add_parser(
        "events", help="the event log after a cursor, as JSON lines"
    )
    events.add_argument("--since", type=int, default=0, metavar="N", help="last seq already seen")
    events.add_argument("--limit", type=int, default=None)
    events.add_argument("--downstream", action="store_true")
    events.set_defaults(func=_events)


def _fetch(args: argparse.Namespace) -> int:
    settings = get_settings()
    store = ObjectStore.from_settings(settings, downstream=args.downstream)
    # current_files reads every file and checks it against the manifest before
    # anything is handed out: a tampered object ends with storage.integrity.
    files = current_files(store, settings, args.license_number)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    for f in files:
        out: dict[str, Any] = {"name": f.name, "key": f.key, "sha256": f.sha256, "role": f.role}
        if args.out is not None:
            path = args.out / f.name
            path.write_bytes(store.get_bytes(settings.bucket_published, f.key))
            out["path"] = str(path)
        else:
            out["url"] = store.presigned_get(
                settings.bucket_published, f.key, settings.presign_seconds
            )
            out["expires_in"] = settings.presign_seconds
        if args.json:
            print(json.dumps(out, ensure_ascii=False))
        else:
            print(f"{f.name}  sha256:{f.sha256}\n  {out.get('path') or out['url']}")
    return 0


def _events(args: argparse.Namespace) -> int:
    settings = get_settings()
    store = ObjectStore.from_settings(settings, downstream=args.downstream)
    for event in event_log(store, settings).since(args.since, limit=args.limit):
        sys.stdout.write(event.model_dump_json() + "\n")
    return 0
