"""PAdES signing of license PDFs with the provider's key.

The boundary contract: :meth:`PdfSigner.sign` either returns a PDF whose new
signature verifies (it is checked before it is returned) or raises a
:class:`medlicense.errors.SigningError` subclass with a stable code.  No pyHanko,
httpx or asn1crypto exception crosses it, and unsigned bytes never leave it.

Signing is an incremental update (``IncrementalPdfFileWriter``): the original
bytes, including a PDF/A-3b identification and output intent from WeasyPrint,
are kept verbatim and the signature is appended after them.

Before every signature the signer certificate is validated against the trust
roots *with* revocation checking: the OCSP responder / CRL the certificate names
is asked (``revocation_mode="hard-fail"`` by default: no answer, no signature).
Its answers are reused for ``revocation_cache_seconds`` (``signing.revinfo``
says why that is safe), so a revocation is noticed at most that late.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import ssl
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import certifi
import httpx
from asn1crypto import keys as asn1_keys
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR as PYHANKO_PRODUCER
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator import CertificateValidator
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from medlicense.errors import (
    CertificateError,
    KeyLoadError,
    MedLicenseError,
    SigningError,
    TimestampError,
)
from medlicense.settings import get_settings
from signing import install_speedups
from signing.profiles import SIGNATURE_LEVELS, ProfileTable, SignatureLevel, configured_profiles
from signing.revinfo import CachingFetcherBackend, RevocationCache
from signing.rfc3161 import QUERY_CONTENT_TYPE, REPLY_CONTENT_TYPE, describe_refusal
from signing.stamp import DEFAULT_TIMEZONE, StampSpec, stamp_style, stamp_text_params
from signing.trust import (
    RevocationMode,
    load_trust_roots,
    online_validation_context,
)
from signing.verify import VerificationReport, async_verify_with_roots

install_speedups()

__all__ = [
    "SIGNATURE_LEVELS",
    "HttpxTimeStamper",
    "PdfSigner",
    "SignatureLevel",
    "StampSpec",
]

# Key usages the signer certificate must carry.  A license is a statement the
# provider commits to, so nonRepudiation (contentCommitment) is the one that
# matters; pyHanko checks the same set before signing.
SIGNER_KEY_USAGE = frozenset({"non_repudiation"})

DEFAULT_TSA_TIMEOUT = 10.0
# OCSP/CRL fetches during signing; a responder slower than this counts as down.
DEFAULT_REVOCATION_TIMEOUT = 10.0
# PDF/A parts built on ISO 32000-1, whose signature algorithms are RSA and DSA
# only; ECDSA arrives with PDF 2.0 (ISO 32000-2, PDF/A-4).
PDFA_PARTS_WITHOUT_ECDSA = frozenset({1, 2, 3})
_PDFA_PART = re.compile(rb"pdfaid:part(?:\s*=\s*[\"']|\s*>)\s*(\d+)")


# --- timestamp client ---------------------------------------------------------------


class _TsaFailure(TimestampRequestError):
    """Carries our error code through pyHanko, which only knows ``TimestampRequestError``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class HttpxTimeStamper(TimeStamper):
    """RFC 3161 client on httpx that tells "TSA unreachable" from "TSA answered badly".

    pyHanko's own HTTP clients fold both into one ``TimestampRequestError``; the
    pipeline needs them apart, because the first is retried later and the second
    is an incident.
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TSA_TIMEOUT) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # untyped in pyHanko
        self.url = url
        self.timeout = timeout
        self._tls: ssl.SSLContext | None = None

    def _tls_context(self) -> ssl.SSLContext:
        # A client is opened per request (each signature runs in its own event
        # loop), and each would otherwise load the CA bundle again (~30 ms).
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        headers = {"Content-Type": QUERY_CONTENT_TYPE, "Accept": REPLY_CONTENT_TYPE}
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout, verify=self._tls_context()
            ) as client:
                response = await client.post(self.url, content=req.dump(), headers=headers)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.ProxyError) as exc:
            raise _TsaFailure(
                f"timestamp authority {self.url} unreachable: {exc!r}", "signing.tsa_unavailable"
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _TsaFailure(
                f"timestamp authority {self.url} answered badly: {exc!r}", "signing.tsa_invalid"
            ) from exc
        if response.status_code >= 500:
            raise _TsaFailure(
                f"timestamp authority {self.url} failed with HTTP {response.status_code}",
                "signing.tsa_unavailable",
            )
        if response.status_code != 200:
            raise _TsaFailure(
                f"timestamp authority {self.url} refused with HTTP {response.status_code}",
                "signing.tsa_invalid",
            )
        ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != REPLY_CONTENT_TYPE:
            raise _TsaFailure(
                f"timestamp authority {self.url} sent {ctype or 'no content type'}, "
                f"not {REPLY_CONTENT_TYPE}",
                "signing.tsa_invalid",
            )
        refusal = describe_refusal(response.content)
        if refusal is not None and not refusal.startswith("granted"):
            raise _TsaFailure(
                f"timestamp authority {self.url} refused the request: {refusal}",
                "signing.tsa_invalid",
            )
        try:
            parsed = tsp.TimeStampResp.load(response.content)
            # asn1crypto is lazy: parse now so garbage fails here, not mid-signing.
            _ = parsed.native
        except ValueError as exc:
            raise _TsaFailure(
                f"timestamp authority {self.url} sent an unparsable reply: {exc}",
                "signing.tsa_invalid",
            ) from exc
        return parsed


# --- key material -------------------------------------------------------------------


@dataclass(frozen=True)
class _KeyMaterial:
    signer: signers.SimpleSigner
    certificate: x509.Certificate
    chain: tuple[asn1_x509.Certificate, ...]

    @property
    def is_ecdsa(self) -> bool:
        return isinstance(self.certificate.public_key(), ec.EllipticCurvePublicKey)

    @property
    def common_name(self) -> str:
        with warnings.catch_warnings():
            # cryptography warns about long UTF-8 commonNames; see pki._common_name.
            warnings.simplefilter("ignore", UserWarning)
            names = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else self.certificate.subject.rfc4514_string()


def _load_pkcs12(path: Path, passphrase: bytes) -> _KeyMaterial:
    """Open the PKCS#12 with cryptography directly, to tell failures apart.

    ``SimpleSigner.load_pkcs12`` logs and returns ``None`` for every failure, so a
    missing file, a wrong passphrase and a corrupt file would all look alike.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise KeyLoadError(
            f"signer key {path} does not exist", code="signing.key_missing", path=path
        ) from exc
    except OSError as exc:
        raise KeyLoadError(
            f"cannot read signer key {path}: {exc}", code="signing.key_load", path=path
        ) from exc
    try:
        _ = asn1_pkcs12.Pfx.load(data).native
    except ValueError as exc:
        raise KeyLoadError(
            f"{path} is not a PKCS#12 file", code="signing.key_load", path=path
        ) from exc
    try:
        # cryptography cannot say whether the MAC or the decryption failed; the
        # structure parsed above, so a failure here is the passphrase.
        key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase or None)
    except ValueError as exc:
        raise KeyLoadError(
            f"wrong passphrase for signer key {path}", code="signing.wrong_passphrase", path=path
        ) from exc
    if key is None or cert is None:
        raise KeyLoadError(
            f"{path} must hold both a private key and its certificate",
            code="signing.key_load",
            path=path,
        )
    key_info = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signing_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    chain = tuple(
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in extra
    )
    signer = _ParsedKeySigner(
        private_key=key,
        signing_cert=signing_cert,
        signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        # Embed the whole chain up to and including the root, so an archive copy
        # can be checked without fetching anything.
        embed_roots=True,
    )
    return _KeyMaterial(signer=signer, certificate=cert, chain=chain)


