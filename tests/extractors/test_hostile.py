"""The hostile set through the whole check: no crash, no hang, one code per bad file."""

from __future__ import annotations

import io
import time
import zipfile

import pypdf
import pytest

from extractors.package import Limits
from medlicense.intake import check_package_bytes
from medlicense.models import Outcome
from medlicense.samples import PackageSpec, render_package
from tests.extractors.hostile import deep_tree, many_pages, slow_content


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED) -> bytes:
    # Stored by default: the hand-made PDFs are so repetitive that deflating them
    # would trip the ZIP layer's bomb guard before the PDF reader sees them.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def good_files() -> dict[str, bytes]:
    """The PDFs of a complete generated package (text layer only, no OCR)."""
    built = render_package(PackageSpec(seed=3, language="ru"))
    with zipfile.ZipFile(io.BytesIO(built.data)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.endswith(".pdf")}


@pytest.fixture(scope="module")
def one_pdf(good_files: dict[str, bytes]) -> bytes:
    return next(iter(good_files.values()))


def _encrypted(pdf: bytes) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _bad_files(pdf: bytes) -> dict[str, tuple[bytes, str]]:
    return {
        "locked.pdf": (_encrypted(pdf), "document.encrypted"),
        "cut.pdf": (pdf[: len(pdf) // 2], "document.truncated"),
        "photo.pdf": (b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\0" * 200, "document.not_pdf"),
        "huge.pdf": (many_pages(), "document.too_many_pages"),
        "deep.pdf": (deep_tree(), "document.too_deep"),
    }


@pytest.mark.parametrize("name", ["locked.pdf", "cut.pdf", "photo.pdf", "huge.pdf", "deep.pdf"])
def test_a_package_of_one_bad_file_is_rejected_with_its_code(name: str, one_pdf: bytes) -> None:
    data, code = _bad_files(one_pdf)[name]
    verdict = check_package_bytes(_zip([(name, data)]), "bad.zip")
    assert verdict.outcome is Outcome.REJECTED
    assert verdict.reason == code
    assert [f.code for f in verdict.findings] == [code]


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([], "package.empty"),
        ([("inner.zip", _zip([("a.pdf", b"%PDF-1.4")]))], "package.nested_archive"),
        ([("../../etc/evil.pdf", b"%PDF-1.4")], "package.path_traversal"),
        ([("bomb.pdf", b"\0" * (30 * 1024 * 1024))], "package.zip_bomb"),
    ],
)
def test_hostile_archives_are_rejected_with_their_code(
    entries: list[tuple[str, bytes]], code: str
) -> None:
    verdict = check_package_bytes(_zip(entries, zipfile.ZIP_DEFLATED), "bad.zip")
    assert (verdict.outcome, verdict.reason) == (Outcome.REJECTED, code)


def test_every_bad_file_among_good_ones_gets_its_own_code(good_files: dict[str, bytes]) -> None:
    bad = _bad_files(next(iter(good_files.values())))
    package = _zip([*good_files.items(), *((n, d) for n, (d, _) in bad.items())])
    verdict = check_package_bytes(package, "mixed.zip")
    assert verdict.outcome is Outcome.ACCEPTED  # the good files make a complete package
    by_file = {f.document: f.code for f in verdict.findings if f.document in bad}
    assert by_file == {name: code for name, (_, code) in bad.items()}


def test_a_file_that_takes_too_long_times_out_and_the_rest_is_read(
    good_files: dict[str, bytes],
) -> None:
    slow = slow_content()  # ~1.5 s of pdfium on one core, 22 kB on disk
    package = _zip([("slow.pdf", slow), *good_files.items()])
    started = time.perf_counter()
    verdict = check_package_bytes(package, "slow.zip", limits=Limits(file_timeout=0.3))
    elapsed = time.perf_counter() - started
    codes = {f.document: f.code for f in verdict.findings if f.code.startswith("document.")}
    assert codes.get("slow.pdf") == "document.timeout"
    # The reader restarts after the kill: every good file is still classified.
    assert {d.file for d in verdict.documents if d.kind} == set(good_files)
    assert verdict.outcome is Outcome.ACCEPTED
    assert elapsed < 30


def test_only_a_slow_file_is_rejected_as_timed_out() -> None:
    verdict = check_package_bytes(
        _zip([("slow.pdf", slow_content())]), "slow.zip", limits=Limits(file_timeout=0.3)
    )
    assert (verdict.outcome, verdict.reason) == (Outcome.REJECTED, "document.timeout")
