"""The strict rule for what may follow a signature: validation data and document timestamps.

pyHanko's difference analysis approves changes to ``/Info`` and to the XMP
metadata stream at the ``LTA_UPDATES`` level (or even reports ``NONE``), because
it treats metadata as harmless.  For a license it is not: a new title or
subject after signing changes what a reader is told the document is.  So, on
top of pyHanko's analysis, every revision after the signed one must

* add or update the DSS, or add a document timestamp (otherwise it has no
  business existing), and
* leave ``/Info`` and the XMP packet as they were, except for the fields every
  PDF writer touches when it saves (modification / metadata dates, producer).
"""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import install_speedups

install_speedups()

# What a writer appending validation data may legitimately restamp.
ALLOWED_INFO_CHANGES = frozenset({"/ModDate", "/Producer"})
_XMP_NS = "http://ns.adobe.com/xap/1.0/"
_PDF_NS = "http://ns.adobe.com/pdf/1.3/"
ALLOWED_XMP_CHANGES = frozenset(
    {(_XMP_NS, "ModifyDate"), (_XMP_NS, "MetadataDate"), (_PDF_NS, "Producer")}
)

K = TypeVar("K")


def changes_after(reader: PdfFileReader, signed_revision: int) -> list[str]:
    """Why the revisions after ``signed_revision`` are more than LTA updates ([] if not)."""
    problems: list[str] = []
    timestamp_revisions = {
        sig.signed_revision
        for sig in reader.embedded_signatures
        if sig.sig_object_type == "/DocTimeStamp"
    }
    # Each revision is compared with the one before and the one after it; its
    # metadata is read and parsed once, not twice.
    metadata = _Metadata(reader)
    for revision in range(signed_revision + 1, reader.xrefs.total_revisions):
        try:
            problems.extend(_check_revision(reader, revision, timestamp_revisions, metadata))
        except (PdfError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"revision {revision} cannot be analysed: {exc}")
    return problems


class _Metadata:
    """/Info and the XMP fields of a reader's revisions, each read at most once."""

    def __init__(self, reader: PdfFileReader) -> None:
        self._reader = reader
        self._info: dict[int, dict[str, Any]] = {}
        self._xmp: dict[int, dict[tuple[str, str], Any]] = {}

    def info(self, revision: int) -> dict[str, Any]:
        if revision not in self._info:
            self._info[revision] = _info(self._reader, revision)
        return self._info[revision]

    def xmp(self, revision: int) -> dict[tuple[str, str], Any]:
        if revision not in self._xmp:
            self._xmp[revision] = _xmp_fields(self._reader, revision)
        return self._xmp[revision]


def _check_revision(
    reader: PdfFileReader, revision: int, timestamp_revisions: set[int], metadata: _Metadata
) -> list[str]:
    before = reader.get_historical_resolver(revision - 1)
    after = reader.get_historical_resolver(revision)
    changed = reader.xrefs.explicit_refs_in_revision(revision)
    problems: list[str] = []
    if revision not in timestamp_revisions and not _dss_changed(before, after, changed):
        problems.append(
            f"revision {revision} adds neither validation data nor a document timestamp"
        )
    info_diff = _changed_keys(metadata.info(revision - 1), metadata.info(revision))
    info_diff -= ALLOWED_INFO_CHANGES
    if info_diff:
        problems.append(
            f"revision {revision} changes document information: {', '.join(sorted(info_diff))}"
        )
    xmp_diff = _changed_keys(metadata.xmp(revision - 1), metadata.xmp(revision))
    xmp_diff -= ALLOWED_XMP_CHANGES
    if xmp_diff:
        names = ", ".join(sorted(local for _ns, local in xmp_diff))
        problems.append(f"revision {revision} changes XMP metadata: {names}")
    return problems


def _dss_changed(before: Any, after: Any, changed: set[generic.Reference]) -> bool:
    new_dss = after.root.raw_get("/DSS") if "/DSS" in after.root else None
    if new_dss is None:
        return False
    old_dss = before.root.raw_get("/DSS") if "/DSS" in before.root else None
    if isinstance(new_dss, generic.IndirectObject):
        return bool(new_dss.reference in changed or old_dss is None or old_dss != new_dss)
    return bool(old_dss != new_dss)  # a direct DSS only changes with the catalog


def _changed_keys(old: Mapping[K, Any], new: Mapping[K, Any]) -> set[K]:
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


def _info(reader: PdfFileReader, revision: int) -> dict[str, Any]:
    trailer = reader.get_historical_resolver(revision).trailer_view
    if "/Info" not in trailer:
        return {}
    ref = trailer.raw_get("/Info")
    # The same reference may be rewritten in place by a later revision, so read
    # the value as of ``revision`` explicitly.
    info = (
        reader.get_object(ref.reference, revision=revision)  # type: ignore[no-untyped-call]
        if isinstance(ref, generic.IndirectObject)
        else ref
    )
    if not isinstance(info, generic.DictionaryObject):
        return {}
    return {str(key): info.raw_get(key) for key in info}


def _xmp_fields(reader: PdfFileReader, revision: int) -> dict[tuple[str, str], Any]:
    """Top-level XMP properties, keyed by (namespace, name), compared by parsed value.

    Parsed rather than byte-compared: a writer may re-serialise the packet
    (attribute vs element form, whitespace) without changing any property.
    """
    root = reader.get_historical_root(revision)
    if "/Metadata" not in root:
        return {}
    ref = root.raw_get("/Metadata")
    if not isinstance(ref, generic.IndirectObject):
        return {}  # PDF requires the metadata stream to be indirect
    # Read through the reader, not the historical resolver: the resolver cannot
    # hand out a stream the reader has already cached as a metadata stream.
    stream = reader.get_object(ref.reference, revision=revision)  # type: ignore[no-untyped-call]
    if not isinstance(stream, generic.StreamObject):
        return {}
    # Deferred: pyHanko's XMP module registers XML namespaces globally on import.
    from pyhanko.pdf_utils.metadata import xmp_xml

    try:
        roots = xmp_xml.parse_xmp(BytesIO(stream.data))
    except Exception as exc:  # lxml and pyHanko raise several unrelated types
        # Unparsable metadata cannot be shown unchanged; report it as a change.
        return {("", f"unparsable XMP ({type(exc).__name__})"): object()}
    fields: dict[tuple[str, str], Any] = {}
    for structure in roots:
        for name, value in structure._fields.items():
            fields[(name.ns, name.local_name)] = value
    return fields
