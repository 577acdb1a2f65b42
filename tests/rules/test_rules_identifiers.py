from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from medlicense.rules import check_bin, check_digit, check_id, check_iin
from medlicense.rules.identifiers import checksum_valid

prefixes = st.text(alphabet="0123456789", min_size=11, max_size=11)


def reference_check_digit(first11: str) -> int | None:
    """The algorithm written out independently from the brief (§11)."""
    d = [int(c) for c in first11]
    c = sum(x * (i + 1) for i, x in enumerate(d)) % 11
    if c == 10:
        weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
        c = sum(x * w for x, w in zip(d, weights, strict=True)) % 11
    return None if c == 10 else c


@given(prefixes)
def test_check_digit_matches_reference(prefix: str) -> None:
    assert check_digit(prefix) == reference_check_digit(prefix)


@given(prefixes)
def test_computed_check_digit_validates(prefix: str) -> None:
    c = check_digit(prefix)
    if c is None:
        for last in "0123456789":
            assert check_id(prefix + last).code == "id.unusable_prefix"
        return
    number = prefix + str(c)
    assert checksum_valid(number)
    assert check_id(number).code not in {"id.checksum", "id.unusable_prefix", "id.length"}


@given(prefixes, st.integers(min_value=0, max_value=9))
def test_any_other_last_digit_fails(prefix: str, last: int) -> None:
    c = check_digit(prefix)
    assume(c is not None and c != last)
    number = prefix + str(last)
    assert not checksum_valid(number)
    for check in (check_id, check_iin, check_bin):
        result = check(number)
        assert not result.valid
        assert result.code == "id.checksum"


@given(
    st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2099, 12, 31)),
    st.sampled_from(["male", "female"]),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)
def test_any_real_birth_date_round_trips(born: dt.date, sex: str, serial: str) -> None:
    century = {1800: 1, 1900: 3, 2000: 5}[born.year // 100 * 100] + (sex == "female")
    prefix = born.strftime("%y%m%d") + str(century) + serial
    c = check_digit(prefix)
    assume(c is not None)
    result = check_iin(prefix + str(c))
    assert result.valid, result
    assert (result.kind, result.birth_date, result.sex) == ("iin", born, sex)
    assert check_id(prefix + str(c)) == result


@given(
    st.integers(min_value=0, max_value=99),
    st.integers(min_value=1, max_value=12),
    st.sampled_from("456"),
    st.sampled_from("0123"),
    st.text(alphabet="0123456789", min_size=5, max_size=5),
)
def test_any_bin_structure_round_trips(yy: int, mm: int, ent: str, off: str, serial: str) -> None:
    prefix = f"{yy:02d}{mm:02d}{ent}{off}{serial}"
    c = check_digit(prefix)
    assume(c is not None)
    result = check_bin(prefix + str(c))
    assert result.valid and result.kind == "bin"
    assert result.registration_month == mm
    assert result.registration_year is not None and result.registration_year % 100 == yy
    assert check_id(prefix + str(c)) == result


# Real-format examples. The BINs of the first block are published numbers of large companies.
EXAMPLES = [
    # number, valid, kind, code, structure
    ("940140000385", True, "bin", None, {"registration_year": 1994, "registration_month": 1}),
    ("971240001315", True, "bin", None, {"registration_month": 12, "entity_type": "resident"}),
    ("081140000436", True, "bin", None, {"registration_year": 2008, "office_type": "head_office"}),
    ("051240900015", True, "bin", None, {"registration_year": 2005}),
    ("900101300017", True, "iin", None, {"birth_date": dt.date(1990, 1, 1), "sex": "male"}),
    ("851231402345", True, "iin", None, {"birth_date": dt.date(1985, 12, 31), "sex": "female"}),
    ("000229600123", True, "iin", None, {"birth_date": dt.date(2000, 2, 29), "sex": "female"}),
    ("750615200111", True, "iin", None, {"birth_date": dt.date(1875, 6, 15), "sex": "female"}),
    ("051030501234", True, "iin", None, {"birth_date": dt.date(2005, 10, 30), "sex": "male"}),
    ("900101300125", False, None, "id.checksum", {}),
    ("010229500674", False, "iin", "iin.birth_date", {}),  # 29 Feb 2001 does not exist
    ("991231800114", False, "iin", "iin.century_sex", {}),
    ("920430000010", False, "iin", "iin.century_sex", {}),
    ("991340000126", False, "bin", "bin.month", {}),
    ("051247000016", False, "bin", "bin.office_type", {}),
    ("880131601230", False, None, "id.unusable_prefix", {}),
    ("880131601237", False, None, "id.unusable_prefix", {}),
    ("90010130001", False, None, "id.length", {}),
    ("9001013000170", False, None, "id.length", {}),
    ("", False, None, "id.length", {}),
    ("90010130001X", False, None, "id.not_digits", {}),
    ("9001 0130 0017", False, None, "id.not_digits", {}),
    ("９００１０１３０００１７", False, None, "id.not_digits", {}),  # full-width digits
]


@pytest.mark.parametrize(("number", "valid", "kind", "code", "structure"), EXAMPLES)
def test_examples(
    number: str, valid: bool, kind: str | None, code: str | None, structure: dict[str, object]
) -> None:
    result = check_id(number)
    assert (result.valid, result.kind, result.code) == (valid, kind, code)
    assert (result.code is None) == result.valid
    for field, value in structure.items():
        assert getattr(result, field) == value


def test_kind_specific_checks() -> None:
    assert check_bin("900101300017").code == "bin.entity_type"
    assert check_iin("940140000385").code == "id.kind_mismatch"
    assert check_iin(" 900101300017 ").valid  # surrounding spaces are tolerated


def test_check_digit_rejects_bad_input() -> None:
    for bad in ("", "1234567890", "123456789012", "1234567890a"):
        with pytest.raises(ValueError):
            check_digit(bad)


def test_result_is_frozen() -> None:
    result = check_id("900101300017")
    with pytest.raises(ValueError):
        result.valid = False  # type: ignore[misc]
