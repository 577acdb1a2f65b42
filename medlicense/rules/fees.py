"""License fees: the rate in MCI per request kind and the amount due in tenge.

The rate comes from the edition (``fees``); the MCI in tenge from ``mci.yaml`` for the
payment date.  Re-issue is a percentage of the issue rate with a cap (10 % of 10 MCI, capped at
4 MCI, i.e. 1 MCI); a duplicate is 100 % of the issue rate.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from medlicense.errors import RulesError
from medlicense.models import RequestKind
from medlicense.rules.schema import Edition, MciTable, Status

_ORDER = (Status.REGULATION, Status.VERIFIED, Status.RECONSTRUCTED, Status.UNKNOWN)


def weakest(*statuses: Status) -> Status:
    """The least certain of several statuses (regulation < verified < reconstructed)."""
    return max(statuses, key=_ORDER.index)


class FeeDue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    edition: str
    kind: RequestKind
    payment_date: dt.date
    rate_mci: Decimal
    mci_tenge: int
    amount: Decimal  # tenge
    status: Status  # the least certain of the rate and the MCI value


class PaymentStatus(StrEnum):
    PAID = "paid"
    UNDERPAID = "underpaid"
    PAID_BY_OTHER = "paid_by_other"


class PaymentCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: PaymentStatus
    due: Decimal
    paid: Decimal
    shortfall: Decimal  # 0 unless underpaid
    overpaid: Decimal  # 0 unless more than due was paid
    paid_by_other: bool  # also set when underpaid by someone else
    message: str


def rate_mci(edition: Edition, kind: RequestKind) -> Decimal | None:
    """The fee of ``kind`` in MCI under ``edition``; None when the data says unknown."""
    rate = edition.fees.rate(kind)
    if rate.status is Status.UNKNOWN:
        return None
    if rate.mci is not None:
        return rate.mci
    issue = edition.fees.issue.mci
    if issue is None or rate.percent_of_issue is None:
        return None
    value = issue * rate.percent_of_issue / Decimal(100)
    if rate.cap_mci is not None:
        value = min(value, rate.cap_mci)
    return value


def mci_on(day: dt.date, table: MciTable | None = None) -> tuple[int, Status]:
    """The MCI in tenge in force on ``day`` and the status of that value."""
    if table is None:
        from medlicense.rules.loader import load_rulebook

        table = load_rulebook().mci
    if day < table.periods[0].start or day > table.known_until:
        raise RulesError(
            f"the MCI for {day} is not in mci.yaml (covers {table.periods[0].start} "
            f"to {table.known_until})",
            code="rules.mci_unknown",
        )
    current = table.periods[0]
    for period in table.periods:
        if period.start <= day:
            current = period
    if current.tenge is None:
        raise RulesError(f"the MCI for {day} is marked unknown", code="rules.mci_unknown")
    return current.tenge, current.status


def fee_due(
    edition: Edition, kind: RequestKind, payment_date: dt.date, mci: MciTable | None = None
) -> FeeDue:
    """The fee for ``kind`` paid on ``payment_date`` (MCI of the payment date)."""
    rate = rate_mci(edition, kind)
    if rate is None:
        raise RulesError(
            f"the {kind.value} fee is unknown in edition {edition.id}", code="rules.fee_unknown"
        )
    tenge, mci_status = mci_on(payment_date, mci)
    fee = edition.fees.rate(kind)
    status = weakest(fee.status, edition.fees.issue.status, mci_status)
    return FeeDue(
        edition=edition.id,
        kind=kind,
        payment_date=payment_date,
        rate_mci=rate,
        mci_tenge=tenge,
        amount=rate * tenge,
        status=status,
    )


def _same_payer(payer_id: str | None, applicant_id: str | None) -> bool:
    if not payer_id or not applicant_id:
        return True  # cannot tell: do not accuse anyone
    return "".join(payer_id.split()) == "".join(applicant_id.split())


def check_payment(
    due: FeeDue | Decimal | int,
    paid_amount: Decimal | int | str,
    payer_id: str | None,
    applicant_id: str | None,
) -> PaymentCheck:
    """Compare a payment with the fee due.

    ``underpaid`` wins over ``paid_by_other`` (the shortfall blocks; who paid is then
    reported through ``paid_by_other``).  An unknown payer or applicant is not "other".
    """
    amount_due = due.amount if isinstance(due, FeeDue) else Decimal(due)
    paid = Decimal(str(paid_amount)) if not isinstance(paid_amount, Decimal) else paid_amount
    if paid < 0:
        raise ValueError("paid amount must not be negative")
    shortfall = max(amount_due - paid, Decimal(0))
    overpaid = max(paid - amount_due, Decimal(0))
    other = not _same_payer(payer_id, applicant_id)
    if shortfall > 0:
        status = PaymentStatus.UNDERPAID
        message = f"underpaid by {shortfall} tenge (due {amount_due}, paid {paid})"
    elif other:
        status = PaymentStatus.PAID_BY_OTHER
        message = f"paid by {payer_id}, not by the applicant {applicant_id}"
    else:
        status = PaymentStatus.PAID
        message = f"paid {paid} tenge of {amount_due} due"
    if other and status is PaymentStatus.UNDERPAID:
        message += f"; paid by {payer_id}, not by the applicant {applicant_id}"
    return PaymentCheck(
        status=status,
        due=amount_due,
        paid=paid,
        shortfall=shortfall,
        overpaid=overpaid,
        paid_by_other=other,
        message=message,
    )
