"""Constants and small builders shared by the signing tests."""

from __future__ import annotations

import socket
import subprocess
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

PASSPHRASE = "тест-құпия-сөз"  # non-ASCII on purpose: passphrases are UTF-8
PROVIDER_NAME = "Батыс Қазақстан облысының денсаулық сақтау басқармасы"
PROVIDER_BIN = "990240001227"
SIGNED_MARKER = b"MARKER-SIGNED-CONTENT"
BODY_KK = "Медициналық қызметпен айналысуға арналған лицензия: Әйгерім Нұрғалиқызы, Өскемен"
BODY_RU = "Лицензия на занятие медицинской деятельностью: ТОО «Шипагер», г. Уральск"


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def make_pdfa() -> bytes:
    """A bilingual PDF/A-3b like the templates produce, bottom strip left blank."""
    import weasyprint

    html = (
        "<html><head><style>@page { size: A4; margin: 15mm 15mm 20mm 25mm } "
        "body { font-family: 'DejaVu Sans'; font-size: 11pt }</style></head><body>"
        f"<p lang='kk'>{BODY_KK}</p><p lang='ru'>{BODY_RU}</p></body></html>"
    )
    data: bytes = weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
    return data


def change_info_after_signature(signed: bytes, title: str = "FORGED") -> bytes:
    """An incremental update that changes only the /Info dictionary."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    info_ref = writer.trailer.raw_get("/Info")
    info = writer.trailer["/Info"]
    info["/Title"] = generic.TextStringObject(title)
    writer.mark_update(info_ref)
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def change_xmp_after_signature(signed: bytes, title: str = "FORGED") -> bytes:
    """An incremental update that changes only metadata (XMP title, via pyHanko's API)."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    writer.document_meta.title = title
    # Without an updated object pyHanko writes no revision at all; re-writing
    # the catalog unchanged is what a metadata editor does.
    writer.update_root()  # type: ignore[no-untyped-call]
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def pdftotext(path: Path, box: tuple[float, float, float, float] | None = None) -> str:
    """Text of the last page (``box`` in PDF points, bottom-left origin, crops to it)."""
    args = ["pdftotext", "-enc", "UTF-8"]
    if box is not None:
        # pdftotext crops in pixels at 72 dpi from the top-left: points, flipped.
        x1, y1, x2, y2 = box
        page_height = 841.89  # A4
        args += [
            "-x", str(int(x1)), "-y", str(int(page_height - y2)),
            "-W", str(int(x2 - x1) + 1), "-H", str(int(y2 - y1) + 1),
        ]  # fmt: skip
    result = subprocess.run([*args, str(path), "-"], capture_output=True, text=True, check=True)
    return result.stdout
