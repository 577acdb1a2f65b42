"""The optional ECDSA P-256 signer: usable where the PDF/A level allows ECDSA."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from medlicense.errors import SigningError
from signing.pki import PkiPaths, init_pki
from signing.services import LocalPkiServices
from signing.signer import PdfSigner, SignatureLevel, StampSpec
from signing.verify import verify_pdf
from tests.signing.helpers import PASSPHRASE, PROVIDER_BIN, PROVIDER_NAME, make_pdf


@pytest.fixture(scope="module")
def ec_signer(dev_pki: PkiPaths, pki_services: LocalPkiServices) -> PdfSigner:
    return PdfSigner.from_pkcs12(
        dev_pki.signer_ec_p12,
        PASSPHRASE,
        tsa_url=pki_services.tsa_url,
        trust_roots=[dev_pki.root_cert],
    )


def test_ec_key_is_p256(dev_pki: PkiPaths) -> None:
    loaded = pkcs12.load_pkcs12(dev_pki.signer_ec_p12.read_bytes(), PASSPHRASE.encode())
    assert isinstance(loaded.key, ec.EllipticCurvePrivateKey)
    assert loaded.key.curve.name == "secp256r1"
    assert len(loaded.additional_certs) == 2  # issuing CA and root


@pytest.mark.parametrize("level", ["B-T", "B-LTA"])
def test_ecdsa_signs_and_verifies(
    ec_signer: PdfSigner,
    dev_pki: PkiPaths,
    nss_db: str,
    tmp_path: Path,
    level: SignatureLevel,
) -> None:
    signed = ec_signer.sign(
        make_pdf(),
        level=level,
        document_number="EC-1",
        stamp=StampSpec(),
    )
    report = verify_pdf(signed, trust_roots=[dev_pki.root_cert])
    assert report.valid, report.errors
    assert report.pades_level == level and report.document_number == "EC-1"
    path = tmp_path / "ec.pdf"
    path.write_bytes(signed)
    out = subprocess.run(
        ["pdfsig", "-nssdir", nss_db, str(path)], capture_output=True, text=True
    ).stdout
    assert "Signature is Valid" in out, out
    assert "Certificate is Trusted" in out, out


def test_ecdsa_refused_for_pdfa_3(ec_signer: PdfSigner, pdfa_document: bytes) -> None:
    with pytest.raises(SigningError) as info:
        ec_signer.sign(pdfa_document, document_number="EC-2")
    assert info.value.code == "signing.algorithm_not_allowed"


def test_ec_signer_added_to_existing_pki(tmp_path: Path) -> None:
    pki = init_pki(
        tmp_path / "pki", PASSPHRASE, provider_name=PROVIDER_NAME, provider_bin=PROVIDER_BIN
    )
    assert not pki.has_ecdsa_signer
    root = pki.root_cert.read_bytes()
    init_pki(
        tmp_path / "pki",
        PASSPHRASE,
        provider_name=PROVIDER_NAME,
        provider_bin=PROVIDER_BIN,
        ecdsa=True,
    )
    assert pki.has_ecdsa_signer
    assert pki.root_cert.read_bytes() == root  # same PKI, one more key
    signer = PdfSigner.from_pkcs12(
        pki.signer_ec_p12, PASSPHRASE, tsa_url=None, trust_roots=[pki.root_cert]
    )
    assert verify_pdf(signer.sign(make_pdf(), level="B-B"), trust_roots=[pki.root_cert]).valid
