"""OCSP responder and CRL of the dev PKI; signing refuses revoked or unverifiable
signers; B-LTA documents verify offline from their embedded data."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from medlicense.errors import CertificateError
from signing.pki import PkiPaths, init_pki
from signing.revocation import revoke, unrevoke_all
from signing.services import LocalPkiServices
from signing.signer import PdfSigner
from signing.verify import verify_pdf
from tests.signing.helpers import PASSPHRASE, PROVIDER_BIN, PROVIDER_NAME, free_port, make_pdf


@pytest.fixture(scope="module")
def own_pki(tmp_path_factory: pytest.TempPathFactory) -> PkiPaths:
    """A PKI of its own: these tests revoke its signer and stop its services."""
    port = free_port()
    return init_pki(
        tmp_path_factory.mktemp("rev-pki"),
        PASSPHRASE,
        provider_name=PROVIDER_NAME,
        provider_bin=PROVIDER_BIN,
        services_url=f"http://127.0.0.1:{port}",
    )


def _port(pki: PkiPaths) -> int:
    cert = x509.load_pem_x509_certificate(pki.tsa_cert.read_bytes())
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    url = str(aia[0].access_location.value)
    return int(url.split(":")[2].split("/")[0])


@pytest.fixture
def services(own_pki: PkiPaths) -> Iterator[LocalPkiServices]:
    with LocalPkiServices(own_pki, PASSPHRASE, port=_port(own_pki)) as running:
        yield running
    unrevoke_all(own_pki)


def _signer_cert(pki: PkiPaths) -> x509.Certificate:
    from cryptography.hazmat.primitives.serialization import pkcs12

    loaded = pkcs12.load_pkcs12(pki.signer_p12.read_bytes(), PASSPHRASE.encode())
    assert loaded.cert is not None
    return loaded.cert.certificate


def _ocsp_status(
    services: LocalPkiServices, pki: PkiPaths, *, get: bool = False
) -> ocsp.OCSPResponse:
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(_signer_cert(pki), ca, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    if get:
        encoded = base64.b64encode(request).decode()
        reply = httpx.get(f"{services.ocsp_url}/{encoded}")
    else:
        reply = httpx.post(
            services.ocsp_url,
            content=request,
            headers={"Content-Type": "application/ocsp-request"},
        )
    assert reply.headers["Content-Type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(reply.content)


def test_certificates_point_at_the_services(own_pki: PkiPaths) -> None:
    cert = _signer_cert(own_pki)
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_method for d in aia] == [AuthorityInformationAccessOID.OCSP]
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    port = _port(own_pki)
    assert aia[0].access_location.value == f"http://127.0.0.1:{port}/ocsp"
    assert cdp[0].full_name[0].value == f"http://127.0.0.1:{port}/crl/ca.crl"


def test_ocsp_good_then_revoked(services: LocalPkiServices, own_pki: PkiPaths) -> None:
    good = _ocsp_status(services, own_pki)
    assert good.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert good.certificate_status == ocsp.OCSPCertStatus.GOOD
    responder = x509.load_pem_x509_certificate(own_pki.ocsp_cert.read_bytes())
    assert good.certificates == [responder]  # delegated responder, certificate included

    revoke(own_pki, _signer_cert(own_pki))
    for use_get in (False, True):
        revoked = _ocsp_status(services, own_pki, get=use_get)
        assert revoked.certificate_status == ocsp.OCSPCertStatus.REVOKED
        assert revoked.revocation_reason == x509.ReasonFlags.key_compromise


def test_crl_lists_revoked_serials(services: LocalPkiServices, own_pki: PkiPaths) -> None:
    ca = x509.load_pem_x509_certificate(own_pki.ca_cert.read_bytes())
    empty = x509.load_der_x509_crl(httpx.get(services.crl_url).content)
    assert empty.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert len(empty) == 0
    serial = _signer_cert(own_pki).serial_number
    revoke(own_pki, serial)
    crl = x509.load_der_x509_crl(httpx.get(services.crl_url).content)
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None


def test_ocsp_for_a_foreign_issuer_is_unauthorized(
    services: LocalPkiServices, own_pki: PkiPaths, other_pki: PkiPaths
) -> None:
    other_ca = x509.load_pem_x509_certificate(other_pki.ca_cert.read_bytes())
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(_signer_cert(own_pki), other_ca, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    reply = httpx.post(
        services.ocsp_url, content=request, headers={"Content-Type": "application/ocsp-request"}
    )
    status = ocsp.load_der_ocsp_response(reply.content).response_status
    assert status == ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_revoked_signer_is_refused(services: LocalPkiServices, own_pki: PkiPaths) -> None:
    signer = PdfSigner.from_pkcs12(
        own_pki.signer_p12,
        PASSPHRASE,
        tsa_url=services.tsa_url,
        trust_roots=[own_pki.root_cert],
        revocation_cache_seconds=0,
    )
    revoke(own_pki, signer.certificate)
    # Revoked after the key was loaded: without reuse, the very next signature asks.
    with pytest.raises(CertificateError) as info:
        signer.sign(make_pdf())
    assert info.value.code == "signing.cert_revoked"
    with pytest.raises(CertificateError) as info:
        PdfSigner.from_pkcs12(
            own_pki.signer_p12, PASSPHRASE, tsa_url=None, trust_roots=[own_pki.root_cert]
        )
    assert info.value.code == "signing.cert_revoked"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_revocation_is_noticed_when_the_reuse_window_ends(
    services: LocalPkiServices, own_pki: PkiPaths
) -> None:
    signer = PdfSigner.from_pkcs12(
        own_pki.signer_p12,
        PASSPHRASE,
        tsa_url=services.tsa_url,
        trust_roots=[own_pki.root_cert],
        revocation_cache_seconds=60,
    )
    clock = _Clock()
    signer.revocation_cache.clock = clock
    signer.revocation_cache.clear()  # what construction cached was on the real clock
    signer.sign(make_pdf())
    revoke(own_pki, signer.certificate)
    # Within the window the "good" answer of the last signature stands: the
    # documented price of reuse (signing.revinfo).
    clock.now += 59
    signer.sign(make_pdf())
    clock.now += 2
    with pytest.raises(CertificateError) as info:
        signer.sign(make_pdf())
    assert info.value.code == "signing.cert_revoked"


def test_revocation_seen_first_by_pyhanko_keeps_its_code(
    services: LocalPkiServices, own_pki: PkiPaths
) -> None:
    signer = PdfSigner.from_pkcs12(
        own_pki.signer_p12,
        PASSPHRASE,
        tsa_url=services.tsa_url,
        trust_roots=[own_pki.root_cert],
        revocation_cache_seconds=60,
    )
    clock = _Clock()
    signer.revocation_cache.clock = clock
    signer.revocation_cache.clear()
    signer.sign(make_pdf())  # answers kept from t=1000
    clock.now += 30
    signer.revocation_cache.chain_validated()  # the chain verdict from t=1030
    revoke(own_pki, signer.certificate)
    clock.now += 31
    # Our check is skipped (verdict 31 s old), the answers are stale (61 s), so
    # pyHanko's pre-sign validation asks and learns of the revocation itself.
    with pytest.raises(CertificateError) as info:
        signer.sign(make_pdf())
    assert info.value.code == "signing.cert_revoked"


def test_unreachable_responder_is_hard_fail(own_pki: PkiPaths) -> None:
    with pytest.raises(CertificateError) as info:
        PdfSigner.from_pkcs12(
            own_pki.signer_p12, PASSPHRASE, tsa_url=None, trust_roots=[own_pki.root_cert]
        )
    assert info.value.code == "signing.revocation_unavailable"
    # Soft-fail is an explicit choice, and only for levels without LTV evidence.
    soft = PdfSigner.from_pkcs12(
        own_pki.signer_p12,
        PASSPHRASE,
        tsa_url=None,
        trust_roots=[own_pki.root_cert],
        revocation_mode="soft-fail",
    )
    assert verify_pdf(soft.sign(make_pdf(), level="B-B"), trust_roots=[own_pki.root_cert]).valid


def test_b_lta_verifies_offline_from_embedded_data(own_pki: PkiPaths, tmp_path: Path) -> None:
    with LocalPkiServices(own_pki, PASSPHRASE, port=_port(own_pki)) as services:
        signer = PdfSigner.from_pkcs12(
            own_pki.signer_p12,
            PASSPHRASE,
            tsa_url=services.tsa_url,
            trust_roots=[own_pki.root_cert],
        )
        signed = signer.sign(make_pdf(), level="B-LTA", document_number="OFF-1")
    # Services are down now: nothing can be fetched, and nothing needs to be.
    report = verify_pdf(signed, trust_roots=[own_pki.root_cert])
    assert report.valid, report.errors
    assert report.pades_level == "B-LTA"
    assert report.revocation_checked
    assert b"/OCSPs" in signed  # the responder's answers travel in the DSS
