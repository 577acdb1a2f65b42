"""Constants and small builders shared by the signing tests."""

from __future__ import annotations

import socket
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

PASSPHRASE = "тест-құпия-сөз"  # non-ASCII on purpose: passphrases are UTF-8
PROVIDER_NAME = "Батыс Қазақстан облысының денсаулық сақтау басқармасы"
PROVIDER_BIN = "990240001227"
SIGNED_MARKER = b"MARKER-SIGNED-CONTENT"


def make_pdf(text: str = "License No. KZ-0001") -> bytes:
    """A one-page PDF with an uncompressed content stream (so tests can find bytes in it)."""
    buf = BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
    pdf.setTitle("Test license")
    pdf.drawString(72, 760, text)
    pdf.drawString(72, 740, SIGNED_MARKER.decode())
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def append_text_after_signature(signed: bytes, text: str = "ANNULLED") -> bytes:
    """What a forger would do: an incremental update drawing extra text on page 1."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    content = generic.StreamObject(
        stream_data=f"BT /F1 24 Tf 72 600 Td ({text}) Tj ET".encode("ascii")
    )
    writer.add_stream_to_page(0, writer.add_object(content))  # type: ignore[no-untyped-call]
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
