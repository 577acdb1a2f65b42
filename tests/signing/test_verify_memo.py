"""Remembered verification reports: the same bytes against the same roots, for a while."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from asn1crypto import x509 as asn1_x509
from hypothesis import given, settings
from hypothesis import strategies as st

from medlicense.settings import get_settings
from signing import verify
from signing.pki import PkiPaths
from signing.signer import PdfSigner
from signing.trust import load_trust_roots
from signing.verify import ReportKey, ReportMemo, VerificationReport, verify_pdf
from tests.signing.helpers import append_text_after_signature, make_pdf

TTL = 300.0


@dataclass
class Clock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Memo:
    memo: ReportMemo
    clock: Clock
    verified: list[bool]  # analyse_modifications of every verification actually done


@pytest.fixture
def memo(monkeypatch: pytest.MonkeyPatch) -> Iterator[Memo]:
    """A fresh process-wide memo on a test clock, counting real verifications."""
    clock = Clock()
    fresh = ReportMemo(ttl=TTL, clock=clock)
    monkeypatch.setattr(verify, "REPORTS", fresh)
    verified: list[bool] = []
    original = verify._verify

    async def counting(
        data: bytes, roots: list[asn1_x509.Certificate], analyse: bool
    ) -> VerificationReport:
        verified.append(analyse)
        return await original(data, roots, analyse)

    monkeypatch.setattr(verify, "_verify", counting)
    yield Memo(fresh, clock, verified)


def test_same_bytes_same_roots_verified_once(
    memo: Memo, signed_pdf: bytes, dev_pki: PkiPaths
) -> None:
    first = verify_pdf(signed_pdf, trust_roots=[dev_pki.root_cert])
    second = verify_pdf(signed_pdf, trust_roots=[dev_pki.root_cert])
    assert first.valid
    assert second is first
    assert memo.verified == [True]


def test_a_tampered_copy_is_verified_afresh(
    memo: Memo, signed_pdf: bytes, dev_pki: PkiPaths
) -> None:
    roots = [dev_pki.root_cert]
    assert verify_pdf(signed_pdf, trust_roots=roots).valid
    tampered = append_text_after_signature(signed_pdf)
    report = verify_pdf(tampered, trust_roots=roots)
    assert not report.valid
    assert "verify.modified" in {e.code for e in report.errors}
    # One flipped byte inside the signed range: another digest, another verdict.
    flipped = bytearray(signed_pdf)
    flipped[signed_pdf.index(b"MARKER-SIGNED-CONTENT")] ^= 0x01
    assert not verify_pdf(bytes(flipped), trust_roots=roots).valid
    assert memo.verified == [True, True, True]


def test_refusals_are_not_remembered(memo: Memo, signed_pdf: bytes, dev_pki: PkiPaths) -> None:
    tampered = append_text_after_signature(signed_pdf)
    for _ in range(2):
        assert not verify_pdf(tampered, trust_roots=[dev_pki.root_cert]).valid
    assert memo.verified == [True, True]
    assert len(memo.memo) == 0


def test_other_roots_are_verified_afresh(
    memo: Memo, signed_pdf: bytes, dev_pki: PkiPaths, other_pki: PkiPaths
) -> None:
    assert verify_pdf(signed_pdf, trust_roots=[dev_pki.root_cert]).valid
    report = verify_pdf(signed_pdf, trust_roots=[other_pki.root_cert])
    assert not report.valid and not report.trusted
    assert verify_pdf(signed_pdf, trust_roots=[other_pki.root_cert, dev_pki.root_cert]).valid
    assert memo.verified == [True, True, True]
    # The same set of roots, in another order or repeated, is the same question.
    again = verify_pdf(
        signed_pdf, trust_roots=[dev_pki.root_cert, other_pki.root_cert, dev_pki.root_cert]
    )
    assert again.valid and len(memo.verified) == 3


def test_an_analysed_report_answers_a_query_without_analysis_never_the_reverse(
    memo: Memo, signed_pdf: bytes, dev_pki: PkiPaths
) -> None:
    roots = [dev_pki.root_cert]
    quick = verify_pdf(signed_pdf, trust_roots=roots, analyse_modifications=False)
    full = verify_pdf(signed_pdf, trust_roots=roots, analyse_modifications=True)
    assert quick.valid and full.valid and full is not quick
    assert memo.verified == [False, True]
    memo.memo.clear()
    full = verify_pdf(signed_pdf, trust_roots=roots, analyse_modifications=True)
    assert verify_pdf(signed_pdf, trust_roots=roots, analyse_modifications=False) is full
    assert memo.verified == [False, True, True]


def test_reports_age_out(memo: Memo, signed_pdf: bytes, dev_pki: PkiPaths) -> None:
    roots = [dev_pki.root_cert]
    first = verify_pdf(signed_pdf, trust_roots=roots)
    memo.clock.now += TTL - 1
    assert verify_pdf(signed_pdf, trust_roots=roots) is first
    memo.clock.now += 1
    assert verify_pdf(signed_pdf, trust_roots=roots) is not first
    assert memo.verified == [True, True]


def test_a_zero_window_disables_the_memo(memo: Memo, signed_pdf: bytes, dev_pki: PkiPaths) -> None:
    memo.memo.ttl_override = 0
    for _ in range(2):
        assert verify_pdf(signed_pdf, trust_roots=[dev_pki.root_cert]).valid
    assert memo.verified == [True, True]
    assert len(memo.memo) == 0


def test_the_window_is_the_revocation_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLICENSE_REVOCATION_CACHE_SECONDS", "42")
    get_settings.cache_clear()
    try:
        assert ReportMemo().ttl == 42
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert verify.REPORTS.ttl == get_settings().revocation_cache_seconds


def test_publishing_reuses_the_signers_self_check(
    memo: Memo, pdf_signer: PdfSigner, dev_pki: PkiPaths
) -> None:
    # What the pipeline does: sign (self-check without the difference analysis,
    # the document being fresh), then publish.py verifies the very same bytes.
    signed = pdf_signer.sign(make_pdf(), document_number="KZ-0042")
    assert memo.verified == [False]
    report = verify_pdf(signed, trust_roots=[dev_pki.root_cert], analyse_modifications=False)
    assert report.valid and report.document_number == "KZ-0042"
    assert memo.verified == [False]


def test_async_callers_share_the_memo(memo: Memo, signed_pdf: bytes, dev_pki: PkiPaths) -> None:
    roots = load_trust_roots([dev_pki.root_cert])

    async def twice() -> tuple[VerificationReport, VerificationReport]:
        first = await verify.async_verify_with_roots(signed_pdf, roots)
        return first, await verify.async_verify_with_roots(signed_pdf, roots)

    first, second = asyncio.run(twice())
    assert first is second and memo.verified == [True]


# --- the memo on its own, against a model -----------------------------------------------


def _report(valid: bool, tag: int) -> VerificationReport:
    return VerificationReport(valid=valid, signatures=tag)


# operation, document, trust roots, analyse_modifications, valid, seconds of a "tick"
Op = tuple[str, int, frozenset[int], bool, bool, float]
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["put", "get", "tick"]),
        st.integers(0, 2),
        st.frozensets(st.integers(0, 2), max_size=2),
        st.booleans(),
        st.booleans(),
        st.floats(0, 200),
    ),
    max_size=40,
)


@settings(max_examples=300)
@given(ops=_OPS, limit=st.integers(1, 6))
def test_memo_answers_as_the_rules_say(ops: list[Op], limit: int) -> None:
    clock = Clock()
    memo = ReportMemo(limit=limit, ttl=TTL, clock=clock)
    # Model: (document, roots, analysed) -> (stored at, report), in insertion/use order.
    model: dict[tuple[int, frozenset[int], bool], tuple[float, VerificationReport]] = {}
    for n, (op, doc, roots, analyse, valid, step) in enumerate(ops):
        key = ReportKey(digest=bytes([doc]), roots=frozenset(bytes([r]) for r in roots))
        if op == "tick":
            clock.now += step
        elif op == "put":
            report = _report(valid, n)
            memo.put(key, analyse, report)
            if valid:
                model.pop((doc, roots, analyse), None)
                model[(doc, roots, analyse)] = (clock.now, report)
                while len(model) > limit:
                    model.pop(next(iter(model)))
        else:
            expected = None
            for analysed in (True,) if analyse else (False, True):
                entry = model.get((doc, roots, analysed))
                if entry is None:
                    continue
                if clock.now - entry[0] < TTL:
                    expected = entry[1]
                    model[(doc, roots, analysed)] = model.pop((doc, roots, analysed))
                    break
                del model[(doc, roots, analysed)]
            got = memo.get(key, analyse)
            assert got is expected
            assert got is None or got.valid
        assert len(memo) == len(model) <= limit
