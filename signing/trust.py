"""Trust anchors and validation contexts shared by the signer and the verifier.

Both sides must judge certificates the same way, otherwise a license could be
signed by a key the verifier then calls untrusted; keeping the context in one
place is how that is guaranteed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from asn1crypto import crl, ocsp, pem, x509
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers import FetcherBackend

from medlicense.errors import ConfigurationError
from signing import install_speedups

install_speedups()

# Verification must work offline (air-gapped archive checks) and never fetches.
# "soft-fail" accepts a certificate when revocation information is unavailable
# but still rejects one that is positively known to be revoked; documents that
# carry their own validation data (B-LT/B-LTA) are held to "hard-fail" against
# that data instead (embedded_validation_context).
REVOCATION_MODE = "soft-fail"

# certvalidator's legacy modes: "hard-fail" demands an answer for every
# certificate that names an OCSP responder or CRL (and accepts those naming
# none), "soft-fail" tolerates an unreachable responder but not a "revoked".
RevocationMode = Literal["hard-fail", "soft-fail"]


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
    """A fresh, offline context: contexts cache revocation state and validated paths,
    so never share one beyond one signature (its signer and timestamp chains)."""
    return ValidationContext(
        trust_roots=list(trust_roots),
        other_certs=list(other_certs),
        moment=moment,
        allow_fetching=False,
        revocation_mode=REVOCATION_MODE,
    )


def online_validation_context(
    trust_roots: Sequence[x509.Certificate],
    *,
    fetcher_backend: FetcherBackend,
    revocation_mode: RevocationMode,
    other_certs: Iterable[x509.Certificate] = (),
    moment: datetime | None = None,
) -> ValidationContext:
    """A fresh context that asks the OCSP responders and CRL points the certificates name.

    The signer uses it: a signature must not be made with a certificate that its
    CA says is revoked, and B-LTA needs the answers to embed them.  The caller
    owns ``fetcher_backend`` and closes it (its HTTP session outlives the context).
    """
    return ValidationContext(
        trust_roots=list(trust_roots),
        other_certs=list(other_certs),
        moment=moment,
        allow_fetching=True,
        fetcher_backend=fetcher_backend,
        revocation_mode=revocation_mode,
    )


def embedded_validation_context(
    trust_roots: Sequence[x509.Certificate],
    *,
    certs: Iterable[x509.Certificate],
    ocsps: Iterable[ocsp.OCSPResponse],
    crls: Iterable[crl.CertificateList],
    moment: datetime | None = None,
) -> ValidationContext:
    """Offline and hard-fail: revocation must be proven from the data given (a DSS)."""
    return ValidationContext(
        trust_roots=list(trust_roots),
        other_certs=list(certs),
        ocsps=list(ocsps),
        crls=list(crls),
        moment=moment,
        allow_fetching=False,
        revocation_mode="hard-fail",
    )
