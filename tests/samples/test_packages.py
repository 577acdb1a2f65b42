"""Single packages built from explicit specs: each fault lands where the truth says."""

from __future__ import annotations

import io
import itertools
import json
import re
import zipfile
from pathlib import Path

import pypdf
import pytest

from medlicense.models import ApplicantType, RequestKind
from medlicense.samples import (
    DocumentTruth,
    PackageSpec,
    fee_due,
    render_package,
    required_documents,
)
from medlicense.samples.ids import is_valid
from tests.samples.conftest import pdftotext_pages, squash


def unpack(data: bytes, tmp_path: Path) -> dict[str, Path]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(tmp_path)
        return {n: tmp_path / n for n in zf.namelist()}


def doc_text(files: dict[str, Path], truth_docs: list[DocumentTruth], kind: str) -> str:
    d = next(d for d in truth_docs if d.kind == kind)
    assert d.page_range is not None
    pages = pdftotext_pages(files[d.file])
    return squash(" ".join(pages[d.page_range[0] - 1 : d.page_range[1]]))


def test_complete_issue_is_accepted(tmp_path: Path) -> None:
    spec = PackageSpec(seed=1, language="kk")
    built = render_package(spec)
    t = built.truth
    assert (t.outcome, t.missing, t.findings, t.reason) == ("accepted", [], [], None)
    kinds = {d.kind for d in t.documents}
    assert kinds == set(required_documents(RequestKind.ISSUE, representative=False, gateway=False))
    files = unpack(built.data, tmp_path)
    req = json.loads(files["request.json"].read_text(encoding="utf-8"))
    assert req["kind"] == "issue" and req["iin_bin"] == t.request.iin_bin
    assert is_valid(t.request.iin_bin or "")
    fee = doc_text(files, t.documents, "fee_payment")
    assert "217114" in fee and "43 250,00 ₸" in fee


@pytest.mark.parametrize("kind", list(RequestKind))
@pytest.mark.parametrize("applicant", list(ApplicantType))
@pytest.mark.parametrize("language", ["kk", "ru"])
def test_titles_per_kind_and_language(
    kind: RequestKind, applicant: ApplicantType, language: str, tmp_path: Path
) -> None:
    spec = PackageSpec(
        kind=kind,
        applicant_type=applicant,
        language=language,
        representative=True,
        seed=sum(map(ord, f"{kind}{applicant}{language}")),
    )
    built = render_package(spec)
    files = unpack(built.data, tmp_path)
    for d in built.truth.documents:
        assert d.page_range and d.title
        text = squash(
            " ".join(pdftotext_pages(files[d.file])[d.page_range[0] - 1 : d.page_range[1]])
        )
        assert squash(d.title) in text, (d.kind, d.title)
    app = next(d for d in built.truth.documents if d.kind == "application")
    marker = {
        (RequestKind.ISSUE, "kk"): "лицензия алуға арналған өтініш",
        (RequestKind.REISSUE, "kk"): "қайта ресімдеуге",
        (RequestKind.DUPLICATE, "kk"): "телнұсқасын",
        (RequestKind.ISSUE, "ru"): "получени",
        (RequestKind.REISSUE, "ru"): "переоформлени",
        (RequestKind.DUPLICATE, "ru"): "дубликата",
    }[(kind, language)]
    assert marker in (app.title or "").lower()


def test_missing_documents_refuse(tmp_path: Path) -> None:
    t = render_package(
        PackageSpec(seed=2, omit=frozenset({"diploma", "sanitary_conclusion"}))
    ).truth
    assert t.outcome == "refused"
    assert t.missing == ["diploma", "sanitary_conclusion"]
    assert not {d.kind for d in t.documents} & {"diploma", "sanitary_conclusion"}


def test_gateway_payment_needs_no_receipt(tmp_path: Path) -> None:
    built = render_package(PackageSpec(seed=3, gateway=True, kind=RequestKind.DUPLICATE))
    assert built.truth.outcome == "accepted"
    assert [d.kind for d in built.truth.documents] == ["application"]
    req = json.loads(unpack(built.data, tmp_path)["request.json"].read_text(encoding="utf-8"))
    assert req["payment_gateway_ref"].startswith("PGW-")


def test_representative_brings_a_proxy() -> None:
    t = render_package(PackageSpec(seed=4, representative=True, kind=RequestKind.REISSUE)).truth
    assert {"proxy", "change_evidence"} <= {d.kind for d in t.documents}
    assert t.request.representative
    t2 = render_package(
        PackageSpec(
            seed=4, representative=True, kind=RequestKind.REISSUE, omit=frozenset({"proxy"})
        )
    ).truth
    assert t2.missing == ["proxy"]


def test_underpaid_fee(tmp_path: Path) -> None:
    built = render_package(PackageSpec(seed=5, findings=frozenset({"fee.underpaid"})))
    assert built.truth.findings == ["fee.underpaid"]
    assert built.truth.outcome == "accepted"
    fee = doc_text(unpack(built.data, tmp_path), built.truth.documents, "fee_payment")
    amount = re.search(r"(\d[\d ]*),00 ₸", fee)
    assert amount is not None
    assert int(amount.group(1).replace(" ", "")) < fee_due(RequestKind.ISSUE)


def test_fee_paid_by_other(tmp_path: Path) -> None:
    built = render_package(
        PackageSpec(seed=6, language="ru", findings=frozenset({"fee.paid_by_other"}))
    )
    assert built.truth.findings == ["fee.paid_by_other"]
    fee = doc_text(unpack(built.data, tmp_path), built.truth.documents, "fee_payment")
    payer = re.search(r"плательщика:? (\d{12})", fee)
    assert payer is not None and payer.group(1) != built.truth.request.iin_bin


