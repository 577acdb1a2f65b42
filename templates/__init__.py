"""Bilingual (Kazakh/Russian) PDF/A documents of the service: receipts now; the
license, appendix, reasoned refusal, re-issue and duplicate later share the same
layout, stylesheet and catalogs."""

from __future__ import annotations

from .models import DocumentName, ReceiptData
from .render import SIGNATURE_AREA, Renderer, get_renderer

__all__ = ["SIGNATURE_AREA", "DocumentName", "ReceiptData", "Renderer", "get_renderer"]
