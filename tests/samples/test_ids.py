from __future__ import annotations

import datetime as dt
import random

from hypothesis import given
from hypothesis import strategies as st

from medlicense.samples import ids


def test_known_numbers() -> None:
    # 12345678901: weights 1..11 give 296 mod 11 = 10, so the second pass
    # (weights 3..11, 1, 2) decides: 377 mod 11 = 3.
    assert ids.check_digit("12345678901") == 3
    assert ids.is_valid("123456789013")
    assert not ids.is_valid("123456789010")
    # 00000000001: 11 mod 11 = 0 on the first pass.
    assert ids.check_digit("00000000001") == 0
    assert not ids.is_valid("12345")


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_check_digit_is_unique(prefix: str) -> None:
    c = ids.check_digit(prefix)
    valid = [d for d in range(10) if ids.is_valid(prefix + str(d))]
    assert valid == ([] if c is None else [c])


@given(st.integers(0, 2**32), st.dates(dt.date(1930, 1, 1), dt.date(2009, 12, 31)), st.booleans())
def test_made_numbers_are_valid(seed: int, birth: dt.date, female: bool) -> None:
    rng = random.Random(seed)
    iin = ids.make_iin(rng, birth, female=female)
    assert ids.is_valid(iin)
    assert iin[:6] == birth.strftime("%y%m%d")
    assert iin[6] in ("4" if female else "3", "6" if female else "5")
    bin_ = ids.make_bin(rng, birth)
    assert ids.is_valid(bin_) and bin_[4:6] == "40"
    assert not ids.is_valid(ids.corrupt(iin, rng))
