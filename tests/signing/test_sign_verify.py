"""Sign real PDFs with the dev PKI and local TSA, then check them with three verifiers:
our own report (pyHanko), poppler's ``pdfsig`` (NSS) and ``qpdf --check``."""

from __future__ import annotations

import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.pki import PkiPaths
from signing.signer import PdfSigner
from signing.verify import verify_pdf
from tests.signing.helpers import (
    PROVIDER_BIN,
    PROVIDER_NAME,
    SIGNED_MARKER,
    append_text_after_signature,
    make_pdf,
)


def test_signed_pdf_verifies_as_pades_b_t(signed_pdf: bytes, dev_pki: PkiPaths) -> None:
    report = verify_pdf(signed_pdf, trust_roots=[dev_pki.root_cert])
    assert report.valid, report.errors
    assert report.intact and report.trusted
    assert report.coverage == "ENTIRE_FILE"
    assert report.modification_level == "NONE"
    assert report.timestamp is not None and report.timestamp_valid
    assert report.signatures == 1 and report.document_timestamps == 0
    assert report.errors == ()
    assert report.signer is not None
    assert f"serialNumber=BIN{PROVIDER_BIN}" in report.signer
    assert PROVIDER_NAME in report.signer
    assert report.signer_cert_serial and int(report.signer_cert_serial, 16) > 0


def test_signing_is_an_incremental_update(signed_pdf: bytes, plain_pdf: bytes) -> None:
    # The original bytes survive verbatim, so a PDF/A input stays what it was.
    assert signed_pdf.startswith(plain_pdf)
    assert len(signed_pdf) > len(plain_pdf)


def test_signature_dictionary_content(signed_pdf: bytes) -> None:
    sig = PdfFileReader(BytesIO(signed_pdf)).embedded_signatures[0]
    assert sig.field_name == "Signature1"
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.sig_object["/Reason"] == "Медициналық қызметке лицензия (№ KZ-0001)"
    assert sig.sig_object["/Location"] == "Орал"
    # Full chain embedded: signer, issuing CA and root.
    assert len(sig.signed_data["certificates"]) >= 3


def test_pdfsig_reports_valid_and_trusted(signed_pdf: bytes, nss_db: str, tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_pdf)
    # No -no-ocsp: poppler 22.12 then reports "Unknown issue with Certificate" for
    # any chain.  The dev certificates name the session's local OCSP responder,
    # which is up (pki_services), so NSS gets a real "good" answer.
    result = subprocess.run(
        ["pdfsig", "-nssdir", nss_db, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Signature is Valid" in result.stdout, result.stdout + result.stderr
    assert "Certificate is Trusted" in result.stdout, result.stdout
    assert "Total document signed" in result.stdout


def test_qpdf_check_passes(signed_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_pdf)
    result = subprocess.run(
        ["qpdf", "--check", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors" in result.stdout


def test_byte_changed_inside_signed_range_is_not_intact(
    signed_pdf: bytes, dev_pki: PkiPaths
) -> None:
    at = signed_pdf.index(SIGNED_MARKER)
    tampered = signed_pdf[:at] + b"X" + signed_pdf[at + 1 :]
    report = verify_pdf(tampered, trust_roots=[dev_pki.root_cert])
    assert not report.valid
    assert not report.intact
    assert "verify.not_intact" in {e.code for e in report.errors}


def test_text_added_after_signature_invalidates(signed_pdf: bytes, dev_pki: PkiPaths) -> None:
    modified = append_text_after_signature(signed_pdf)
    report = verify_pdf(modified, trust_roots=[dev_pki.root_cert])
    assert not report.valid
    # The signed revision itself is untouched; what is wrong is what came after it.
    assert report.intact and report.trusted
    assert report.coverage == "ENTIRE_REVISION"
    assert report.modification_level not in {"NONE", "LTA_UPDATES"}
    assert "verify.modified" in {e.code for e in report.errors}


def test_unknown_root_is_untrusted(signed_pdf: bytes, other_pki: PkiPaths) -> None:
    report = verify_pdf(signed_pdf, trust_roots=[other_pki.root_cert])
    assert not report.valid
    assert report.intact and not report.trusted
    assert "verify.untrusted" in {e.code for e in report.errors}


def test_unsigned_pdf_has_no_signature(plain_pdf: bytes, dev_pki: PkiPaths) -> None:
    report = verify_pdf(plain_pdf, trust_roots=[dev_pki.root_cert])
    assert not report.valid
    assert report.signatures == 0
    assert [e.code for e in report.errors] == ["verify.no_signature"]


@pytest.mark.parametrize("data", [b"", b"not a pdf at all", b"%PDF-1.7\n%%EOF\n"])
def test_garbage_is_malformed(data: bytes, dev_pki: PkiPaths) -> None:
    report = verify_pdf(data, trust_roots=[dev_pki.root_cert])
    assert not report.valid
    assert [e.code for e in report.errors] == ["verify.malformed"]


def test_b_b_has_no_timestamp(pdf_signer: PdfSigner, dev_pki: PkiPaths) -> None:
    signed = pdf_signer.sign(make_pdf(), level="B-B")
    report = verify_pdf(signed, trust_roots=[dev_pki.root_cert])
    assert report.valid, report.errors
    assert report.timestamp is None and not report.timestamp_valid


def test_b_lta_adds_validation_data_and_document_timestamp(
    pdf_signer: PdfSigner, dev_pki: PkiPaths
) -> None:
    signed = pdf_signer.sign(make_pdf(), level="B-LTA")
    report = verify_pdf(signed, trust_roots=[dev_pki.root_cert])
    assert report.valid, report.errors
    assert report.signatures == 1 and report.document_timestamps == 1
    assert report.coverage == "ENTIRE_REVISION"
    assert report.modification_level == "LTA_UPDATES"
    assert report.timestamp_valid
    assert "/DSS" in PdfFileReader(BytesIO(signed)).root


def test_weasyprint_pdfa3b_stays_pdfa_after_signing(
    pdf_signer: PdfSigner, dev_pki: PkiPaths, tmp_path: Path
) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    original: bytes = weasyprint.HTML(
        string="<html lang='kk'><body><p>Медициналық қызметке лицензия</p></body></html>"
    ).write_pdf(pdf_variant="pdf/a-3b")
    signed = pdf_signer.sign(original, document_number="KZ-0002")
    assert signed.startswith(original)
    assert verify_pdf(signed, trust_roots=[dev_pki.root_cert]).valid

    reader = PdfFileReader(BytesIO(signed))
    root = reader.root
    assert "/OutputIntents" in root
    xmp = root["/Metadata"].data.decode("utf-8")
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    # PDF/A: every /Info entry must equal its XMP counterpart.
    producer = str(reader.trailer_view["/Info"]["/Producer"])
    assert f'pdf:Producer="{producer}"' in xmp

    path = tmp_path / "license.pdf"
    path.write_bytes(signed)
    assert subprocess.run(["qpdf", "--check", str(path)], capture_output=True).returncode == 0
