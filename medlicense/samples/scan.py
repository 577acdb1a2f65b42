"""Turn generated pages into "scans": image-only pages with no text layer.

A real applicant often photographs or scans paper documents, so the pipeline
must cope with pages where text extraction returns nothing.  We rasterise a
page we drew ourselves (pypdfium2), make it look scanned (grey paper, a small
skew, speckle) and place the JPEG on a fresh page.  Everything random comes
from the caller's seeded generator so the bytes stay reproducible.
"""

from __future__ import annotations

import io
import random

import pypdfium2 as pdfium
from PIL import Image, ImageChops, ImageFilter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from medlicense.samples.layout import PAGE_H, PAGE_W

# 100 dpi keeps a page near 80 kB and the rasterising fast; OCR-grade
# resolution is not the point, the absence of a text layer is.
SCAN_DPI = 100


def _degrade(img: Image.Image, rng: random.Random) -> Image.Image:
    grey = img.convert("L")
    angle = rng.uniform(-1.2, 1.2)
    grey = grey.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=235)
    # Speckle from a seeded byte string: values near 255 become dark dots.
    noise_bytes = rng.randbytes(grey.width * grey.height)
    noise = Image.frombytes("L", grey.size, noise_bytes).point(lambda v: 90 if v > 253 else 255)
    grey = ImageChops.darker(grey, noise)
    # Paper is never pure white on a scan.
    grey = grey.point(lambda v: min(v, 238))
    return grey.filter(ImageFilter.SMOOTH)


def rasterise(pdf: bytes, rng: random.Random) -> list[bytes]:
    """JPEG bytes of every page of ``pdf``, degraded to look scanned."""
    doc = pdfium.PdfDocument(pdf)
    try:
        out: list[bytes] = []
        for i in range(len(doc)):
            page = doc[i]
            pil = page.render(scale=SCAN_DPI / 72).to_pil()
            page.close()
            buf = io.BytesIO()
            _degrade(pil, rng).save(buf, format="JPEG", quality=70)
            out.append(buf.getvalue())
        return out
    finally:
        doc.close()


def draw_scanned(canvas: Canvas, pdf: bytes, rng: random.Random) -> int:
    """Append ``pdf``'s pages to ``canvas`` as image-only pages; returns the page count."""
    pages = rasterise(pdf, rng)
    for jpeg in pages:
        canvas.drawImage(ImageReader(io.BytesIO(jpeg)), 0, 0, width=PAGE_W, height=PAGE_H)
        canvas.showPage()
    return len(pages)
