"""The QR code every document prints: it scans to the document's verify URL.

The code is embedded as a bitmap (templates.render.qr_data_uri); these tests
rasterise the printed page as a viewer or printer would and read the code back
with an independent reader (qr_reader), so a code that is blurred, cropped,
inverted or drawn at the wrong scale fails here.
"""

from __future__ import annotations

import base64
import io
import math
import random
import string
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
import pytest
import qrcode
import qrcode.constants
from PIL import Image

from templates.render import qr_data_uri, qr_matrix

from .documents import BUILDERS
from .helpers import common_fields, run, tool
from .qr_reader import QRReadError, decode, sample_modules

# Lower than any printer and close to a phone camera's view of a printed A4 page.
DPI = 150

URLS = [
    "https://medlicense.example.kz/verify/16006514",
    "https://medlicense.example.kz/verify/ML-2016-000123?h=ab12cd",
    "https://medlicense.example.kz/verify/16006514-D1",
    # Long enough for a version with several Reed-Solomon blocks and a numeric run.
    "https://medlicense.example.kz/verify/" + "1234567890" * 6,
]


def _strip_quiet_zone(matrix: list[list[bool]]) -> list[list[bool]]:
    return [row[4:-4] for row in matrix[4:-4]]


def _printed_modules(pdf: Path, tmp_path: Path) -> list[list[bool]]:
    """Rasterise the QR code on the first page of ``pdf`` and sample its modules."""
    with pdfplumber.open(pdf) as doc:
        (image,) = doc.pages[0].images  # the QR code is the only picture
        x0, top, x1, bottom = (float(image[k]) for k in ("x0", "top", "x1", "bottom"))
    scale = DPI / 72
    left, upper = math.floor(x0 * scale), math.floor(top * scale)
    width, height = math.ceil(x1 * scale) - left, math.ceil(bottom * scale) - upper
    out = tmp_path / "qr"
    run(
        tool("pdftoppm"),
        *("-r", str(DPI), "-f", "1", "-l", "1", "-gray", "-singlefile"),
        *("-x", str(left), "-y", str(upper), "-W", str(width), "-H", str(height)),
        str(pdf),
        str(out),
    )
    raster = Image.open(out.with_suffix(".pgm"))
    dx, dy = x0 * scale - left, top * scale - upper

    def pixel(x: float, y: float) -> int:
        value: Any = raster.getpixel((int(dx + x), int(dy + y)))
        return int(value)

    return sample_modules(pixel, (x1 - x0) * scale, (bottom - top) * scale)


@pytest.mark.parametrize("url", URLS)
def test_reader_reads_what_the_encoder_writes(url: str) -> None:
    assert decode(_strip_quiet_zone(qr_matrix(url))) == url


def _qrcode_matrix(text: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return [[bool(module) for module in row] for row in qr.get_matrix()]


def test_mask_is_the_one_qrcode_chooses() -> None:
    # qr_matrix scores the eight masks itself, faster than qrcode does; the
    # code must still be exactly qrcode's, mask included.  Numeric,
    # alphanumeric and byte data, versions 1 to 12.
    rng = random.Random(18004)
    alphabets = [
        string.digits,
        string.ascii_uppercase + string.digits + " $%*+-./:",
        string.printable + "ӘәҒғҚқ",
    ]
    texts = list(URLS)
    for _ in range(150):
        alphabet = rng.choice(alphabets)
        texts.append("".join(rng.choices(alphabet, k=rng.randint(1, 250))))
    for text in texts:
        assert qr_matrix(text) == _qrcode_matrix(text), text


def test_reader_refuses_a_damaged_code() -> None:
    modules = _strip_quiet_zone(qr_matrix(URLS[0]))
    n = len(modules)
    damaged = [list(row) for row in modules]
    damaged[n - 1][n - 1] = not damaged[n - 1][n - 1]  # a data module in every version
    with pytest.raises(QRReadError, match="Reed-Solomon"):
        decode(damaged)
    damaged = [list(row) for row in modules]
    damaged[8][0] = not damaged[8][0]  # one bit of one copy of the format information
    with pytest.raises(QRReadError, match="format"):
        decode(damaged)


def test_qr_image_is_the_module_grid_in_square_pixels() -> None:
    url = URLS[1]
    uri = qr_data_uri(url)
    assert uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    matrix = qr_matrix(url)
    size = len(matrix)
    assert image.mode == "L" and image.width == image.height
    px, rest = divmod(image.width, size)
    assert rest == 0 and px >= 4, (image.size, size)
    # Every pixel of a module has its module's colour: nothing smoothed or shifted.
    pixels = image.load()
    assert pixels is not None
    for r in range(size):
        for c in range(size):
            expected = 0 if matrix[r][c] else 255
            block = {pixels[c * px + i, r * px + j] for i in range(px) for j in range(px)}
            assert block == {expected}, (r, c, block)


def test_printed_qr_code_scans_to_the_verify_url(
    document_pdf: Path, document_kind: str, tmp_path: Path
) -> None:
    modules = _printed_modules(document_pdf, tmp_path)
    assert modules == _strip_quiet_zone(qr_matrix(BUILDERS[document_kind]().verify_url))
    assert decode(modules) == BUILDERS[document_kind]().verify_url


def test_printed_receipt_qr_code_scans_to_the_verify_url(any_pdf: Path, tmp_path: Path) -> None:
    assert decode(_printed_modules(any_pdf, tmp_path)) == common_fields()["verify_url"]


def test_qr_code_is_not_smoothed(any_pdf: Path) -> None:
    # Viewers that honour /Interpolate false keep the module edges sharp at any zoom.
    page: Any = pypdf.PdfReader(any_pdf).pages[0]  # pypdf types nested objects loosely
    xobjects = page["/Resources"]["/XObject"]
    images = [x.get_object() for x in xobjects.values() if x.get_object()["/Subtype"] == "/Image"]
    assert len(images) == 1
    assert images[0]["/Interpolate"].value is False
