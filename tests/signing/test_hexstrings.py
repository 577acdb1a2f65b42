"""The one-read hex string reader gives pyHanko's result, stream position and errors."""

from __future__ import annotations

from io import BytesIO

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

import signing.verify  # noqa: F401  (drives pyHanko: installs the speed-ups)
from signing import hexstrings

# Hex digits and PDF whitespace mostly, with what makes pyHanko take another path:
# a comment, a stray character, the closing bracket, a second string after it.
_BODY = st.lists(
    st.one_of(
        st.sampled_from(list(b"0123456789abcdefABCDEF \n\r\t\f\x00")).map(lambda c: bytes([c])),
        st.sampled_from([b"%", b"% comment > here\n", b"g", b"<", b">", b"\xff", b"(x)"]),
    ),
    max_size=60,
).map(b"".join)


def _outcome(reader: object, data: bytes) -> tuple[object, ...]:
    stream = BytesIO(data)
    try:
        value = reader(stream)  # type: ignore[operator]
    except Exception as exc:
        return ("error", type(exc), str(exc), stream.tell())
    encoding = getattr(value, "autodetected_encoding", None)
    return ("ok", type(value), value, encoding, stream.tell())


def test_the_signing_modules_install_the_reader() -> None:
    assert hexstrings.installed()
    assert generic.read_hex_string_from_stream is hexstrings.read_hex_string_from_stream


@settings(max_examples=500)
@given(body=_BODY, tail=st.sampled_from([b">", b"", b"> /Next 1", b">>", b"\n>"]))
def test_same_as_pyhankos_reader(body: bytes, tail: bytes) -> None:
    data = b"<" + body + tail
    assert _outcome(hexstrings.read_hex_string_from_stream, data) == _outcome(
        hexstrings._original, data
    )


@settings(max_examples=50, deadline=None)  # pyHanko reads 80,000 digits one by one
@given(payload=st.binary(min_size=0, max_size=40_000), spacing=st.sampled_from([0, 64, 1]))
@example(payload=bytes(range(256)) * 400, spacing=0)  # well past one read chunk (64 KiB)
@example(payload=bytes(range(256)) * 130, spacing=64)
def test_long_strings_across_read_chunks(payload: bytes, spacing: int) -> None:
    digits = payload.hex().upper().encode()
    if spacing:
        digits = b"\n".join(digits[i : i + spacing] for i in range(0, len(digits), spacing))
    data = b"<" + digits + b"> rest"
    ours = _outcome(hexstrings.read_hex_string_from_stream, data)
    assert ours == _outcome(hexstrings._original, data)
    assert ours[2] == generic.pdf_string(payload) and ours[-1] == len(data) - len(b" rest")


def test_signature_contents_read_through_pyhanko(signed_pdf: bytes) -> None:
    # The /Contents a signature carries, read by pyHanko's object parser with the
    # reader installed, is the CMS blob pyHanko's validation goes on to parse.
    sig = PdfFileReader(BytesIO(signed_pdf)).embedded_signatures[0]
    contents = sig.sig_object.raw_get("/Contents")
    start = signed_pdf.index(b"/Contents <") + len(b"/Contents ")
    end = signed_pdf.index(b">", start)
    assert bytes(contents.original_bytes) == bytes.fromhex(signed_pdf[start + 1 : end].decode())
