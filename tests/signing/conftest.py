"""Session fixtures for the signing tests: one development PKI, its local services.

RSA key generation dominates the cost of these tests, so the shared PKI is made
once per session; tests that need a differently dated PKI build their own, and
only where that is the point of the test.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from signing.pki import PkiPaths, init_pki
from signing.services import LocalPkiServices
from signing.signer import PdfSigner
from signing.tsa import LocalTSA
from tests.signing.helpers import (
    PASSPHRASE,
    PROVIDER_BIN,
    PROVIDER_NAME,
    free_port,
    make_pdf,
    make_pdfa,
)


@pytest.fixture(scope="session")
def services_port() -> int:
    # The port is written into the certificates, so it is chosen before the PKI.
    return free_port()


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory: pytest.TempPathFactory, services_port: int) -> PkiPaths:
    return init_pki(
        tmp_path_factory.mktemp("pki"),
        PASSPHRASE,
        provider_name=PROVIDER_NAME,
        provider_bin=PROVIDER_BIN,
        services_url=f"http://127.0.0.1:{services_port}",
        ecdsa=True,
    )


@pytest.fixture(scope="session")
def pki_services(dev_pki: PkiPaths, services_port: int) -> Iterator[LocalPkiServices]:
    """TSA + OCSP + CRL; up for the whole session (pdfsig asks the OCSP responder)."""
    with LocalPkiServices(dev_pki, PASSPHRASE, port=services_port) as services:
        yield services


@pytest.fixture(scope="session")
def tsa(dev_pki: PkiPaths) -> Iterator[LocalTSA]:
    with LocalTSA(dev_pki) as server:
        yield server


@pytest.fixture(scope="session")
def pdf_signer(dev_pki: PkiPaths, pki_services: LocalPkiServices) -> PdfSigner:
    return PdfSigner.from_pkcs12(
        dev_pki.signer_p12,
        PASSPHRASE,
        tsa_url=pki_services.tsa_url,
        trust_roots=[dev_pki.root_cert],
    )


@pytest.fixture(scope="session")
def plain_pdf() -> bytes:
    return make_pdf()


@pytest.fixture(scope="session")
def pdfa_document() -> bytes:
    return make_pdfa()


@pytest.fixture(scope="session")
def signed_pdf(pdf_signer: PdfSigner, plain_pdf: bytes) -> bytes:
    return pdf_signer.sign(
        plain_pdf,
        reason="Медициналық қызметке лицензия",
        location="Орал",
        document_number="KZ-0001",
    )


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> PkiPaths:
    """An unrelated PKI: its root must not vouch for the dev signer."""
    return init_pki(
        tmp_path_factory.mktemp("other-pki"),
        PASSPHRASE,
        provider_name="Басқа ұйым",
        provider_bin="000000000000",
    )


@pytest.fixture(scope="session")
def nss_db(dev_pki: PkiPaths, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An NSS database trusting the dev root, for poppler's ``pdfsig``."""
    certutil = shutil.which("certutil")
    if certutil is None or shutil.which("pdfsig") is None:
        pytest.skip("certutil (libnss3-tools) and pdfsig (poppler-utils) are required")
    db = tmp_path_factory.mktemp("nssdb")
    subprocess.run([certutil, "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    subprocess.run(
        [
            certutil,
            "-A",
            "-d",
            f"sql:{db}",
            "-n",
            "medlicense-dev-root",
            "-t",
            "CT,C,C",
            "-i",
            str(dev_pki.root_cert),
        ],
        check=True,
    )
    return f"sql:{db}"
