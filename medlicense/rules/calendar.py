"""Working days and deadlines.

Working days come from the ``holidays`` package (country ``KZ``: weekends, public holidays,
holidays moved off weekends, the government's day-off transfers and worked Saturdays),
corrected by ``calendar-overrides.yaml``.  Limits in minutes and hours are counted inside the
working-time window of ``working-hours.yaml`` (reconstructed: 09:00–18:30 with a 13:00–14:30
break, time zone from the ``timezone`` setting, Asia/Oral).

A :class:`Deadline` has two moments:

* ``due_by`` — the last moment at which finishing the step is on time;
* ``overdue_at`` — the first *working* moment after ``due_by``, i.e. when the step shows as
  overdue on the working clock.  It equals ``due_by`` when that falls inside working time,
  and is the start of the next working interval when ``due_by`` is the end of one (for
  example 18:30 → 09:00 the next working day).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from medlicense.errors import RulesError
from medlicense.models import Channel, RequestKind
from medlicense.rules.schema import CalendarOverrides, Edition, Step, Unit, WorkingHours

# No real calendar has this many consecutive days off; beyond it the data must be wrong.
MAX_DAYS_WITHOUT_WORK = 60


class Deadline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start: dt.datetime
    due_by: dt.datetime
    overdue_at: dt.datetime

    def is_overdue(self, now: dt.datetime) -> bool:
        """True once ``now`` is past ``due_by`` (a naive ``now`` is taken in ``due_by``'s zone)."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=self.due_by.tzinfo)
        return now > self.due_by


class StepDeadline(BaseModel):
    """A step of an edition with its deadline; ``deadline`` is None when the limit is unknown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: Step
    duration: int | None
    unit: Unit | None
    deadline: Deadline | None


@cache
def _kazakhstan() -> Any:
    """The ``holidays`` package's Kazakhstan class, loaded on its own.

    ``holidays.country_holidays("KZ")`` imports ``holidays.countries``, whose
    ``__init__`` imports every country the package knows: about 280 modules and
    8 MiB in each process that computes a deadline (the serving process and every
    pool worker).  The Kazakhstan module itself imports only the package's shared
    parts, so it is executed from its file under a private name instead; the
    holidays it yields are the same (tests/rules/test_rules_calendar.py compares).
    """
    package = importlib.util.find_spec("holidays")
    if package is None or package.origin is None:
        raise RulesError("the holidays package is not installed", code="rules.calendar")
    path = Path(package.origin).parent / "countries" / "kazakhstan.py"
    spec = importlib.util.spec_from_file_location("medlicense.rules._holidays_kz", path)
    if spec is None or spec.loader is None:
        raise RulesError(f"holidays has no Kazakhstan module at {path}", code="rules.calendar")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Kazakhstan


class WorkingCalendar:
    """The Kazakhstan working-day calendar with local overrides and a working-time window."""

    def __init__(
        self,
        overrides: CalendarOverrides | None = None,
        hours: WorkingHours | None = None,
        timezone: ZoneInfo | str | None = None,
    ) -> None:
        from medlicense.rules.loader import load_rulebook

        if hours is None or overrides is None or timezone is None:
            book = load_rulebook()
            overrides = overrides if overrides is not None else book.overrides
            hours = hours if hours is not None else book.working_hours
            timezone = timezone if timezone is not None else book.timezone
        self.overrides = overrides
        self.hours = hours
        self.tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self._off = frozenset(d.date for d in overrides.days_off)
        self._on = frozenset(d.date for d in overrides.working_days)
        self._kz: Any = _kazakhstan()()
        self._intervals = hours.intervals()

    # --- days -------------------------------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        if day in self._on:
            return True
        if day in self._off:
            return False
        return bool(self._kz.is_working_day(day))

    def holiday_name(self, day: dt.date) -> str | None:
        name = self._kz.get(day)
        return None if name is None else str(name)

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``start`` (before it when ``n`` is negative).

        ``start`` itself is never counted; ``n == 0`` returns ``start``.
        """
        step = 1 if n >= 0 else -1
        day, left, idle = start, abs(n), 0
        while left:
            day += dt.timedelta(days=step)
            if self.is_working_day(day):
                left -= 1
                idle = 0
            else:
                idle += 1
                if idle > MAX_DAYS_WITHOUT_WORK:
                    raise RulesError(
                        f"no working day within {MAX_DAYS_WITHOUT_WORK} days of {day}",
                        code="rules.calendar",
                    )
        return day

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the first working day after it."""
        return day if self.is_working_day(day) else self.add_working_days(day, 1)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in ``(start, end]``."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count

    # --- time ------------------------------------------------------------------------------

    def local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` in the calendar's zone; a naive moment is taken as local time."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.tz)
        return moment.astimezone(self.tz)

    def _windows(self, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Working intervals that end after ``start``, in order."""
        if not self._intervals:
            raise RulesError("working-hours.yaml leaves no working time", code="rules.calendar")
        day, idle = start.date(), 0
        while True:
            if self.is_working_day(day):
                idle = 0
                for a, b in self._intervals:
                    ia = dt.datetime.combine(day, a, tzinfo=self.tz)
                    ib = dt.datetime.combine(day, b, tzinfo=self.tz)
                    if ib > start:
                        yield max(ia, start), ib
            else:
                idle += 1
                if idle > MAX_DAYS_WITHOUT_WORK:
                    raise RulesError("no working time ahead", code="rules.calendar")
            day += dt.timedelta(days=1)

    def add_working_time(self, start: dt.datetime, delta: dt.timedelta) -> dt.datetime:
        """The moment ``delta`` of working time after ``start``."""
        remaining = delta
        for a, b in self._windows(self.local(start)):
            if remaining <= b - a:
                return a + remaining
            remaining -= b - a
        raise AssertionError("unreachable")  # pragma: no cover

    def next_working_moment(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` if it is inside working time (not at an interval's end), else the next start."""
        for a, b in self._windows(self.local(moment)):
            if b > a:
                return a
        raise AssertionError("unreachable")  # pragma: no cover

    def end_of_working_day(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, self.hours.day.end, tzinfo=self.tz)

    def deadline(self, start: dt.datetime, duration: int, unit: Unit) -> Deadline:
        """The deadline of a step of ``duration`` ``unit`` starting at ``start``."""
        if duration < 0:
            raise ValueError("duration must not be negative")
        begin = self.local(start)
        if unit is Unit.WORKING_DAYS:
            first_counts = (
                self.hours.count_start_day
                and self.is_working_day(begin.date())
                and begin < self.end_of_working_day(begin.date())
            )
            n = duration - 1 if first_counts and duration > 0 else duration
            due_by = self.end_of_working_day(self.add_working_days(begin.date(), n))
        else:
            minutes = duration * 60 if unit is Unit.HOURS else duration
            due_by = self.add_working_time(begin, dt.timedelta(minutes=minutes))
        return Deadline(start=begin, due_by=due_by, overdue_at=self.next_working_moment(due_by))

    def step_duration(
        self, edition: Edition, step: Step, kind: RequestKind, *, incomplete: bool = False
    ) -> int | None:
        if step.from_terms:
            return edition.terms.days("incomplete" if incomplete else kind)
        return step.duration

    def step_deadline(
        self,
        edition: Edition,
        step_id: str,
        start: dt.datetime,
        kind: RequestKind,
        *,
        incomplete: bool = False,
    ) -> Deadline | None:
        """The deadline of one step of ``edition``; None when its limit is unknown."""
        try:
            step = edition.step(step_id)
        except KeyError:
            raise RulesError(
                f"edition {edition.id} has no step {step_id!r}", code="rules.no_step"
            ) from None
        duration = self.step_duration(edition, step, kind, incomplete=incomplete)
        if duration is None or step.unit is None:
            return None
        return self.deadline(start, duration, step.unit)

    def schedule(
        self,
        edition: Edition,
        start: dt.datetime,
        kind: RequestKind,
        channel: Channel = Channel.OFFICE,
        *,
        incomplete: bool = False,
    ) -> tuple[StepDeadline, ...]:
        """Every step for ``channel`` in order, each starting when the previous is due.

        Once a step's limit is unknown the later deadlines are unknown too.
        """
        out: list[StepDeadline] = []
        at: dt.datetime | None = self.local(start)
        for step in edition.steps:
            if step.channel is not None and step.channel is not channel:
                continue
            duration = self.step_duration(edition, step, kind, incomplete=incomplete)
            deadline = None
            if at is not None and duration is not None and step.unit is not None:
                deadline = self.deadline(at, duration, step.unit)
            at = deadline.due_by if deadline is not None else None
            out.append(
                StepDeadline(step=step, duration=duration, unit=step.unit, deadline=deadline)
            )
        return tuple(out)


def default_calendar() -> WorkingCalendar:
    from medlicense.rules.loader import load_rulebook

    return load_rulebook().calendar()


def is_working_day(day: dt.date, calendar: WorkingCalendar | None = None) -> bool:
    return (calendar or default_calendar()).is_working_day(day)


def add_working_days(start: dt.date, n: int, calendar: WorkingCalendar | None = None) -> dt.date:
    return (calendar or default_calendar()).add_working_days(start, n)
