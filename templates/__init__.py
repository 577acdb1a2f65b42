"""Bilingual (Kazakh/Russian) PDF/A documents of the service: receipts, reasoned
refusal, license and license appendix (re-issue and duplicate being variants of
the last two), sharing one layout, stylesheet and pair of catalogs."""

from __future__ import annotations

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
from .render import SIGNATURE_AREA, Renderer, get_renderer

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
