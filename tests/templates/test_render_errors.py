"""Failures come out as RenderError with a stable code, never as a library error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import weasyprint
import yaml

import templates.render as render_module
from medlicense.errors import RenderError
from templates import ReceiptData, Renderer
from templates.render import CATALOG_DIR, TEMPLATE_DIR, load_catalogs


def _copy_catalogs(tmp_path: Path) -> Path:
    target = tmp_path / "i18n"
    shutil.copytree(CATALOG_DIR, target)
    return target


def _drop_key(catalog: Path, section: str, key: str) -> None:
    data = yaml.safe_load(catalog.read_text(encoding="utf-8"))
    del data[section][key]
    catalog.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_packaged_catalogs_are_complete() -> None:
    catalogs = load_catalogs()
    assert set(catalogs) == {"kk", "ru"}


def test_key_missing_in_one_catalog(tmp_path: Path) -> None:
    catalogs = _copy_catalogs(tmp_path)
    _drop_key(catalogs / "ru.yaml", "receipt", "missing")
    with pytest.raises(RenderError) as caught:
        Renderer(catalog_dir=catalogs)
    assert caught.value.code == "render.catalog"
    assert "receipt.missing" in caught.value.message
    assert "ru.yaml" in caught.value.message


def test_key_missing_in_every_catalog(tmp_path: Path, refusal_data: ReceiptData) -> None:
    # Consistent catalogs, but the template needs a key neither has: caught
    # when the template asks for it, not printed as an empty string.
    catalogs = _copy_catalogs(tmp_path)
    for lang in ("kk", "ru"):
        _drop_key(catalogs / f"{lang}.yaml", "receipt", "copies")
    renderer = Renderer(catalog_dir=catalogs)
    with pytest.raises(RenderError) as caught:
        renderer.render_receipt(refusal_data)
    assert caught.value.code == "render.template"
    assert "copies" in caught.value.message


def test_catalog_value_must_be_text(tmp_path: Path) -> None:
    catalogs = _copy_catalogs(tmp_path)
    path = catalogs / "kk.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["common"]["number"] = 12
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RenderError) as caught:
        Renderer(catalog_dir=catalogs)
    assert caught.value.code == "render.catalog"


def test_unreadable_catalog(tmp_path: Path) -> None:
    catalogs = _copy_catalogs(tmp_path)
    (catalogs / "kk.yaml").write_text("common: [unclosed", encoding="utf-8")
    with pytest.raises(RenderError) as caught:
        Renderer(catalog_dir=catalogs)
    assert caught.value.code == "render.catalog"
    assert isinstance(caught.value.__cause__, yaml.YAMLError)


def test_font_missing(tmp_path: Path) -> None:
    with pytest.raises(RenderError) as caught:
        Renderer(font_dir=tmp_path)
    assert caught.value.code == "render.font_missing"
    assert "DejaVuSans.ttf" in caught.value.message


def test_template_syntax_error(tmp_path: Path, acceptance_data: ReceiptData) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATE_DIR, templates, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (templates / "receipt.html.j2").write_text("{% if %}", encoding="utf-8")
    renderer = Renderer(template_dir=templates)
    with pytest.raises(RenderError) as caught:
        renderer.render_receipt(acceptance_data)
    assert caught.value.code == "render.template"


def test_weasyprint_exception_is_mapped(
    renderer: Renderer, acceptance_data: ReceiptData, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> bytes:
        raise ValueError("layout exploded")

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", broken)
    with pytest.raises(RenderError) as caught:
        renderer.render_receipt(acceptance_data)
    assert caught.value.code == "render.failed"
    assert isinstance(caught.value.__cause__, ValueError)


def test_resource_failure_logged_by_weasyprint_is_fatal(
    renderer: Renderer, acceptance_data: ReceiptData, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WeasyPrint only logs an image it cannot load and prints the page without
    # it; a receipt without its QR code must not go out.
    monkeypatch.setattr(render_module, "qr_data_uri", lambda _url: "http://example.com/qr.svg")
    with pytest.raises(RenderError) as caught:
        renderer.render_receipt(acceptance_data)
    assert caught.value.code == "render.failed"
    assert "qr.svg" in caught.value.message
