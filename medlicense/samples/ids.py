"""IIN/BIN numbers with the Kazakh check digit (BRIEF section 11).

The generator needs valid numbers for clean packages and numbers with a wrong
check digit for the ``id.checksum`` fault, so both directions live here.
"""

from __future__ import annotations

import datetime as dt
import random

_FIRST_WEIGHTS = tuple(range(1, 12))
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(prefix: str) -> int | None:
    """Check digit for an 11-digit prefix, or ``None`` when no digit can be valid."""
    if len(prefix) != 11 or not prefix.isdigit():
        raise ValueError(f"need 11 digits, got {prefix!r}")
    digits = [int(ch) for ch in prefix]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        c = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if c != 10:
            return c
    return None


def is_valid(number: str) -> bool:
    if len(number) != 12 or not number.isdigit():
        return False
    return check_digit(number[:11]) == int(number[11])


def _complete(rng: random.Random, head: str) -> str:
    # Draw serial digits until the prefix admits a check digit; about 1 prefix in
    # 121 is unusable and must be skipped rather than "fixed".
    while True:
        prefix = head + "".join(rng.choice("0123456789") for _ in range(11 - len(head)))
        c = check_digit(prefix)
        if c is not None:
            return prefix + str(c)


def make_iin(rng: random.Random, birth: dt.date, *, female: bool) -> str:
    century = {18: 1, 19: 3, 20: 5}[birth.year // 100] + (1 if female else 0)
    return _complete(rng, birth.strftime("%y%m%d") + str(century))


def make_bin(rng: random.Random, registered: dt.date) -> str:
    # digit 5 = 4 (resident legal entity), digit 6 = 0 (head office)
    return _complete(rng, registered.strftime("%y%m") + "40")


def corrupt(number: str, rng: random.Random) -> str:
    """Same number with a different (hence wrong) final digit."""
    good = number[11]
    bad = rng.choice([d for d in "0123456789" if d != good])
    return number[:11] + bad
