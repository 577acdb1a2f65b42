"""Hand-made hostile PDFs, small on disk, expensive or dangerous to parse."""

from __future__ import annotations

import zlib


def _assemble(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF with a correct xref table from numbered object bodies (1-based)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        xref,
    )
    return bytes(out)


def many_pages(count: int = 100_000) -> bytes:
    """One page object listed ``count`` times in the page tree (a few hundred kB)."""
    kids = b" ".join(b"3 0 R" for _ in range(count))
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )


def deep_tree(depth: int = 5000) -> bytes:
    """A page tree nested ``depth`` levels deep: naive recursive walkers overflow."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        number = level + 2
        objects.append(
            b"<< /Type /Pages /Kids [%d 0 R] /Count 1 %s>>"
            % (number + 1, b"/Parent %d 0 R " % (number - 1) if level else b"")
        )
    objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] >>" % (depth + 1))
    return _assemble(objects)


def slow_content(operators: int = 400_000) -> bytes:
    """One page whose compressed content stream holds ``operators`` tiny text runs."""
    stream = b"BT /F1 1 Tf " + b"1 0 0 1 1 1 Tm (a) Tj " * operators + b"ET"
    packed = zlib.compress(stream, 9)
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
            + packed
            + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )
