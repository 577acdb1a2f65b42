from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from medlicense.errors import RulesError
from medlicense.models import RequestKind
from medlicense.rules import PaymentStatus, Rulebook, check_payment, fee_due
from medlicense.rules.fees import mci_on, rate_mci
from medlicense.rules.schema import FeeRate, Fees, Status

# The MCI table of the brief (§4), including the mid-year changes.
BRIEF_MCI = {
    dt.date(2015, 6, 30): 1982,
    dt.date(2016, 12, 31): 2121,
    dt.date(2017, 1, 1): 2269,
    dt.date(2018, 7, 1): 2405,
    dt.date(2019, 2, 2): 2525,
    dt.date(2020, 3, 31): 2651,
    dt.date(2020, 4, 1): 2778,
    dt.date(2021, 5, 5): 2917,
    dt.date(2022, 3, 31): 3063,
    dt.date(2022, 4, 1): 3180,
    dt.date(2023, 12, 31): 3450,
    dt.date(2024, 1, 1): 3692,
    dt.date(2025, 9, 15): 3932,
    dt.date(2026, 12, 31): 4325,
}


@pytest.mark.parametrize(("day", "tenge"), BRIEF_MCI.items())
def test_mci_table_matches_brief(book: Rulebook, day: dt.date, tenge: int) -> None:
    assert mci_on(day, book.mci)[0] == tenge


def test_mci_outside_table_is_an_error(book: Rulebook) -> None:
    for day in (dt.date(2014, 12, 31), dt.date(2027, 1, 1)):
        with pytest.raises(RulesError) as exc:
            mci_on(day, book.mci)
        assert exc.value.code == "rules.mci_unknown"


@pytest.mark.parametrize("edition_id", ["standard-2015", "rules-2020", "rules-2025"])
def test_rates_every_edition(book: Rulebook, edition_id: str) -> None:
    edition = book.edition(edition_id)
    assert rate_mci(edition, RequestKind.ISSUE) == 10
    assert rate_mci(edition, RequestKind.REISSUE) == 1  # 10 % of 10, under the 4 MCI cap
    assert rate_mci(edition, RequestKind.DUPLICATE) == 10


def test_cap_of_4_mci_applies(book: Rulebook) -> None:
    edition = book.edition("standard-2015")
    fees = Fees(
        issue=FeeRate(mci=Decimal(50), status=Status.RECONSTRUCTED),
        reissue=FeeRate(percent_of_issue=Decimal(10), cap_mci=Decimal(4), status=Status.REGULATION),
        duplicate=FeeRate(percent_of_issue=Decimal(100), status=Status.REGULATION),
    )
    bigger = edition.model_copy(update={"fees": fees})
    assert rate_mci(bigger, RequestKind.REISSUE) == 4  # 10 % of 50 = 5, capped at 4
    assert rate_mci(bigger, RequestKind.DUPLICATE) == 50
    due = fee_due(bigger, RequestKind.REISSUE, dt.date(2024, 6, 1), book.mci)
    assert due.amount == 4 * 3692


@pytest.mark.parametrize(
    ("kind", "day", "amount"),
    [
        (RequestKind.ISSUE, dt.date(2016, 6, 1), 21210),
        (RequestKind.REISSUE, dt.date(2016, 6, 1), 2121),
        (RequestKind.DUPLICATE, dt.date(2016, 6, 1), 21210),
        # mid-year change of 2020: 31 March at 2 651, 1 April at 2 778
        (RequestKind.ISSUE, dt.date(2020, 3, 31), 26510),
        (RequestKind.ISSUE, dt.date(2020, 4, 1), 27780),
        (RequestKind.REISSUE, dt.date(2020, 4, 1), 2778),
        # mid-year change of 2022
        (RequestKind.ISSUE, dt.date(2022, 3, 31), 30630),
        (RequestKind.ISSUE, dt.date(2022, 4, 1), 31800),
        (RequestKind.DUPLICATE, dt.date(2026, 2, 2), 43250),
    ],
)
def test_fee_due(book: Rulebook, kind: RequestKind, day: dt.date, amount: int) -> None:
    edition = book.edition_for(day)
    due = fee_due(edition, kind, day, book.mci)
    assert due.amount == amount
    assert isinstance(due.amount, Decimal)
    assert due.mci_tenge * due.rate_mci == due.amount


def test_fee_status_is_the_weakest(book: Rulebook) -> None:
    std = book.edition("standard-2015")
    assert fee_due(std, RequestKind.ISSUE, dt.date(2016, 1, 1), book.mci).status is Status.VERIFIED
    assert (
        fee_due(std, RequestKind.ISSUE, dt.date(2017, 1, 1), book.mci).status
        is Status.RECONSTRUCTED  # the 2017 MCI is reconstructed
    )


def test_unknown_fee_is_an_error(book: Rulebook) -> None:
    edition = book.edition("rules-2025")
    fees = edition.fees.model_copy(update={"duplicate": FeeRate(status=Status.UNKNOWN)})
    edition = edition.model_copy(update={"fees": fees})
    assert rate_mci(edition, RequestKind.DUPLICATE) is None
    with pytest.raises(RulesError) as exc:
        fee_due(edition, RequestKind.DUPLICATE, dt.date(2026, 1, 5), book.mci)
    assert exc.value.code == "rules.fee_unknown"


def test_check_payment(book: Rulebook) -> None:
    due = fee_due(book.edition("rules-2025"), RequestKind.ISSUE, dt.date(2026, 3, 2), book.mci)
    ok = check_payment(due, 43250, "900101300017", "900101300017")
    assert (ok.status, ok.shortfall, ok.paid_by_other) == (PaymentStatus.PAID, Decimal(0), False)

    short = check_payment(due, Decimal("39320"), "900101300017", "900101300017")
    assert short.status is PaymentStatus.UNDERPAID
    assert short.shortfall == Decimal(3930)  # paid at the 2025 MCI

    other = check_payment(due, 43250, "940140000385", "900101300017")
    assert other.status is PaymentStatus.PAID_BY_OTHER and other.paid_by_other

    both = check_payment(due, 100, "940140000385", "900101300017")
    assert both.status is PaymentStatus.UNDERPAID and both.paid_by_other

    over = check_payment(due, "50000", None, "900101300017")
    assert over.status is PaymentStatus.PAID and over.overpaid == 6750

    spaced = check_payment(due, 43250, "9001 0130 0017", "900101300017")
    assert spaced.status is PaymentStatus.PAID

    with pytest.raises(ValueError):
        check_payment(due, -1, None, None)
