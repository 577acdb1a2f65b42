"""The Russian part of every document is tagged as Russian in the PDF structure tree."""

from __future__ import annotations

import io

import pypdf
import pytest
from pypdf.generic import ArrayObject, DictionaryObject

from templates.render import LANG_TAGGING, Renderer
from templates.samples import SAMPLE_KINDS, sample_records


def _catalog(pdf: bytes) -> DictionaryObject:
    root = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"].get_object()
    assert isinstance(root, DictionaryObject)
    return root


def _struct_langs(pdf: bytes) -> dict[str, list[str]]:
    """Language -> structure types of the elements that carry it."""
    root = _catalog(pdf)
    found: dict[str, list[str]] = {}

    def walk(node: object) -> None:
        node = node.get_object()  # type: ignore[attr-defined]
        if not isinstance(node, DictionaryObject):
            return
        if "/Lang" in node:
            found.setdefault(str(node["/Lang"]), []).append(str(node.get("/S")))
        kids = node.get("/K")
        if isinstance(kids, ArrayObject):
            for kid in kids:
                walk(kid)
        elif kids is not None:
            walk(kids)

    walk(root["/StructTreeRoot"])
    return found


def test_lang_tagging_is_installed() -> None:
    assert LANG_TAGGING


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_russian_part_is_tagged_ru_and_kazakh_part_kk(renderer: Renderer, kind: str) -> None:
    pdf = renderer.render(sample_records()[kind])
    root = _catalog(pdf)
    assert str(root["/Lang"]) == "kk"
    mark_info = root["/MarkInfo"].get_object()
    assert isinstance(mark_info, DictionaryObject) and mark_info["/Marked"]
    langs = _struct_langs(pdf)
    # Each language part is a section element of its own, tagged with its language.
    assert "/Sect" in langs.get("ru", []), langs
    assert "/Sect" in langs.get("kk", []), langs
