"""Classifying pages into document kinds and splitting merged PDFs.

Classification works on phrases staff can edit (``data/kinds.yaml``), matched
in both Kazakh and Russian.  A heading match is strong evidence and also marks
the first page of a new document, which is how several documents scanned or
merged into one PDF are told apart; pages without a heading of their own
continue the document before them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from medlicense.errors import RulesDataError
from medlicense.models import Language

KINDS_FILE = Path(__file__).with_name("data") / "kinds.yaml"
# How much of a page counts as its heading: real forms put the title in the
# first few lines, after at most a stamp or an "Appendix N" line.
HEADING_CHARS = 400
MIN_SCORE = 1.5
# How much of a page's start a ``continued`` phrase must fall in.
CONTINUED_CHARS = 80

_KK_LETTERS = set("әғқңөұүһі")


class KindPhrases(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: tuple[str, ...]
    body: tuple[str, ...] = ()
    continued: tuple[str, ...] = ()


class PageVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str | None
    score: float
    confidence: float
    starts_document: bool
    evidence: tuple[str, ...]


class Segment(BaseModel):
    """A run of pages that form one logical document."""

    model_config = ConfigDict(frozen=True)

    kind: str | None
    first_page: int  # 1-based
    last_page: int
    confidence: float
    evidence: tuple[str, ...]
    language: Language | None


# OCR often reads a Kazakh letter as its Russian (or Latin) look-alike:
# "санитариялық" comes out as "санитариялык".  Matching folds both sides onto
# the look-alike, which costs nothing in precision: no phrase pair in
# kinds.yaml differs only by these letters.
_FOLD = str.maketrans("әғқңөұүһіi", "агкноуухии")


def normalize(text: str) -> str:
    text = text.casefold().replace("ё", "е")
    return re.sub(r"\s+", " ", text).strip()


def fold(text: str) -> str:
    """``text`` (already normalised) with Kazakh letters read as their look-alikes."""
    return text.translate(_FOLD)


@lru_cache(maxsize=4)
def load_phrases(path: Path = KINDS_FILE) -> dict[str, KindPhrases]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulesDataError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise RulesDataError(f"{path}: expected a mapping of document codes")
    out: dict[str, KindPhrases] = {}
    for code, body in raw.items():
        try:
            phrases = KindPhrases.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in (code, *err["loc"]))
            raise RulesDataError(f"{path}: field {loc}: {err['msg']}") from exc
        out[str(code)] = KindPhrases(
            title=tuple(normalize(p) for p in phrases.title),
            body=tuple(normalize(p) for p in phrases.body),
            continued=tuple(normalize(p) for p in phrases.continued),
        )
    return out


def detect_language(text: str) -> Language | None:
    letters = [c for c in text.casefold() if c.isalpha()]
    if len(letters) < 20:
        return None
    kk = sum(1 for c in letters if c in _KK_LETTERS)
    # Kazakh-specific letters make up several percent of Kazakh prose and none of Russian.
    return "kk" if kk / len(letters) > 0.01 else "ru"


@lru_cache(maxsize=64)
def _folded(spec: KindPhrases) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # Folding every phrase of every kind on every page was a third of classifying.
    return tuple(fold(p) for p in spec.title), tuple(fold(p) for p in spec.body)


def classify_page(text: str, phrases: dict[str, KindPhrases] | None = None) -> PageVerdict:
    phrases = phrases or load_phrases()
    norm = fold(normalize(text))
    heading = norm[:HEADING_CHARS]
    scores: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    heading_hit: dict[str, float] = {}
    for kind, spec in phrases.items():
        score = 0.0
        found: list[str] = []
        best_title = 0.0
        titles, bodies = _folded(spec)
        for phrase, folded in zip(spec.title, titles, strict=True):
            if folded in heading:
                # Longer phrases are more specific: "сертификат специалиста" beats "сертификат".
                weight = 2.0 + len(phrase) / 10
                best_title = max(best_title, weight)
                found.append(phrase)
        score += best_title
        for phrase, folded in zip(spec.body, bodies, strict=True):
            if folded in norm:
                score += 0.5
                found.append(phrase)
        if score:
            scores[kind] = score
            evidence[kind] = found
            if best_title:
                heading_hit[kind] = best_title
    if not scores:
        return PageVerdict(kind=None, score=0.0, confidence=0.0, starts_document=False, evidence=())
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    kind, top = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if top < MIN_SCORE:
        return PageVerdict(kind=None, score=top, confidence=0.0, starts_document=False, evidence=())
    confidence = round(min(1.0, (top - runner_up) / top + 0.3 * (kind in heading_hit)), 3)
    return PageVerdict(
        kind=kind,
        score=top,
        confidence=confidence,
        starts_document=kind in heading_hit,
        evidence=tuple(evidence[kind]),
    )


@dataclass
class _Open:
    kind: str | None
    first: int
    last: int
    confidence: float
    evidence: tuple[str, ...]
    texts: list[str] = field(default_factory=list)

    def close(self) -> Segment:
        return Segment(
            kind=self.kind,
            first_page=self.first,
            last_page=self.last,
            confidence=self.confidence,
            evidence=self.evidence,
            language=detect_language("\n".join(self.texts)),
        )


def continues(kind: str | None, text: str, phrases: dict[str, KindPhrases] | None = None) -> bool:
    """True when ``text`` opens with a phrase saying it goes on with a ``kind`` document."""
    if kind is None:
        return False
    phrases = phrases or load_phrases()
    spec = phrases.get(kind)
    if spec is None or not spec.continued:
        return False
    start = fold(normalize(text))[:CONTINUED_CHARS]
    return any(fold(p) in start for p in spec.continued)


def segment_pages(
    texts: Sequence[str], phrases: dict[str, KindPhrases] | None = None
) -> list[Segment]:
    """Group pages into documents: a new document starts at every heading match."""
    segments: list[Segment] = []
    current: _Open | None = None
    for number, text in enumerate(texts, start=1):
        verdict = classify_page(text, phrases)
        new_document = verdict.starts_document and verdict.kind is not None
        if new_document and current is not None and continues(current.kind, text, phrases):
            new_document = False
        if current is not None and not new_document:
            current.last = number
            current.texts.append(text)
            if current.kind is None and verdict.kind is not None:
                current.kind, current.confidence = verdict.kind, verdict.confidence
                current.evidence = verdict.evidence
            continue
        if current is not None:
            segments.append(current.close())
        current = _Open(verdict.kind, number, number, verdict.confidence, verdict.evidence, [text])
    if current is not None:
        segments.append(current.close())
    return segments
