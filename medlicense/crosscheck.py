"""Cross-checks between the documents of a package and ``request.json``.

The fields read from each document (:mod:`extractors.fields`) are compared
with each other and with the rules data, and every disagreement becomes a
coded :class:`~medlicense.models.Finding`:

==================  ==============================================================
``id.*``, ``iin.*``  the applicant's (or payer's, or a staff member's) IIN/BIN fails
``bin.*``            :func:`medlicense.rules.identifiers.check_id` (same codes)
``id.mismatch``      a document names another IIN/BIN than the application
``request.mismatch`` request.json disagrees with the application (kind, IIN/BIN, name,
                     subtypes)
``fee.underpaid``    less than the fee due on the payment date (rules.fees), shortfall
                     in the message
``fee.paid_by_other`` the payer's IIN/BIN is not the applicant's
``subtype.unknown``   the application names a subtype that is not in the edition's
                     nomenclature (or that cannot be read as one)
``subtype.uncovered`` a requested subtype has no section in any qualification form
``document.expired`` a specialist certificate or proxy expired before submission
==================  ==============================================================

Findings never change the outcome here (completeness does, in the rules core);
``fee.underpaid`` is marked blocking because an unpaid fee is a ground for
refusal (item 10), the rest are warnings for the reviewer.

The application is what the applicant signed, so where it and request.json
differ the application wins for the evaluation (:func:`effective_request`).
Values read by OCR are trusted less: an OCR-read IIN/BIN that fails its check
digit is taken for a misread and not compared (a single wrong digit always
breaks the check digit), rather than accusing the applicant of a mismatch.

The application prints the requested subtypes by name; the names are matched
to the codes of the edition's nomenclature (:func:`requested_subtypes`, the
names are rules data), so a package without request.json still says what is
asked for.  An OCR-read list is matched tolerantly, and where request.json
lists subtypes too, its codes are kept over an OCR reading and a leftover the
OCR could not place is not reported: like a misread digit, it is not the
applicant's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal

from extractors.fields import (
    ApplicationFields,
    CertificateFields,
    ChangeEvidenceFields,
    NameMatch,
    PaymentFields,
    PremisesFields,
    ProxyFields,
    QualificationFields,
    SanitaryFields,
    match_names,
)
from medlicense.errors import RulesError
from medlicense.models import (
    ApplicantType,
    ApplicationRequest,
    DocumentInfo,
    Finding,
    RequestKind,
    Severity,
)
from medlicense.rules.fees import check_payment, fee_due
from medlicense.rules.identifiers import check_id, checksum_valid
from medlicense.rules.schema import Edition

KZ_TIME = dt.timezone(dt.timedelta(hours=5))
REQUEST_FILE = "request.json"


def _where(doc: DocumentInfo) -> str:
    if doc.page_range:
        return f"{doc.file} (pages {doc.page_range[0]}-{doc.page_range[1]})"
    return doc.file


def application_of(
    documents: Sequence[DocumentInfo],
) -> tuple[DocumentInfo, ApplicationFields] | None:
    for doc in documents:
        if isinstance(doc.fields, ApplicationFields):
            return doc, doc.fields
    return None


def subtype_names(edition: Edition) -> dict[str, str]:
    """Every printed name (Kazakh and Russian) of the edition's subtypes -> its code."""
    names: dict[str, str] = {}
    for subtype in edition.subtypes:
        names[subtype.name.kk] = subtype.code
        names[subtype.name.ru] = subtype.code
    return names


def requested_subtypes(doc: DocumentInfo, app: ApplicationFields, edition: Edition) -> NameMatch:
    """The subtype codes the application asks for, and the names that are none of them."""
    return match_names("; ".join(app.subtypes), subtype_names(edition), tolerant=doc.ocr_pages > 0)


def _application_wins(doc: DocumentInfo, read: NameMatch) -> bool:
    """Whether the application's subtypes are read well enough to override request.json's."""
    return bool(read.codes) and not read.unknown and not doc.ocr_pages


