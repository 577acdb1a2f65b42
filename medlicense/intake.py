"""Checking one uploaded package: open it, read every document, judge completeness.

This is the work behind ``medlicense check`` and the intake flow's per-package
task; it runs without Prefect and without storage.  A package is *rejected*
when nothing in it can be read (the reason is the most telling document code);
unreadable files inside an otherwise readable package become findings and, if
they were needed, missing documents.

Each file is read under a time limit (:mod:`extractors.reader`); the fields
read from the documents are then cross-checked (:mod:`medlicense.crosscheck`)
and the application corrects request.json for the completeness evaluation (or
stands in for it when there is none: the subtypes it names are mapped to the
codes of the edition in force).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from extractors.package import Limits, OpenedPackage, open_folder, open_package
from extractors.reader import read_file
from medlicense.crosscheck import crosscheck, effective_request
from medlicense.errors import PackageError
from medlicense.models import (
    ApplicationRequest,
    DocumentInfo,
    Finding,
    Outcome,
    PackageVerdict,
    Severity,
)
from medlicense.rules import Rulebook, evaluate, load_rulebook
from storage.client import sha256_hex


def check_package_bytes(
    data: bytes,
    name: str,
    *,
    rulebook: Rulebook | None = None,
    received_at: dt.datetime | None = None,
    limits: Limits | None = None,
) -> PackageVerdict:
    try:
        opened = open_package(data, name, limits)
    except PackageError as exc:
        return _rejected(name, sha256_hex(data), exc.code, exc.message)
    return judge(opened, rulebook=rulebook, received_at=received_at, limits=limits)


def check_package_path(path: Path, *, rulebook: Rulebook | None = None) -> PackageVerdict:
    if path.is_dir():
        try:
            opened = open_folder(path)
        except PackageError as exc:
            return _rejected(path.name, "", exc.code, exc.message)
        return judge(opened, rulebook=rulebook)
    return check_package_bytes(path.read_bytes(), path.name, rulebook=rulebook)


def read_documents(
    opened: OpenedPackage, limits: Limits | None = None
) -> tuple[list[DocumentInfo], list[Finding]]:
    limits = limits or Limits()
    documents: list[DocumentInfo] = []
    findings: list[Finding] = []
    for file in opened.files:
        result = read_file(
            file.name,
            file.data,
            file.sha256,
            max_pages=limits.max_pages,
            timeout=limits.file_timeout,
        )
        if result.error_code is not None:
            documents.append(DocumentInfo(file=file.name, kind=None, pages=0, sha256=file.sha256))
            findings.append(
                Finding(
                    code=result.error_code,
                    message=result.error_message or result.error_code,
                    severity=Severity.BLOCKING,
                    document=file.name,
                )
            )
            continue
        for doc in result.documents:
            documents.append(doc)
            if doc.kind is None:
                findings.append(
                    Finding(
                        code="document.unrecognised",
                        message="the document does not match any kind of the document list",
                        severity=Severity.WARNING,
                        document=file.name,
                    )
                )
    return documents, findings


def judge(
    opened: OpenedPackage,
    *,
    rulebook: Rulebook | None = None,
    received_at: dt.datetime | None = None,
    limits: Limits | None = None,
) -> PackageVerdict:
    rulebook = rulebook or load_rulebook()
    request = opened.request or ApplicationRequest()
    documents, findings = read_documents(opened, limits)
    findings = [*opened.findings, *findings]
    if not any(d.kind is not None or d.pages for d in documents):
        unreadable = [f for f in findings if f.severity is Severity.BLOCKING]
        reason = unreadable[0].code if unreadable else "package.no_readable_document"
        return PackageVerdict(
            package=opened.name,
            package_sha256=opened.sha256,
            outcome=Outcome.REJECTED,
            findings=tuple(findings),
            documents=tuple(documents),
            reason=reason,
            request=request,
        )
    # The application, when readable, says what is asked for; request.json fills the rest.
    # Its date picks the edition, whose nomenclature then turns subtype names into codes.
    dated = effective_request(opened.request, documents)
    moment = dated.submitted_at or received_at or dt.datetime.now(dt.UTC)
    edition = rulebook.edition_for(moment)
    effective = effective_request(opened.request, documents, edition)
    found = [d.kind for d in documents if d.kind is not None]
    verdict = evaluate(edition, effective, found)
    checks = crosscheck(opened.request, documents, edition, on=moment.date())
    return PackageVerdict(
        package=opened.name,
        package_sha256=opened.sha256,
        outcome=Outcome.ACCEPTED if verdict.complete else Outcome.REFUSED,
        missing=verdict.missing,
        findings=(*findings, *checks, *verdict.findings),
        documents=tuple(documents),
        request=effective,
        edition=edition.id,
    )


def _rejected(name: str, digest: str, code: str, message: str) -> PackageVerdict:
    return PackageVerdict(
        package=name,
        package_sha256=digest,
        outcome=Outcome.REJECTED,
        reason=code,
        findings=(Finding(code=code, message=message, severity=Severity.BLOCKING),),
    )
