"""IIN (ЖСН/ИИН) and BIN (БСН/БИН) validation.

Both are 12 digits; the 12th is a check digit over the first 11 (brief §11, [V]):

* ``s = Σ dᵢ·wᵢ`` with weights 1..11, ``c = s mod 11``;
* if ``c == 10`` recompute with weights 3, 4, …, 11, 1, 2;
* if it is still 10 the prefix cannot carry a valid number (``id.unusable_prefix``);
* otherwise ``c`` must equal digit 12.

Structure: an IIN starts with the birth date ``YYMMDD`` followed by a century/sex digit
(1/2 = 1800s, 3/4 = 1900s, 5/6 = 2000s; odd = male, even = female).  A BIN starts with the
registration ``YYMM``, then the entity type (4 resident, 5 non-resident, 6 joint individual
entrepreneurship) and the office type (0 head office, 1 branch, 2 representative office,
3 farm).  Digit 5 tells the two apart: in an IIN it is the tens digit of the day (0–3), in a
BIN it is the entity type (4–6).

Checks run in a fixed order so every number gets exactly one code: characters, length,
check digit, then structure.  A wrong last digit is therefore always ``id.checksum``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

IdKind = Literal["iin", "bin"]

WEIGHTS_FIRST: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
WEIGHTS_SECOND: tuple[int, ...] = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)

CENTURY_BY_DIGIT: dict[int, int] = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}
ENTITY_TYPES: dict[int, str] = {
    4: "resident",
    5: "non_resident",
    6: "joint_individual_entrepreneurship",
}
OFFICE_TYPES: dict[int, str] = {
    0: "head_office",
    1: "branch",
    2: "representative_office",
    3: "farm",
}

MESSAGES: dict[str, str] = {
    "id.not_digits": "contains characters other than digits",
    "id.length": "must be exactly 12 digits",
    "id.unusable_prefix": "the first 11 digits cannot carry a valid check digit",
    "id.checksum": "check digit does not match",
    "iin.century_sex": "digit 7 (century and sex) must be 1–6",
    "iin.birth_date": "digits 1–6 are not a valid birth date YYMMDD",
    "bin.month": "digits 3–4 are not a valid registration month",
    "bin.entity_type": "digit 5 (entity type) must be 4, 5 or 6",
    "bin.office_type": "digit 6 (office type) must be 0, 1, 2 or 3",
    "id.kind_mismatch": "the structure does not match the expected kind",
}


class IdCheck(BaseModel):
    """The result of checking one number; ``code`` is ``None`` exactly when ``valid``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str
    valid: bool
    kind: IdKind | None = None
    code: str | None = None
    message: str = "valid"
    # IIN structure
    birth_date: dt.date | None = None
    sex: Literal["male", "female"] | None = None
    # BIN structure
    registration_year: int | None = None
    registration_month: int | None = None
    entity_type: str | None = None
    office_type: str | None = None


_DIGITS = frozenset("0123456789")


def _weighted(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights, strict=True)) % 11


def check_digit(first11: str) -> int | None:
    """The check digit for an 11-digit prefix, or ``None`` if the prefix is unusable."""
    if len(first11) != 11 or not first11.isascii() or not first11.isdigit():
        raise ValueError(f"expected 11 digits, got {first11!r}")
    digits = [int(c) for c in first11]
    c = _weighted(digits, WEIGHTS_FIRST)
    if c == 10:
        c = _weighted(digits, WEIGHTS_SECOND)
        if c == 10:
            return None
    return c


def _fail(number: str, code: str, kind: IdKind | None = None, detail: str = "") -> IdCheck:
    message = MESSAGES[code] + (f" ({detail})" if detail else "")
    return IdCheck(number=number, valid=False, kind=kind, code=code, message=message)


def _format_and_checksum(number: str, kind: IdKind | None) -> IdCheck | None:
    """The first failing generic check, or ``None`` if the number is 12 digits with a good check."""
    if any(c not in _DIGITS for c in number):
        return _fail(number, "id.not_digits", kind)
    if len(number) != 12:
        return _fail(number, "id.length", kind, f"got {len(number)}")
    expected = check_digit(number[:11])
    if expected is None:
        return _fail(number, "id.unusable_prefix", kind)
    if expected != int(number[11]):
        return _fail(number, "id.checksum", kind, f"expected {expected}, got {number[11]}")
    return None


def checksum_valid(number: str) -> bool:
    """True when ``number`` is 12 digits whose last digit is the check digit of the first 11."""
    return _format_and_checksum(number, None) is None


def _normalise(s: str) -> str:
    return s.strip()


def _iin_structure(number: str) -> IdCheck:
    century_digit = int(number[6])
    if century_digit not in CENTURY_BY_DIGIT:
        return _fail(number, "iin.century_sex", "iin", f"got {century_digit}")
    year = CENTURY_BY_DIGIT[century_digit] + int(number[0:2])
    try:
        born = dt.date(year, int(number[2:4]), int(number[4:6]))
    except ValueError:
        return _fail(number, "iin.birth_date", "iin", f"{year}-{number[2:4]}-{number[4:6]}")
    return IdCheck(
        number=number,
        valid=True,
        kind="iin",
        birth_date=born,
        sex="male" if century_digit % 2 == 1 else "female",
    )


def _bin_year(yy: int, today: dt.date | None = None) -> int:
    """Two-digit registration year to four digits: not later than the current year."""
    current = (today or dt.date.today()).year
    year = 2000 + yy
    return year if year <= current else 1900 + yy


def _bin_structure(number: str) -> IdCheck:
    month = int(number[2:4])
    if not 1 <= month <= 12:
        return _fail(number, "bin.month", "bin", f"got {number[2:4]}")
    entity = int(number[4])
    if entity not in ENTITY_TYPES:
        return _fail(number, "bin.entity_type", "bin", f"got {entity}")
    office = int(number[5])
    if office not in OFFICE_TYPES:
        return _fail(number, "bin.office_type", "bin", f"got {office}")
    return IdCheck(
        number=number,
        valid=True,
        kind="bin",
        registration_year=_bin_year(int(number[0:2])),
        registration_month=month,
        entity_type=ENTITY_TYPES[entity],
        office_type=OFFICE_TYPES[office],
    )


def _looks_like_bin(number: str) -> bool:
    return number[4] in "456"


def check_iin(s: str) -> IdCheck:
    """Check ``s`` as an IIN (individual identification number)."""
    number = _normalise(s)
    failed = _format_and_checksum(number, "iin")
    if failed is not None:
        return failed
    if _looks_like_bin(number):
        return _fail(number, "id.kind_mismatch", "iin", "digit 5 marks a BIN")
    return _iin_structure(number)


def check_bin(s: str) -> IdCheck:
    """Check ``s`` as a BIN (business identification number)."""
    number = _normalise(s)
    failed = _format_and_checksum(number, "bin")
    if failed is not None:
        return failed
    return _bin_structure(number)


def check_id(s: str) -> IdCheck:
    """Check ``s`` as whichever of IIN or BIN its 5th digit says it is."""
    number = _normalise(s)
    failed = _format_and_checksum(number, None)
    if failed is not None:
        return failed
    return _bin_structure(number) if _looks_like_bin(number) else _iin_structure(number)