def effective_request(
    request: ApplicationRequest | None,
    documents: Sequence[DocumentInfo],
    edition: Edition | None = None,
) -> ApplicationRequest:
    """The request to evaluate: request.json, corrected by what the application says.

    The subtypes need ``edition`` (its nomenclature turns the printed names into
    codes); without it they stay request.json's.
    """
    base = request or ApplicationRequest()
    found = application_of(documents)
    if found is None:
        return base
    app_doc, app = found
    updates: dict[str, object] = {}
    if app.request_kind is not None:
        updates["kind"] = RequestKind(app.request_kind)
    if app.applicant_type is not None:
        updates["applicant_type"] = ApplicantType(app.applicant_type)
    if app.iin_bin:
        updates["iin_bin"] = app.iin_bin
    if app.applicant_name:
        updates["applicant_name"] = app.applicant_name
    if app.places and not base.places:
        updates["places"] = app.places
    if edition is not None and app.subtypes:
        read = requested_subtypes(app_doc, app, edition)
        # The signed application says what is asked for; a partial or OCR'd reading
        # only fills in what request.json does not say.
        if read.codes and (not base.subtypes or _application_wins(app_doc, read)):
            updates["subtypes"] = read.codes
    if app.license_number and not base.license_number:
        updates["license_number"] = app.license_number
    if app.reissue_ground_code:
        updates["reissue_ground"] = app.reissue_ground_code
    if app.representative_name or app.representative_iin:
        updates["representative"] = True
    if base.submitted_at is None and app.date is not None:
        updates["submitted_at"] = dt.datetime.combine(app.date, dt.time(12), tzinfo=KZ_TIME)
    return base.model_copy(update=updates) if updates else base


def _name_key(name: str) -> str:
    return re.sub(r"[\s«»\"'“”„]+", " ", name.casefold().replace("ё", "е")).strip()


def _finding(
    code: str, message: str, document: str | None, severity: Severity = Severity.WARNING
) -> Finding:
    return Finding(code=code, message=message, severity=severity, document=document)


def crosscheck(
    request: ApplicationRequest | None,
    documents: Sequence[DocumentInfo],
    edition: Edition,
    *,
    on: dt.date,
) -> list[Finding]:
    """Every disagreement between the documents, request.json and the rules data."""
    findings: list[Finding] = []
    found = application_of(documents)
    app_doc, app = found if found else (None, None)
    applicant_id = (app.iin_bin if app else None) or (request.iin_bin if request else None)
    kind = effective_request(request, documents).kind

    # --- identifiers: each distinct number is checked once
    checked: set[str] = set()

    def check_number(number: str | None, where: str, whose: str) -> None:
        if not number or number in checked:
            return
        checked.add(number)
        result = check_id(number)
        if not result.valid and result.code is not None:
            findings.append(
                _finding(result.code, f"{whose} IIN/BIN {number}: {result.message}", where)
            )

    if app and app_doc:
        check_number(app.iin_bin, _where(app_doc), "the applicant's")
    if request is not None:
        check_number(request.iin_bin, REQUEST_FILE, "request.json's")
    for doc in documents:
        if isinstance(doc.fields, PaymentFields):
            check_number(doc.fields.payer_iin_bin, _where(doc), "the payer's")
        elif isinstance(doc.fields, CertificateFields) and not doc.ocr_pages:
            check_number(doc.fields.iin, _where(doc), "the certificate holder's")

    # --- the same applicant everywhere
    if applicant_id:
        for doc in documents:
            other = _applicant_id_on(doc)
            if not other or other == applicant_id:
                continue
            if doc.ocr_pages and not checksum_valid(other):
                continue  # an OCR misread, not a different applicant
            findings.append(
                _finding(
                    "id.mismatch",
                    f"{doc.kind} names IIN/BIN {other}, the application {applicant_id}",
                    _where(doc),
                )
            )

    read = requested_subtypes(app_doc, app, edition) if app and app_doc else NameMatch()

    # --- request.json against the application
    if request is not None and app is not None and app_doc is not None:
        differences: list[str] = []
        if app.request_kind and app.request_kind != request.kind.value:
            differences.append(f"kind {request.kind.value} vs {app.request_kind}")
        if app.iin_bin and request.iin_bin and app.iin_bin != request.iin_bin:
            differences.append(f"IIN/BIN {request.iin_bin} vs {app.iin_bin}")
        if (
            app.applicant_name
            and request.applicant_name
            and _name_key(app.applicant_name) != _name_key(request.applicant_name)
        ):
            differences.append(f"name {request.applicant_name!r} vs {app.applicant_name!r}")
        if (
            request.subtypes
            and _application_wins(app_doc, read)
            and set(request.subtypes) != set(read.codes)
        ):
            differences.append(
                f"subtypes {', '.join(sorted(request.subtypes))} vs {', '.join(sorted(read.codes))}"
            )
        if differences:
            findings.append(
                _finding(
                    "request.mismatch",
                    "request.json disagrees with the application: " + "; ".join(differences),
                    REQUEST_FILE,
                )
            )

    findings += _fee_findings(documents, edition, kind, applicant_id)

    # --- every subtype the application names is the edition's
    if app_doc is not None and not (app_doc.ocr_pages and request and request.subtypes):
        for name in read.unknown:
            findings.append(
                _finding(
                    "subtype.unknown",
                    f"the application asks for {name!r}, which is no subtype of "
                    f"edition {edition.id}" + (" (read by OCR)" if app_doc.ocr_pages else ""),
                    _where(app_doc),
                )
            )

    # --- every requested subtype has its qualification section
    forms = [(d, d.fields) for d in documents if isinstance(d.fields, QualificationFields)]
    names = subtype_names(edition)
    covered_names = {_name_key(s) for _, f in forms for s in f.subtypes}
    covered_codes = {
        code
        for d, f in forms
        for code in match_names("; ".join(f.subtypes), names, tolerant=d.ocr_pages > 0).codes
    }
    if app and app.subtypes and covered_names:
        # By code, so a form in the other language than the application still covers
        # it; a name that is no code's is compared as printed.
        printed = {
            s.code: s.name.kk if app_doc and app_doc.language == "kk" else s.name.ru
            for s in edition.subtypes
        }
        uncovered = [printed[c] for c in read.codes if c not in covered_codes]
        uncovered += [n for n in read.unknown if _name_key(n) not in covered_names]
        for subtype in uncovered:
            findings.append(
                _finding(
                    "subtype.uncovered",
                    f"no qualification form covers the requested subtype {subtype!r}",
                    "qualification_form",
                )
            )

    # --- expired documents
    for doc in documents:
        until = None
        if isinstance(doc.fields, CertificateFields | ProxyFields):
            until = doc.fields.valid_until
        if until is not None and until < on:
            findings.append(
                _finding(
                    "document.expired",
                    f"{doc.kind} was valid until {until.isoformat()}, before {on.isoformat()}",
                    _where(doc),
                )
            )
    return findings


