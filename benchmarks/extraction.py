"""Text engines compared on generated packages: classification accuracy and time per page.

Usage::

    .venv/bin/python benchmarks/extraction.py [--count 300] [--seed 4242] [--dir DIR]

Generates ``count`` packages (or reuses ``DIR`` if it holds a ``truth.json``),
reads every readable PDF with pypdfium2 and with pdfplumber, splits and
classifies the pages with each text, and prints per engine: seconds per page
for the text layer, and the share of documents whose kind *and* page range
match the truth.  Image-only pages are OCR'd once and the same OCR text is
given to both engines, so the comparison is about the text layer only; it is
reported separately as "scanned".  Also prints the cost of table reading (pdfplumber and
the reader's pdfium-based finder) on the kinds that use it, and of one round trip to the guarded
reader process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extractors.classify import segment_pages
from extractors.fields import TABLE_KINDS, plumber_tables
from extractors.ocr import ocr_pages
from extractors.pdf import _pdfium_text, _plumber_text, sniff_pdf
from extractors.reader import read_file
from extractors.tables import read_tables
from medlicense.errors import DocumentError
from medlicense.samples import Truth, generate_packages

ENGINES = ("pdfium", "pdfplumber")


def _pdfs(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.lower().endswith(".pdf")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()

    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-"))
    if not (folder / "truth.json").exists():
        t0 = time.perf_counter()
        generate_packages(folder, args.count, args.seed)
        print(f"generated {args.count} packages in {time.perf_counter() - t0:.1f} s")
    truth = Truth.load(folder / "truth.json")

    seconds = dict.fromkeys(ENGINES, 0.0)
    pages = dict.fromkeys(ENGINES, 0)
    correct: dict[tuple[str, str], int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    table_seconds = 0.0
    fast_table_seconds = 0.0
    table_pages = 0
    for name, expected in truth.items():
        files = _pdfs(folder / name)
        for file, data in files.items():
            docs = [d for d in expected.documents if d.file == file and d.fault is None]
            if not docs:
                continue
            try:
                sniff_pdf(data)
            except DocumentError:
                continue
            texts: dict[str, list[str]] = {}
            for engine in ENGINES:
                t0 = time.perf_counter()
                texts[engine] = _pdfium_text(data) if engine == "pdfium" else _plumber_text(data)
                seconds[engine] += time.perf_counter() - t0
                pages[engine] += len(texts[engine])
            blank = [i + 1 for i, t in enumerate(texts["pdfium"]) if len(t.strip()) < 20]
            recognised = ocr_pages(data, blank) if blank else {}
            for engine in ENGINES:
                page_texts = [recognised.get(i + 1, t) for i, t in enumerate(texts[engine])]
                segments = segment_pages(page_texts)
                spans = {(s.first_page, s.last_page): s.kind for s in segments}
                for doc in docs:
                    key = "scanned" if doc.scanned else "text"
                    total[key] += engine == "pdfium"
                    if doc.page_range and spans.get(doc.page_range) == doc.kind:
                        correct[(engine, key)] += 1
            for doc in docs:
                if doc.kind in TABLE_KINDS and not doc.scanned and doc.page_range:
                    first, last = doc.page_range
                    span = list(range(first, last + 1))
                    t0 = time.perf_counter()
                    plumber_tables(data, span)
                    table_seconds += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    read_tables(data, span)
                    fast_table_seconds += time.perf_counter() - t0
                    table_pages += last - first + 1

    print(f"packages: {len(truth)}  documents: text {total['text']}, scanned {total['scanned']}")
    for engine in ENGINES:
        per_page = 1000 * seconds[engine] / max(pages[engine], 1)
        acc = {
            k: 100 * correct[(engine, k)] / total[k] if total[k] else float("nan")
            for k in ("text", "scanned")
        }
        print(
            f"{engine:>10}: {per_page:6.1f} ms/page text layer ({pages[engine]} pages); "
            f"classification text {acc['text']:.2f} %, scanned {acc['scanned']:.2f} %"
        )
    print(
        f"pdfplumber tables on {', '.join(sorted(TABLE_KINDS))}: "
        f"{1000 * table_seconds / max(table_pages, 1):.1f} ms/page ({table_pages} pages); "
        f"the reader's pdfium-based tables: "
        f"{1000 * fast_table_seconds / max(table_pages, 1):.1f} ms/page"
    )
    # Guarded reader: the first call starts the worker, the rest are round trips.
    sample = next(iter(_pdfs(folder / next(iter(truth))).values()), b"") if len(truth) else b""
    if sample:
        t0 = time.perf_counter()
        read_file("x.pdf", sample, "", timeout=60)
        start = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(20):
            read_file("x.pdf", sample, "", timeout=60)
        guarded = (time.perf_counter() - t0) / 20
        t0 = time.perf_counter()
        for _ in range(20):
            read_file("x.pdf", sample, "", timeout=None)
        inline = (time.perf_counter() - t0) / 20
        print(
            f"guarded reader: worker start {1000 * start:.0f} ms; per file "
            f"{1000 * guarded:.1f} ms in the worker vs {1000 * inline:.1f} ms in-process"
        )


if __name__ == "__main__":
    main()
