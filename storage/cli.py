"""``medlicense storage up|down|status``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from medlicense.settings import Settings, get_settings
from storage.client import ObjectStore
from storage.server import SeaweedServer


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "storage", help="local S3 server (SeaweedFS): up, down, status"
    )
    actions = parser.add_subparsers(dest="storage_action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="start SeaweedFS on 127.0.0.1 and create the buckets")
    up.set_defaults(func=_up)
    down = actions.add_parser("down", help="stop the SeaweedFS started by 'up'")
    down.set_defaults(func=_down)
    status = actions.add_parser("status", help="is it running and healthy")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)


def ensure_all_buckets(store: ObjectStore, settings: Settings | None = None) -> list[str]:
    """The pipeline's buckets; idempotent, safe to run on every start."""
    s = settings or get_settings()
    store.ensure_buckets(s.bucket_uploads, s.bucket_quarantine)
    # record.json and the register are rewritten views: versioning keeps each state.
    store.ensure_versioned_bucket(s.bucket_artifacts)
    store.ensure_locked_bucket(s.bucket_published)
    return [s.bucket_uploads, s.bucket_artifacts, s.bucket_quarantine, s.bucket_published]


def _up(args: argparse.Namespace) -> int:
    settings = get_settings()
    status = SeaweedServer(settings).up()
    buckets = ensure_all_buckets(ObjectStore.from_settings(settings))
    print(f"SeaweedFS up: pid {status.pid}, S3 at http://{settings.s3_endpoint}")
    print(f"  data: {status.data_dir}")
    print(f"  log:  {status.log_file}")
    print(f"  buckets: {', '.join(buckets)}")
    return 0


def _down(args: argparse.Namespace) -> int:
    stopped = SeaweedServer(get_settings()).down()
    print("SeaweedFS stopped" if stopped else "SeaweedFS was not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    status = SeaweedServer(get_settings()).status()
    if args.json:
        print(json.dumps(status.model_dump(mode="json")))
    else:
        state = "running" if status.running else "stopped"
        health = "healthy" if status.healthy else "not answering"
        print(f"SeaweedFS {state} (pid {status.pid}), {health}, S3 at {status.endpoint}")
    return 0 if status.healthy else 1
