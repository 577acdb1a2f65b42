"""templates.samples: one valid, renderable record per kind of outgoing document."""

from __future__ import annotations

import io

import pypdf
import pytest

from medlicense.errors import RenderError
from templates import AppendixData, LicenseData, ReasonedRefusalData, ReceiptData, Renderer
from templates.samples import SAMPLE_KINDS, sample_records

from .documents import last_page_objects, pdfa_claim


def test_one_record_per_kind() -> None:
    records = sample_records()
    assert tuple(records) == SAMPLE_KINDS
    expected = {
        "receipt-acceptance": ReceiptData,
        "receipt-refusal": ReceiptData,
        "reasoned-refusal": ReasonedRefusalData,
        "license": LicenseData,
        "appendix": AppendixData,
        "license-reissued": LicenseData,
        "appendix-reissued": AppendixData,
        "license-duplicate": LicenseData,
    }
    assert {kind: type(record) for kind, record in records.items()} == expected
    receipts = [r for r in records.values() if isinstance(r, ReceiptData)]
    assert [r.accepted for r in receipts] == [True, False]
    license_, reissued, duplicate = (
        records["license"],
        records["license-reissued"],
        records["license-duplicate"],
    )
    assert isinstance(license_, LicenseData) and isinstance(duplicate, LicenseData)
    assert isinstance(reissued, LicenseData) and reissued.reissue is not None
    assert duplicate.duplicate_of is not None and duplicate.number == license_.number
    assert sample_records() == records  # deterministic


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_sample_renders(renderer: Renderer, kind: str) -> None:
    record = sample_records()[kind]
    pdf = renderer.render(record)
    assert pdf.startswith(b"%PDF-1.7")
    assert pdfa_claim(pdf) == ("3", "B")
    inside, _above = last_page_objects(pdf)
    assert inside == []
    # A sample is a specimen of an ordinary document: one page per language.
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 2


def test_unknown_record_type(renderer: Renderer) -> None:
    with pytest.raises(RenderError) as caught:
        renderer.render("not a record")  # type: ignore[arg-type]
    assert caught.value.code == "render.unknown_document"
