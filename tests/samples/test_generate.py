"""A generated batch as a whole: determinism, readability, truth coverage, mix."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import pypdf
import pytest

from medlicense.samples import DocumentTruth, Mix, Truth, generate_packages, plan_packages
from medlicense.samples.generate import allocate
from tests.samples.conftest import BATCH_COUNT, BATCH_SEED, pdftotext_pages, squash


def test_files_and_truth_written(batch: tuple[Path, Truth]) -> None:
    out, truth = batch
    zips = sorted(p.name for p in out.glob("*.zip"))
    assert zips == [f"pkg-{i:04d}.zip" for i in range(1, BATCH_COUNT + 1)]
    assert sorted(truth) == zips
    assert Truth.load(out / "truth.json") == truth


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    again = generate_packages(tmp_path, 8, BATCH_SEED)
    # The first 8 of a run depend on count through the scenario allocation, so
    # compare against a second run of the same size instead.
    first = tmp_path / "first"
    generate_packages(first, 8, BATCH_SEED)
    for name in again:
        assert (tmp_path / name).read_bytes() == (first / name).read_bytes(), name
    assert (tmp_path / "truth.json").read_bytes() == (first / "truth.json").read_bytes()
    other = generate_packages(tmp_path / "other", 8, BATCH_SEED + 1)
    assert other.model_dump() != again.model_dump()


def test_every_package_opens_and_truth_covers_every_file(batch: tuple[Path, Truth]) -> None:
    out, truth = batch
    for name, t in truth.items():
        with zipfile.ZipFile(out / name) as zf:
            assert zf.testzip() is None
            members = set(zf.namelist())
        assert ("request.json" in members) == t.request_json, name
        assert members - {"request.json"} == {d.file for d in t.documents}, name


def test_readable_pdfs_carry_their_titles(batch: tuple[Path, Truth], tmp_path: Path) -> None:
    out, truth = batch
    checked = scanned = 0
    for name, t in truth.items():
        if t.reason in ("package.empty", "package.nested_archive"):
            continue
        target = tmp_path / name
        with zipfile.ZipFile(out / name) as zf:
            zf.extractall(target)
        by_file: dict[str, list[DocumentTruth]] = {}
        for d in t.documents:
            by_file.setdefault(d.file, []).append(d)
        for file, docs in by_file.items():
            if docs[0].fault:
                continue
            reader = pypdf.PdfReader(target / file)
            assert len(reader.pages) == sum(d.pages for d in docs), (name, file)
            pages = pdftotext_pages(target / file)
            for d in docs:
                assert d.page_range is not None and d.title
                text = " ".join(pages[d.page_range[0] - 1 : d.page_range[1]])
                if d.scanned:
                    assert not text.strip(), (name, file, d.kind)
                    scanned += 1
                else:
                    assert squash(d.title) in squash(text), (name, file, d.kind, d.title)
                    checked += 1
    assert checked > 100
    assert scanned >= 1


def test_unreadable_files_really_are(batch: tuple[Path, Truth]) -> None:
    out, truth = batch
    seen = Counter[str]()
    for name, t in truth.items():
        with zipfile.ZipFile(out / name) as zf:
            for d in t.documents:
                if not d.fault:
                    continue
                seen[d.fault] += 1
                payload = zf.read(d.file)
                if d.fault == "document.encrypted":
                    assert pypdf.PdfReader(io.BytesIO(payload)).is_encrypted
                elif d.fault == "document.not_pdf":
                    assert not payload.startswith(b"%PDF")
                elif d.fault == "document.truncated":
                    assert b"%%EOF" not in payload[-64:]
                elif d.fault == "package.nested_archive":
                    assert zipfile.is_zipfile(io.BytesIO(payload))
    assert {"document.encrypted", "document.truncated", "document.not_pdf"} <= set(seen)


def test_truth_is_consistent(batch: tuple[Path, Truth]) -> None:
    _, truth = batch
    for name, t in truth.items():
        if t.outcome == "rejected":
            assert t.reason and not t.missing, name
        else:
            assert t.reason is None, name
            assert (t.outcome == "refused") == bool(t.missing), name
        if t.scenario == "incomplete":
            assert t.outcome == "refused", name
        if t.scenario in ("complete_issue", "reissue", "duplicate"):
            assert t.outcome == "accepted", name
    json.dumps(truth.model_dump(mode="json"))


def test_allocation_is_exact() -> None:
    assert allocate(100, Mix().weights()) == [60, 15, 10, 5, 10]
    assert sum(allocate(7, Mix().weights())) == 7
    assert allocate(3, (1, 0, 0, 0, 0)) == [3, 0, 0, 0, 0]


def test_mix_for_a_hundred() -> None:
    specs = plan_packages(100, 7)
    scenarios = Counter(s.scenario for s in specs)
    assert scenarios == {
        "complete_issue": 60,
        "incomplete": 15,
        "reissue": 10,
        "duplicate": 5,
        "bad_input": 10,
    }
    complete = [s for s in specs if s.scenario == "complete_issue"]
    assert any(s.representative for s in complete)
    assert any(s.gateway for s in complete)
    assert any(s.findings for s in complete)
    assert 0.4 <= sum(s.language == "kk" for s in specs) / 100 <= 0.8
    assert any(s.scanned for s in specs) and any(s.merge for s in specs)
    assert all(s.omit for s in specs if s.scenario == "incomplete")


@pytest.mark.slow
def test_hundred_packages_outcomes(tmp_path: Path) -> None:
    truth = generate_packages(tmp_path, 100, 7)
    outcomes = Counter(t.outcome for _, t in truth.items())
    # bad inputs are rejected or (one broken file among readable ones) refused
    assert 5 <= outcomes["rejected"] <= 10
    assert 15 <= outcomes["refused"] <= 20
    assert outcomes["accepted"] == 75


def test_cli_writes_a_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from medlicense.samples import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["samples", "--out", str(tmp_path), "--count", "3", "--seed", "1"])
    assert args.func(args) == 0
    assert "wrote 3 packages" in capsys.readouterr().out
    assert len(list(tmp_path.glob("pkg-*.zip"))) == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["samples", "--out", str(tmp_path), "--count", "-1"])
