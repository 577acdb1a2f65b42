"""Resident memory of a whole process tree, sampled from ``/proc`` in a background thread.

``resource.getrusage(RUSAGE_CHILDREN)`` only reports children that have been
reaped, and says nothing about long-lived servers; summing ``VmRSS`` over the
live tree does.  Shared pages are counted once per process, so the sum is an
upper bound of the real footprint; the proportional set size (PSS, shared
pages divided among their sharers) is sampled alongside.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ..." where comm may contain spaces and parentheses.
        rest = stat.rsplit(")", 1)[-1].split()
        if len(rest) >= 2:
            children[int(rest[1])].append(int(entry.name))
    return children


def tree_pids(root: int) -> list[int]:
    """``root`` and all its live descendants."""
    children = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pid: int) -> int:
    # statm is one short line; status is forty, and this runs several times a second.
    try:
        return int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of ``pid`` so far (None: gone)."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return None


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages split among the processes sharing them."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL's server processes for connections to ``database``.

    They serve the Prefect server but are children of the postmaster, outside
    the tree; their title reads ``postgres: [<cluster>:] <user> <database> <client> <state>``.
    """
    out = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parts = title.split()
        if parts[1:2] and parts[1].endswith(":"):
            del parts[1]  # the cluster's name (Debian sets cluster_name)
        if len(parts) >= 3 and parts[0] == "postgres:" and parts[2] == database:
            out.append(int(entry.name))
    return out


def role(pid: int, root: int) -> str:
    """Which part of the system a process is, for the memory breakdown."""
    if pid == root:
        return "bench"
    try:
        cmd = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "other"
    if cmd.startswith("postgres: "):
        return "postgresql"
    if "medlicense.cli serve" in cmd or "medlicense serve" in cmd:
        return "serving process"
    if "weed" in cmd:
        return "seaweedfs"
    if "prefect" in cmd and "server" in cmd:
        return "prefect-server"
    if "extractors.reader" in cmd or "extractors/reader" in cmd:
        return "guarded-reader"
    if "prefect.engine" in cmd or "flow_run" in cmd:
        return "flow-run subprocesses"
    if "multiprocessing" in cmd or "spawn_main" in cmd:
        # Task-pool workers and the runner's review flow runs are both spawned children.
        return "spawned workers and review runs"
    return "other"


@dataclass
class TreeSample:
    total: int
    by_role: dict[str, int]
    processes: int
    pss: int
    pss_by_role: dict[str, int] = field(default_factory=dict)


def sample_tree(
    root: int | None = None,
    *,
    with_pss: bool = True,
    roles: dict[int, str] | None = None,
    exclude: frozenset[str] = frozenset(),
    pids: list[int] | None = None,
) -> TreeSample:
    """One sample of the tree; ``roles`` caches each pid's role between samples.

    Processes whose role is in ``exclude`` are listed by role but left out of
    the totals (the benchmark's own driver process is not the system under test).
    """
    root = root or os.getpid()
    roles = {} if roles is None else roles
    by_role: dict[str, int] = defaultdict(int)
    pss_by_role: dict[str, int] = defaultdict(int)
    pids = tree_pids(root) if pids is None else pids
    for pid in pids:
        name = roles.get(pid) or role(pid, root)
        # A child caught between fork and exec still shows its parent's command
        # line; only a recognised role is remembered.
        if name != "other":
            roles[pid] = name
        by_role[name] += rss_bytes(pid)
        if with_pss:
            pss_by_role[name] += pss_bytes(pid)
    return TreeSample(
        total=sum(v for k, v in by_role.items() if k not in exclude),
        by_role=dict(by_role),
        processes=len(pids),
        pss=sum(v for k, v in pss_by_role.items() if k not in exclude),
        pss_by_role=dict(pss_by_role),
    )


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return 0.0
    idle, iowait = fields[3], fields[4]
    return (sum(fields) - idle - iowait) / os.sysconf("SC_CLK_TCK")


# The host's speed, read by a fixed piece of pure-Python work timed in the sampler
# thread's own CPU time (waiting for the GIL or a core does not count).  A virtual
# machine here executed the same jobs in up to 30 % more CPU time from one
# quarter of an hour to the next; comparing two runs minutes apart (time linear in
# batch size) needs to know how fast the host ran during each.
PROBE_ITERATIONS = 200_000


def host_probe() -> float:
    """CPU seconds this thread took for the fixed probe work."""
    t0 = time.thread_time()
    x = 0
    for i in range(PROBE_ITERATIONS):
        x = (x * 31 + i) % 1_000_003
    return time.thread_time() - t0


