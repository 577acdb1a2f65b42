from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from medlicense.models import Channel, RequestKind
from medlicense.rules import Rulebook, Unit, WorkingCalendar, add_working_days, is_working_day
from medlicense.rules.schema import CalendarOverrides, DatedEntry

D = dt.date
ORAL = ZoneInfo("Asia/Oral")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # 2016: 5 March (Saturday) worked, 7 March off in exchange; 8 March holiday
        (D(2016, 3, 5), True),
        (D(2016, 3, 7), False),
        (D(2016, 3, 8), False),
        (D(2016, 3, 9), True),
        (D(2016, 5, 10), False),  # 7 May (Saturday) observed on Tuesday 10 May
        (D(2016, 12, 1), False),  # First President Day (until 2021)
        # 2020: 5 January (Sunday) worked for 3 January; 20 December worked for 18 December
        (D(2020, 1, 3), False),
        (D(2020, 1, 5), True),
        (D(2020, 3, 24), False),  # Nauryz on a weekend moved
        (D(2020, 12, 18), False),
        (D(2020, 12, 20), True),
        # 2022: Republic Day returns (25 October), 1 December no longer a holiday
        (D(2022, 10, 22), True),
        (D(2022, 10, 24), False),
        (D(2022, 10, 25), False),
        (D(2022, 12, 1), True),
        # 2025: 5 January worked, 3 January off; Constitution Day on Saturday 30 August -> 1 Sept
        (D(2025, 1, 3), False),
        (D(2025, 1, 5), True),
        (D(2025, 9, 1), False),
        (D(2025, 10, 27), False),  # Republic Day on Saturday -> Monday
        # 2026: Constitution Day (30 August) is gone; Republic Day on Sunday -> Monday 26 Oct
        (D(2026, 8, 31), True),
        (D(2026, 10, 26), False),
        (D(2026, 12, 17), True),  # only 16 December since 2022
        (D(2026, 3, 9), False),  # 8 March on Sunday
        (D(2026, 1, 7), False),  # Orthodox Christmas
    ],
)
def test_known_days(cal: WorkingCalendar, day: D, working: bool) -> None:
    assert cal.is_working_day(day) is working
    assert is_working_day(day) is working


def test_2026_holidays_from_package(cal: WorkingCalendar) -> None:
    off = {D(2026, m, d) for m, d in [(1, 1), (1, 2), (1, 7), (3, 9), (3, 23), (3, 24), (3, 25)]}
    off |= {D(2026, m, d) for m, d in [(5, 1), (5, 7), (5, 11), (5, 27), (7, 6), (10, 26)]}
    off |= {D(2026, 12, 16)}
    for day in off:
        assert not cal.is_working_day(day), day
    assert cal.holiday_name(D(2026, 8, 30)) is None  # no Constitution Day in 2026
    assert cal.holiday_name(D(2025, 8, 30)) is not None


def test_add_working_days_across_transfers(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(D(2016, 3, 4), 1) == D(2016, 3, 5)  # worked Saturday
    assert cal.add_working_days(D(2016, 3, 5), 1) == D(2016, 3, 9)
    assert cal.add_working_days(D(2016, 3, 4), 14) == D(2016, 3, 30)  # Sat 5 March counts
    assert cal.add_working_days(D(2020, 12, 31), 1) == D(2021, 1, 5)
    assert cal.add_working_days(D(2025, 8, 29), 1) == D(2025, 9, 2)
    assert cal.add_working_days(D(2026, 8, 28), 1) == D(2026, 8, 31)
    assert cal.add_working_days(D(2026, 3, 20), 1) == D(2026, 3, 26)
    assert cal.add_working_days(D(2026, 3, 26), -1) == D(2026, 3, 20)
    assert cal.add_working_days(D(2026, 3, 26), 0) == D(2026, 3, 26)
    assert add_working_days(D(2026, 3, 20), 1) == D(2026, 3, 26)
    assert cal.working_days_between(D(2016, 3, 4), D(2016, 3, 30)) == 14


def test_overrides_win(cal: WorkingCalendar) -> None:
    overrides = CalendarOverrides(
        days_off=(DatedEntry(date=D(2026, 12, 31), reason="decree"),),
        working_days=(DatedEntry(date=D(2027, 1, 2), reason="worked Saturday"),),
    )
    local = WorkingCalendar(overrides, cal.hours, "Asia/Oral")
    assert cal.is_working_day(D(2026, 12, 31))
    assert not local.is_working_day(D(2026, 12, 31))
    assert local.is_working_day(D(2027, 1, 2))  # a holiday in the package, worked by decree
    assert local.add_working_days(D(2026, 12, 30), 1) == D(2027, 1, 2)


def at(y: int, m: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=ORAL)


def test_minutes_and_hours_in_working_time(cal: WorkingCalendar) -> None:
    dl = cal.deadline(at(2026, 3, 2, 10), 15, Unit.MINUTES)
    assert dl.due_by == at(2026, 3, 2, 10, 15) == dl.overdue_at
    # 2 h from 12:00 spans the lunch break 13:00-14:30
    assert cal.deadline(at(2026, 3, 2, 12), 2, Unit.HOURS).due_by == at(2026, 3, 2, 15, 30)
    # started after hours: counting starts next working morning
    assert cal.deadline(at(2026, 3, 2, 19), 15, Unit.MINUTES).due_by == at(2026, 3, 3, 9, 15)
    # started on Friday 17:30: 2 h -> Monday (8 March on Sunday, observed on Monday 9th) -> Tue
    assert cal.deadline(at(2026, 3, 6, 17, 30), 2, Unit.HOURS).due_by == at(2026, 3, 10, 10)
    # ends exactly at the lunch break: overdue once work resumes
    lunch = cal.deadline(at(2026, 3, 2, 12, 45), 15, Unit.MINUTES)
    assert lunch.due_by == at(2026, 3, 2, 13) and lunch.overdue_at == at(2026, 3, 2, 14, 30)
    # naive start = local time; an aware start in another zone is converted
    utc = dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.UTC)  # 10:00 in Oral
    assert cal.deadline(utc, 15, Unit.MINUTES).due_by == at(2026, 3, 2, 10, 15)
    naive = cal.deadline(dt.datetime(2026, 3, 2, 10), 15, Unit.MINUTES)
    assert naive.due_by == at(2026, 3, 2, 10, 15)


