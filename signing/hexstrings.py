"""pyHanko's reader of PDF hexadecimal strings, without a Python call per character.

A signature's ``/Contents`` is a hexadecimal string as long as the space
reserved for the CMS: ~20,000 digits for a signature with its timestamp token,
as many for a document timestamp.  pyHanko reads it one character at a time
(``read_non_whitespace`` per digit, joined through a generator): 13 ms of
CPU per verification of a B-T document, 18 ms of a B-LTA one, and again
whenever the signer re-reads its own output to add the DSS and the document
timestamp (3.9 million calls for 39 packages in ``benchmarks.profile``).

:func:`read_hex_string_from_stream` reads up to the closing ``>`` at once.
When everything before it is hexadecimal digits and PDF whitespace, the result
and the position after it are exactly what pyHanko's loop produces; anything
else (a comment, a stray character, the end of the data) is handed to pyHanko's
own function from the starting position, so its errors and its treatment of
such input are unchanged.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE

__all__ = ["install", "installed", "read_hex_string_from_stream"]

HexString = generic.ByteStringObject | generic.TextStringObject

_original: Callable[[Any], HexString] = generic.read_hex_string_from_stream
_NOT_PLAIN = re.compile(rb"[^0-9A-Fa-f" + re.escape(PDF_WHITESPACE) + rb"]")
_CHUNK = 1 << 16


def read_hex_string_from_stream(stream: Any) -> HexString:
    """``generic.read_hex_string_from_stream``, same result, same stream position."""
    start = stream.tell()
    stream.read(1)  # the opening "<", skipped unchecked as pyHanko does
    chunks: list[bytes] = []
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:  # no closing ">": pyHanko says how that fails
            stream.seek(start)
            return _original(stream)
        end = chunk.find(b">")
        if end >= 0:
            chunks.append(chunk[:end])
            break
        chunks.append(chunk)
    body = b"".join(chunks)
    if _NOT_PLAIN.search(body) is not None:
        stream.seek(start)
        return _original(stream)
    stream.seek(start + 1 + len(body) + 1)
    digits = body.translate(None, PDF_WHITESPACE)
    if len(digits) % 2:
        digits += b"0"  # as pyHanko: a missing last digit is 0 (ISO 32000-1 §7.3.4.3)
    return generic.pdf_string(binascii.unhexlify(digits))


def install() -> None:
    """Make pyHanko's object parser use :func:`read_hex_string_from_stream` (idempotent)."""
    generic.read_hex_string_from_stream = read_hex_string_from_stream


def installed() -> bool:
    return generic.read_hex_string_from_stream is read_hex_string_from_stream
