"""A process-wide memo of asn1crypto's RFC 4518 string preparation for X.509 names.

certvalidator compares distinguished names all the time while it builds and
checks certificate paths (issuer against subject, ESS certificate ids, OCSP
responder and CRL issuer names), and asn1crypto compares two names by preparing
every attribute value (``NameTypeAndValue.prepped_value``: mapping, NFKC,
prohibited and bidirectional checks, space folding).  It remembers the result
only on the ``NameTypeAndValue`` object, and every signature or verification
parses the same few certificates anew, so the same handful of strings were
prepared ~400 times per license package: 3 ms of CPU per verification of a
B-T document, 8 ms of a B-LTA one (15,906 calls for 39 packages in
``benchmarks.profile``).

The preparation is a pure function of the string (the method never reads
``self``), so its results are kept here, process-wide, in a bounded LRU.
Strings it rejects (``ValueError``) are not memoised and are rejected again on
every call, exactly as before; values that are not ``str`` bypass the memo.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from asn1crypto.x509 import NameTypeAndValue

__all__ = ["install", "installed", "prepare"]

# Names in the certificates of one deployment are a few dozen strings; the bound
# only keeps a process that verifies arbitrary documents from growing without end.
MEMO_SIZE = 4096

_original: Callable[[Any, Any], str] = NameTypeAndValue._ldap_string_prep


@functools.lru_cache(maxsize=MEMO_SIZE)
def prepare(value: str) -> str:
    """asn1crypto's preparation of ``value``, computed once per distinct string."""
    return _original(None, value)


def _memoised(self: NameTypeAndValue, value: Any) -> str:
    if type(value) is str:
        return prepare(value)
    return _original(self, value)


def install() -> None:
    """Route every ``NameTypeAndValue`` through the memo (idempotent)."""
    NameTypeAndValue._ldap_string_prep = _memoised


def installed() -> bool:
    return NameTypeAndValue._ldap_string_prep is _memoised
