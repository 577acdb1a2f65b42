"""``medlicense pki init`` and ``medlicense verify`` through their argparse wiring."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from medlicense.errors import VerificationError
from medlicense.settings import get_settings
from signing import cli
from signing.pki import PkiPaths
from signing.signer import PdfSigner
from tests.signing.helpers import change_xmp_after_signature


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="medlicense")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    rc: int = args.func(args)
    return rc


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Settings pointing at a scratch data directory, restored afterwards."""
    monkeypatch.setenv("MEDLICENSE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("MEDLICENSE_PKI_DIR", raising=False)
    monkeypatch.setenv("MEDLICENSE_TRUST_ROOTS", "[]")
    monkeypatch.setenv("MEDLICENSE_SIGNER_PASSPHRASE", "cli-test")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_pki_init_creates_then_keeps(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["pki", "init"]) == 0
    out = capsys.readouterr().out
    pki_dir = env / "var" / "pki"
    assert str(pki_dir / "signer.p12") in out and str(pki_dir / "root.pem") in out
    root = (pki_dir / "root.pem").read_bytes()

    assert _run(["pki", "init"]) == 0
    assert (pki_dir / "root.pem").read_bytes() == root
    assert _run(["pki", "init", "--force"]) == 0
    assert (pki_dir / "root.pem").read_bytes() != root


def _use_pki(monkeypatch: pytest.MonkeyPatch, pki: PkiPaths) -> None:
    monkeypatch.setenv("MEDLICENSE_PKI_DIR", str(pki.directory))
    get_settings.cache_clear()


def test_verify_json_valid(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    dev_pki: PkiPaths,
    signed_pdf: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _use_pki(monkeypatch, dev_pki)  # its root.pem becomes a trust root
    path = env / "signed.pdf"
    path.write_bytes(signed_pdf)
    assert _run(["verify", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True
    assert report["coverage"] == "ENTIRE_FILE"
    assert report["timestamp"] is not None
    assert report["errors"] == []


def test_verify_text_summary_and_exit_1(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    dev_pki: PkiPaths,
    plain_pdf: bytes,
    signed_pdf: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _use_pki(monkeypatch, dev_pki)
    good, bad = env / "good.pdf", env / "unsigned.pdf"
    good.write_bytes(signed_pdf)
    bad.write_bytes(plain_pdf)

    assert _run(["verify", str(good)]) == 0
    assert "VALID" in capsys.readouterr().out

    assert _run(["verify", str(bad)]) == 1
    assert "verify.no_signature" in capsys.readouterr().out


def test_verify_without_trust_roots_is_not_valid(
    env: Path, signed_pdf: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = env / "signed.pdf"
    path.write_bytes(signed_pdf)
    assert _run(["verify", str(path), "--json"]) == 1
    assert "verify.untrusted" in {e["code"] for e in json.loads(capsys.readouterr().out)["errors"]}


def test_verify_missing_file_is_a_coded_error(env: Path) -> None:
    with pytest.raises(VerificationError) as info:
        _run(["verify", str(env / "absent.pdf")])
    assert info.value.code == "verify.file_unreadable"


def test_pki_init_ecdsa_and_service_urls(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLICENSE_PKI_SERVICES_PORT", "8791")
    get_settings.cache_clear()
    assert _run(["pki", "init", "--ecdsa"]) == 0
    pki_dir = env / "var" / "pki"
    assert (pki_dir / "signer-ec.p12").is_file() and (pki_dir / "ocsp.pem").is_file()
    tsa = x509.load_pem_x509_certificate((pki_dir / "tsa.pem").read_bytes())
    aia = tsa.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert aia[0].access_location.value == "http://127.0.0.1:8791/ocsp"


def test_verify_json_reports_level_number_and_signer(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    dev_pki: PkiPaths,
    pdf_signer: PdfSigner,
    pdfa_document: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _use_pki(monkeypatch, dev_pki)
    path = env / "license.pdf"
    path.write_bytes(
        pdf_signer.sign_document(pdfa_document, document_type="license", document_number="L-9")
    )
    assert _run(["verify", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pades_level"] == "B-LTA"
    assert report["modification_level"] == "LTA_UPDATES"
    assert report["document_number"] == "L-9"
    assert report["signer"].startswith("serialNumber=BIN")
    assert report["revocation_checked"] is True

    path.write_bytes(change_xmp_after_signature(path.read_bytes()))
    assert _run(["verify", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert "verify.modified" in {e["code"] for e in report["errors"]}
