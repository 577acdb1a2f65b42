"""The rules of the service, by edition: data files plus a typed core that evaluates them.

The facts live in YAML under ``medlicense/rules/data`` (one file per edition, the MCI table,
calendar overrides, the working-time window) so the service's staff can read and correct
them; this package validates them on load and answers questions about them.
"""

from __future__ import annotations

from medlicense.rules import calendar, fees, identifiers
from medlicense.rules.calendar import (
    Deadline,
    StepDeadline,
    WorkingCalendar,
    add_working_days,
    is_working_day,
)
from medlicense.rules.evaluate import CompletenessVerdict, evaluate
from medlicense.rules.fees import FeeDue, PaymentCheck, PaymentStatus, check_payment, fee_due
from medlicense.rules.identifiers import IdCheck, check_bin, check_digit, check_id, check_iin
from medlicense.rules.loader import Rulebook, clear_cache, load_rulebook
from medlicense.rules.schema import (
    Condition,
    DocumentRequirement,
    Edition,
    Mode,
    RefusalGround,
    Status,
    Subtype,
    Terms,
    Unit,
)

__all__ = [
    "CompletenessVerdict",
    "Condition",
    "Deadline",
    "DocumentRequirement",
    "Edition",
    "FeeDue",
    "IdCheck",
    "Mode",
    "PaymentCheck",
    "PaymentStatus",
    "RefusalGround",
    "Rulebook",
    "Status",
    "StepDeadline",
    "Subtype",
    "Terms",
    "Unit",
    "WorkingCalendar",
    "add_working_days",
    "calendar",
    "check_bin",
    "check_digit",
    "check_id",
    "check_iin",
    "check_payment",
    "clear_cache",
    "evaluate",
    "fee_due",
    "fees",
    "identifiers",
    "is_working_day",
    "load_rulebook",
]