def test_working_days_deadline(cal: WorkingCalendar) -> None:
    dl = cal.deadline(at(2026, 3, 2, 11), 1, Unit.WORKING_DAYS)
    assert dl.due_by == at(2026, 3, 3, 18, 30)
    assert dl.overdue_at == at(2026, 3, 4, 9)
    assert not dl.is_overdue(at(2026, 3, 3, 18, 30))
    assert dl.is_overdue(at(2026, 3, 3, 18, 31))
    assert dl.is_overdue(dt.datetime(2026, 3, 4, 9))
    # across Nauryz 2026 (21-25 March off)
    assert cal.deadline(at(2026, 3, 20, 11), 2, Unit.WORKING_DAYS).due_by == at(2026, 3, 27, 18, 30)
    # count_start_day: true makes the starting day the first
    hours = cal.hours.model_copy(update={"count_start_day": True})
    first = WorkingCalendar(cal.overrides, hours, "Asia/Oral")
    assert first.deadline(at(2026, 3, 2, 11), 1, Unit.WORKING_DAYS).due_by == at(2026, 3, 2, 18, 30)
    assert first.deadline(at(2026, 3, 2, 19), 1, Unit.WORKING_DAYS).due_by == at(2026, 3, 3, 18, 30)


def test_step_deadlines_from_edition(book: Rulebook, cal: WorkingCalendar) -> None:
    std = book.edition("standard-2015")
    start = at(2016, 3, 4, 11)
    review = cal.step_deadline(std, "provider.review", start, RequestKind.ISSUE)
    assert review is not None and review.due_by == at(2016, 3, 30, 18, 30)
    incomplete = cal.step_deadline(
        std, "provider.review", start, RequestKind.ISSUE, incomplete=True
    )
    assert incomplete is not None and incomplete.due_by == at(2016, 3, 5, 18, 30)
    reg = cal.step_deadline(std, "provider.register", start, RequestKind.ISSUE)
    assert reg is not None and reg.due_by == at(2016, 3, 4, 11, 15)

    r2025 = book.edition("rules-2025")
    assert cal.step_deadline(r2025, "provider.register", start, RequestKind.ISSUE) is None
    assert (
        cal.step_deadline(r2025, "provider.review", start, RequestKind.ISSUE, incomplete=True)
        is None
    )
    r = cal.step_deadline(r2025, "provider.review", at(2026, 3, 2, 10), RequestKind.ISSUE)
    assert r is not None and r.due_by == at(2026, 3, 20, 18, 30)  # 13 working days, 9 March off
    assert r.overdue_at == at(2026, 3, 26, 9)  # Nauryz 21-25 March


def test_schedule_chains_steps(book: Rulebook, cal: WorkingCalendar) -> None:
    std = book.edition("standard-2015")
    office = cal.schedule(std, at(2016, 3, 4, 17), RequestKind.REISSUE, Channel.OFFICE)
    assert [s.step.id for s in office] == [
        "provider.register",
        "provider.assign",
        "provider.review",
        "provider.sign",
        "provider.deliver",
    ]
    dues = [s.deadline.due_by for s in office if s.deadline]
    assert dues == sorted(dues) and len(dues) == 5
    assert dues[1] == at(2016, 3, 5, 9, 45)  # 2 h: 17:15-18:30, then the worked Saturday
    sc = cal.schedule(std, at(2016, 3, 4, 10), RequestKind.ISSUE, Channel.STATE_CORPORATION)
    assert sc[0].step.id == "sc.completeness_check"
    assert sc[-1].step.id == "sc.handover" and sc[-1].deadline is None
    portal_2025 = cal.schedule(book.edition("rules-2025"), at(2026, 3, 2, 10), RequestKind.ISSUE)
    assert all(s.deadline is None for s in portal_2025)  # the first limit is unknown


def test_timezone_from_settings(book: Rulebook) -> None:
    assert book.working_hours.timezone is None
    assert book.timezone == ORAL


def test_the_kazakhstan_calendar_is_the_packages_own() -> None:
    import holidays

    from medlicense.rules.calendar import _kazakhstan

    years = range(2000, 2036)
    ours = _kazakhstan()(years=years)
    theirs = holidays.country_holidays("KZ", years=years)
    assert dict(ours) == dict(theirs)
    for day in (D(2024, 3, 2), D(2025, 1, 5), D(2026, 1, 3)):  # worked Saturdays and Sundays
        assert ours.is_working_day(day) == theirs.is_working_day(day)


def test_a_deadline_does_not_load_every_country() -> None:
    import subprocess
    import sys

    code = (
        "import sys, datetime as dt; from medlicense.rules import WorkingCalendar; "
        "WorkingCalendar().add_working_days(dt.date(2026, 3, 6), 5); "
        "print(sum(m.startswith('holidays.countries.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == 0