@dataclass
class PeakRss:
    """Peak of the tree's summed RSS between :meth:`mark` calls (and overall)."""

    # A sample costs the kernel a walk of every process's page tables (PSS) and
    # competes with the measured run for the same two cores: at four samples a
    # second with PSS each time the sampler took a fifth of a core.  RSS is cheap
    # and read every interval; PSS only when RSS reaches a new high, which is
    # where the PSS peak is, and every ``pss_every`` samples in case it is not.
    interval: float = 0.5
    pss_every: int = 10
    # Roles sampled and listed but not counted in the totals.
    exclude: frozenset[str] = frozenset()
    # Processes outside the tree that work for it (the database's backends of the
    # Prefect server), looked up again every ``pss_every`` samples.
    adopt: Callable[[], list[int]] | None = None
    _adopted: list[int] = field(default_factory=list)
    root: int = field(default_factory=os.getpid)
    peak: int = 0
    peak_by_role: dict[str, int] = field(default_factory=dict)
    peak_processes: int = 0
    peak_pss: int = 0
    window_peak: int = 0
    window_pss: int = 0
    peak_pss_by_role: dict[str, int] = field(default_factory=dict)
    window_pss_by_role: dict[str, int] = field(default_factory=dict)
    window_by_role: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _roles: dict[int, str] = field(default_factory=dict)
    _samples: int = 0
    # CPU seconds by role between marks: where the cores went, process by process.
    _cpu_seen: dict[int, float] = field(default_factory=dict)
    _window_cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    last_window_cpu: dict[str, float] = field(default_factory=dict)
    # The whole machine's busy CPU seconds between marks: what is not the tree's is
    # work of other processes (a database's autovacuum, the kernel) on the same cores.
    _machine_busy_at_mark: float = field(default_factory=lambda: machine_busy_seconds())
    last_window_machine_busy: float = 0.0
    # The host probe every ``probe_every`` samples (~1 % of a core at the defaults);
    # the window's median, in milliseconds, is ``last_window_probe_ms``.
    probe_every: int = 4
    _window_probes: list[float] = field(default_factory=list)
    last_window_probe_ms: float | None = None

    def _account_cpu(self, pids: list[int]) -> None:
        for pid in pids:
            used = cpu_seconds(pid)
            if used is None:
                continue
            delta = used - self._cpu_seen.get(pid, 0.0)
            self._cpu_seen[pid] = used
            name = self._roles.get(pid) or role(pid, self.root)
            with self._lock:
                self._window_cpu[name] += delta

    def _take(self, *, force_pss: bool = False) -> None:
        self._samples += 1
        # One walk of /proc per sample, shared by the CPU and memory accounts.
        pids = tree_pids(self.root)
        if self.adopt is not None:
            if force_pss or self._samples % self.pss_every == 1:
                self._adopted = self.adopt()
            pids += [p for p in self._adopted if p not in pids]
        self._account_cpu(pids)
        s = sample_tree(
            self.root, with_pss=False, roles=self._roles, exclude=self.exclude, pids=pids
        )
        if force_pss or s.total > self.window_peak or self._samples % self.pss_every == 0:
            s = sample_tree(
                self.root, with_pss=True, roles=self._roles, exclude=self.exclude, pids=pids
            )
        with self._lock:
            if s.total > self.peak:
                self.peak, self.peak_by_role, self.peak_processes = s.total, s.by_role, s.processes
            if s.total > self.window_peak:
                self.window_peak, self.window_by_role = s.total, s.by_role
            if s.pss > self.peak_pss:
                self.peak_pss, self.peak_pss_by_role = s.pss, s.pss_by_role
            if s.pss > self.window_pss:
                self.window_pss, self.window_pss_by_role = s.pss, s.pss_by_role

    def _run(self) -> None:
        while not self._stop.is_set():
            self._take()
            if self.probe_every and self._samples % self.probe_every == 0:
                spent = host_probe()
                with self._lock:
                    self._window_probes.append(spent)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def mark(self) -> tuple[int, dict[str, int], int, dict[str, int]]:
        """Peak RSS (total, by role) and peak PSS since the previous mark; starts a new window."""
        self._take(force_pss=True)
        with self._lock:
            out = (
                self.window_peak,
                dict(self.window_by_role),
                self.window_pss,
                dict(self.window_pss_by_role),
            )
            self.window_peak, self.window_by_role = 0, {}
            self.window_pss, self.window_pss_by_role = 0, {}
            self.last_window_cpu = {
                k: round(v, 1) for k, v in sorted(self._window_cpu.items(), key=lambda kv: -kv[1])
            }
            self._window_cpu = defaultdict(float)
            busy = machine_busy_seconds()
            self.last_window_machine_busy = round(busy - self._machine_busy_at_mark, 1)
            self._machine_busy_at_mark = busy
            probes, self._window_probes = self._window_probes, []
            self.last_window_probe_ms = (
                round(1000 * statistics.median(probes), 2) if probes else None
            )
        return out