def _applicant_id_on(doc: DocumentInfo) -> str | None:
    """The applicant's IIN/BIN as a supporting document prints it (None: it does not)."""
    f = doc.fields
    if isinstance(f, QualificationFields | SanitaryFields | PremisesFields | ChangeEvidenceFields):
        return f.iin_bin
    if isinstance(f, ProxyFields):
        return f.principal_iin_bin
    return None


def _fee_findings(
    documents: Sequence[DocumentInfo],
    edition: Edition,
    kind: RequestKind,
    applicant_id: str | None,
) -> list[Finding]:
    payments = [
        (d, d.fields)
        for d in documents
        if isinstance(d.fields, PaymentFields) and d.fields.amount is not None
    ]
    if not payments:
        return []
    out: list[Finding] = []
    # A negative amount on a receipt pays nothing.
    total = sum((max(p.amount, Decimal(0)) for _, p in payments if p.amount), Decimal(0))
    doc, first = payments[0]
    day = first.date
    if day is None:
        return [_finding("fee.date_unknown", "the payment date cannot be read", _where(doc))]
    try:
        due = fee_due(edition, kind, day)
    except RulesError as exc:
        return [_finding(exc.code, exc.message, _where(doc), Severity.INFO)]
    result = check_payment(due, total, None, None)
    if result.shortfall > 0:
        out.append(
            _finding(
                "fee.underpaid",
                f"the {kind.value} fee on {day.isoformat()} is {due.amount} tenge "
                f"({due.rate_mci} MCI × {due.mci_tenge}); paid {total}, "
                f"short by {result.shortfall} tenge",
                _where(doc),
                Severity.BLOCKING,
            )
        )
    for d, p in payments:
        check = check_payment(due, total, p.payer_iin_bin, applicant_id)
        if check.paid_by_other:
            out.append(
                _finding(
                    "fee.paid_by_other",
                    f"paid by {p.payer_name or '?'} ({p.payer_iin_bin}), "
                    f"not by the applicant ({applicant_id})",
                    _where(d),
                )
            )
            break
    return out
