"""OCSP answers and CRLs are reused across signatures for a bounded window, and
only answers that are positive and stay current; B-LTA documents built from
reused answers still verify offline."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from io import BytesIO

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

from signing.pki import PkiPaths
from signing.revinfo import MIN_REMAINING_VALIDITY, RevocationCache
from signing.revocation import OCSP_VALIDITY, RevocationAuthority, revoke, unrevoke_all
from signing.services import LocalPkiServices
from signing.signer import PdfSigner
from signing.verify import verify_pdf
from tests.signing.helpers import PASSPHRASE, make_pdf

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ocsp_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every OCSP request the local responder answers from now on."""
    seen: list[bytes] = []
    original = RevocationAuthority.ocsp_response

    def counting(self: RevocationAuthority, request_der: bytes, **kwargs: object) -> bytes:
        seen.append(request_der)
        return original(self, request_der, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RevocationAuthority, "ocsp_response", counting)
    yield seen


def _signer(pki: PkiPaths, services: LocalPkiServices, window: float) -> PdfSigner:
    return PdfSigner.from_pkcs12(
        pki.signer_p12,
        PASSPHRASE,
        tsa_url=services.tsa_url,
        trust_roots=[pki.root_cert],
        revocation_cache_seconds=window,
    )


# --- through the signer -----------------------------------------------------------


def test_without_a_window_every_signature_asks_the_responder(
    dev_pki: PkiPaths, pki_services: LocalPkiServices, ocsp_requests: list[bytes]
) -> None:
    signer = _signer(dev_pki, pki_services, 0)
    signer.sign(make_pdf())
    ocsp_requests.clear()
    signer.sign(make_pdf())
    # The signer certificate (our check, then pyHanko's) and the TSA certificate.
    assert len(ocsp_requests) >= 3


def test_within_the_window_answers_are_reused(
    dev_pki: PkiPaths, pki_services: LocalPkiServices, ocsp_requests: list[bytes]
) -> None:
    signer = _signer(dev_pki, pki_services, 60)
    signer.sign(make_pdf())
    ocsp_requests.clear()
    for level in ("B-B", "B-T", "B-LTA"):
        signer.sign(make_pdf(), level=level)
    assert ocsp_requests == []
    later = _Clock()
    later.now = time.monotonic() + 61  # past the window of every entry
    signer.revocation_cache.clock = later
    signer.sign(make_pdf())
    assert len(ocsp_requests) >= 2  # signer and TSA certificates, asked afresh


def _dss_ocsps(signed: bytes) -> set[bytes]:
    dss = DocumentSecurityStore.read_dss(PdfFileReader(BytesIO(signed)))
    return {response.get_object().data for response in dss.ocsps}


def test_b_lta_from_reused_answers_verifies_offline(
    dev_pki: PkiPaths, pki_services: LocalPkiServices, ocsp_requests: list[bytes]
) -> None:
    signer = _signer(dev_pki, pki_services, 60)
    first = signer.sign(make_pdf("first"), level="B-LTA")
    ocsp_requests.clear()
    second = signer.sign(make_pdf("second"), level="B-LTA")
    assert ocsp_requests == []
    # The second document carries the very answers fetched for the first one...
    assert _dss_ocsps(second) == _dss_ocsps(first) != set()
    # ...and they prove its signer unrevoked at its own signature timestamp,
    # from the document alone (verify_pdf never fetches).
    report = verify_pdf(second, trust_roots=[dev_pki.root_cert])
    assert report.valid, report.errors
    assert report.pades_level == "B-LTA"
    assert report.revocation_checked


# --- the cache itself -------------------------------------------------------------


def _authority_and_request(pki: PkiPaths) -> tuple[RevocationAuthority, bytes, x509.Certificate]:
    loaded = pkcs12.load_pkcs12(pki.signer_p12.read_bytes(), PASSPHRASE.encode())
    assert loaded.cert is not None
    cert = loaded.cert.certificate
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, ca, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    return RevocationAuthority(pki, PASSPHRASE), request, cert


