"""Arbitrary specs: rendering never fails and the truth follows its stated rules."""

from __future__ import annotations

import io
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medlicense.models import ApplicantType, RequestKind
from medlicense.samples import DOCUMENT_KINDS, PackageSpec, render_package

codes = st.sampled_from(DOCUMENT_KINDS)
code_sets = st.frozensets(codes, max_size=4)
doc_faults = st.sampled_from(["document.encrypted", "document.truncated", "document.not_pdf"])


@st.composite
def specs(draw: st.DrawFn) -> PackageSpec:
    request_json = draw(st.booleans())
    findings = draw(
        st.frozensets(
            st.sampled_from(
                ["fee.underpaid", "fee.paid_by_other", "id.checksum"]
                + (["request.mismatch"] if request_json else [])
            )
        )
    )
    return PackageSpec(
        kind=draw(st.sampled_from(list(RequestKind))),
        applicant_type=draw(st.sampled_from(list(ApplicantType))),
        language=draw(st.sampled_from(["kk", "ru"])),
        seed=draw(st.integers(0, 2**32)),
        representative=draw(st.booleans()),
        gateway=request_json and draw(st.booleans()),
        request_json=request_json,
        omit=draw(code_sets),
        findings=findings,
        unreadable=draw(st.dictionaries(codes, doc_faults, max_size=2)),
        merge=draw(st.lists(st.tuples(codes, codes, codes), max_size=1).map(tuple)),
        other_language=draw(code_sets),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_any_spec_renders_to_a_consistent_truth(spec: PackageSpec) -> None:
    built = render_package(spec)
    t = built.truth
    with zipfile.ZipFile(io.BytesIO(built.data)) as zf:
        members = set(zf.namelist()) - {"request.json"}
    assert members == {d.file for d in t.documents}
    unreadable_files = {d.file for d in t.documents if d.fault}
    if not members or members == unreadable_files:
        assert t.outcome == "rejected" and t.reason
        return
    assert t.reason is None
    present = {d.kind for d in t.documents if not d.fault}
    drawn_as_required = [c for c in spec.required() if c not in present]
    # The truth asks the rules core; it differs from the generator's list only
    # for change_evidence, which the rules data requires for some grounds only.
    assert set(t.missing) <= set(drawn_as_required)
    assert set(drawn_as_required) - set(t.missing) <= {"change_evidence"}
    assert t.outcome == ("refused" if t.missing else "accepted")
    faults = sorted(d.fault for d in t.documents if d.fault)
    assert sorted(f for f in t.findings if f.startswith("document.")) == faults
    for d in t.documents:
        if d.page_range:
            assert d.page_range[1] - d.page_range[0] + 1 == d.pages
