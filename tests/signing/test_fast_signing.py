"""What makes signing cheap does not make it weaker.

The self-check skips pyHanko's difference analysis over documents signed fresh,
and still refuses a broken signature, a bad or untrusted timestamp token, or a
level short of the one asked for.  Keys are parsed once, and the placeholder
size is estimated once per signer, not per signature."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from asn1crypto import tsp
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.signers.pdf_signer import PdfSigningSession

import signing.signer as signer_module
from medlicense.errors import SigningError, TimestampError
from signing.pki import PkiPaths
from signing.rfc3161 import QUERY_CONTENT_TYPE, REPLY_CONTENT_TYPE
from signing.services import LocalPkiServices
from signing.signer import (
    PdfSigner,
    SignatureLevel,
    StampSpec,
    _ParsedKeySigner,
    _require_sound,
)
from signing.trust import load_trust_roots
from signing.tsa import BinaryRequestHandler, LocalTSA, build_stamper
from signing.verify import VerificationReport, async_verify_with_roots, verify_pdf
from tests.signing.helpers import PASSPHRASE, make_pdf

LEVELS: tuple[SignatureLevel, ...] = ("B-B", "B-T", "B-LTA")
TIMESTAMPED: tuple[SignatureLevel, ...] = ("B-T", "B-LTA")

Hook = Callable[[tsp.TimeStampReq], tsp.TimeStampReq]
Tamper = Callable[[tsp.TimeStampResp], tsp.TimeStampResp]


@contextmanager
def _tsa(
    pki: PkiPaths, *, on_request: Hook | None = None, on_reply: Tamper | None = None
) -> Iterator[str]:
    """The dev TSA over HTTP, with its requests or replies altered on the way."""
    stamper = build_stamper(pki)

    class Handler(BinaryRequestHandler):
        def do_POST(self) -> None:
            body = self.read_body(QUERY_CONTENT_TYPE)
            if body is None:
                return
            request = tsp.TimeStampReq.load(body)
            if on_request is not None:
                request = on_request(request)
            reply = stamper.request_tsa_response(request)
            if on_reply is not None:
                reply = on_reply(reply)
            self.reply(REPLY_CONTENT_TYPE, reply.dump(force=True))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _corrupt_token_signature(reply: tsp.TimeStampResp) -> tsp.TimeStampResp:
    signer_info = reply["time_stamp_token"]["content"]["signer_infos"][0]
    value = bytearray(signer_info["signature"].native)
    value[len(value) // 2] ^= 0xFF
    signer_info["signature"] = bytes(value)
    return tsp.TimeStampResp.load(reply.dump(force=True))


def _imprint_of_other_data(request: tsp.TimeStampReq) -> tsp.TimeStampReq:
    altered = tsp.TimeStampReq.load(request.dump())
    digest = bytearray(altered["message_imprint"]["hashed_message"].native)
    digest[0] ^= 0xFF
    altered["message_imprint"]["hashed_message"] = bytes(digest)
    return tsp.TimeStampReq.load(altered.dump(force=True))


def _signer(pki: PkiPaths, tsa_url: str | None, **kwargs: Any) -> PdfSigner:
    return PdfSigner.from_pkcs12(
        pki.signer_p12, PASSPHRASE, tsa_url=tsa_url, trust_roots=[pki.root_cert], **kwargs
    )


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each self-check from now on: did it run pyHanko's difference analysis?"""
    seen: list[bool] = []
    original = async_verify_with_roots

    async def spy(data: bytes, roots: Any, *, analyse_modifications: bool = True) -> Any:
        seen.append(analyse_modifications)
        return await original(data, roots, analyse_modifications=analyse_modifications)

    monkeypatch.setattr(signer_module, "async_verify_with_roots", spy)
    return seen


# --- which self-check ---------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_fresh_document_is_self_checked_without_difference_analysis(
    pdf_signer: PdfSigner, dev_pki: PkiPaths, analysed: list[bool], level: SignatureLevel
) -> None:
    signed = pdf_signer.sign(make_pdf(), level=level)
    assert analysed == [False]
    # What verify reports (and downstream relies on) still includes the analysis.
    report = verify_pdf(signed, trust_roots=[dev_pki.root_cert])
    assert report.valid, report.errors
    assert report.pades_level == level
    assert report.modification_level in {"NONE", "LTA_UPDATES"}


def test_signed_document_is_self_checked_with_difference_analysis(
    pdf_signer: PdfSigner, signed_pdf: bytes, analysed: list[bool]
) -> None:
    # A second signature is a form fill-in for the first, a change the strict
    # policy does not accept after a signature; only the analysis can tell.
    with pytest.raises(SigningError) as info:
        pdf_signer.sign(signed_pdf, field_name="Signature2")
    assert info.value.code == "signing.self_check_failed"
    assert "verify.modified" in info.value.message
    assert analysed == [True]


