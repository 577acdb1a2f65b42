"""The memo of asn1crypto's X.509 name preparation gives asn1crypto's own answers."""

from __future__ import annotations

from unittest import mock

import pytest
from asn1crypto import x509
from hypothesis import given, settings
from hypothesis import strategies as st

import signing.verify  # noqa: F401  (drives pyHanko: installs the speed-ups)
from signing import nameprep

# Strings X.509 names hold, and the characters RFC 4518 maps, folds or refuses:
# soft hyphens and joiners (removed), odd spaces (folded), compatibility forms
# (NFKC), private use and unassigned code points (refused), RTL letters (bidi).
_SPECIAL = (
    "\u00ad\u200b\u200d\u00a0\u3000\u2028\t\n  ﬁ①Ⅸ\ufb01\ue000\u0378\ufffd\U000e0041"
    "\u05d0\u0627\u0301Ωω"
)
_NAMEISH = st.text(
    alphabet=st.sampled_from("ҚқӘәҒғҢңӨөҰұҮүҺһІі АБВабвKZkz0123456789-.,«»\"'" + _SPECIAL),
    max_size=30,
)
_ANY = st.text(max_size=20)


def _reference(value: str) -> str | type[ValueError]:
    try:
        return nameprep._original(None, value)
    except ValueError:
        return ValueError


def _memoised(value: str) -> str | type[ValueError]:
    try:
        prepared: str = x509.NameTypeAndValue._ldap_string_prep(None, value)
    except ValueError:
        return ValueError
    return prepared


def test_the_signing_modules_install_the_memo() -> None:
    assert nameprep.installed()
    assert x509.NameTypeAndValue._ldap_string_prep is not nameprep._original


@settings(max_examples=300)
@given(st.one_of(_NAMEISH, _ANY))
def test_memo_prepares_as_asn1crypto_does(value: str) -> None:
    expected = _reference(value)
    # Twice: the first call fills the memo, the second is answered from it.
    assert _memoised(value) == expected
    assert _memoised(value) == expected


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name.build({"common_name": common_name, "organization_name": organisation})


@settings(max_examples=150)
@given(a=st.tuples(_NAMEISH, _NAMEISH), b=st.tuples(_NAMEISH, _NAMEISH))
def test_name_equality_is_unchanged(a: tuple[str, str], b: tuple[str, str]) -> None:
    def equal() -> bool | type[ValueError]:
        # Fresh objects each time: asn1crypto keeps a prepared value per object.
        try:
            return bool(_name(*a) == _name(*b))
        except ValueError:
            return ValueError

    memoised = equal()
    with mock.patch.object(x509.NameTypeAndValue, "_ldap_string_prep", nameprep._original):
        assert equal() == memoised


def test_equal_names_in_other_spellings_compare_equal_through_the_memo() -> None:
    # RFC 5280 §7.1: case, NFKC and insignificant spaces do not make names differ.
    nameprep.prepare.cache_clear()
    assert _name("Батыс  Қазақстан", "ТОО ﬁ") == _name(" батыс қазақстан ", "тоо fi")
    assert _name("Батыс", "A") != _name("Шығыс", "A")
    hits = nameprep.prepare.cache_info().hits
    assert _name("Батыс  Қазақстан", "ТОО ﬁ") == _name(" батыс қазақстан ", "тоо fi")
    assert nameprep.prepare.cache_info().hits >= hits + 4


def test_refused_strings_are_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError):
            x509.NameTypeAndValue._ldap_string_prep(None, "private \ue000 use")


def test_non_string_values_bypass_the_memo() -> None:
    # asn1crypto hands over whatever the value's native form is; only str is memoised.
    with pytest.raises(TypeError):
        x509.NameTypeAndValue._ldap_string_prep(None, b"bytes")
