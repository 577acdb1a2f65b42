"""Where one package's time goes: the worker job in a plain loop under cProfile.

``python -m benchmarks.profile [N]`` builds an isolated installation (as the
benchmark does), uploads N packages of the standard mix and runs the pool's
job (:func:`medlicense.workers._package_job`) on each in this process, with
the profiler on.  It prints the functions by cumulative and by own time and a
count of storage requests by kind, so a stage that dominates shows by name.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from benchmarks.env import PROJECT_DIR, isolate, start_local_services


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 40
    (PROJECT_DIR / "var").mkdir(exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="profile-", dir=PROJECT_DIR / "var"))
    settings = isolate(data_dir, runner_limit=1)
    from benchmarks.runner import _generate
    from medlicense import workers

    packages = _generate(data_dir / "packages", count, 7)
    with ExitStack() as stack:
        # The installation is only for this run; the statistics file outlives it.
        stack.callback(shutil.rmtree, data_dir, True)
        seaweed, store, ctx = start_local_services(settings, stack)
        workers._ctx = ctx
        keys = []
        for name, data in packages:
            key = f"{settings.uploads_prefix}profile/{name}"
            store.put_bytes(settings.bucket_uploads, key, data, content_type="application/zip")
            keys.append(key)
        # Warm: the first package pays for lazy imports and caches.
        workers._package_job(keys[0], "profile")
        requests: Counter[str] = Counter()
        _count_requests(ctx.store, requests)
        weed0 = _cpu_seconds(seaweed.pid())
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        c0 = time.process_time()
        prof.enable()
        for key in keys[1:]:
            workers._package_job(key, "profile")
        prof.disable()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        n = len(keys) - 1
        weed = _cpu_seconds(seaweed.pid()) - weed0
        print(f"SeaweedFS: {weed / n:.3f} s CPU per package")
        print(
            f"{n} packages: {wall / n:.3f} s wall, {cpu / n:.3f} s CPU per package (this process)"
        )
        print("storage requests per package:")
        for kind, k in requests.most_common():
            print(f"  {k / n:6.1f}  {kind}")
        for order in ("cumulative", "tottime"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats(order).print_stats(45)
            print(buf.getvalue())
        prof.dump_stats(str(PROJECT_DIR / "var" / "profile.pstats"))
    return 0


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _caller() -> str:
    """The nearest three project frames outside the storage client: who asked."""
    frame: FrameType | None = sys._getframe(2)
    names: list[str] = []
    while frame is not None and len(names) < 3:
        code = frame.f_code
        path = code.co_filename
        if (
            str(PROJECT_DIR) in path
            and "/storage/client.py" not in path
            and "profile.py" not in path
            and ".venv" not in path
        ):
            names.append(f"{Path(path).stem}.{code.co_name}")
        frame = frame.f_back
    return " < ".join(names)


def _count_requests(store: object, counter: Counter[str]) -> None:
    """Wrap the store's public methods to count calls by name."""
    for name in dir(store):
        if name.startswith("_"):
            continue
        fn = getattr(store, name)
        if not callable(fn):
            continue

        def wrapped(*a: object, __fn: object = fn, __name: str = name, **kw: object) -> object:
            counter[__name] += 1
            counter[f"{__name} <- {_caller()}"] += 1
            return __fn(*a, **kw)  # type: ignore[operator]

        setattr(store, name, wrapped)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