# --- what the fast self-check still refuses ---------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_broken_signature_value_is_refused(
    pdf_signer: PdfSigner,
    analysed: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    level: SignatureLevel,
) -> None:
    original = _ParsedKeySigner.sign_raw

    def broken(self: _ParsedKeySigner, data: bytes, digest_algorithm: str) -> bytes:
        value = bytearray(original(self, data, digest_algorithm))
        value[len(value) // 2] ^= 0xFF
        return bytes(value)

    monkeypatch.setattr(_ParsedKeySigner, "sign_raw", broken)
    with pytest.raises(SigningError) as info:
        pdf_signer.sign(make_pdf(), level=level)
    assert info.value.code == "signing.self_check_failed"
    assert "verify.invalid_signature" in info.value.message
    assert analysed == [False]


@pytest.mark.parametrize("level", TIMESTAMPED)
def test_timestamp_token_with_a_broken_signature_is_refused(
    dev_pki: PkiPaths, pki_services: LocalPkiServices, analysed: list[bool], level: SignatureLevel
) -> None:
    with _tsa(dev_pki, on_reply=_corrupt_token_signature) as url:
        signer = _signer(dev_pki, url)
        with pytest.raises(TimestampError) as info:
            signer.sign(make_pdf(), level=level)
    assert info.value.code == "signing.tsa_invalid"
    assert "verify.timestamp_invalid" in info.value.message
    assert analysed == [False]


@pytest.mark.parametrize("level", TIMESTAMPED)
def test_timestamp_token_for_other_data_is_refused(
    dev_pki: PkiPaths, pki_services: LocalPkiServices, analysed: list[bool], level: SignatureLevel
) -> None:
    with _tsa(dev_pki, on_request=_imprint_of_other_data) as url:
        signer = _signer(dev_pki, url)
        with pytest.raises(TimestampError) as info:
            signer.sign(make_pdf(), level=level)
    assert info.value.code == "signing.tsa_invalid"
    assert analysed == [False]


def _fast_self_check(signed: bytes, pki: PkiPaths) -> VerificationReport:
    roots = load_trust_roots([pki.root_cert])
    return asyncio.run(async_verify_with_roots(signed, roots, analyse_modifications=False))


@pytest.mark.parametrize("level", TIMESTAMPED)
def test_token_from_an_untrusted_tsa_is_refused(
    dev_pki: PkiPaths,
    other_pki: PkiPaths,
    pki_services: LocalPkiServices,
    level: SignatureLevel,
) -> None:
    # pyHanko's pre-sign validation refuses a foreign TSA before the self-check
    # ever sees one (test_signer_errors); so make the document with a signer
    # that trusts it too, and self-check it against our roots only.
    with LocalTSA(other_pki) as foreign:
        lenient = PdfSigner.from_pkcs12(
            dev_pki.signer_p12,
            PASSPHRASE,
            tsa_url=foreign.url,
            trust_roots=[dev_pki.root_cert, other_pki.root_cert],
            self_check=False,
            revocation_mode="soft-fail",
        )
        signed = lenient.sign(make_pdf(), level=level)
    report = _fast_self_check(signed, dev_pki)
    assert not report.timestamp_valid
    with pytest.raises(TimestampError) as info:
        _require_sound(report, level)
    assert info.value.code == "signing.tsa_invalid"


def test_signature_not_chaining_to_our_roots_is_refused(
    signed_pdf: bytes, other_pki: PkiPaths
) -> None:
    report = _fast_self_check(signed_pdf, other_pki)
    assert not report.trusted
    with pytest.raises(SigningError) as info:
        _require_sound(report, "B-T")
    assert info.value.code == "signing.self_check_failed"


def test_level_short_of_the_one_asked_for_is_refused(signed_pdf: bytes, dev_pki: PkiPaths) -> None:
    report = _fast_self_check(signed_pdf, dev_pki)  # a sound B-T
    assert report.valid and report.pades_level == "B-T"
    _require_sound(report, "B-T")
    with pytest.raises(SigningError) as info:
        _require_sound(report, "B-LTA")
    assert info.value.code == "signing.self_check_failed"
    assert "verified as B-T" in info.value.message


# --- work done once per signer ----------------------------------------------------


def test_no_private_key_is_parsed_per_signature(
    pdf_signer: PdfSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both the signer and the dev TSA (same process, a server thread) held
    # pyHanko's DER key and parsed it for every signature and every token.
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("a private key was parsed while signing")

    monkeypatch.setattr(serialization, "load_der_private_key", refuse)
    signed = pdf_signer.sign(make_pdf(), level="B-LTA")
    assert signed.startswith(b"%PDF")


def test_placeholder_size_is_estimated_once_per_signer_and_kind(
    dev_pki: PkiPaths, pki_services: LocalPkiServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    estimates: list[int] = []
    original = PdfSigningSession.estimate_signature_container_size

    async def counting(self: PdfSigningSession, *args: Any, **kwargs: Any) -> int:
        size: int = await original(self, *args, **kwargs)
        estimates.append(size)
        return size

    monkeypatch.setattr(PdfSigningSession, "estimate_signature_container_size", counting)
    signer = _signer(dev_pki, pki_services.tsa_url)
    kinds: list[tuple[SignatureLevel, StampSpec | None]] = [
        ("B-T", None),
        ("B-LTA", StampSpec()),
        ("B-T", StampSpec()),
        ("B-LTA", None),
    ]
    documents = [
        signer.sign(make_pdf(f"doc {i}"), level=level, document_number=f"N-{i}", stamp=stamp)
        for i, (level, stamp) in enumerate(kinds)
    ]
    assert len(estimates) == 1  # one kind so far: with a timestamp token
    signer.sign(make_pdf(), level="B-B")
    signer.sign(make_pdf(), level="B-B")
    assert len(estimates) == 2  # without one, a smaller CMS
    assert estimates[1] < estimates[0]
    for signed in documents:
        assert verify_pdf(signed, trust_roots=[dev_pki.root_cert]).valid
