"""The development PKI: profiles of the generated certificates and file handling."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from medlicense.errors import ConfigurationError, SigningError
from signing.pki import PkiPaths, init_pki
from tests.signing.helpers import PASSPHRASE, PROVIDER_BIN, PROVIDER_NAME


def _load_p12(pki: PkiPaths) -> tuple[object, x509.Certificate, list[x509.Certificate]]:
    key, cert, extra = pkcs12.load_key_and_certificates(
        pki.signer_p12.read_bytes(), PASSPHRASE.encode()
    )
    assert cert is not None
    return key, cert, extra


def test_all_files_written_private_ones_0600(dev_pki: PkiPaths) -> None:
    assert dev_pki.exists()
    for path in (dev_pki.signer_p12, dev_pki.tsa_key, dev_pki.ca_key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (dev_pki.root_cert, dev_pki.ca_cert, dev_pki.tsa_cert):
        assert path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


# cryptography measures commonName in UTF-8 bytes, RFC 5280 in characters.
@pytest.mark.filterwarnings("ignore:Attribute's length must be:UserWarning")
def test_signer_certificate_profile(dev_pki: PkiPaths) -> None:
    key, cert, extra = _load_p12(dev_pki)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048

    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == PROVIDER_NAME
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == PROVIDER_NAME
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == f"BIN{PROVIDER_BIN}"
    assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "KZ"

    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    # The PKCS#12 carries the whole chain: issuing CA and root.
    ca = x509.load_pem_x509_certificate(dev_pki.ca_cert.read_bytes())
    root = x509.load_pem_x509_certificate(dev_pki.root_cert.read_bytes())
    assert {c.subject for c in extra} == {ca.subject, root.subject}
    cert.verify_directly_issued_by(ca)
    ca.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)


def test_kazakh_names_are_utf8strings(dev_pki: PkiPaths) -> None:
    _, cert, _ = _load_p12(dev_pki)
    parsed = asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))
    string_types = {
        atv["type"].native: atv["value"].name for rdn in parsed.subject.chosen for atv in rdn
    }
    assert string_types["common_name"] == "utf8_string"
    assert string_types["organization_name"] == "utf8_string"
    assert string_types["country_name"] == "printable_string"


def test_tsa_certificate_profile(dev_pki: PkiPaths) -> None:
    cert = x509.load_pem_x509_certificate(dev_pki.tsa_cert.read_bytes())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    ca = x509.load_pem_x509_certificate(dev_pki.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    assert stat.S_IMODE(dev_pki.tsa_key.stat().st_mode) == 0o600


def test_ca_profiles(dev_pki: PkiPaths) -> None:
    root = x509.load_pem_x509_certificate(dev_pki.root_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(dev_pki.ca_cert.read_bytes())
    for cert in (root, ca):
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca
        assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert (root.not_valid_after_utc - root.not_valid_before_utc).days >= 3650


def test_init_is_idempotent_and_force_regenerates(dev_pki: PkiPaths, tmp_path: Path) -> None:
    # Copy the session PKI so regenerating it cannot disturb other tests.
    target = tmp_path / "pki"
    target.mkdir()
    for path in dev_pki.files():
        (target / path.name).write_bytes(path.read_bytes())
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    again = init_pki(target, PASSPHRASE, provider_name=PROVIDER_NAME, provider_bin=PROVIDER_BIN)
    assert again == PkiPaths.in_directory(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before

    init_pki(target, PASSPHRASE, provider_name=PROVIDER_NAME, provider_bin=PROVIDER_BIN, force=True)
    assert (target / "root.pem").read_bytes() != before["root.pem"]
    assert (target / "signer.p12").read_bytes() != before["signer.p12"]


def test_incomplete_pki_is_refused_not_patched(dev_pki: PkiPaths, tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_bytes(dev_pki.root_cert.read_bytes())
    with pytest.raises(SigningError) as info:
        init_pki(tmp_path, PASSPHRASE, provider_name=PROVIDER_NAME, provider_bin=PROVIDER_BIN)
    assert info.value.code == "signing.pki_incomplete"
    assert (tmp_path / "root.pem").read_bytes() == dev_pki.root_cert.read_bytes()


@pytest.mark.parametrize(
    ("passphrase", "bin_", "name", "code"),
    [
        ("", PROVIDER_BIN, PROVIDER_NAME, "config.signer_passphrase_empty"),
        (PASSPHRASE, "12345", PROVIDER_NAME, "config.provider_bin"),
        (PASSPHRASE, PROVIDER_BIN, "Ә" * 65, "config.provider_name"),
    ],
)
def test_bad_parameters_are_configuration_errors(
    tmp_path: Path, passphrase: str, bin_: str, name: str, code: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        init_pki(tmp_path / "pki", passphrase, provider_name=name, provider_bin=bin_)
    assert info.value.code == code


def test_ocsp_responder_profile(dev_pki: PkiPaths) -> None:
    cert = x509.load_pem_x509_certificate(dev_pki.ocsp_cert.read_bytes())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    cert.extensions.get_extension_for_class(x509.OCSPNoCheck)
    ca = x509.load_pem_x509_certificate(dev_pki.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    assert stat.S_IMODE(dev_pki.ocsp_key.stat().st_mode) == 0o600


def test_without_services_url_no_revocation_pointers(tmp_path: Path) -> None:
    pki = init_pki(
        tmp_path / "p", PASSPHRASE, provider_name=PROVIDER_NAME, provider_bin=PROVIDER_BIN
    )
    _, cert, _ = _load_p12(pki)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    assert not pki.has_ocsp_responder


def test_bad_services_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        init_pki(
            tmp_path / "p",
            PASSPHRASE,
            provider_name=PROVIDER_NAME,
            provider_bin=PROVIDER_BIN,
            services_url="127.0.0.1:8790",
        )
    assert info.value.code == "config.pki_services_url"
