"""Opening an uploaded package defensively.

A package is a ZIP of PDFs (or, for local use, a folder) with an optional
``request.json`` from the portal.  Nothing from outside is trusted: sizes,
entry counts and compression ratios are bounded before anything is inflated,
names are checked for traversal, absolute paths, links and duplicates, and an
archive inside the archive is refused rather than opened.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, ValidationError

from medlicense.errors import PackageError
from medlicense.models import ApplicationRequest, Finding, Severity
from storage.client import sha256_hex

REQUEST_FILE = "request.json"


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_package_bytes: int = 200 * 1024 * 1024
    max_entries: int = 200
    max_entry_bytes: int = 50 * 1024 * 1024
    max_total_bytes: int = 300 * 1024 * 1024
    # Above this inflate ratio an entry is treated as a compression bomb; real PDFs
    # rarely exceed 20:1 because their streams are compressed already.
    max_ratio: float = 100.0
    max_pages: int = 300
    # Seconds one file may take to parse, OCR and read (None: no limit, read in-process).
    file_timeout: float | None = 120.0


class PackageFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    data: bytes
    sha256: str


class OpenedPackage(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    sha256: str
    files: tuple[PackageFile, ...]
    request: ApplicationRequest | None
    findings: tuple[Finding, ...] = ()


def open_package(data: bytes, name: str, limits: Limits | None = None) -> OpenedPackage:
    """Open a ZIP package from bytes; raises PackageError with a precise code."""
    limits = limits or Limits()
    digest = sha256_hex(data)
    if len(data) > limits.max_package_bytes:
        raise PackageError(
            f"package is {len(data)} bytes, over the limit", code="package.too_large"
        )
    if not data:
        raise PackageError("package is an empty file", code="package.empty")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise PackageError("package is not a ZIP archive", code="package.not_zip") from exc
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        _check_entries(entries, limits)
        files: list[PackageFile] = []
        raw_request: bytes | None = None
        for info in entries:
            try:
                content = _read_bounded(archive, info, limits)
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                RuntimeError,
                EOFError,
                OSError,
            ) as exc:
                # RuntimeError: encrypted entry; BadZipFile: CRC or structure error.
                raise PackageError(
                    f"{info.filename}: cannot be extracted ({exc})", code="package.corrupt_entry"
                ) from exc
            if PurePosixPath(info.filename).name == REQUEST_FILE:
                raw_request = content
                continue
            files.append(PackageFile(name=info.filename, data=content, sha256=sha256_hex(content)))
    return _assemble(name, digest, files, raw_request)


def open_folder(path: Path, limits: Limits | None = None) -> OpenedPackage:
    """Open a folder of PDFs as a package (local use); same limits as a ZIP."""
    limits = limits or Limits()
    files: list[PackageFile] = []
    raw_request: bytes | None = None
    total = 0
    for item in sorted(path.rglob("*")):
        if item.is_symlink():
            raise PackageError(f"{item.name}: links are not accepted", code="package.link_entry")
        if not item.is_file():
            continue
        size = item.stat().st_size
        total += size
        if size > limits.max_entry_bytes or total > limits.max_total_bytes:
            raise PackageError(f"{item.name}: over the size limit", code="package.too_large")
        content = item.read_bytes()
        rel = item.relative_to(path).as_posix()
        if item.name == REQUEST_FILE:
            raw_request = content
        else:
            files.append(PackageFile(name=rel, data=content, sha256=sha256_hex(content)))
    digest = sha256_hex(b"".join(f.sha256.encode() for f in files) + (raw_request or b""))
    return _assemble(path.name, digest, files, raw_request)


def _assemble(
    name: str, digest: str, files: list[PackageFile], raw_request: bytes | None
) -> OpenedPackage:
    nested = [
        f.name for f in files if f.data[:4] == b"PK\x03\x04" or f.name.lower().endswith(".zip")
    ]
    if nested:
        raise PackageError(
            f"archives inside the package are not accepted: {', '.join(nested)}",
            code="package.nested_archive",
        )
    if not files:
        raise PackageError("package holds no documents", code="package.empty")
    request, findings = _parse_request(raw_request)
    return OpenedPackage(
        name=name, sha256=digest, files=tuple(files), request=request, findings=tuple(findings)
    )


def _check_entries(entries: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(entries) > limits.max_entries:
        raise PackageError(
            f"{len(entries)} entries, over the limit", code="package.too_many_entries"
        )
    seen: set[str] = set()
    total = 0
    for info in entries:
        name = info.filename
        posix = PurePosixPath(name.replace("\\", "/"))
        if posix.is_absolute() or (len(name) > 1 and name[1] == ":"):
            raise PackageError(f"{name}: absolute path", code="package.absolute_path")
        if ".." in posix.parts:
            raise PackageError(f"{name}: path escapes the package", code="package.path_traversal")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise PackageError(f"{name}: links are not accepted", code="package.link_entry")
        folded = posix.as_posix().casefold()
        if folded in seen:
            raise PackageError(f"{name}: duplicate name", code="package.duplicate_name")
        seen.add(folded)
        if info.file_size > limits.max_entry_bytes:
            raise PackageError(
                f"{name}: {info.file_size} bytes, over the limit", code="package.too_large"
            )
        if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
            raise PackageError(f"{name}: suspicious compression ratio", code="package.zip_bomb")
        total += info.file_size
        if total > limits.max_total_bytes:
            raise PackageError("package inflates over the size limit", code="package.zip_bomb")


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """Read an entry without trusting its declared size (headers can lie)."""
    out = bytearray()
    with archive.open(info) as stream:
        while chunk := stream.read(1 << 16):
            out += chunk
            if len(out) > limits.max_entry_bytes:
                raise PackageError(
                    f"{info.filename}: inflates over the limit", code="package.zip_bomb"
                )
    return bytes(out)


def _parse_request(raw: bytes | None) -> tuple[ApplicationRequest | None, list[Finding]]:
    if raw is None:
        return None, []
    try:
        return ApplicationRequest.model_validate(json.loads(raw.decode("utf-8"))), []
    except (UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        finding = Finding(
            code="request.invalid",
            message=f"request.json cannot be read: {str(exc).splitlines()[0]}",
            severity=Severity.WARNING,
            document=REQUEST_FILE,
        )
        return None, [finding]
