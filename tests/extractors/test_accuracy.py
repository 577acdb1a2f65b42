"""End-to-end accuracy on 300 generated packages against their truth.json.

Every verdict must match the truth exactly (outcome, missing codes, reason and
the finding codes the generator knows about), and document classification is
measured separately on text and scanned documents.  The packages are generated
once per session (~30 s) and checked by a pool of two processes (~75 s on two
cores, most of it OCR of scanned pages).
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from pydantic import BaseModel

from medlicense.intake import check_package_path
from medlicense.samples import PackageTruth, Truth, generate_packages

COUNT = 300
SEED = 4242
# Finding codes the generator writes into truth.json, by prefix; other findings
# (rules.*, informational notes) are the rules core's and are tested there.
TRUTH_FAMILIES = ("fee.", "id.", "iin.", "bin.", "request.", "subtype.", "document.")


class Checked(BaseModel):
    name: str
    outcome: str
    missing: list[str]
    reason: str | None
    findings: list[str]
    subtypes: tuple[str, ...]  # codes of the request the verdict was reached for
    documents: list[tuple[str, str | None, tuple[int, int]]]  # file, kind, pages


def _check(path: Path) -> Checked:
    verdict = check_package_path(path)
    return Checked(
        name=path.name,
        outcome=verdict.outcome.value,
        missing=[m.code for m in verdict.missing],
        reason=verdict.reason,
        findings=[f.code for f in verdict.findings],
        subtypes=verdict.request.subtypes,
        documents=[
            (d.file, d.kind, d.page_range or (1, d.pages)) for d in verdict.documents if d.pages
        ],
    )


@pytest.fixture(scope="session")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Truth, dict[str, Checked]]:
    folder = tmp_path_factory.mktemp("accuracy")
    truth = generate_packages(folder, COUNT, SEED)
    # spawn: a clean interpreter per worker, whatever threads pytest plugins started.
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        results = list(pool.map(_check, [folder / name for name in truth], chunksize=4))
    return truth, {r.name: r for r in results}


def _expected_findings(t: PackageTruth) -> set[str]:
    return set(t.findings)


def test_every_verdict_matches_the_truth(checked: tuple[Truth, dict[str, Checked]]) -> None:
    truth, results = checked
    wrong: list[str] = []
    for name, t in truth.items():
        got = results[name]
        found = {c for c in got.findings if c.startswith(TRUTH_FAMILIES)}
        if got.outcome != t.outcome:
            wrong.append(f"{name}: outcome {got.outcome}, expected {t.outcome}")
        if sorted(got.missing) != sorted(t.missing):
            wrong.append(f"{name}: missing {got.missing}, expected {t.missing}")
        if got.reason != t.reason:
            wrong.append(f"{name}: reason {got.reason}, expected {t.reason}")
        if found != _expected_findings(t):
            wrong.append(f"{name}: findings {sorted(found)}, expected {sorted(t.findings)}")
        # With or without request.json, what is asked for comes out as the edition's codes.
        if got.outcome != "rejected" and got.subtypes != t.request.subtypes:
            wrong.append(f"{name}: subtypes {got.subtypes}, expected {t.request.subtypes}")
    assert not wrong, f"{len(wrong)} differences:\n" + "\n".join(wrong)


def test_classification_accuracy_on_text_and_scanned_documents(
    checked: tuple[Truth, dict[str, Checked]],
) -> None:
    truth, results = checked
    total = {"text": 0, "scanned": 0}
    right = {"text": 0, "scanned": 0}
    for name, t in truth.items():
        got = {(f, tuple(pages)): kind for f, kind, pages in results[name].documents}
        for doc in t.documents:
            if doc.fault or doc.page_range is None:
                continue  # unreadable files have no kind to find
            key = "scanned" if doc.scanned else "text"
            total[key] += 1
            right[key] += got.get((doc.file, tuple(doc.page_range))) == doc.kind
    text = right["text"] / total["text"]
    scanned = right["scanned"] / total["scanned"]
    print(
        f"\nclassification: text {100 * text:.2f} % of {total['text']}, "
        f"scanned {100 * scanned:.2f} % of {total['scanned']}"
    )
    assert total["scanned"] >= 20, "the mix should contain scanned documents"
    assert text >= 0.99
    assert scanned >= 0.95
