"""``medlicense render-samples``: every outgoing document, rendered, signed and previewed.

For the people who run the service: one signed PDF per document type with
sample data (Kazakh and Russian on each), plus PNG previews of every page, so
wording, layout and the signature stamp can be reviewed without running a batch.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from medlicense.errors import ConfigurationError
from medlicense.settings import Settings, get_settings

# Sample record kind -> signing profile (signing/profiles.yaml).
SAMPLE_PROFILES: dict[str, str] = {
    "receipt-acceptance": "receipt",
    "receipt-refusal": "receipt",
    "reasoned-refusal": "refusal",
    "license": "license",
    "appendix": "appendix",
    "license-reissued": "reissued",
    "appendix-reissued": "reissued",
    "license-duplicate": "duplicate",
}


class RenderedSample(BaseModel):
    kind: str
    profile: str
    pdf: Path
    previews: list[Path]


def render_samples(out: Path, settings: Settings, *, previews: bool = True) -> list[RenderedSample]:
    from medlicense.processing import ensure_pki, start_dev_pki_services
    from signing.signer import PdfSigner
    from templates.render import get_renderer
    from templates.samples import SAMPLE_KINDS, sample_records

    if previews and shutil.which("pdftoppm") is None:
        raise ConfigurationError(
            "pdftoppm (poppler-utils) is needed for previews", code="config.poppler_missing"
        )
    out.mkdir(parents=True, exist_ok=True)
    renderer = get_renderer()
    records = sample_records()
    results: list[RenderedSample] = []
    with ExitStack() as stack:
        pki = ensure_pki(settings)
        tsa_url = settings.tsa_url or start_dev_pki_services(settings, pki, stack)
        signer = PdfSigner.from_pkcs12(
            settings.resolved_signer_pkcs12,
            settings.signer_passphrase,
            tsa_url=tsa_url,
            trust_roots=[*settings.trust_roots, pki.root_cert],
        )
        for kind in SAMPLE_KINDS:
            record = records[kind]
            profile = SAMPLE_PROFILES[kind]
            signed = signer.sign_document(
                renderer.render(record), document_type=profile, document_number=record.number
            )
            pdf_path = out / f"{kind}.pdf"
            pdf_path.write_bytes(signed)
            pngs: list[Path] = []
            if previews:
                for old in out.glob(f"{kind}-*.png"):
                    old.unlink()
                subprocess.run(
                    ["pdftoppm", "-png", "-r", "60", str(pdf_path), str(out / kind)], check=True
                )
                pngs = sorted(out.glob(f"{kind}-*.png"))
            results.append(RenderedSample(kind=kind, profile=profile, pdf=pdf_path, previews=pngs))
    return results


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "render-samples",
        help="render, sign and preview every outgoing document type with sample data",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for the PDFs and PNG previews"
    )
    parser.add_argument("--no-previews", action="store_true", help="skip the PNG previews")
    parser.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    for sample in render_samples(args.out, get_settings(), previews=not args.no_previews):
        pages = f", {len(sample.previews)} preview(s)" if sample.previews else ""
        print(f"{sample.kind:<20} {sample.profile:<9} {sample.pdf}{pages}")
    return 0