class _ParsedKeySigner(signers.SimpleSigner):
    """pyHanko's ``SimpleSigner``, signing with a key object parsed once.

    ``SimpleSigner.sign_raw`` re-parses the PKCS#8 DER key on every call, and it
    is called twice per signature (once more for the dry run that sizes the
    placeholder); cryptography checks an RSA key's consistency on every parse,
    ~45 ms each time for the provider's key.  The raw signature itself is the
    same operation pyHanko performs; mechanisms other than ours go to pyHanko.
    """

    def __init__(self, *, private_key: PrivateKeyTypes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algorithm = mechanism.signature_algo
        except ValueError:  # as in pyHanko: a mechanism asn1crypto cannot name
            return bytes(super().sign_raw(data, digest_algorithm))
        key = self._private_key
        if algorithm == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algorithm == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return bytes(super().sign_raw(data, digest_algorithm))


def _passphrase_bytes(passphrase: str | bytes | SecretStr) -> bytes:
    if isinstance(passphrase, SecretStr):
        passphrase = passphrase.get_secret_value()
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    return passphrase


# --- the signer ---------------------------------------------------------------------


class PdfSigner:
    """Signs PDFs with one key, loaded and checked once.  Safe to reuse; not thread-safe."""

    def __init__(
        self,
        material: _KeyMaterial,
        *,
        trust_roots: Sequence[asn1_x509.Certificate],
        tsa_url: str | None,
        tsa_timeout: float = DEFAULT_TSA_TIMEOUT,
        self_check: bool = True,
        revocation_mode: RevocationMode = "hard-fail",
        revocation_timeout: float = DEFAULT_REVOCATION_TIMEOUT,
        revocation_cache_seconds: float | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self._material = material
        self._roots = tuple(trust_roots)
        self.tsa_url = tsa_url
        self.self_check = self_check
        self.revocation_mode: RevocationMode = revocation_mode
        self.revocation_timeout = revocation_timeout
        if revocation_cache_seconds is None:
            revocation_cache_seconds = get_settings().revocation_cache_seconds
        # OCSP/CRL answers and the signer chain verdict, reused for this many
        # seconds (signing.revinfo explains why that is safe); 0: ask every time.
        self._revocation_cache = RevocationCache(revocation_cache_seconds)
        self._tls: ssl.SSLContext | None = None
        # Placeholder size for the CMS, with / without a timestamp token.
        self._container_sizes: dict[bool, int] = {}
        self.timezone = _zone(timezone)
        # One stamper for the signer's lifetime: it caches a probe token per digest
        # algorithm, which saves a TSA round trip on every signature after the first.
        self._timestamper = (
            HttpxTimeStamper(tsa_url, timeout=tsa_timeout) if tsa_url is not None else None
        )

    @classmethod
    def from_pkcs12(
        cls,
        path: Path,
        passphrase: str | bytes | SecretStr,
        *,
        tsa_url: str | None,
        trust_roots: Sequence[Path],
        tsa_timeout: float = DEFAULT_TSA_TIMEOUT,
        self_check: bool = True,
        revocation_mode: RevocationMode = "hard-fail",
        revocation_timeout: float = DEFAULT_REVOCATION_TIMEOUT,
        revocation_cache_seconds: float | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> PdfSigner:
        """Load the key, and refuse it now if it could not produce a trusted signature."""
        material = _load_pkcs12(Path(path), _passphrase_bytes(passphrase))
        roots = load_trust_roots(trust_roots)
        signer = cls(
            material,
            trust_roots=roots,
            tsa_url=tsa_url,
            tsa_timeout=tsa_timeout,
            self_check=self_check,
            revocation_mode=revocation_mode,
            revocation_timeout=revocation_timeout,
            revocation_cache_seconds=revocation_cache_seconds,
            timezone=timezone,
        )
        signer.check_certificate()
        return signer

    @property
    def certificate(self) -> x509.Certificate:
        return self._material.certificate

    @property
    def signer_name(self) -> str:
        """The certificate's commonName: the name the visible stamp shows."""
        return self._material.common_name

    @property
    def revocation_cache(self) -> RevocationCache:
        return self._revocation_cache

    def _fetcher_backend(self, *, reuse: bool = True) -> CachingFetcherBackend:
        if self._tls is None:
            # As certvalidator's default session does, but once per signer.
            self._tls = ssl.create_default_context(cafile=certifi.where())
        return CachingFetcherBackend(
            self._revocation_cache if reuse else RevocationCache(0),
            tls=self._tls,
            per_request_timeout=self.revocation_timeout,
        )

    # -- checks ---------------------------------------------------------------------

    def check_certificate(self, *, at: dt.datetime | None = None) -> None:
        """Validity period, then chain to the trust roots; raises ``CertificateError``."""
        asyncio.run(self._async_check_certificate(at))

    async def _async_check_certificate(self, at: dt.datetime | None = None) -> None:
        # A point-in-time check ("at") must judge answers valid at that moment,
        # which reused ones need not be; it asks afresh and records nothing.
        backend = self._fetcher_backend(reuse=at is None)
        try:
            await self._async_check_certificate_with(backend, at)
        finally:
            await backend.close()

    async def _async_check_certificate_with(
        self, backend: CachingFetcherBackend, at: dt.datetime | None
    ) -> None:
        now = at or dt.datetime.now(dt.UTC)
        cert = self._material.certificate
        # Checked ahead of path validation so the operator gets the precise reason
        # (and the date) rather than a generic "path invalid".
        if now < cert.not_valid_before_utc:
            raise CertificateError(
                f"signer certificate is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M}Z",
                code="signing.cert_not_yet_valid",
                not_before=cert.not_valid_before_utc.isoformat(),
            )
        if now > cert.not_valid_after_utc:
            raise CertificateError(
                f"signer certificate expired {cert.not_valid_after_utc:%Y-%m-%d %H:%M}Z",
                code="signing.cert_expired",
                not_after=cert.not_valid_after_utc.isoformat(),
            )
        if not self._roots:
            raise CertificateError(
                "no trust roots configured: the signer chain cannot be checked",
                code="signing.cert_untrusted",
            )
        if at is None and self._revocation_cache.chain_recently_valid():
            # Validated within the window, from the answers it would now reuse
            # anyway; pyHanko's pre-sign validation still builds and checks the
            # path (with revocation) for every signature.
            return
        validator = CertificateValidator(
            self._material.signer.signing_cert,
            intermediate_certs=list(self._material.chain),
            validation_context=online_validation_context(
                self._roots,
                fetcher_backend=backend,
                revocation_mode=self.revocation_mode,
                # An explicit moment (a test's "at") is a point-in-time check;
                # revocation answers are then judged at that moment too.
                moment=at,
            ),
        )
        try:
            await validator.async_validate_usage(set(SIGNER_KEY_USAGE))  # type: ignore[no-untyped-call]
        except (PathBuildingError, ValidationError) as exc:
            raise _signer_chain_error(exc) from exc
        if at is None:
            self._revocation_cache.chain_validated()

    # -- signing --------------------------------------------------------------------

    def sign(
        self,
        pdf: bytes,
        *,
        field_name: str = "Signature1",
        reason: str | None = None,
        location: str | None = None,
        document_number: str | None = None,
        level: SignatureLevel = "B-T",
        stamp: StampSpec | None = None,
    ) -> bytes:
        """Sign ``pdf``; must not be called inside a running event loop (use ``async_sign``).

        With ``stamp`` a visible signature widget is drawn (see :class:`StampSpec`);
        it names the signer, the signing time and ``document_number``, so that one
        is then required.
        """
        return asyncio.run(
            self.async_sign(
                pdf,
                field_name=field_name,
                reason=reason,
                location=location,
                document_number=document_number,
                level=level,
                stamp=stamp,
            )
        )

    def sign_document(
        self,
        pdf: bytes,
        *,
        document_type: str,
        document_number: str,
        location: str | None = None,
        profiles: ProfileTable | None = None,
    ) -> bytes:
        """Sign an outgoing document as its type's profile says (level, stamp, reason)."""
        return asyncio.run(
            self.async_sign_document(
                pdf,
                document_type=document_type,
                document_number=document_number,
                location=location,
                profiles=profiles,
            )
        )

    async def async_sign_document(
        self,
        pdf: bytes,
        *,
        document_type: str,
        document_number: str,
        location: str | None = None,
        profiles: ProfileTable | None = None,
    ) -> bytes:
        profile = (profiles or configured_profiles()).profile_for(document_type)
        return await self.async_sign(
            pdf,
            field_name=profile.field_name,
            reason=profile.reason,
            location=location,
            document_number=document_number,
            level=profile.level,
            stamp=StampSpec() if profile.stamp else None,
        )

    async def async_sign(
        self,
        pdf: bytes,
        *,
        field_name: str = "Signature1",
        reason: str | None = None,
        location: str | None = None,
        document_number: str | None = None,
        level: SignatureLevel = "B-T",
        stamp: StampSpec | None = None,
    ) -> bytes:
        if level not in SIGNATURE_LEVELS:
            raise SigningError(
                f"unsupported PAdES level {level!r}; expected one of {SIGNATURE_LEVELS}",
                code="signing.level_unsupported",
            )
        timestamper = None
        if level != "B-B":
            if self._timestamper is None:
                raise SigningError(
                    f"PAdES {level} needs a timestamp authority, but no TSA URL is configured",
                    code="signing.tsa_required",
                )
            timestamper = self._timestamper
        if stamp is not None and not document_number:
            raise SigningError(
                "a visible stamp names the document: document_number is required",
                code="signing.stamp_needs_number",
            )

        backend = self._fetcher_backend()
        try:
            await self._async_check_certificate_with(backend, None)
            writer = _open_writer(pdf)
            # Only then is every revision after our signature our own writing.
            fresh = not _carries_signatures(writer)
            signed = await self._sign_with(
                backend,
                writer,
                field_name=field_name,
                reason=reason,
                location=location,
                document_number=document_number,
                level=level,
                stamp=stamp,
                timestamper=timestamper,
            )
        finally:
            await backend.close()

        if self.self_check:
            # Over a fresh document pyHanko's difference analysis would only
            # re-read what pyHanko just appended (a DSS, a document timestamp),
            # for most of the self-check's cost; everything else is checked.
            # Over a signed one it decides whether our update spoils the earlier
            # signatures, so there it runs.
            report = await async_verify_with_roots(
                signed, self._roots, analyse_modifications=not fresh
            )
            _require_sound(report, level)
        return signed

    async def _sign_with(
        self,
        backend: CachingFetcherBackend,
        writer: IncrementalPdfFileWriter,
        *,
        field_name: str,
        reason: str | None,
        location: str | None,
        document_number: str | None,
        level: SignatureLevel,
        stamp: StampSpec | None,
        timestamper: TimeStamper | None,
    ) -> bytes:
        if self._material.is_ecdsa:
            _require_ecdsa_allowed(writer)

        _keep_metadata_consistent(writer)
        meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=_reason_text(reason, document_number),
            location=location,
            # With a validation context pyHanko re-checks the signer and, above all,
            # the TSA certificate path before it commits to a signature; for
            # B-LTA it also collects the OCSP responses / CRLs it then embeds.
            validation_context=online_validation_context(
                self._roots,
                fetcher_backend=backend,
                # LTA evidence is the point of B-LTA: without revocation answers
                # to embed, the document would not verify offline later.
                revocation_mode="hard-fail" if level == "B-LTA" else self.revocation_mode,
            ),
            signer_key_usage=set(SIGNER_KEY_USAGE),
            embed_validation_info=level == "B-LTA",
            use_pades_lta=level == "B-LTA",
        )
        zone = self.timezone
        extra: dict[str, Any] = {}
        text_params: dict[str, str] | None = None
        if stamp is not None:
            zone = _zone(stamp.timezone)
            extra["stamp_style"] = _stamp_style(stamp)
            extra["new_field_spec"] = fields.SigFieldSpec(
                sig_field_name=field_name,
                on_page=stamp.page,
                # pyHanko annotates int, but writes the box as reals (FloatObject).
                box=stamp.resolved_box(),  # type: ignore[arg-type]
            )
            text_params = stamp_text_params(
                stamp.signer_name or self.signer_name, document_number or ""
            )
        pdf_signer = _ZonedPdfSigner(
            meta,
            self._material.signer,
            timestamper=timestamper,
            zone=zone,
            sizes=self._container_sizes,
            size_key=timestamper is not None,
            **extra,
        )
        try:
            out = await pdf_signer.async_sign_pdf(writer, appearance_text_params=text_params)
            signed: bytes = out.getvalue()
        except MedLicenseError:
            raise
        except Exception as exc:
            # pyHanko surfaces failures as a wide, undocumented mix (its own
            # errors, asn1crypto ValueErrors, certvalidator errors, IOError from
            # the TSA client); they are all translated, none escapes.
            _raise_signing_failure(exc)
        return signed


class _ZonedPdfSigner(signers.PdfSigner):
    """pyHanko's signer, with the signing time read in the office's time zone,
    and its signature size estimate made once per :class:`PdfSigner`.

    pyHanko takes the time from the machine's local zone (tzlocal) and uses that
    one value for /M, the CMS signingTime and the stamp text.  Pinning it here
    makes the stamp show Oral time on any server, and to the second, so the
    stamp and the signature dictionary agree exactly.

    To size the placeholder for the CMS, pyHanko builds and signs a complete
    dry-run CMS before every signature (~10 ms).  Its size depends on the key,
    the certificate chain, attributes of fixed length and the timestamper's
    probe token, which the timestamper keeps for its lifetime, never on the
    document: pyHanko would compute the same number every time.  ``sizes``
    keeps it (with pyHanko's own safety margin) under ``size_key``.
    """

    def __init__(
        self,
        *args: Any,
        zone: ZoneInfo,
        sizes: dict[bool, int],
        size_key: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._zone = zone
        self._sizes = sizes
        self._size_key = size_key

    def init_signing_session(
        self, pdf_out: Any, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        session: PdfSigningSession = super().init_signing_session(
            pdf_out, existing_fields_only=existing_fields_only
        )
        session.system_time = dt.datetime.now(self._zone).replace(microsecond=0)
        estimate = session.estimate_signature_container_size
        sizes, key = self._sizes, self._size_key

        async def estimate_once(validation_info: Any, tight: bool = False) -> int:
            if key not in sizes:
                sizes[key] = await estimate(validation_info, tight=tight)
            return sizes[key]

        session.estimate_signature_container_size = estimate_once  # type: ignore[method-assign]
        return session


def _stamp_style(spec: StampSpec) -> Any:
    try:
        return stamp_style(spec)
    except OSError as exc:
        raise SigningError(
            f"cannot load the stamp font {spec.font_file}: {exc}", code="signing.stamp_font"
        ) from exc


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SigningError(f"unknown time zone {name!r}", code="config.timezone") from exc


def _open_writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(BytesIO(pdf))
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(
            f"input is not a readable PDF: {exc}", code="signing.pdf_unreadable"
        ) from exc


def _carries_signatures(writer: IncrementalPdfFileWriter) -> bool:
    """Whether the input already carries a signature or a document timestamp."""
    try:
        return bool(writer.prev.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError):
        # Cannot tell: assume so, which keeps the self-check's full analysis.
        return True


def pdfa_part(writer: IncrementalPdfFileWriter) -> int | None:
    """The PDF/A part the document claims in its XMP (``pdfaid:part``), if any."""
    try:
        meta = writer.root["/Metadata"]
        data = meta.data if isinstance(meta, generic.StreamObject) else b""
    except (KeyError, PdfError, ValueError):
        return None
    match = _PDFA_PART.search(data)
    return int(match.group(1)) if match else None


def _require_ecdsa_allowed(writer: IncrementalPdfFileWriter) -> None:
    part = pdfa_part(writer)
    if part in PDFA_PARTS_WITHOUT_ECDSA:
        raise SigningError(
            f"the document claims PDF/A-{part}, whose base standard (ISO 32000-1) "
            "allows RSA and DSA signatures only; sign it with the RSA key",
            code="signing.algorithm_not_allowed",
            pdfa_part=part,
        )


def _keep_metadata_consistent(writer: IncrementalPdfFileWriter) -> None:
    """Make pyHanko's metadata touch-up leave /Info and XMP in agreement.

    PDF/A (ISO 19005-3 §6.6.2.3) requires every /Info entry to equal its XMP
    counterpart.  While writing, pyHanko sets XMP ``pdf:Producer`` to its own
    name but *appends* that name to an existing /Info /Producer, and stamps the
    modification date into each with a separate clock reading.  Pinning one date
    and pre-setting /Info /Producer to exactly what goes into XMP keeps a
    WeasyPrint PDF/A-3b a PDF/A-3b after signing.
    """
    writer.document_meta.last_modified = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if "/Metadata" not in writer.root:
        return  # no XMP, nothing to agree with
    info_ref = writer.trailer.raw_get("/Info") if "/Info" in writer.trailer else None
    if not isinstance(info_ref, generic.IndirectObject):
        return
    info = writer.trailer["/Info"]  # the dictionary itself (subscripting dereferences)
    if isinstance(info, generic.DictionaryObject) and "/Producer" in info:
        info["/Producer"] = generic.TextStringObject(PYHANKO_PRODUCER)
        writer.mark_update(info_ref)


def _reason_text(reason: str | None, document_number: str | None) -> str | None:
    # PDF signature dictionaries have no slot for a document number; /Reason is
    # the field every viewer shows, so the number travels there.
    if document_number is None:
        return reason
    suffix = f"№ {document_number}"
    return f"{reason} ({suffix})" if reason else suffix


def _signer_chain_error(exc: PathBuildingError | ValidationError) -> CertificateError:
    """The coded error for certvalidator's verdict on the signer's chain."""
    if isinstance(exc, PathBuildingError):
        return CertificateError(
            f"signer certificate does not chain to a trusted root: {exc}",
            code="signing.cert_untrusted",
        )
    if isinstance(exc, RevokedError):
        return CertificateError(
            f"a certificate in the signer chain is revoked: {exc}", code="signing.cert_revoked"
        )
    if isinstance(exc, InsufficientRevinfoError):
        return CertificateError(
            "cannot establish that the signer certificate is not revoked "
            f"(OCSP responder / CRL unreachable or unusable): {exc}",
            code="signing.revocation_unavailable",
        )
    if isinstance(exc, ExpiredError):
        return CertificateError(
            f"a certificate in the signer chain has expired: {exc}", code="signing.cert_expired"
        )
    if isinstance(exc, NotYetValidError):
        return CertificateError(
            f"a certificate in the signer chain is not yet valid: {exc}",
            code="signing.cert_not_yet_valid",
        )
    if isinstance(exc, InvalidCertificateError):
        return CertificateError(
            f"signer certificate is not fit for signing: {exc}", code="signing.cert_usage"
        )
    return CertificateError(f"signer chain is invalid: {exc}", code="signing.cert_invalid")


def _raise_signing_failure(exc: Exception) -> NoReturn:
    if isinstance(exc, _TsaFailure):
        raise TimestampError(str(exc), code=exc.code) from exc
    if isinstance(exc, TimestampRequestError):
        # Raised by pyHanko itself: the TSA refused, or echoed the wrong nonce.
        raise TimestampError(
            f"timestamp authority response rejected: {exc}", code="signing.tsa_invalid"
        ) from exc
    if isinstance(exc, (PathBuildingError, PathValidationError, ValidationError)):
        # pyHanko wraps failures of the signer chain in its own SigningError
        # (below), so a bare path failure in its pre-sign checks is the TSA's.
        raise TimestampError(
            f"timestamp authority certificate is not acceptable: {exc}",
            code="signing.tsa_untrusted",
        ) from exc
    if isinstance(exc, PdfError):
        raise SigningError(
            f"cannot add a signature to this PDF: {exc}", code="signing.pdf_unreadable"
        ) from exc
    cause = exc.__cause__
    if isinstance(exc, PyHankoSigningError) and isinstance(
        cause, (PathBuildingError, ValidationError)
    ):
        # pyHanko's own pre-sign validation of the signer certificate, which
        # wraps certvalidator's verdict.  Reached when that validation sees
        # what our check before it did not: revocation data fetched afresh
        # because the reused answer expired in between.
        raise _signer_chain_error(cause) from exc
    if isinstance(exc, PyHankoSigningError):
        raise SigningError(f"pyHanko refused to sign: {exc}", code="signing.failed") from exc
    raise SigningError(f"signing failed: {exc!r}", code="signing.failed") from exc


def _require_sound(report: VerificationReport, level: SignatureLevel) -> None:
    ours = [d.pades_level for d in report.details if d.kind == "signature"][-1:]
    # The level is checked as well: a B-LTA whose DSS pyHanko left empty would
    # otherwise pass as a valid B-T.  (A valid B-LTA has proven revocation
    # from its DSS: verify rejects a DSS that does not, as ltv_incomplete.)
    produced = ours[0] if ours else None
    if report.valid and (level == "B-B" or report.timestamp_valid) and produced == level:
        return
    codes = ", ".join(issue.code for issue in report.errors) or "none"
    if level != "B-B" and not report.timestamp_valid and report.intact and report.trusted:
        raise TimestampError(
            f"the timestamp token obtained from the TSA does not verify (issues: {codes})",
            code="signing.tsa_invalid",
        )
    raise SigningError(
        f"the freshly signed PDF does not verify as PAdES {level} "
        f"(verified as {produced or 'unsigned'}; issues: {codes})",
        code="signing.self_check_failed",
    )
