"""The strict rule: after a signature only validation data and document timestamps.

Each tamper case is applied to a B-T and to a B-LTA PDF/A document."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from signing.pki import PkiPaths
from signing.signer import PdfSigner, StampSpec
from signing.verify import verify_pdf
from tests.signing.helpers import (
    append_text_after_signature,
    change_info_after_signature,
    change_xmp_after_signature,
)


@pytest.fixture(scope="module", params=["B-T", "B-LTA"])
def signed(request: pytest.FixtureRequest, pdf_signer: PdfSigner, pdfa_document: bytes) -> bytes:
    data: bytes = pdf_signer.sign(
        pdfa_document, level=request.param, document_number="T-1", stamp=StampSpec()
    )
    return data


def test_untampered_is_valid(signed: bytes, dev_pki: PkiPaths) -> None:
    report = verify_pdf(signed, trust_roots=[dev_pki.root_cert])
    assert report.valid, report.errors
    assert all(not d.post_signature_changes for d in report.details)


def test_byte_changed_in_signed_range(signed: bytes, dev_pki: PkiPaths) -> None:
    # WeasyPrint compresses page content; the original /Info dictionary is
    # plain text and lies inside every signed byte range.
    at = signed.index(b"/Producer") + 2
    tampered = signed[:at] + b"X" + signed[at + 1 :]
    report = verify_pdf(tampered, trust_roots=[dev_pki.root_cert])
    assert not report.valid
    assert not report.intact
    assert "verify.not_intact" in {e.code for e in report.errors}


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(append_text_after_signature, id="text"),
        pytest.param(change_xmp_after_signature, id="xmp-only"),
        pytest.param(change_info_after_signature, id="info-only"),
    ],
)
def test_incremental_update_is_modified(
    signed: bytes, dev_pki: PkiPaths, tamper: Callable[[bytes], bytes]
) -> None:
    modified = tamper(signed)
    assert modified.startswith(signed)
    report = verify_pdf(modified, trust_roots=[dev_pki.root_cert])
    assert not report.valid
    assert report.intact and report.trusted  # the signed bytes themselves are untouched
    assert "verify.modified" in {e.code for e in report.errors}


def test_metadata_change_is_rejected_although_pyhanko_accepts_it(
    signed: bytes, dev_pki: PkiPaths
) -> None:
    report = verify_pdf(change_xmp_after_signature(signed), trust_roots=[dev_pki.root_cert])
    # pyHanko's own diff policy rates it harmless ...
    assert report.modification_level in {"NONE", "LTA_UPDATES"}
    # ... the strict rule does not, and says why.
    changes = report.details[0].post_signature_changes
    assert any("XMP" in c and "title" in c for c in changes), changes
