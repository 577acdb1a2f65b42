"""Every outgoing document type, signed by its profile, checked by four tools:
our verifier, poppler's pdfsig (NSS, dev root trusted, OCSP live), qpdf --check
and the pdftotext round trip of the Kazakh and Russian text and of the stamp."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from signing.pki import PkiPaths
from signing.profiles import profile_for
from signing.signer import PdfSigner
from signing.verify import verify_pdf
from templates import SIGNATURE_AREA
from tests.signing.helpers import BODY_KK, BODY_RU, PROVIDER_BIN, PROVIDER_NAME, pdftotext

DOCUMENT_TYPES = ("receipt", "refusal", "license", "appendix", "reissued", "duplicate")


@pytest.fixture(scope="module", params=DOCUMENT_TYPES)
def signed_document(
    request: pytest.FixtureRequest,
    pdf_signer: PdfSigner,
    pdfa_document: bytes,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, Path]:
    document_type: str = request.param
    number = f"{document_type.upper()}-0042"
    signed = pdf_signer.sign_document(
        pdfa_document, document_type=document_type, document_number=number
    )
    path = tmp_path_factory.mktemp(document_type) / f"{document_type}.pdf"
    path.write_bytes(signed)
    return document_type, path


def test_our_verifier(signed_document: tuple[str, Path], dev_pki: PkiPaths) -> None:
    document_type, path = signed_document
    report = verify_pdf(path.read_bytes(), trust_roots=[dev_pki.root_cert])
    assert report.valid, report.errors
    assert report.pades_level == profile_for(document_type).level
    assert report.document_number == f"{document_type.upper()}-0042"
    assert report.signer is not None and f"serialNumber=BIN{PROVIDER_BIN}" in report.signer
    if report.pades_level == "B-LTA":
        assert report.modification_level == "LTA_UPDATES"
        assert report.revocation_checked  # from the OCSP responses embedded in the DSS
    else:
        assert report.modification_level == "NONE"


def test_pdfsig(signed_document: tuple[str, Path], nss_db: str, pki_services: object) -> None:
    _, path = signed_document
    out = subprocess.run(
        ["pdfsig", "-nssdir", nss_db, str(path)], capture_output=True, text=True, check=False
    ).stdout
    first = out.split("Signature #2")[0]
    assert "Signature is Valid" in first, out
    assert "Certificate is Trusted" in first, out
    assert PROVIDER_NAME in first


def test_qpdf_check(signed_document: tuple[str, Path]) -> None:
    _, path = signed_document
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pdftotext_round_trip(signed_document: tuple[str, Path]) -> None:
    document_type, path = signed_document
    # The page wraps long lines; compare with whitespace runs collapsed.
    text = " ".join(pdftotext(path).split())
    assert BODY_KK in text and BODY_RU in text
    stamp = pdftotext(path, SIGNATURE_AREA.box_pt)
    assert f"Құжат нөмірі / Номер документа: {document_type.upper()}-0042" in stamp
    assert f"Қол қойған / Подписант: {PROVIDER_NAME}" in stamp