def test_bad_check_digit(tmp_path: Path) -> None:
    built = render_package(
        PackageSpec(
            seed=7, applicant_type=ApplicantType.INDIVIDUAL, findings=frozenset({"id.checksum"})
        )
    )
    number = built.truth.request.iin_bin or ""
    assert built.truth.findings == ["id.checksum"] and not is_valid(number)
    assert number in doc_text(unpack(built.data, tmp_path), built.truth.documents, "application")


def test_request_disagrees_with_application(tmp_path: Path) -> None:
    built = render_package(PackageSpec(seed=8, findings=frozenset({"request.mismatch"})))
    req = json.loads(unpack(built.data, tmp_path)["request.json"].read_text(encoding="utf-8"))
    truth_req = built.truth.request
    assert (req["iin_bin"], req["applicant_name"]) != (truth_req.iin_bin, truth_req.applicant_name)
    assert built.truth.findings == ["request.mismatch"]


def test_finding_needs_its_evidence() -> None:
    t = render_package(
        PackageSpec(seed=9, findings=frozenset({"fee.underpaid"}), omit=frozenset({"fee_payment"}))
    ).truth
    assert t.findings == [] and t.missing == ["fee_payment"]


def test_encrypted_application_alone_is_rejected(tmp_path: Path) -> None:
    req = required_documents(RequestKind.ISSUE, representative=False, gateway=False)
    built = render_package(
        PackageSpec(
            seed=10,
            omit=frozenset(req) - {"application"},
            unreadable={"application": "document.encrypted"},
        )
    )
    t = built.truth
    assert (t.outcome, t.reason, t.missing) == ("rejected", "document.encrypted", [])
    files = unpack(built.data, tmp_path)
    reader = pypdf.PdfReader(files[t.documents[0].file])
    assert reader.is_encrypted and not reader.decrypt("")


def test_encrypted_document_among_readable_ones_is_missing() -> None:
    t = render_package(PackageSpec(seed=11, unreadable={"application": "document.encrypted"})).truth
    assert t.outcome == "refused"
    assert t.missing == ["application"]
    assert t.findings == ["document.encrypted"]


@pytest.mark.parametrize("fault", ["document.truncated", "document.not_pdf"])
def test_broken_files(fault: str, tmp_path: Path) -> None:
    built = render_package(PackageSpec(seed=12, unreadable={"fee_payment": fault}))
    t = built.truth
    assert t.missing == ["fee_payment"] and t.findings == [fault]
    broken = next(d for d in t.documents if d.fault)
    payload = unpack(built.data, tmp_path)[broken.file].read_bytes()
    if fault == "document.not_pdf":
        assert not payload.startswith(b"%PDF")
    else:
        assert payload.startswith(b"%PDF") and b"%%EOF" not in payload[-64:]
        with pytest.raises(pypdf.errors.PdfReadError):
            pypdf.PdfReader(io.BytesIO(payload), strict=True)


def test_empty_and_nested_packages() -> None:
    empty = render_package(PackageSpec(seed=13, package_fault="package.empty"))
    assert empty.truth.reason == "package.empty"
    assert zipfile.ZipFile(io.BytesIO(empty.data)).namelist() == []
    nested = render_package(PackageSpec(seed=13, package_fault="package.nested_archive"))
    assert nested.truth.outcome == "rejected"
    names = zipfile.ZipFile(io.BytesIO(nested.data)).namelist()
    inner = [n for n in names if n.endswith(".zip")]
    assert len(inner) == 1 and nested.truth.documents[0].file == inner[0]


def test_merged_documents_share_a_file(tmp_path: Path) -> None:
    built = render_package(
        PackageSpec(seed=14, merge=(("application", "fee_payment", "qualification_form"),))
    )
    merged = [
        d
        for d in built.truth.documents
        if d.kind in ("application", "fee_payment", "qualification_form")
    ]
    assert len({d.file for d in merged}) == 1
    ranges = [d.page_range for d in merged]
    assert ranges[0] == (1, merged[0].pages)
    for prev, cur in itertools.pairwise(ranges):
        assert prev and cur and cur[0] == prev[1] + 1
    reader = pypdf.PdfReader(unpack(built.data, tmp_path)[merged[0].file])
    assert len(reader.pages) == sum(d.pages for d in merged)


def test_scanned_document_has_no_text(tmp_path: Path) -> None:
    built = render_package(PackageSpec(seed=15, scanned=frozenset({"premises_title"})))
    d = next(d for d in built.truth.documents if d.kind == "premises_title")
    assert d.scanned
    path = unpack(built.data, tmp_path)[d.file]
    pages = pdftotext_pages(path)
    assert d.page_range is not None
    assert all(not p.strip() for p in pages[d.page_range[0] - 1 : d.page_range[1]])
    reader = pypdf.PdfReader(path)
    assert reader.pages[d.page_range[0] - 1].images


def test_spec_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        PackageSpec(omit=frozenset({"passport"}))
    with pytest.raises(ValueError):
        PackageSpec(gateway=True, request_json=False)


def test_same_spec_same_bytes() -> None:
    spec = PackageSpec(seed=16, scanned=frozenset({"diploma"}), representative=True)
    assert render_package(spec).data == render_package(spec).data


def test_gateway_print_is_an_extra_document(tmp_path: Path) -> None:
    built = render_package(
        PackageSpec(
            seed=17, gateway=True, gateway_print=True, kind=RequestKind.DUPLICATE, language="ru"
        )
    )
    t = built.truth
    assert t.outcome == "accepted" and t.missing == []
    assert [d.kind for d in t.documents] == ["application", "fee_payment"]
    fee = doc_text(unpack(built.data, tmp_path), t.documents, "fee_payment")
    assert "платежный шлюз" in fee.lower() and (t.request.payment_gateway_ref or "-") in fee
