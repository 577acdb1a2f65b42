"""Every way signing can fail ends in a coded error from the project's tree."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from medlicense.errors import (
    CertificateError,
    ConfigurationError,
    KeyLoadError,
    SigningError,
    TimestampError,
)
from signing.pki import PkiPaths, init_pki
from signing.rfc3161 import REPLY_CONTENT_TYPE, rejection
from signing.signer import PdfSigner
from signing.tsa import LocalTSA
from tests.signing.helpers import (
    PASSPHRASE,
    PROVIDER_BIN,
    PROVIDER_NAME,
    closed_port_url,
    make_pdf,
)


def _signer(pki: PkiPaths, tsa_url: str | None) -> PdfSigner:
    return PdfSigner.from_pkcs12(
        pki.signer_p12, PASSPHRASE, tsa_url=tsa_url, trust_roots=[pki.root_cert]
    )


# --- key loading ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tsa_url(tsa: LocalTSA) -> str:
    return tsa.url


def test_wrong_passphrase(dev_pki: PkiPaths, tsa_url: str) -> None:
    with pytest.raises(KeyLoadError) as info:
        PdfSigner.from_pkcs12(
            dev_pki.signer_p12,
            "not-the-passphrase",
            tsa_url=tsa_url,
            trust_roots=[dev_pki.root_cert],
        )
    assert info.value.code == "signing.wrong_passphrase"


def test_missing_key_file(dev_pki: PkiPaths, tmp_path: Path) -> None:
    with pytest.raises(KeyLoadError) as info:
        PdfSigner.from_pkcs12(
            tmp_path / "absent.p12", PASSPHRASE, tsa_url=None, trust_roots=[dev_pki.root_cert]
        )
    assert info.value.code == "signing.key_missing"


def test_file_that_is_not_pkcs12(dev_pki: PkiPaths) -> None:
    with pytest.raises(KeyLoadError) as info:
        PdfSigner.from_pkcs12(
            dev_pki.root_cert, PASSPHRASE, tsa_url=None, trust_roots=[dev_pki.root_cert]
        )
    assert info.value.code == "signing.key_load"


def test_unreadable_trust_root(dev_pki: PkiPaths, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        PdfSigner.from_pkcs12(
            dev_pki.signer_p12, PASSPHRASE, tsa_url=None, trust_roots=[tmp_path / "nope.pem"]
        )
    assert info.value.code == "config.trust_root_unreadable"


# --- certificate checks -----------------------------------------------------------


def _dated_pki(tmp_path: Path, now: dt.datetime, validity: dt.timedelta) -> PkiPaths:
    return init_pki(
        tmp_path / "pki",
        PASSPHRASE,
        provider_name=PROVIDER_NAME,
        provider_bin=PROVIDER_BIN,
        now=now,
        signer_validity=validity,
    )


def test_expired_signer_certificate(tmp_path: Path) -> None:
    pki = _dated_pki(
        tmp_path, dt.datetime.now(dt.UTC) - dt.timedelta(days=800), dt.timedelta(days=730)
    )
    with pytest.raises(CertificateError) as info:
        _signer(pki, None)
    assert info.value.code == "signing.cert_expired"


def test_not_yet_valid_signer_certificate(tmp_path: Path) -> None:
    pki = _dated_pki(
        tmp_path, dt.datetime.now(dt.UTC) + dt.timedelta(days=2), dt.timedelta(days=730)
    )
    with pytest.raises(CertificateError) as info:
        _signer(pki, None)
    assert info.value.code == "signing.cert_not_yet_valid"


def test_signer_not_chaining_to_trust_roots(dev_pki: PkiPaths, other_pki: PkiPaths) -> None:
    with pytest.raises(CertificateError) as info:
        PdfSigner.from_pkcs12(
            dev_pki.signer_p12, PASSPHRASE, tsa_url=None, trust_roots=[other_pki.root_cert]
        )
    assert info.value.code == "signing.cert_untrusted"


def test_no_trust_roots_at_all(dev_pki: PkiPaths) -> None:
    with pytest.raises(CertificateError) as info:
        PdfSigner.from_pkcs12(dev_pki.signer_p12, PASSPHRASE, tsa_url=None, trust_roots=[])
    assert info.value.code == "signing.cert_untrusted"


# --- timestamp authority -----------------------------------------------------------


def test_unreachable_tsa(dev_pki: PkiPaths) -> None:
    signer = _signer(dev_pki, closed_port_url())
    with pytest.raises(TimestampError) as info:
        signer.sign(make_pdf())
    assert info.value.code == "signing.tsa_unavailable"


class _NotATsa(BaseHTTPRequestHandler):
    """Answers every POST with a web page, as a misconfigured proxy would."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html>hello</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_a_tsa() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotATsa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


def test_tsa_answering_garbage(dev_pki: PkiPaths, not_a_tsa: str) -> None:
    signer = _signer(dev_pki, not_a_tsa)
    with pytest.raises(TimestampError) as info:
        signer.sign(make_pdf())
    assert info.value.code == "signing.tsa_invalid"


class _RefusingTsa(_NotATsa):
    """A well-behaved TSA that is down for maintenance: a proper RFC 3161 refusal."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = rejection("system_failure", "maintenance window").dump()
        self.send_response(200)
        self.send_header("Content-Type", REPLY_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_tsa_refusing(dev_pki: PkiPaths) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingTsa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        signer = _signer(dev_pki, f"http://127.0.0.1:{server.server_address[1]}/")
        with pytest.raises(TimestampError) as info:
            signer.sign(make_pdf())
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert info.value.code == "signing.tsa_invalid"
    assert "maintenance window" in info.value.message


def test_tsa_of_another_pki_is_untrusted(other_pki: PkiPaths, dev_pki: PkiPaths) -> None:
    with LocalTSA(other_pki) as foreign_tsa:
        signer = _signer(dev_pki, foreign_tsa.url)
        with pytest.raises(TimestampError) as info:
            signer.sign(make_pdf())
    assert info.value.code == "signing.tsa_untrusted"


def test_b_t_without_tsa_url(dev_pki: PkiPaths) -> None:
    signer = _signer(dev_pki, None)
    with pytest.raises(SigningError) as info:
        signer.sign(make_pdf())
    assert info.value.code == "signing.tsa_required"


# --- inputs and parameters ---------------------------------------------------------


def test_unknown_level(pdf_signer: PdfSigner) -> None:
    with pytest.raises(SigningError) as info:
        pdf_signer.sign(make_pdf(), level="B-LT")  # type: ignore[arg-type]
    assert info.value.code == "signing.level_unsupported"


@pytest.mark.parametrize("data", [b"", b"not a pdf", b"%PDF-1.7\ngarbage"])
def test_input_that_is_not_a_pdf(pdf_signer: PdfSigner, data: bytes) -> None:
    with pytest.raises(SigningError) as info:
        pdf_signer.sign(data)
    assert info.value.code == "signing.pdf_unreadable"


def test_field_already_signed(pdf_signer: PdfSigner, signed_pdf: bytes) -> None:
    with pytest.raises(SigningError) as info:
        pdf_signer.sign(signed_pdf, field_name="Signature1")
    assert info.value.code.startswith("signing.")
    assert info.value.__cause__ is not None
