"""pyHanko's PDF reader, finding objects in object streams without rescanning them.

An object stream starts with a header of N pairs "object number, offset".
pyHanko parses that header from its first pair every time it reads one object
from the stream, so reading all of a stream's objects costs O(N²).  A
WeasyPrint PDF/A with a tagged structure tree packs thousands of small objects
into a few such streams, and pyHanko's difference analysis reads hundreds of
them once per revision: for a B-LTA license that rescanning was half of what
:func:`signing.verify.verify_pdf` spent.

:class:`IndexingPdfFileReader` keeps, per object stream, the pairs read so far
and where the header parse stopped, and resumes from there.  Everything else
is pyHanko's code path, and the outcome is the same as pyHanko's for every
input, malformed ones included: the header is never read further than
pyHanko would read it for the same object, and a header error is reported
exactly where and as pyHanko would report it (tests/signing/test_pdfread.py
compares the two readers over deliberately corrupted headers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.misc import PdfStrictReadError
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import install_speedups

install_speedups()

__all__ = ["IndexingPdfFileReader"]

log = logging.getLogger(__name__)


@dataclass
class _HeaderIndex:
    """What is known of one object stream's header."""

    stream: generic.StreamObject  # the stream object this index was built from
    data: bytes  # its decoded content
    position: int = 0  # where reading the next header pair resumes
    parsed: int = 0  # pairs read so far
    # object number -> (position in the header, offset); the first pair wins,
    # as in pyHanko's scan.  The values are kept as parsed (int or float).
    entries: dict[Any, tuple[int, Any]] = field(default_factory=dict)
    failure: Exception | None = None  # raised reading pair number `parsed`


class IndexingPdfFileReader(PdfFileReader):
    """A :class:`PdfFileReader` that parses each object stream's header once."""

    def __init__(self, stream: BytesIO, strict: bool = True) -> None:
        super().__init__(stream, strict=strict)
        self._headers: dict[int, _HeaderIndex] = {}

    def _get_object_from_stream(self, idnum: int, stmnum: int, idx: int) -> generic.PdfObject:
        # Up to the header scan, as pyHanko does it.
        stream_ref = generic.Reference(stmnum, 0, self)
        stream = stream_ref.get_object()
        assert isinstance(stream, generic.StreamObject)
        assert stream["/Type"] == "/ObjStm"
        count = stream["/N"]
        if not (0 <= idx < count):
            if self.strict:
                raise PdfStrictReadError("Object stream does not contain index")
            return generic.NullObject()

        index = self._headers.get(stmnum)
        if index is None or index.stream is not stream:
            index = _HeaderIndex(stream, stream.read_data(DecodePurpose.OBJECT_STREAM))
            self._headers[stmnum] = index
        entry = index.entries.get(idnum)
        if entry is None:
            entry = _scan_for(index, idnum, count)
        if entry is None:
            if index.failure is not None:
                if isinstance(index.failure, ValueError):
                    if self.strict:
                        raise PdfStrictReadError("Object stream header possibly corrupted")
                    return generic.NullObject()
                raise index.failure
            if self.strict:
                raise PdfStrictReadError(
                    "Object not found in stream, this is a fatal error in strict mode"
                )
            return generic.NullObject()

        # From here on, pyHanko's reading of the object itself.
        position, offset = entry
        if self.strict and idx != position:
            raise PdfStrictReadError("Object is in wrong index.")
        stream_data = BytesIO(index.data)
        stream_data.seek(stream["/First"] + offset)
        try:
            obj = generic.read_object(stream_data, generic.Reference(idnum, 0, self))
        except (misc.PdfStreamError, misc.PdfReadError) as e:
            log.warning(f"Invalid stream (index {position}) within object {idnum} 0: {e}")
            if self.strict:
                raise PdfStrictReadError(f"Can't read object stream: {e}") from e
            obj = generic.NullObject()
        if isinstance(obj, (generic.StreamObject, generic.IndirectObject)):
            if self.strict:
                raise PdfStrictReadError("Encountered forbidden object type in object stream")
            return obj
        misc.read_non_whitespace(stream_data, seek_back=True, allow_eof=True)  # type: ignore[no-untyped-call]  # untyped in pyHanko
        return obj


def _scan_for(index: _HeaderIndex, idnum: int, count: int) -> tuple[int, Any] | None:
    """Read header pairs from where the last scan stopped until ``idnum`` appears.

    Stops at the first unreadable pair, remembering why, exactly where pyHanko's
    scan from the start would stop for this object.
    """
    data = BytesIO(index.data)
    data.seek(index.position)
    while index.failure is None and index.parsed < count:
        try:
            _skip_whitespace(data)
            objnum = _number(data)
            _skip_whitespace(data)
            offset = _number(data)
            _skip_whitespace(data)
        except Exception as exc:  # replayed to every later lookup that gets this far
            index.failure = exc
            break
        index.entries.setdefault(objnum, (index.parsed, offset))
        index.parsed += 1
        index.position = data.tell()
        if objnum == idnum:
            return index.entries[objnum]
    return None


# pyHanko's own tokenisers, as its header scan uses them (they are untyped).


def _skip_whitespace(data: BytesIO) -> None:
    misc.read_non_whitespace(data, seek_back=True)  # type: ignore[no-untyped-call]


def _number(data: BytesIO) -> Any:
    return generic.NumberObject.read_from_stream(data)  # type: ignore[no-untyped-call]
