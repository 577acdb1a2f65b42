"""What makes a render cheaper must not change what it prints.

templates.render styles documents with a trimmed copy of WeasyPrint's
user-agent stylesheet and drops the templates' indentation before WeasyPrint
parses them; style.css lays the letterhead out with floats rather than flex.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pdfplumber
import pytest
from weasyprint import html as wp_html

import templates.render as render_module
from templates import Renderer
from templates.render import PAGE, drop_indentation, ua_stylesheet_text
from templates.samples import sample_records

from .helpers import acceptance

MM = 72 / 25.4


def test_trimmed_stylesheet_and_dropped_indentation_print_the_same_bytes(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = sample_records()
    lean = {kind: renderer.render(record) for kind, record in records.items()}
    monkeypatch.setattr(render_module, "_lean_ua_stylesheets", lambda: None)
    monkeypatch.setattr(render_module, "drop_indentation", lambda html: html)
    stock = Renderer()
    for kind, record in records.items():
        assert stock.render(record) == lean[kind], kind


def test_trimmed_stylesheet_drops_only_unused_pseudo_elements() -> None:
    stock = wp_html.UA.splitlines()
    trimmed = ua_stylesheet_text()
    assert trimmed is not None
    removed = set(stock) - set(trimmed.splitlines())
    added = set(trimmed.splitlines()) - set(stock)
    # If WeasyPrint's sheet changes shape, nothing is trimmed any more: the
    # output stays right but the saving is gone, so this is where it shows.
    assert {line.split()[0] for line in removed} == {
        "::marker",
        "::footnote-call",
        "::footnote-marker",
        "::note-call",
        "::note-marker",
        "::note-callback",
    }
    (marker,) = added
    assert marker == "li" + next(line for line in removed if line.startswith("::marker"))


def test_trimmed_stylesheet_is_the_one_weasyprint_uses(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The override is a private WeasyPrint hook: if a new version stops calling
    # it, documents silently cost more again.
    used: list[list[Any]] = []
    hook = render_module._DocumentHTML._ua_stylesheets

    def spy(self: Any, forms: bool = False) -> list[Any]:
        sheets: list[Any] = hook(self, forms)
        used.append(sheets)
        return sheets

    monkeypatch.setattr(render_module._DocumentHTML, "_ua_stylesheets", spy)
    renderer.render_receipt(acceptance())
    assert used
    assert all(wp_html.UA_STYLESHEET not in sheets for sheets in used)


def test_dropping_indentation_keeps_the_spaces_that_show() -> None:
    html = (
        '<section class="part">\n'
        "  <h2>Алынды:</h2>\n"
        '  <p><span class="label">Алды</span> <span class="blank"></span></p>\n'
        '  <ol class="numbered">\n'
        '    <li><span class="num">1)</span> Өтініш</li>\n'
        "  </ol>\n"
        '  <p class="reasoning">Бірінші.\nЕкінші.</p>\n'
        "</section>\n"
    )
    assert drop_indentation(html) == (
        '<section class="part"><h2>Алынды:</h2>'
        '<p><span class="label">Алды</span> <span class="blank"></span></p>'
        '<ol class="numbered"><li><span class="num">1)</span> Өтініш</li></ol>'
        '<p class="reasoning">Бірінші.\nЕкінші.</p></section>\n'
    )


@pytest.mark.parametrize("provider_lines", [1, 6], ids=["qr-taller", "text-taller"])
def test_letterhead_keeps_the_qr_code_beside_the_provider(
    renderer: Renderer, provider_lines: int
) -> None:
    # The text column and the QR code are floats; the letterhead must still
    # hold both side by side and end below the taller one.
    long_name = " ".join(["Батыс Қазақстан облысының денсаулық сақтау басқармасы"] * provider_lines)
    pdf = renderer.render_receipt(acceptance(provider_name_kk=long_name))
    content_right = (PAGE.width - PAGE.right) * MM
    title = renderer.catalogs["kk"]["receipt"]["title_accepted"].split()[0]
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        (qr,) = page.images
        words = page.extract_words()
    title_top = next(float(w["top"]) for w in words if w["text"] == title)
    letterhead = [w for w in words if float(w["bottom"]) < title_top]
    text_column = [w for w in letterhead if float(w["x0"]) < float(qr["x0"]) - 5 * MM]
    caption = [w for w in letterhead if w not in text_column]

    # The QR code: top right of the content area, centred in its 32 mm column.
    assert float(qr["x1"]) == pytest.approx(content_right - 4 * MM, abs=0.1)
    assert float(qr["top"]) == pytest.approx(PAGE.top * MM, abs=0.1)
    # The provider: from the left margin, starting level with the QR code,
    # wrapping 5 mm short of its column.
    assert float(text_column[0]["x0"]) == pytest.approx(PAGE.left * MM, abs=0.1)
    assert float(text_column[0]["top"]) - float(qr["top"]) < 2 * MM
    assert max(float(w["x1"]) for w in text_column) <= content_right - 37 * MM + 0.1
    assert caption and all(float(w["top"]) > float(qr["bottom"]) for w in caption)
    # Whichever column is taller, the title comes after both.
    bottom = max(float(w["bottom"]) for w in letterhead)
    assert title_top > bottom + 5 * MM
    if provider_lines > 1:
        assert max(float(w["bottom"]) for w in text_column) > float(caption[-1]["bottom"])


def test_the_html_tokenizer_builds_each_pattern_once(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tinyhtml5 import inputstream

    assert render_module.TOKENIZER_CACHE
    records = list(sample_records().values())
    cache = inputstream.characters_until_regex
    monkeypatch.setattr(inputstream, "characters_until_regex", cache)  # restored after
    saved = dict(cache)
    cache.clear()
    try:
        first = [renderer.render(record) for record in records]
        # Filed under the characters looked up, not under the compiled patterns
        # (tinyhtml5's own slip, which makes every lookup miss).
        assert not [chars for chars, _ in cache if isinstance(chars, re.Pattern)]
        patterns = dict(cache)
        assert 0 < len(patterns) < 30
        again = [renderer.render(record) for record in records]
        assert cache == patterns
    finally:
        cache.clear()
        cache.update(saved)
    # And the documents are those the stock tokenizer gives.
    fixed = inputstream.HTMLUnicodeInputStream.chars_until
    monkeypatch.setattr(
        inputstream.HTMLUnicodeInputStream, "chars_until", fixed._medlicense_original
    )
    assert [renderer.render(record) for record in records] == first == again
