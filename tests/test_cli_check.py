"""The ``medlicense check --json`` contract, as a portal integration would consume it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from medlicense.cli import main
from medlicense.models import RequestKind
from medlicense.samples import PackageSpec, build_package


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    rc = main(["check", str(path), "--json"])
    out = capsys.readouterr().out
    return rc, json.loads(out)


def test_complete_package_is_accepted_with_documents_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "complete.zip"
    path.write_bytes(build_package(PackageSpec(language="kk", seed=3)))
    rc, verdict = _check(path, capsys)
    assert rc == 0
    assert verdict["outcome"] == "accepted"
    assert verdict["missing"] == []
    documents = verdict["documents"]
    assert isinstance(documents, list) and documents
    for doc in documents:
        assert {"file", "kind", "pages", "sha256"} <= set(doc)
        assert len(doc["sha256"]) == 64
    kinds = {d["kind"] for d in documents}
    assert {"application", "fee_payment", "qualification_form"} <= kinds


def test_incomplete_package_is_refused_naming_the_missing_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "incomplete.zip"
    spec = PackageSpec(
        kind=RequestKind.ISSUE, language="ru", omit=frozenset({"fee_payment"}), seed=4
    )
    path.write_bytes(build_package(spec))
    rc, verdict = _check(path, capsys)
    assert rc == 0
    assert verdict["outcome"] == "refused"
    assert verdict["missing"] == ["fee_payment"]
    named = verdict["missing_documents"]
    assert isinstance(named, list)
    assert named[0]["code"] == "fee_payment" and named[0]["name_kk"] and named[0]["name_ru"]
    assert "reason" not in verdict


def test_unreadable_package_is_rejected_with_a_reason_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.zip"
    with zipfile.ZipFile(path, "w"):
        pass
    rc, verdict = _check(path, capsys)
    assert rc == 0
    assert verdict["outcome"] == "rejected"
    assert verdict["reason"] == "package.empty"
    findings = verdict["findings"]
    assert isinstance(findings, list)
    assert all({"code", "message"} <= set(f) for f in findings)


def test_folder_package_is_checked_like_a_zip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zipped = tmp_path / "p.zip"
    zipped.write_bytes(build_package(PackageSpec(language="kk", seed=5)))
    folder = tmp_path / "p"
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(folder)
    _, from_zip = _check(zipped, capsys)
    _, from_folder = _check(folder, capsys)
    assert from_folder["outcome"] == from_zip["outcome"] == "accepted"
    assert sorted(d["kind"] for d in from_folder["documents"]) == sorted(
        d["kind"] for d in from_zip["documents"]
    )


def test_missing_path_is_an_error_not_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "nope.zip"), "--json"]) == 2
