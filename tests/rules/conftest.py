from __future__ import annotations

import pytest

from medlicense.rules import Rulebook, WorkingCalendar, load_rulebook


@pytest.fixture(scope="session")
def book() -> Rulebook:
    return load_rulebook()


@pytest.fixture(scope="session")
def cal(book: Rulebook) -> WorkingCalendar:
    return book.calendar()
