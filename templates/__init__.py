"""Bilingual (Kazakh/Russian) PDF/A documents of the service: receipts, reasoned
refusal, license and license appendix (re-issue and duplicate being variants of
the last two), sharing one layout, stylesheet and pair of catalogs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import (
    AppendixData,
    Change,
    DocumentData,
    DocumentName,
    DocumentRef,
    LicenseData,
    Licensee,
    ReasonedRefusalData,
    ReceiptData,
    RefusalGround,
    Reissue,
    Subtype,
)

# The renderer loads WeasyPrint (~15 MiB), which code that only needs the data
# models (licensing, in the serving process) should not pay for: it is imported
# on first use of one of these names.
_RENDER_NAMES = frozenset({"SIGNATURE_AREA", "Renderer", "get_renderer"})

if TYPE_CHECKING:
    from .render import SIGNATURE_AREA, Renderer, get_renderer


def __getattr__(name: str) -> Any:
    if name in _RENDER_NAMES:
        from . import render

        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SIGNATURE_AREA",
    "AppendixData",
    "Change",
    "DocumentData",
    "DocumentName",
    "DocumentRef",
    "LicenseData",
    "Licensee",
    "ReasonedRefusalData",
    "ReceiptData",
    "RefusalGround",
    "Reissue",
    "Renderer",
    "Subtype",
    "get_renderer",
]
