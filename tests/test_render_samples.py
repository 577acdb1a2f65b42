"""Every outgoing document type, rendered from the real templates, signed by its profile,
then checked by our verifier and by independent tools (pdfsig, qpdf, pdftotext)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from medlicense.settings import Settings
from medlicense.showcase import RenderedSample, render_samples
from signing.verify import verify_pdf
from templates.samples import SAMPLE_KINDS, sample_records

EXPECTED_LEVEL = {"receipt": "B-T", "refusal": "B-T"}  # everything else is long-term: B-LTA


@pytest.fixture(scope="module")
def samples(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> list[RenderedSample]:
    return render_samples(tmp_path_factory.mktemp("render-samples"), settings)


@pytest.fixture(scope="module")
def pki_services(settings: Settings, samples: list[RenderedSample]) -> Iterator[None]:
    """The OCSP responder named in the certificates: pdfsig asks it while checking."""
    from medlicense.processing import ensure_pki, start_dev_pki_services

    with ExitStack() as stack:
        start_dev_pki_services(settings, ensure_pki(settings), stack)
        yield


@pytest.fixture(scope="module")
def nss_db(settings: Settings, pki_services: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    db = tmp_path_factory.mktemp("nss")
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    root = settings.resolved_pki_dir / "root.pem"
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{db}", "-n", "dev-root", "-t", "CT,C,C", "-i", str(root)],
        check=True,
    )
    return f"sql:{db}"


def test_every_document_type_is_rendered_signed_and_previewed(
    samples: list[RenderedSample],
) -> None:
    assert [s.kind for s in samples] == list(SAMPLE_KINDS)
    for sample in samples:
        assert sample.pdf.stat().st_size > 10_000
        assert sample.previews and all(p.stat().st_size > 1_000 for p in sample.previews)


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_signed_sample_verifies_everywhere(
    kind: str, samples: list[RenderedSample], settings: Settings, nss_db: str
) -> None:
    sample = next(s for s in samples if s.kind == kind)
    record = sample_records()[kind]
    data = sample.pdf.read_bytes()
    report = verify_pdf(data, trust_roots=[settings.resolved_pki_dir / "root.pem"])
    assert report.valid and report.intact and report.trusted, report.errors
    assert report.pades_level == EXPECTED_LEVEL.get(sample.profile, "B-LTA")
    assert report.document_number == record.number

    sig = subprocess.run(
        ["pdfsig", "-nssdir", nss_db, str(sample.pdf)], capture_output=True, text=True
    )
    assert "Signature is Valid" in sig.stdout, sig.stdout + sig.stderr
    assert "Certificate is Trusted" in sig.stdout, sig.stdout
    subprocess.run(["qpdf", "--check", str(sample.pdf)], check=True, capture_output=True)

    text = subprocess.run(
        ["pdftotext", str(sample.pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    # Both languages survive extraction exactly, and so does the signature stamp.
    assert "Қазақстан" in text or "облысының" in text
    assert "Управление здравоохранения" in text.replace("\n", " ")
    assert f"Құжат нөмірі / Номер документа: {record.number}" in text


def test_tampering_with_a_signed_license_is_rejected(
    samples: list[RenderedSample], settings: Settings
) -> None:
    license_pdf = next(s for s in samples if s.kind == "license").pdf.read_bytes()
    roots = [settings.resolved_pki_dir / "root.pem"]
    # A byte inside the signed range: the first "Лицензия" in a content stream is compressed,
    # so flip a byte in the middle of the file, well before the signature dictionary.
    tampered = bytearray(license_pdf)
    middle = len(tampered) // 3
    tampered[middle] ^= 0xFF
    report = verify_pdf(bytes(tampered), trust_roots=roots)
    assert not report.valid


def test_previews_show_the_documents(samples: list[RenderedSample], tmp_path: Path) -> None:
    # A rendering that produced blank pages would compress to almost nothing.
    for sample in samples:
        assert max(p.stat().st_size for p in sample.previews) > 15_000, sample.kind
