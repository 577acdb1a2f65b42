"""Hostile and broken uploads: each gets its own code, none crashes the reader."""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Sequence

import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.pdfgen import canvas

from extractors.package import Limits, open_package
from extractors.pdf import read_pdf
from medlicense.errors import DocumentError, PackageError


def _pdf(text: str = "Hello") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    return buf.getvalue()


def _zip(
    entries: Sequence[tuple[str | zipfile.ZipInfo, bytes]], method: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def _code(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(PackageError) as info:
        open_package(data, "upload.zip", limits)
    return info.value.code


def test_a_normal_package_opens_with_hashes_and_request() -> None:
    data = _zip([("a.pdf", _pdf()), ("request.json", b'{"kind": "reissue", "iin_bin": "123"}')])
    pkg = open_package(data, "upload.zip")
    assert [f.name for f in pkg.files] == ["a.pdf"]
    assert len(pkg.files[0].sha256) == 64
    assert pkg.request is not None and pkg.request.kind == "reissue"


def test_unreadable_request_json_is_a_finding_not_a_crash() -> None:
    pkg = open_package(_zip([("a.pdf", _pdf()), ("request.json", b"{not json")]), "u.zip")
    assert pkg.request is None
    assert [f.code for f in pkg.findings] == ["request.invalid"]


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([("../evil.pdf", b"%PDF-")], "package.path_traversal"),
        ([("docs/../../evil.pdf", b"%PDF-")], "package.path_traversal"),
        ([("/etc/evil.pdf", b"%PDF-")], "package.absolute_path"),
        ([("a.pdf", b"1"), ("A.PDF", b"2")], "package.duplicate_name"),
        ([("inner.zip", b"PK\x03\x04rest")], "package.nested_archive"),
        ([("renamed.pdf", _zip([("x.pdf", b"1")]))], "package.nested_archive"),
        ([], "package.empty"),
        ([("request.json", b"{}")], "package.empty"),
    ],
)
def test_hostile_entries_are_refused_with_their_own_code(
    entries: list[tuple[str, bytes]], code: str
) -> None:
    assert _code(_zip(entries)) == code


def test_symlink_entry_is_refused() -> None:
    info = zipfile.ZipInfo("link.pdf")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    assert _code(_zip([(info, b"/etc/passwd")])) == "package.link_entry"


def test_compression_bomb_is_refused_before_inflating() -> None:
    bomb = _zip([("bomb.pdf", b"\0" * (20 * 1024 * 1024))])
    assert len(bomb) < 100_000
    assert _code(bomb) == "package.zip_bomb"


def test_lying_size_header_is_caught_while_reading() -> None:
    limits = Limits(max_entry_bytes=1000, max_ratio=1e9)
    data = _zip([("big.pdf", b"%PDF-" + b"x" * 5000)])
    assert _code(data, limits) in {"package.too_large", "package.zip_bomb"}


def test_not_a_zip_and_empty_file() -> None:
    assert _code(b"%PDF-1.7 not a zip") == "package.not_zip"
    assert _code(b"") == "package.empty"


def test_pdf_faults_have_distinct_codes() -> None:
    good = _pdf("Text layer")
    assert read_pdf(good).page_count == 1
    cases = {
        "document.not_pdf": b"\x89PNG\r\n\x1a\n" + b"0" * 100,
        "document.truncated": good[: len(good) // 2],
    }
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(good)))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    cases["document.encrypted"] = out.getvalue()
    for code, data in cases.items():
        with pytest.raises(DocumentError) as info:
            read_pdf(data)
        assert info.value.code == code


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_crash_the_package_reader(data: bytes) -> None:
    try:
        open_package(data, "fuzz.zip")
    except PackageError as exc:
        assert exc.code.startswith("package.")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_pdfs_never_crash_the_pdf_reader(data: st.DataObject) -> None:
    pdf = bytearray(_pdf("Мутация / Мутация ӘҒҚ"))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(pdf) - 1))
        pdf[pos] = data.draw(st.integers(0, 255))
    try:
        read_pdf(bytes(pdf))
    except DocumentError as exc:
        assert exc.code.startswith("document.")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=30).filter(lambda s: "\x00" not in s),
            st.binary(max_size=300),
        ),
        max_size=6,
    )
)
def test_arbitrary_zip_entries_never_crash(entries: list[tuple[str, bytes]]) -> None:
    try:
        data = _zip(entries)
    except (ValueError, UnicodeEncodeError):
        return
    try:
        open_package(data, "fuzz.zip")
    except PackageError as exc:
        assert exc.code.startswith("package.")
