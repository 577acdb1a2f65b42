"""Development PKI: a root CA, an issuing CA, the provider's signing key and a TSA key.

Production keys come from the national certifying centre (НУЦ РК) and never pass
through this module; it exists so a developer machine, CI and the tests can sign
and verify end to end with the same code paths as production.

Layout of the directory::

    root.pem       self-signed root (the only thing a verifier needs to trust)
    ca.pem         issuing CA, signed by the root
    ca-key.pem     issuing CA key, encrypted with the signer passphrase (kept so
                   a later revocation service can sign OCSP responses / CRLs)
    signer.p12     signer key + certificate + chain, encrypted with the passphrase
    tsa.pem        timestamping certificate (EKU timeStamping, critical)
    tsa-key.pem    timestamping key, unencrypted, mode 0600 (development only)

Optional files::

    signer-ec.p12  an ECDSA P-256 signer (``ecdsa=True``), same passphrase
    ocsp.pem       delegated OCSP responder certificate (EKU OCSPSigning, ocsp-nocheck)
    ocsp-key.pem   its key, unencrypted, mode 0600 (development only)
    revoked.json   serial numbers the local OCSP responder and CRL report as revoked

With ``services_url`` the end-entity certificates carry an AIA OCSP URL and a
CRL distribution point under that URL, served by
:class:`signing.services.LocalPkiServices`; without it they carry none (and
revocation checking has nothing to ask).

The root key is deliberately not written anywhere: the dev root is "offline" the
moment it has signed the issuing CA, as a real root would be.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from pydantic import BaseModel, ConfigDict

from medlicense.errors import ConfigurationError, SigningError

ROOT_VALIDITY = dt.timedelta(days=3650)
CA_VALIDITY = dt.timedelta(days=5 * 365)
SIGNER_VALIDITY = dt.timedelta(days=2 * 365)
TSA_VALIDITY = dt.timedelta(days=5 * 365)
OCSP_VALIDITY = dt.timedelta(days=2 * 365)
# Certificates are back-dated a little so that a verifier whose clock lags the
# generating machine by a few minutes does not see them as "not yet valid".
BACKDATE = dt.timedelta(minutes=10)

RSA_KEY_SIZE = 2048
PKCS12_FRIENDLY_NAME = b"medlicense-signer"
PKCS12_EC_FRIENDLY_NAME = b"medlicense-signer-ec"
# Paths under ``services_url`` (see signing.services, which serves them).
OCSP_PATH = "/ocsp"
CRL_PATH = "/crl/ca.crl"
TSA_PATH = "/tsa"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
UB_COMMON_NAME = 64


class PkiPaths(BaseModel):
    """Where the files of one development PKI live."""

    model_config = ConfigDict(frozen=True)

    directory: Path
    root_cert: Path
    ca_cert: Path
    ca_key: Path
    signer_p12: Path
    tsa_cert: Path
    tsa_key: Path
    signer_ec_p12: Path
    ocsp_cert: Path
    ocsp_key: Path
    revoked_list: Path

    @classmethod
    def in_directory(cls, directory: Path) -> PkiPaths:
        return cls(
            directory=directory,
            root_cert=directory / "root.pem",
            ca_cert=directory / "ca.pem",
            ca_key=directory / "ca-key.pem",
            signer_p12=directory / "signer.p12",
            tsa_cert=directory / "tsa.pem",
            tsa_key=directory / "tsa-key.pem",
            signer_ec_p12=directory / "signer-ec.p12",
            ocsp_cert=directory / "ocsp.pem",
            ocsp_key=directory / "ocsp-key.pem",
            revoked_list=directory / "revoked.json",
        )

    def files(self) -> tuple[Path, ...]:
        """The files every development PKI has (the optional ones are not listed)."""
        return (
            self.root_cert,
            self.ca_cert,
            self.ca_key,
            self.signer_p12,
            self.tsa_cert,
            self.tsa_key,
        )

    def optional_files(self) -> tuple[Path, ...]:
        return (self.signer_ec_p12, self.ocsp_cert, self.ocsp_key, self.revoked_list)

    def exists(self) -> bool:
        return all(p.is_file() for p in self.files())

    @property
    def has_ecdsa_signer(self) -> bool:
        return self.signer_ec_p12.is_file()

    @property
    def has_ocsp_responder(self) -> bool:
        return self.ocsp_cert.is_file() and self.ocsp_key.is_file()


@dataclass(frozen=True)
class _Issued:
    cert: x509.Certificate
    key: PrivateKey


def init_pki(
    directory: Path,
    passphrase: str,
    *,
    provider_name: str,
    provider_bin: str,
    force: bool = False,
    now: dt.datetime | None = None,
    signer_validity: dt.timedelta = SIGNER_VALIDITY,
    services_url: str | None = None,
    ecdsa: bool = False,
) -> PkiPaths:
    """Create the development PKI in ``directory`` unless it is already there.

    ``now`` and ``signer_validity`` exist so tests can produce expired or
    not-yet-valid signer certificates through the same code path.
    ``services_url`` (``http://host:port``) puts OCSP and CRL locations into the
    certificates and creates a delegated OCSP responder; ``ecdsa`` adds an ECDSA
    P-256 signer, also to an existing PKI (it is issued by the existing CA).
    """
    paths = PkiPaths.in_directory(directory)
    present = [p for p in paths.files() if p.exists()]
    if present and not force:
        if len(present) == len(paths.files()):
            if ecdsa and not paths.has_ecdsa_signer:
                _add_ec_signer(paths, passphrase, provider_name, provider_bin, now, signer_validity)
            return paths
        # Regenerating only the missing half would silently replace a root that
        # verifiers may already trust, so make the operator choose explicitly.
        missing = ", ".join(p.name for p in paths.files() if not p.exists())
        raise SigningError(
            f"development PKI in {directory} is incomplete (missing: {missing}); "
            "re-run with force to regenerate all of it",
            code="signing.pki_incomplete",
            directory=directory,
        )
    if not passphrase:
        raise ConfigurationError(
            "the signer passphrase must not be empty", code="config.signer_passphrase_empty"
        )
    if not (len(provider_bin) == 12 and provider_bin.isdigit()):
        raise ConfigurationError(
            f"provider BIN must be 12 digits, got {provider_bin!r}", code="config.provider_bin"
        )

    revocation = _RevocationPointers.under(services_url)
    start = (now or dt.datetime.now(dt.UTC)) - BACKDATE
    root = _issue_root(start, provider_name)
    ca = _issue_ca(start, provider_name, root)
    signer = _issue_signer(
        start, provider_name, provider_bin, ca, signer_validity, _new_key(), revocation
    )
    tsa = _issue_tsa(start, provider_name, ca, revocation)

    secret = passphrase.encode("utf-8")
    directory.mkdir(parents=True, exist_ok=True)
    _write(paths.root_cert, _pem(root.cert), private=False)
    _write(paths.ca_cert, _pem(ca.cert), private=False)
    _write(
        paths.ca_key,
        ca.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(secret),
        ),
        private=True,
    )
    _write(
        paths.signer_p12,
        pkcs12.serialize_key_and_certificates(
            PKCS12_FRIENDLY_NAME,
            signer.key,
            signer.cert,
            [ca.cert, root.cert],
            serialization.BestAvailableEncryption(secret),
        ),
        private=True,
    )
    _write(paths.tsa_cert, _pem(tsa.cert), private=False)
    _write(paths.tsa_key, _pem_key(tsa.key), private=True)
    # Leftovers of a previous PKI would describe certificates that no longer
    # exist (or, for revoked.json, revoke random serials of the new one).
    for stale in paths.optional_files():
        stale.unlink(missing_ok=True)
    if revocation is not None:
        ocsp_responder = _issue_ocsp_responder(start, provider_name, ca)
        _write(paths.ocsp_cert, _pem(ocsp_responder.cert), private=False)
        _write(paths.ocsp_key, _pem_key(ocsp_responder.key), private=True)
    if ecdsa:
        _write_ec_signer(
            paths,
            secret,
            provider_name,
            provider_bin,
            start,
            signer_validity,
            ca,
            root.cert,
            revocation,
        )
    return paths


def revocation_urls(services_url: str) -> tuple[str, str]:
    """``(ocsp_url, crl_url)`` of the local PKI services at ``services_url``."""
    base = services_url.rstrip("/")
    return base + OCSP_PATH, base + CRL_PATH


@dataclass(frozen=True)
class _RevocationPointers:
    ocsp_url: str
    crl_url: str

    @classmethod
    def under(cls, services_url: str | None) -> _RevocationPointers | None:
        if services_url is None:
            return None
        if not services_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"PKI services URL must be http(s)://host:port, got {services_url!r}",
                code="config.pki_services_url",
            )
        return cls(*revocation_urls(services_url))

    @classmethod
    def of(cls, cert: x509.Certificate) -> _RevocationPointers | None:
        """The pointers an existing certificate carries (to issue a sibling alike)."""
        try:
            aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
            cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        except x509.ExtensionNotFound:
            return None
        ocsp = [
            d.access_location.value
            for d in aia
            if d.access_method == AuthorityInformationAccessOID.OCSP
            and isinstance(d.access_location, x509.UniformResourceIdentifier)
        ]
        crls = [
            n.value
            for point in cdp
            for n in point.full_name or ()
            if isinstance(n, x509.UniformResourceIdentifier)
        ]
        return cls(ocsp[0], crls[0]) if ocsp and crls else None

    def add_to(self, builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
        return builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(self.ocsp_url),
                    )
                ]
            ),
            critical=False,
        ).add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(self.crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )


def load_ca_key(paths: PkiPaths, passphrase: str) -> PrivateKey:
    """The issuing CA key (it signs CRLs and, without a delegated responder, OCSP)."""
    try:
        key = serialization.load_pem_private_key(
            paths.ca_key.read_bytes(), passphrase.encode("utf-8")
        )
    except FileNotFoundError as exc:
        raise SigningError(
            f"issuing CA key {paths.ca_key} does not exist", code="signing.pki_incomplete"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise SigningError(
            f"cannot open the issuing CA key {paths.ca_key} with the signer passphrase",
            code="signing.wrong_passphrase",
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningError(f"unexpected key type in {paths.ca_key}", code="signing.pki_incomplete")
    return key


def _add_ec_signer(
    paths: PkiPaths,
    passphrase: str,
    provider_name: str,
    provider_bin: str,
    now: dt.datetime | None,
    validity: dt.timedelta,
) -> None:
    ca_cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    root_cert = x509.load_pem_x509_certificate(paths.root_cert.read_bytes())
    rsa_signer = pkcs12.load_pkcs12(paths.signer_p12.read_bytes(), passphrase.encode("utf-8"))
    pointers = (
        _RevocationPointers.of(rsa_signer.cert.certificate) if rsa_signer.cert is not None else None
    )
    ca = _Issued(ca_cert, load_ca_key(paths, passphrase))
    start = (now or dt.datetime.now(dt.UTC)) - BACKDATE
    _write_ec_signer(
        paths,
        passphrase.encode("utf-8"),
        provider_name,
        provider_bin,
        start,
        validity,
        ca,
        root_cert,
        pointers,
    )


def _write_ec_signer(
    paths: PkiPaths,
    secret: bytes,
    provider_name: str,
    provider_bin: str,
    start: dt.datetime,
    validity: dt.timedelta,
    ca: _Issued,
    root_cert: x509.Certificate,
    revocation: _RevocationPointers | None,
) -> None:
    signer = _issue_signer(
        start,
        provider_name,
        provider_bin,
        ca,
        validity,
        ec.generate_private_key(ec.SECP256R1()),
        revocation,
    )
    assert isinstance(signer.key, ec.EllipticCurvePrivateKey)
    _write(
        paths.signer_ec_p12,
        pkcs12.serialize_key_and_certificates(
            PKCS12_EC_FRIENDLY_NAME,
            signer.key,
            signer.cert,
            [ca.cert, root_cert],
            serialization.BestAvailableEncryption(secret),
        ),
        private=True,
    )


# --- certificate profiles --------------------------------------------------------


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)


def _common_name(value: str) -> x509.NameAttribute[str]:
    # RFC 5280 bounds commonName at 64 *characters*; cryptography enforces 64 UTF-8
    # *bytes*, which a Cyrillic name of 33+ letters already exceeds (the provider's
    # official Kazakh name is 53 letters, ~100 bytes).  Enforce the RFC limit
    # ourselves and skip cryptography's stricter one.
    if not 1 <= len(value) <= UB_COMMON_NAME:
        raise ConfigurationError(
            f"certificate common name must be 1-{UB_COMMON_NAME} characters: {value!r}",
            code="config.provider_name",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return x509.NameAttribute(NameOID.COMMON_NAME, value, _validate=False)


def _name(common_name: str, organisation: str, *, serial: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        _common_name(common_name),
    ]
    if serial is not None:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    return x509.Name(attrs)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: PublicKey,
    start: dt.datetime,
    validity: dt.timedelta,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + validity)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _authority_key_id(issuer: _Issued) -> x509.AuthorityKeyIdentifier:
    ski = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _issue_root(start: dt.datetime, provider_name: str) -> _Issued:
    key = _new_key()
    name = _name("MedLicense Dev Root CA", provider_name)
    cert = (
        _builder(name, name, key.public_key(), start, ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _Issued(cert, key)


def _issue_ca(start: dt.datetime, provider_name: str, root: _Issued) -> _Issued:
    key = _new_key()
    cert = (
        _builder(
            _name("MedLicense Dev Issuing CA", provider_name),
            root.cert.subject,
            key.public_key(),
            start,
            CA_VALIDITY,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(_authority_key_id(root), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    return _Issued(cert, key)


def _issue_signer(
    start: dt.datetime,
    provider_name: str,
    provider_bin: str,
    ca: _Issued,
    validity: dt.timedelta,
    key: PrivateKey,
    revocation: _RevocationPointers | None,
) -> _Issued:
    # No extended key usage: NSS (pdfsig, Firefox) and Adobe treat a present EKU
    # without emailProtection/documentSigning inconsistently, and an absent EKU
    # means "any purpose" for all of them.
    builder = (
        _builder(
            _name(provider_name, provider_name, serial=f"BIN{provider_bin}"),
            ca.cert.subject,
            key.public_key(),
            start,
            validity,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(_authority_key_id(ca), critical=False)
    )
    if revocation is not None:
        builder = revocation.add_to(builder)
    return _Issued(builder.sign(ca.key, hashes.SHA256()), key)


def _issue_tsa(
    start: dt.datetime, provider_name: str, ca: _Issued, revocation: _RevocationPointers | None
) -> _Issued:
    key = _new_key()
    builder = (
        _builder(
            _name("MedLicense Dev TSA", provider_name),
            ca.cert.subject,
            key.public_key(),
            start,
            TSA_VALIDITY,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        # RFC 3161 §2.3: the TSA certificate must carry exactly this EKU, critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(_authority_key_id(ca), critical=False)
    )
    if revocation is not None:
        builder = revocation.add_to(builder)
    return _Issued(builder.sign(ca.key, hashes.SHA256()), key)


def _issue_ocsp_responder(start: dt.datetime, provider_name: str, ca: _Issued) -> _Issued:
    # A delegated responder (RFC 6960 §4.2.2.2) rather than the CA key itself:
    # the CA key stays encrypted at rest, and this is how national CAs answer.
    key = _new_key()
    cert = (
        _builder(
            _name("MedLicense Dev OCSP Responder", provider_name),
            ca.cert.subject,
            key.public_key(),
            start,
            OCSP_VALIDITY,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        # Without id-pkix-ocsp-nocheck a verifier would have to check the
        # responder's own status, with nobody to ask (RFC 6960 §4.2.2.2.1).
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(_authority_key_id(ca), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return _Issued(cert, key)


# --- files -------------------------------------------------------------------------


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, private: bool) -> None:
    """Write atomically, creating private files 0600 from the start (never chmod later)."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
