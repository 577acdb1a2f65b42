"""Loading and validating the rule data files into a :class:`Rulebook`.

The packaged files live in ``medlicense/rules/data``.  An override directory (argument or the
``rules_dir`` setting) may hold any subset of them, laid out the same way
(``editions/<id>.yaml``, ``mci.yaml``, ``calendar-overrides.yaml``, ``working-hours.yaml``);
a file there replaces the packaged file of the same name, and an extra edition file adds an
edition.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ValidationError

from medlicense.errors import RulesDataError, RulesError
from medlicense.models import RequestKind
from medlicense.rules.schema import CalendarOverrides, Edition, MciTable, Unit, WorkingHours

if TYPE_CHECKING:
    from medlicense.rules.calendar import WorkingCalendar

PACKAGE_DATA_DIR = Path(__file__).resolve().parent / "data"
EDITIONS_DIR = "editions"
MCI_FILE = "mci.yaml"
OVERRIDES_FILE = "calendar-overrides.yaml"
WORKING_HOURS_FILE = "working-hours.yaml"

M = TypeVar("M", bound=BaseModel)

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def format_loc(loc: tuple[int | str, ...]) -> str:
    """``("documents", 3, "kinds", 0)`` -> ``documents[3].kinds[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesDataError(f"{path}: cannot read: {exc}", file=path) from exc
    try:
        return yaml.load(text, Loader=_LOADER)  # CSafeLoader when available: safe and fast
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesDataError(f"{path}{where}: not valid YAML: {problem}", file=path) from exc


def parse_model(model: type[M], data: Any, path: Path) -> M:
    """Validate ``data`` as ``model``; errors name the file and every failing field."""
    if not isinstance(data, Mapping):
        raise RulesDataError(
            f"{path}: expected a mapping of fields at the top level, got {type(data).__name__}",
            file=path,
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            lines.append(f"{path}: {format_loc(tuple(err['loc']))}: {err['msg']}")
        first = format_loc(tuple(exc.errors()[0]["loc"])) if exc.errors() else ""
        raise RulesDataError("\n".join(lines), file=path, field=first) from exc


def load_model(model: type[M], path: Path) -> M:
    return parse_model(model, read_yaml(path), path)


@dataclass(frozen=True)
class Rulebook:
    """Every rule data file, validated."""

    editions: tuple[Edition, ...]
    mci: MciTable
    overrides: CalendarOverrides
    working_hours: WorkingHours
    files: Mapping[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ordered = sorted(self.editions, key=lambda e: e.valid_from)
        for before, after in itertools.pairwise(ordered):
            if before.valid_to is None or before.valid_to >= after.valid_from:
                raise RulesDataError(
                    f"{self.files.get(before.id, before.id)}: valid_to: edition {before.id} "
                    f"overlaps edition {after.id} (which starts {after.valid_from})",
                    field="valid_to",
                )
        object.__setattr__(self, "editions", tuple(ordered))

    @property
    def timezone(self) -> ZoneInfo:
        from medlicense.settings import get_settings

        name = self.working_hours.timezone or get_settings().timezone
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise RulesDataError(f"unknown time zone {name!r}", field="timezone") from exc

    def local_date(self, moment: dt.date | dt.datetime) -> dt.date:
        """The date of ``moment`` in the service's time zone (naive datetimes are local)."""
        if isinstance(moment, dt.datetime):
            if moment.tzinfo is not None:
                return moment.astimezone(self.timezone).date()
            return moment.date()
        return moment

    def edition(self, edition_id: str) -> Edition:
        for e in self.editions:
            if e.id == edition_id:
                return e
        known = ", ".join(e.id for e in self.editions)
        raise RulesError(f"no edition {edition_id!r} (known: {known})", code="rules.no_edition")

    def edition_for(self, moment: dt.date | dt.datetime) -> Edition:
        """The edition in force on the (submission) date of ``moment``."""
        day = self.local_date(moment)
        for e in self.editions:
            if e.in_force(day):
                return e
        raise RulesError(f"no edition of the rules is in force on {day}", code="rules.no_edition")

    def review_due_date(
        self,
        edition: Edition,
        kind: RequestKind,
        received: dt.datetime,
        *,
        incomplete: bool = False,
    ) -> dt.date | None:
        """The working day by which the result is due (the review term from ``received``).

        None when the edition's term for ``kind`` is unknown.
        """
        days = edition.terms.days("incomplete" if incomplete else kind)
        if days is None:
            return None
        return self.calendar().deadline(received, days, Unit.WORKING_DAYS).due_by.date()

    def calendar(self) -> WorkingCalendar:
        """The working-day calendar built from this rulebook (built once, then reused)."""
        cached: WorkingCalendar | None = self.__dict__.get("_calendar")
        if cached is None:
            from medlicense.rules.calendar import WorkingCalendar

            cached = WorkingCalendar(self.overrides, self.working_hours, self.timezone)
            object.__setattr__(self, "_calendar", cached)
        return cached


def _pick(name: str, override: Path | None) -> Path:
    if override is not None and (override / name).is_file():
        return override / name
    return PACKAGE_DATA_DIR / name


def _edition_files(override: Path | None) -> dict[str, Path]:
    files = {p.stem: p for p in sorted((PACKAGE_DATA_DIR / EDITIONS_DIR).glob("*.yaml"))}
    if override is not None and (override / EDITIONS_DIR).is_dir():
        files.update({p.stem: p for p in sorted((override / EDITIONS_DIR).glob("*.yaml"))})
    return files


def build_rulebook(rules_dir: Path | None = None) -> Rulebook:
    """Read and validate every data file (no caching)."""
    if rules_dir is not None and not rules_dir.is_dir():
        raise RulesDataError(f"{rules_dir}: rules directory does not exist", file=rules_dir)
    editions: list[Edition] = []
    files: dict[str, Path] = {}
    for stem, path in _edition_files(rules_dir).items():
        edition = load_model(Edition, path)
        if edition.id != stem:
            raise RulesDataError(
                f"{path}: id: {edition.id!r} does not match the file name {stem!r}",
                file=path,
                field="id",
            )
        editions.append(edition)
        files[stem] = path
    if not editions:
        raise RulesDataError(f"no edition files under {PACKAGE_DATA_DIR / EDITIONS_DIR}")
    mci_path = _pick(MCI_FILE, rules_dir)
    overrides_path = _pick(OVERRIDES_FILE, rules_dir)
    hours_path = _pick(WORKING_HOURS_FILE, rules_dir)
    files.update(
        {MCI_FILE: mci_path, OVERRIDES_FILE: overrides_path, WORKING_HOURS_FILE: hours_path}
    )
    return Rulebook(
        editions=tuple(editions),
        mci=load_model(MciTable, mci_path),
        overrides=_load_overrides(overrides_path),
        working_hours=load_model(WorkingHours, hours_path),
        files=files,
    )


def _load_overrides(path: Path) -> CalendarOverrides:
    data = read_yaml(path)
    # An override file with every entry commented out is empty: that is fine.
    return parse_model(CalendarOverrides, {} if data is None else data, path)


@lru_cache(maxsize=1)
def _default_rulebook(rules_dir: Path | None) -> Rulebook:
    return build_rulebook(rules_dir)


def load_rulebook(rules_dir: Path | None = None) -> Rulebook:
    """The rulebook: ``rules_dir`` if given, else the ``rules_dir`` setting, else packaged data.

    The default (no argument) is read once and cached; an explicit directory is read afresh.
    """
    if rules_dir is not None:
        return build_rulebook(rules_dir)
    from medlicense.settings import get_settings

    return _default_rulebook(get_settings().rules_dir)


def clear_cache() -> None:
    """Forget the cached default rulebook (after staff edited the files)."""
    _default_rulebook.cache_clear()
