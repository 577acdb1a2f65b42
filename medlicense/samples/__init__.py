"""Synthetic application packages with known expected verdicts.

The pipeline needs realistic input it can be measured against, and real
applicants' files cannot be shared, so this package draws them: a *package* is
a ZIP of PDFs (plus, usually, the portal's ``request.json``), drawn in Kazakh or
Russian with DejaVu fonts, in several visual layouts per document kind, with
multi-page documents, several documents merged into one PDF, image-only
"scanned" pages and deliberately broken inputs.  Output is deterministic: the
same seed gives byte-identical ZIPs (reportlab ``invariant=1``, fixed ZIP
timestamps, every random choice from one seeded generator).

API::

    generate_packages(out_dir, count, seed, mix=None) -> Truth
        writes pkg-0001.zip ... and truth.json
    plan_packages(count, seed, mix=None) -> list[PackageSpec]   # the same, undrawn
    build_package(spec) -> bytes          # one package from an explicit PackageSpec
    render_package(spec) -> BuiltPackage  # the same, with its PackageTruth

Document codes (shared with the rules core): ``application``, ``fee_payment``,
``qualification_form``, ``diploma``, ``specialist_certificate``,
``premises_title``, ``equipment_list``, ``sanitary_conclusion``, ``proxy``,
``change_evidence``.  Documents drawn into a package: :func:`required_documents`;
documents expected in the truth: the rules core (``missing`` above).

``truth.json`` maps each package file name to::

    {
      "outcome": "accepted" | "refused" | "rejected",
      "missing": ["diploma", ...],          # required codes (per medlicense.rules.evaluate)
                                            # not readable in the package
      "findings": ["fee.underpaid", ...],   # fee.underpaid, fee.paid_by_other,
                                            # id.checksum, request.mismatch, document.*
      "reason": null | "package.empty" | "package.nested_archive"
                | "document.encrypted" | "document.truncated" | "document.not_pdf",
      "request": {...ApplicationRequest...},  # what the application says
      "request_json": true,                 # whether request.json is in the ZIP
      "scenario": "complete_issue" | "incomplete" | "reissue" | "duplicate" | "bad_input",
      "documents": [                        # one entry per logical document
        {"file": "qujattar.pdf", "kind": "diploma", "pages": 1, "page_range": [3, 3],
         "language": "kk", "scanned": false, "fault": null, "title": "Жоғары білім ..."}
      ]
    }

Rule for unreadable documents (encrypted, truncated, not a PDF): if every PDF
in the package is unreadable the package is ``rejected`` with that fault as
``reason``; otherwise the broken file is ignored (its document is ``missing`` if
required) and its fault code is added to ``findings``.  Findings never change
the outcome in the truth; the rules core decides what they weigh.  For an
unreadable file ``kind`` is what the file was made to be (the pipeline cannot
know it) and ``page_range`` is null.  A document may be present without being
required (a payment-gateway print-out next to ``payment_gateway_ref``).
"""

from __future__ import annotations

from medlicense.samples.documents import DOCUMENT_KINDS
from medlicense.samples.generate import Mix, generate_packages, plan_packages
from medlicense.samples.packages import (
    BuiltPackage,
    DocumentTruth,
    PackageSpec,
    PackageTruth,
    Truth,
    build_package,
    fee_due,
    render_package,
    required_documents,
)

__all__ = [
    "DOCUMENT_KINDS",
    "BuiltPackage",
    "DocumentTruth",
    "Mix",
    "PackageSpec",
    "PackageTruth",
    "Truth",
    "build_package",
    "fee_due",
    "generate_packages",
    "plan_packages",
    "render_package",
    "required_documents",
]
