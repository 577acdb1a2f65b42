"""Revocation data of the development PKI: the revocation list, OCSP responses, the CRL.

The list of revoked serial numbers is a small JSON file in the PKI directory
(``revoked.json``) so that a test, or an operator rehearsing an incident, can
revoke the signer with :func:`revoke` and watch signing refuse it.  The OCSP
responder and the CRL endpoint of :class:`signing.services.LocalPkiServices`
read it on every request, so a revocation takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key
from cryptography.x509 import ocsp
from cryptography.x509.oid import OCSPExtensionOID

from medlicense.errors import SigningError
from signing.pki import PkiPaths, PrivateKey, _write, load_ca_key

# Responses are fresh for a day: long enough for a B-LTA document signed in a
# test run to validate from its embedded response, short enough to be realistic.
OCSP_VALIDITY = dt.timedelta(days=1)
CRL_VALIDITY = dt.timedelta(days=1)

_OCSP_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags


def load_revoked(pki: PkiPaths) -> dict[int, Revocation]:
    """Revoked serial numbers; an absent file means nothing is revoked."""
    try:
        raw = json.loads(pki.revoked_list.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SigningError(
            f"cannot read the revocation list {pki.revoked_list}: {exc}",
            code="signing.revocation_list",
        ) from exc
    try:
        entries = [
            Revocation(
                serial=int(item["serial"], 16),
                revoked_at=dt.datetime.fromisoformat(item["revoked_at"]),
                reason=x509.ReasonFlags(item["reason"]),
            )
            for item in raw["revoked"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise SigningError(
            f"malformed revocation list {pki.revoked_list}: {exc!r}",
            code="signing.revocation_list",
        ) from exc
    return {entry.serial: entry for entry in entries}


def revoke(
    pki: PkiPaths,
    certificate: x509.Certificate | int,
    *,
    reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise,
    at: dt.datetime | None = None,
) -> Revocation:
    """Add a certificate (or bare serial number) to the revocation list."""
    serial = certificate if isinstance(certificate, int) else certificate.serial_number
    # Revocation times are whole seconds in both OCSP and CRL encodings.
    when = (at or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    entries = load_revoked(pki)
    entries[serial] = Revocation(serial=serial, revoked_at=when, reason=reason)
    _save(pki.revoked_list, entries.values())
    return entries[serial]


def unrevoke_all(pki: PkiPaths) -> None:
    pki.revoked_list.unlink(missing_ok=True)


def _save(path: Path, entries: Iterable[Revocation]) -> None:
    data = {
        "revoked": [
            {
                "serial": format(e.serial, "X"),
                "revoked_at": e.revoked_at.isoformat(),
                "reason": e.reason.value,
            }
            for e in sorted(entries, key=lambda e: e.serial)
        ]
    }
    _write(path, json.dumps(data, indent=2).encode("utf-8"), private=False)


# --- responders ----------------------------------------------------------------------


class RevocationAuthority:
    """Answers OCSP requests and issues CRLs for the issuing CA of one dev PKI."""

    def __init__(self, pki: PkiPaths, passphrase: str) -> None:
        self._pki = pki
        self._ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
        self._ca_key: PrivateKey = load_ca_key(pki, passphrase)
        self._responder_cert, self._responder_key = self._ca_cert, self._ca_key
        if pki.has_ocsp_responder:
            key = load_pem_private_key(pki.ocsp_key.read_bytes(), None)
            if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
                raise SigningError(
                    f"unexpected key type in {pki.ocsp_key}", code="signing.pki_incomplete"
                )
            self._responder_cert = x509.load_pem_x509_certificate(pki.ocsp_cert.read_bytes())
            self._responder_key = key
        # else: RFC 6960 §4.2.2.2 also lets the CA sign its responses itself.

        # CertID hashes (RFC 6960 §4.1.1): the issuer's DER name and the value of
        # its subjectPublicKey BIT STRING, without the unused-bits octet.
        ca_der = self._ca_cert.public_bytes(Encoding.DER)
        spki = asn1_x509.Certificate.load(ca_der)["tbs_certificate"]["subject_public_key_info"]
        self._issuer_key_bits: bytes = spki["public_key"].contents[1:]
        self._issuer_name_der = self._ca_cert.subject.public_bytes()

    def ocsp_response(self, request_der: bytes, *, now: dt.datetime | None = None) -> bytes:
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST
            ).public_bytes(Encoding.DER)
        algorithm = _OCSP_HASHES.get(request.hash_algorithm.name)
        if algorithm is None or not self._is_our_issuer(request, algorithm):
            # Not a certificate of this CA: RFC 6960 §2.3 "unauthorized".
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED
            ).public_bytes(Encoding.DER)
        moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        revoked = load_revoked(self._pki).get(request.serial_number)
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number,
            algorithm=algorithm(),
            cert_status=(
                ocsp.OCSPCertStatus.REVOKED if revoked is not None else ocsp.OCSPCertStatus.GOOD
            ),
            this_update=moment,
            next_update=moment + OCSP_VALIDITY,
            revocation_time=revoked.revoked_at if revoked is not None else None,
            revocation_reason=revoked.reason if revoked is not None else None,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self._responder_cert)
        if self._responder_cert is not self._ca_cert:
            builder = builder.certificates([self._responder_cert])
        try:
            nonce = request.extensions.get_extension_for_oid(OCSPExtensionOID.NONCE).value
        except x509.ExtensionNotFound:
            pass
        else:
            # Echo the nonce so clients that sent one can match the reply (RFC 8954).
            builder = builder.add_extension(nonce, critical=False)
        return builder.sign(self._responder_key, hashes.SHA256()).public_bytes(Encoding.DER)

    def crl(self, *, now: dt.datetime | None = None) -> bytes:
        moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        ski = self._ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self._ca_cert.subject)
            .last_update(moment)
            .next_update(moment + CRL_VALIDITY)
            # Seconds since the epoch grow with every issue, as RFC 5280 §5.2.3 asks.
            .add_extension(x509.CRLNumber(int(moment.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                critical=False,
            )
        )
        for entry in load_revoked(self._pki).values():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(entry.serial)
                .revocation_date(entry.revoked_at)
                .add_extension(x509.CRLReason(entry.reason), critical=False)
                .build()
            )
        return builder.sign(self._ca_key, hashes.SHA256()).public_bytes(Encoding.DER)

    def _is_our_issuer(
        self, request: ocsp.OCSPRequest, algorithm: type[hashes.HashAlgorithm]
    ) -> bool:
        name_hash = _digest(algorithm, self._issuer_name_der)
        key_hash = _digest(algorithm, self._issuer_key_bits)
        return request.issuer_name_hash == name_hash and request.issuer_key_hash == key_hash


def _digest(algorithm: type[hashes.HashAlgorithm], data: bytes) -> bytes:
    h = hashes.Hash(algorithm())
    h.update(data)
    return h.finalize()