def _answer(pki: PkiPaths, *, now: dt.datetime = NOW) -> asn1_ocsp.OCSPResponse:
    authority, request, _cert = _authority_and_request(pki)
    return asn1_ocsp.OCSPResponse.load(authority.ocsp_response(request, now=now))


def test_good_answer_is_kept_for_the_window_only(dev_pki: PkiPaths) -> None:
    clock = _Clock()
    cache = RevocationCache(30, clock=clock)
    answer = _answer(dev_pki)
    cache.put_ocsp("signer", answer)
    clock.now += 29
    assert cache.get_ocsp("signer") is answer
    clock.now += 1
    assert cache.get_ocsp("signer") is None


def test_answer_about_to_lapse_is_not_kept(dev_pki: PkiPaths) -> None:
    cache = RevocationCache(300)
    # The cache reads the real clock: measure from now, not from when the module was
    # imported (a long suite runs this minutes later).
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Issued so long ago that its nextUpdate is closer than the required margin.
    lapsing = now - OCSP_VALIDITY + MIN_REMAINING_VALIDITY - dt.timedelta(seconds=5)
    cache.put_ocsp("signer", _answer(dev_pki, now=lapsing))
    assert cache.get_ocsp("signer") is None
    comfortable = lapsing + dt.timedelta(minutes=5)
    cache.put_ocsp("signer", _answer(dev_pki, now=comfortable))
    assert cache.get_ocsp("signer") is not None


def test_revoked_or_unsuccessful_answers_are_not_kept(dev_pki: PkiPaths) -> None:
    cache = RevocationCache(300)
    authority, request, cert = _authority_and_request(dev_pki)
    revoke(dev_pki, cert)
    try:
        revoked = asn1_ocsp.OCSPResponse.load(authority.ocsp_response(request))
    finally:
        unrevoke_all(dev_pki)
    assert (
        revoked.basic_ocsp_response["tbs_response_data"]["responses"][0]["cert_status"].name
        == "revoked"
    )
    cache.put_ocsp("signer", revoked)
    assert cache.get_ocsp("signer") is None
    malformed = asn1_ocsp.OCSPResponse.load(authority.ocsp_response(b"not a request"))
    assert malformed["response_status"].native == "malformed_request"
    cache.put_ocsp("garbage", malformed)
    assert cache.get_ocsp("garbage") is None


def test_crls_are_kept_while_current(dev_pki: PkiPaths) -> None:
    clock = _Clock()
    cache = RevocationCache(30, clock=clock)
    authority = RevocationAuthority(dev_pki, PASSPHRASE)
    current = asn1_crl.CertificateList.load(authority.crl())
    cache.put_crls("ca", [current])
    assert cache.get_crls("ca") == [current]
    stale = asn1_crl.CertificateList.load(authority.crl(now=NOW - dt.timedelta(days=1)))
    cache.put_crls("stale", [current, stale])
    assert cache.get_crls("stale") is None
    clock.now += 30
    assert cache.get_crls("ca") is None


def test_zero_window_keeps_nothing(dev_pki: PkiPaths) -> None:
    cache = RevocationCache(0)
    assert not cache.enabled
    cache.put_ocsp("signer", _answer(dev_pki))
    cache.chain_validated()
    assert cache.get_ocsp("signer") is None
    assert not cache.chain_recently_valid()


def test_chain_verdict_follows_the_window() -> None:
    clock = _Clock()
    cache = RevocationCache(10, clock=clock)
    assert not cache.chain_recently_valid()
    cache.chain_validated()
    clock.now += 9.9
    assert cache.chain_recently_valid()
    clock.now += 0.1
    assert not cache.chain_recently_valid()


def test_negative_window_is_refused() -> None:
    with pytest.raises(ValueError):
        RevocationCache(-1)
