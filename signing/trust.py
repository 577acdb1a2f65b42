"""Trust anchors and validation contexts shared by the signer and the verifier.

Both sides must judge certificates the same way, otherwise a license could be
signed by a key the verifier then calls untrusted; keeping the context in one
place is how that is guaranteed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from asn1crypto import pem, x509
from pyhanko_certvalidator import ValidationContext

from medlicense.errors import ConfigurationError

# The development PKI publishes no OCSP responder or CRL yet, and production
# verification must work offline (air-gapped archive checks).  "soft-fail"
# accepts a certificate when revocation information is unavailable but still
# rejects one that is positively known to be revoked.
REVOCATION_MODE = "soft-fail"


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, or the single certificate of a DER file."""
    if pem.detect(data):
        return [
            x509.Certificate.load(der)
            for type_name, _headers, der in pem.unarmor(data, multiple=True)
            if type_name == "CERTIFICATE"
        ]
    return [x509.Certificate.load(data)]


def load_certificate(path: Path) -> x509.Certificate:
    """The single certificate in ``path`` (PEM or DER)."""
    certs = load_certificates(path.read_bytes())
    if len(certs) != 1:
        raise ValueError(f"{path} must hold exactly one certificate, found {len(certs)}")
    return certs[0]


def load_trust_roots(paths: Iterable[Path]) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    for path in paths:
        try:
            certs = load_certificates(path.read_bytes())
            # asn1crypto parses lazily; touch the subject so a corrupt file fails here,
            # named, instead of deep inside path building.
            for cert in certs:
                _ = cert.subject.native
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"cannot read trust root {path}: {exc}",
                code="config.trust_root_unreadable",
                path=path,
            ) from exc
        if not certs:
            raise ConfigurationError(
                f"trust root file {path} holds no certificate",
                code="config.trust_root_unreadable",
                path=path,
            )
        roots.extend(certs)
    return roots


def validation_context(
    trust_roots: Sequence[x509.Certificate],
    *,
    other_certs: Iterable[x509.Certificate] = (),
    moment: datetime | None = None,
) -> ValidationContext:
    """A fresh, offline context: contexts cache revocation state, so never share one."""
    return ValidationContext(
        trust_roots=list(trust_roots),
        other_certs=list(other_certs),
        moment=moment,
        allow_fetching=False,
        revocation_mode=REVOCATION_MODE,
    )
