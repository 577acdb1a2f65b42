"""Verification of PAdES-signed PDFs into a stable, JSON-friendly report.

The report answers one question operators and downstream systems ask — "can this
license be relied on?" — through ``valid``, and explains a ``False`` through
coded ``errors``.  The codes are part of the contract; the messages are not.

Two rules go beyond pyHanko's own verdict:

* nothing but validation data and document timestamps may follow a signature
  (:mod:`signing.revisions`), so a metadata-only update after signing is
  ``verify.modified`` even though pyHanko rates it harmless;
* a document carrying validation data (a DSS: B-LT, B-LTA) must prove the
  signer's revocation status from that data alone, offline and hard-fail, at the
  time of its signature timestamp; otherwise ``verify.ltv_incomplete``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import NameOID
from pydantic import BaseModel, ConfigDict
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import ValidationInfoReadingError
from pyhanko.sign.validation.status import SignatureCoverageLevel

from medlicense.settings import get_settings
from signing import install_speedups
from signing.pdfread import IndexingPdfFileReader
from signing.revisions import changes_after
from signing.trust import load_trust_roots, validation_context

install_speedups()

# PAdES allows exactly these changes after a signature without invalidating it:
# none at all, or long-term-validation material (DSS updates, document timestamps).
ACCEPTED_MODIFICATIONS = frozenset({ModificationLevel.NONE, ModificationLevel.LTA_UPDATES})
ACCEPTED_COVERAGE = frozenset(
    {SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION}
)
# Kazakh qualified certificates carry IIN/BIN in serialNumber, which RFC 4514 has
# no short name for; spell it out instead of printing the bare OID 2.5.4.5.
_RFC4514_NAMES = {NameOID.SERIAL_NUMBER: "serialNumber"}
# The signer writes the document number at the end of /Reason as "(№ X)", or
# as the whole /Reason "№ X" when there is no reason text (signer._reason_text).
_DOCUMENT_NUMBER = re.compile(r"(?:^|\()№ ([^()]+?)\)?$")

PadesLevel = Literal["B-B", "B-T", "B-LT", "B-LTA"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VerificationIssue(_Model):
    code: str
    message: str
    field: str | None = None  # signature field the issue belongs to, if any


class SignatureReport(_Model):
    """One signature or document timestamp, in signing order."""

    field: str | None
    kind: Literal["signature", "document_timestamp"]
    ok: bool
    intact: bool
    valid: bool
    trusted: bool
    revoked: bool
    coverage: str | None
    modification_level: str | None
    timestamp: dt.datetime | None
    timestamp_valid: bool
    signer: str | None
    signer_cert_serial: str | None  # hexadecimal, upper case
    signing_time: dt.datetime | None  # as claimed by the signer, not attested
    pades_level: PadesLevel | None = None  # signatures only
    document_number: str | None = None  # from /Reason, signatures only
    # True when revocation was established from data embedded in the document.
    revocation_checked: bool = False
    ltv_complete: bool = True  # False: a DSS is present but does not prove revocation
    post_signature_changes: tuple[str, ...] = ()  # what breaks the strict rule


class VerificationReport(_Model):
    """Verdict on a whole document; the top-level fields describe its first signature."""

    valid: bool
    intact: bool = False
    trusted: bool = False
    coverage: str | None = None
    modification_level: str | None = None
    timestamp: dt.datetime | None = None
    timestamp_valid: bool = False
    signer: str | None = None
    signer_cert_serial: str | None = None
    pades_level: PadesLevel | None = None
    document_number: str | None = None
    revocation_checked: bool = False
    signatures: int = 0
    document_timestamps: int = 0
    errors: tuple[VerificationIssue, ...] = ()
    details: tuple[SignatureReport, ...] = ()

    def to_public(self) -> dict[str, Any]:
        """The JSON contract of ``medlicense verify --json``."""
        return self.model_dump(mode="json")


# --- remembered reports ------------------------------------------------------------


@dataclass(frozen=True)
class ReportKey:
    """What a verdict depends on besides the clock: the bytes and the trust roots."""

    digest: bytes  # SHA-256 of the document
    roots: frozenset[bytes]  # SHA-256 of each trust root's DER; order and repeats do not matter


@dataclass(frozen=True)
class _Remembered:
    stored_at: float  # on the memo's monotonic clock
    report: VerificationReport


class ReportMemo:
    """Reports of valid documents, by :class:`ReportKey`, each for a limited time.

    The signer verifies every document it signs before returning it (its
    self-check), and publishing verifies the very same bytes again moments
    later; the second verification can only repeat the first.  A verdict
    depends on the bytes, the trust roots, whether modifications were analysed,
    and the clock, nothing else: verification never fetches (revocation comes
    from the data embedded in the document, which are part of its bytes).  So
    a remembered report is the one a fresh verification would give, unless
    something judged against the clock changed in between (a certificate's
    validity period ended); the age limit bounds that as the revocation window (``MEDLICENSE_REVOCATION_CACHE_SECONDS``, see
    :mod:`signing.revinfo`) bounds how late a revocation is noticed when
    signing, and 0 disables the memo.

    Only valid reports are kept.  The pipeline publishes nothing that failed
    its self-check, so a remembered refusal would never be asked for again
    there; and a refusal may be transient (a certificate not yet valid because
    this machine's clock is behind the CA's), which a memo would only prolong.

    A report made with the modification analysis answers a query without it
    (it checked more), never the reverse.  Thread-safe; ``clock`` (seconds,
    monotonic) and ``ttl`` may be replaced in tests.
    """

    def __init__(
        self,
        *,
        limit: int = 256,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.ttl_override = ttl
        self.clock = clock
        self._entries: OrderedDict[tuple[ReportKey, bool], _Remembered] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def ttl(self) -> float:
        """Seconds a report is reused: the revocation window unless overridden."""
        if self.ttl_override is not None:
            return self.ttl_override
        return get_settings().revocation_cache_seconds

    @staticmethod
    def key(data: bytes, roots: Sequence[asn1_x509.Certificate]) -> ReportKey:
        return ReportKey(
            digest=hashlib.sha256(data).digest(),
            roots=frozenset(hashlib.sha256(root.dump()).digest() for root in roots),
        )

    def get(self, key: ReportKey, analyse_modifications: bool) -> VerificationReport | None:
        ttl = self.ttl
        if ttl <= 0:
            return None
        answering = (True,) if analyse_modifications else (False, True)
        with self._lock:
            for analysed in answering:
                entry = self._entries.get((key, analysed))
                if entry is None:
                    continue
                # A negative age means the clock was replaced: stale, not new.
                if 0 <= self.clock() - entry.stored_at < ttl:
                    self._entries.move_to_end((key, analysed))
                    return entry.report
                del self._entries[(key, analysed)]
        return None

    def put(self, key: ReportKey, analyse_modifications: bool, report: VerificationReport) -> None:
        if not report.valid or self.ttl <= 0:
            return
        with self._lock:
            self._entries[(key, analyse_modifications)] = _Remembered(self.clock(), report)
            self._entries.move_to_end((key, analyse_modifications))
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


REPORTS = ReportMemo()


def verify_pdf(
    data: bytes, *, trust_roots: Sequence[Path], analyse_modifications: bool = True
) -> VerificationReport:
    """Verify every signature in ``data`` against the certificates in ``trust_roots``.

    Must not be called from inside a running event loop; use
    :func:`async_verify_pdf` there.  ``analyse_modifications``: see
    :func:`async_verify_with_roots`.
    """
    return asyncio.run(
        async_verify_pdf(data, trust_roots=trust_roots, analyse_modifications=analyse_modifications)
    )


async def async_verify_pdf(
    data: bytes, *, trust_roots: Sequence[Path], analyse_modifications: bool = True
) -> VerificationReport:
    return await async_verify_with_roots(
        data, load_trust_roots(trust_roots), analyse_modifications=analyse_modifications
    )


async def async_verify_with_roots(
    data: bytes,
    roots: Sequence[asn1_x509.Certificate],
    *,
    analyse_modifications: bool = True,
) -> VerificationReport:
    """Like :func:`async_verify_pdf`, with the trust roots already loaded (signer self-check).

    ``analyse_modifications=False`` leaves out pyHanko's difference analysis of
    the revisions after each signature, and only that: integrity, coverage, the
    signature, the chain, the timestamp tokens, the embedded validation data and
    the strict rule are all still checked.  Only for a document whose every
    revision after its first signature was just written by our own signer (its
    self-check); the analysis is most of the cost of verifying a tagged PDF,
    and there it could only re-confirm what pyHanko itself appended.  Modification
    levels are then reported as ``None``.

    Reports of valid documents are remembered for a while (:data:`REPORTS`):
    verifying the same bytes against the same roots again within that time
    returns the same report without re-verifying.
    """
    key = REPORTS.key(data, roots)
    report = REPORTS.get(key, analyse_modifications)
    if report is None:
        report = await _verify(data, roots, analyse_modifications)
        REPORTS.put(key, analyse_modifications, report)
    return report


async def _verify(
    data: bytes, roots: Sequence[asn1_x509.Certificate], analyse_modifications: bool
) -> VerificationReport:
    try:
        # pyHanko's reader, minus its quadratic object stream lookups (the
        # difference analysis reads hundreds of objects from them per revision).
        reader = IndexingPdfFileReader(BytesIO(data))
        embedded = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        # Any of these from the reader means the file is not a PDF we can walk.
        return VerificationReport(
            valid=False,
            errors=(VerificationIssue(code="verify.malformed", message=f"unreadable PDF: {exc}"),),
        )

    details: list[SignatureReport] = []
    issues: list[VerificationIssue] = []
    dss = _read_dss(reader)
    timestamp_revisions = [
        s.signed_revision for s in embedded if s.sig_object_type == "/DocTimeStamp"
    ]
    for sig in embedded:
        is_timestamp = sig.sig_object_type == "/DocTimeStamp"
        try:
            if is_timestamp:
                report = await _check_document_timestamp(sig, roots, analyse_modifications)
            else:
                report = await _check_signature(
                    sig, roots, dss, timestamp_revisions, analyse_modifications
                )
            report = _apply_strict_rule(report, changes_after(reader, sig.signed_revision))
        except (PdfError, ValueError, KeyError, TypeError) as exc:
            # pyHanko raises these for signature dictionaries or CMS blobs it cannot
            # parse; such a signature counts as broken, the others are still checked.
            report = _broken(sig.field_name, is_timestamp)
            issues.append(
                VerificationIssue(
                    code="verify.signature_unreadable",
                    message=f"cannot evaluate signature: {exc}",
                    field=sig.field_name,
                )
            )
        details.append(report)
        issues.extend(_issues_for(report, analyse_modifications))

    regular = [d for d in details if d.kind == "signature"]
    if not regular:
        issues.insert(
            0, VerificationIssue(code="verify.no_signature", message="the PDF carries no signature")
        )
        return VerificationReport(
            valid=False,
            document_timestamps=len(details),
            errors=tuple(issues),
            details=tuple(details),
        )

    first = regular[0]
    return VerificationReport(
        valid=all(d.ok for d in details),
        intact=first.intact,
        trusted=first.trusted,
        coverage=first.coverage,
        modification_level=first.modification_level,
        timestamp=first.timestamp,
        timestamp_valid=first.timestamp_valid,
        signer=first.signer,
        signer_cert_serial=first.signer_cert_serial,
        pades_level=first.pades_level,
        document_number=first.document_number,
        revocation_checked=first.revocation_checked,
        signatures=len(regular),
        document_timestamps=len(details) - len(regular),
        errors=tuple(issues),
        details=tuple(details),
    )


def _read_dss(reader: PdfFileReader) -> DocumentSecurityStore | None:
    try:
        return DocumentSecurityStore.read_dss(reader)
    except (ValidationInfoReadingError, PdfError, ValueError, KeyError, TypeError):
        return None  # absent (NoDSSFoundError) or unusable: either way, no LTV data


def _dss_has_validation_data(dss: DocumentSecurityStore | None) -> bool:
    return dss is not None and bool(dss.certs or dss.ocsps or dss.crls)


def _pades_level(
    has_timestamp: bool,
    dss: DocumentSecurityStore | None,
    signed_revision: int,
    timestamp_revisions: Sequence[int],
) -> PadesLevel:
    if not has_timestamp:
        return "B-B"
    if not _dss_has_validation_data(dss):
        return "B-T"
    if any(rev > signed_revision for rev in timestamp_revisions):
        return "B-LTA"
    return "B-LT"


def _document_number(sig: Any) -> str | None:
    reason = sig.sig_object.get("/Reason")
    if reason is None:
        return None
    match = _DOCUMENT_NUMBER.search(str(reason).strip())
    return match.group(1) if match else None


def _apply_strict_rule(report: SignatureReport, changes: list[str]) -> SignatureReport:
    if not changes:
        return report
    return report.model_copy(update={"ok": False, "post_signature_changes": tuple(changes)})


def _modifications_accepted(level: ModificationLevel | None, analysed: bool) -> bool:
    return level in ACCEPTED_MODIFICATIONS or (level is None and not analysed)


async def _check_signature(
    sig: Any,
    roots: Sequence[asn1_x509.Certificate],
    dss: DocumentSecurityStore | None,
    timestamp_revisions: Sequence[int],
    analyse_modifications: bool = True,
) -> SignatureReport:
    # One context for the signer and its timestamp token, as pyHanko uses by
    # default: same roots, same moment, same (absent) revocation data, so the
    # verdicts are the same, and the CA both chains share is checked once.
    context = validation_context(roots)
    status = await async_validate_pdf_signature(
        sig,
        signer_validation_context=context,
        ts_validation_context=context,
        skip_diff=not analyse_modifications,
    )
    ts = status.timestamp_validity
    timestamp_valid = ts is not None and bool(ts.intact and ts.valid and ts.trusted)
    mod_level = status.modification_level
    revoked = bool(status.revoked)
    revocation_checked = False
    ltv_complete = True
    if _dss_has_validation_data(dss) and ts is not None and status.bottom_line:
        assert dss is not None
        # The difference analysis, if any, was done just above; this pass is
        # about revocation, and the verdict on changes is taken from the first.
        embedded = await _check_with_embedded_data(sig, roots, dss, ts.timestamp)
        revoked = revoked or bool(embedded.revoked)
        revocation_checked = bool(embedded.trusted and not embedded.revoked)
        ltv_complete = revocation_checked or revoked
    ok = bool(
        status.bottom_line
        and not revoked
        and ltv_complete
        and status.coverage in ACCEPTED_COVERAGE
        and _modifications_accepted(mod_level, analyse_modifications)
    )
    return SignatureReport(
        field=sig.field_name,
        kind="signature",
        ok=ok,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        revoked=revoked,
        coverage=_enum_name(status.coverage),
        modification_level=_enum_name(mod_level),
        timestamp=ts.timestamp if ts is not None else None,
        timestamp_valid=timestamp_valid,
        signer=_subject(status.signing_cert),
        signer_cert_serial=format(status.signing_cert.serial_number, "X"),
        signing_time=status.signer_reported_dt,
        pades_level=_pades_level(ts is not None, dss, sig.signed_revision, timestamp_revisions),
        document_number=_document_number(sig),
        revocation_checked=revocation_checked,
        ltv_complete=ltv_complete,
    )


async def _check_with_embedded_data(
    sig: Any,
    roots: Sequence[asn1_x509.Certificate],
    dss: DocumentSecurityStore,
    at: dt.datetime,
) -> Any:
    """Validate again, offline and hard-fail, from the DSS alone, as of ``at``.

    ``at`` is the signature timestamp: the moment the signature provably
    existed, at which the embedded OCSP responses and CRLs were current.  Judged
    at that moment, the document keeps verifying after the responses go stale
    and the certificates expire, which is what B-LTA is for.
    """
    kwargs = {
        "trust_roots": list(roots),
        "allow_fetching": False,
        "revocation_mode": "hard-fail",
        "moment": at,
    }
    # Shared by the signer and the timestamp chains, as in _check_signature: the
    # DSS is parsed into a context once, and the common CA validated once.
    context = dss.as_validation_context(kwargs)
    return await async_validate_pdf_signature(
        sig,
        signer_validation_context=context,
        ts_validation_context=context,
        skip_diff=True,
    )


async def _check_document_timestamp(
    sig: Any, roots: Sequence[asn1_x509.Certificate], analyse_modifications: bool = True
) -> SignatureReport:
    status = await async_validate_pdf_timestamp(
        sig,
        validation_context=validation_context(roots),
        skip_diff=not analyse_modifications,
    )
    mod_level = status.modification_level
    sound = bool(status.intact and status.valid and status.trusted)
    ok = bool(
        sound
        and not status.revoked
        and status.coverage in ACCEPTED_COVERAGE
        and _modifications_accepted(mod_level, analyse_modifications)
    )
    return SignatureReport(
        field=sig.field_name,
        kind="document_timestamp",
        ok=ok,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        revoked=bool(status.revoked),
        coverage=_enum_name(status.coverage),
        modification_level=_enum_name(mod_level),
        timestamp=status.timestamp,
        timestamp_valid=sound,
        signer=_subject(status.signing_cert),
        signer_cert_serial=format(status.signing_cert.serial_number, "X"),
        signing_time=None,
    )


def _broken(field: str | None, is_timestamp: bool) -> SignatureReport:
    return SignatureReport(
        field=field,
        kind="document_timestamp" if is_timestamp else "signature",
        ok=False,
        intact=False,
        valid=False,
        trusted=False,
        revoked=False,
        coverage=None,
        modification_level=None,
        timestamp=None,
        timestamp_valid=False,
        signer=None,
        signer_cert_serial=None,
        signing_time=None,
    )


def _issues_for(report: SignatureReport, analysed: bool = True) -> list[VerificationIssue]:
    """Explain, with stable codes, why a signature that is not ``ok`` fails."""
    if report.ok or report.coverage is None:
        return []  # fine, or already explained as unreadable
    what = "document timestamp" if report.kind == "document_timestamp" else "signature"
    checks: list[tuple[bool, str, str]] = [
        (not report.intact, "verify.not_intact", f"the {what} does not match the signed bytes"),
        (
            report.intact and not report.valid,
            "verify.invalid_signature",
            f"the {what} value is cryptographically invalid",
        ),
        (report.revoked, "verify.revoked", "the signing certificate is revoked"),
        (
            not report.trusted and not report.revoked,
            "verify.untrusted",
            "the signing certificate does not chain to a trusted root",
        ),
        (
            report.coverage not in {c.name for c in ACCEPTED_COVERAGE},
            "verify.coverage",
            f"the {what} covers only part of the file ({report.coverage})",
        ),
        (
            (
                report.modification_level not in {m.name for m in ACCEPTED_MODIFICATIONS}
                and (analysed or report.modification_level is not None)
            )
            or bool(report.post_signature_changes),
            "verify.modified",
            f"the document was changed after the {what} "
            f"(modification level {report.modification_level}"
            + "".join(f"; {change}" for change in report.post_signature_changes)
            + ")",
        ),
        (
            not report.ltv_complete,
            "verify.ltv_incomplete",
            "the embedded validation data does not prove the signer certificate unrevoked",
        ),
        (
            report.kind == "signature"
            and report.timestamp is not None
            and not report.timestamp_valid,
            "verify.timestamp_invalid",
            "the signature timestamp is not valid or not trusted",
        ),
    ]
    found = [
        VerificationIssue(code=code, message=message, field=report.field)
        for failed, code, message in checks
        if failed
    ]
    if not found:
        # bottom_line failed for a reason not itemised above (seed values, DocMDP).
        found.append(
            VerificationIssue(
                code="verify.policy",
                message=f"the {what} violates the document's signature policy",
                field=report.field,
            )
        )
    return found


def _enum_name(value: Any) -> str | None:
    return None if value is None else str(value.name)


def _subject(cert: asn1_x509.Certificate) -> str:
    with warnings.catch_warnings():
        # cryptography warns about commonName values over 64 UTF-8 bytes, which
        # every long Cyrillic name is; RFC 5280 counts characters, so it is noise.
        warnings.simplefilter("ignore", UserWarning)
        subject = x509.load_der_x509_certificate(cert.dump()).subject
        return subject.rfc4514_string(_RFC4514_NAMES)
