"""Reading the fields of a classified document: who applies, who paid, how much, until when.

Labels come from ``data/fields.yaml`` (Kazakh and Russian, editable by staff).
Values are found in two ways, because the generator (and real forms) print
fields in three layouts:

* ``label: value`` lines and "label value" grid rows as *text* — the fast path:
  the text the classifier already has (pypdfium2 or OCR), read line by line;
  a line that starts with a known label holds that field, and for fields that
  may wrap the following lines are appended until the next label, a numbered
  heading or a stop phrase;
* ruled *tables* — only for the kinds whose values sit in table cells that
  wrap independently (application, payment, qualification form): there
  reading order interleaves a wrapped label with its neighbour's value, and
  only the cell geometry tells them apart.  The reader takes them from
  :mod:`extractors.tables` (pdfplumber's table finder run on pdfium's ruling
  and glyph boxes, 5-6 ms a ruled page); :func:`plumber_tables` is pdfplumber
  itself (40-45 ms a page), kept as the reference the benchmarks and tests
  compare with.

OCR text has no tables; the line reader and a few value patterns (12-digit
IIN/BIN, dates, amounts, certificate numbers) cover it.  Nothing here raises on
odd input: a field that cannot be read is ``None``.

This module imports nothing from ``medlicense`` but the error type, because
:mod:`medlicense.models` imports the models defined here.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medlicense.errors import RulesDataError

FIELDS_FILE = Path(__file__).with_name("data") / "fields.yaml"
# Kinds whose fields sit in ruled tables with independently wrapping cells.
TABLE_KINDS: frozenset[str] = frozenset({"application", "fee_payment", "qualification_form"})

RequestKindCode = Literal["issue", "reissue", "duplicate"]
ApplicantTypeCode = Literal["individual", "legal_entity"]


# ------------------------------------------------------------------ the models


class _Fields(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApplicationFields(_Fields):
    kind: Literal["application"] = "application"
    request_kind: RequestKindCode | None = None
    applicant_type: ApplicantTypeCode | None = None
    applicant_name: str | None = None
    iin_bin: str | None = None
    head_name: str | None = None
    address: str | None = None
    subtypes: tuple[str, ...] = ()  # as printed (names, not codes)
    places: tuple[str, ...] = ()
    license_number: str | None = None
    license_date: dt.date | None = None
    reissue_ground: str | None = None  # as printed
    reissue_ground_code: str | None = None  # ground code of the rules data
    representative_name: str | None = None
    representative_iin: str | None = None
    date: dt.date | None = None


class PaymentFields(_Fields):
    kind: Literal["fee_payment"] = "fee_payment"
    payer_name: str | None = None
    payer_iin_bin: str | None = None
    amount: Decimal | None = None  # tenge
    date: dt.date | None = None
    purpose: str | None = None
    kbk: str | None = None
    gateway_ref: str | None = None
    number: str | None = None


class StaffEntry(_Fields):
    name: str | None = None
    position: str | None = None
    certificate_number: str | None = None
    certificate_date: dt.date | None = None


class QualificationFields(_Fields):
    kind: Literal["qualification_form"] = "qualification_form"
    applicant_name: str | None = None
    iin_bin: str | None = None
    subtypes: tuple[str, ...] = ()  # one form may cover several subtypes, one section each
    address: str | None = None
    staff: tuple[StaffEntry, ...] = ()


class CertificateFields(_Fields):
    kind: Literal["specialist_certificate"] = "specialist_certificate"
    holder_name: str | None = None
    iin: str | None = None
    number: str | None = None
    specialty: str | None = None
    issued: dt.date | None = None
    valid_until: dt.date | None = None


class DiplomaFields(_Fields):
    kind: Literal["diploma"] = "diploma"
    number: str | None = None
    registration_number: str | None = None
    issued: dt.date | None = None


class SanitaryFields(_Fields):
    kind: Literal["sanitary_conclusion"] = "sanitary_conclusion"
    number: str | None = None
    issued: dt.date | None = None
    applicant_name: str | None = None
    iin_bin: str | None = None
    address: str | None = None


class PremisesFields(_Fields):
    kind: Literal["premises_title"] = "premises_title"
    iin_bin: str | None = None  # the owner's or the tenant's
    address: str | None = None
    cadastral_number: str | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None  # end of a lease


class ProxyFields(_Fields):
    kind: Literal["proxy"] = "proxy"
    number: str | None = None
    principal_iin_bin: str | None = None
    representative_iin: str | None = None
    issued: dt.date | None = None
    valid_until: dt.date | None = None


class ChangeEvidenceFields(_Fields):
    kind: Literal["change_evidence"] = "change_evidence"
    iin_bin: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    date: dt.date | None = None


class EquipmentFields(_Fields):
    kind: Literal["equipment_list"] = "equipment_list"
    address: str | None = None
    items: int = 0


DocumentFields = Annotated[
    ApplicationFields
    | PaymentFields
    | QualificationFields
    | CertificateFields
    | DiplomaFields
    | SanitaryFields
    | PremisesFields
    | ProxyFields
    | ChangeEvidenceFields
    | EquipmentFields,
    Field(discriminator="kind"),
]


# -------------------------------------------------------------------- the data


class KindLabels(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    labels: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    multiline: tuple[str, ...] = ()
    staff_name_column: tuple[str, ...] = ()
    staff_certificate_column: tuple[str, ...] = ()
    staff_position_column: tuple[str, ...] = ()
    staff_date_column: tuple[str, ...] = ()


class FieldPhrases(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stop: tuple[str, ...] = ()
    request_kinds: dict[RequestKindCode, tuple[str, ...]]
    applicant_types: dict[ApplicantTypeCode, tuple[str, ...]]
    reissue_grounds: dict[str, tuple[str, ...]]
    months: dict[int, tuple[str, ...]]
    kinds: dict[str, KindLabels]


# OCR reads Kazakh letters as Russian look-alikes (қ -> к); labels and text are
# folded the same way.  One letter for one, so offsets into the line still hold.
_FOLD = str.maketrans("әғқңөұүһіi", "агкноуухии")


def normalize(text: str) -> str:
    """Case-, whitespace- and look-alike-insensitive form; keeps the length of a line."""
    return re.sub(r"\s+", " ", text.lower().replace("ё", "е").translate(_FOLD)).strip()


def _norm_all(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(normalize(v) for v in values)


@lru_cache(maxsize=4)
def load_field_phrases(path: Path = FIELDS_FILE) -> FieldPhrases:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        phrases = FieldPhrases.model_validate(raw)
    except yaml.YAMLError as exc:
        raise RulesDataError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise RulesDataError(f"{path}: field {loc}: {err['msg']}") from exc
    kinds = {
        code: KindLabels(
            labels={f: _norm_all(v) for f, v in spec.labels.items()},
            multiline=spec.multiline,
            staff_name_column=_norm_all(spec.staff_name_column),
            staff_certificate_column=_norm_all(spec.staff_certificate_column),
            staff_position_column=_norm_all(spec.staff_position_column),
            staff_date_column=_norm_all(spec.staff_date_column),
        )
        for code, spec in phrases.kinds.items()
    }
    return FieldPhrases(
        stop=_norm_all(phrases.stop),
        request_kinds={k: _norm_all(v) for k, v in phrases.request_kinds.items()},
        applicant_types={k: _norm_all(v) for k, v in phrases.applicant_types.items()},
        reissue_grounds={k: _norm_all(v) for k, v in phrases.reissue_grounds.items()},
        months={k: _norm_all(v) for k, v in phrases.months.items()},
        kinds=kinds,
    )


# ------------------------------------------------------------------ value parsing

_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
_SHORT_DATE = re.compile(r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](\d{4})(?!\d)")
_KK_LONG = re.compile(r"(\d{4})\s*жылғы\s+(\d{1,2})\s+([^\W\d_]+)")
_RU_LONG = re.compile(r"(?<!\d)(\d{1,2})\s+([^\W\d_]+)\s+(\d{4})")
_MONEY = re.compile(r"(?<![\d.,])(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,](\d{1,2}))?(?![\d])")
_CERT_NO = re.compile(r"\bKZ\d{8}\b")
_FOOTER = re.compile(r"^[—-]\s*\d+\s*[—-]$")
_NUMBERED = re.compile(r"^\d+\.\s")
_NUMBER_LINE = re.compile(r"^№\s*([^\s,]+)")


def find_id(text: str | None) -> str | None:
    if not text:
        return None
    match = _ID.search(text)
    return match.group(0) if match else None


def _month(word: str, phrases: FieldPhrases) -> int | None:
    word = normalize(word)
    for number, stems in phrases.months.items():
        if any(word.startswith(stem) for stem in stems):
            return number
    return None


def parse_date(text: str | None, phrases: FieldPhrases | None = None) -> dt.date | None:
    """The first date in ``text``: 05.03.2026, "2026 жылғы 5 наурыз" or "5 марта 2026 г."."""
    if not text:
        return None
    phrases = phrases or load_field_phrases()
    found: list[tuple[int, dt.date]] = []
    for m in _SHORT_DATE.finditer(text):
        day = _safe_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if day:
            found.append((m.start(), day))
            break
    for m in _KK_LONG.finditer(text):
        month = _month(m.group(3), phrases)
        day = _safe_date(int(m.group(1)), month, int(m.group(2))) if month else None
        if day:
            found.append((m.start(), day))
            break
    for m in _RU_LONG.finditer(text):
        month = _month(m.group(2), phrases)
        day = _safe_date(int(m.group(3)), month, int(m.group(1))) if month else None
        if day:
            found.append((m.start(), day))
            break
    return min(found)[1] if found else None


def all_dates(text: str, phrases: FieldPhrases | None = None) -> list[dt.date]:
    out: list[dt.date] = []
    for m in _SHORT_DATE.finditer(text):
        day = _safe_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if day:
            out.append(day)
    return out


def _safe_date(year: int, month: int | None, day: int) -> dt.date | None:
    if month is None or not 1900 <= year <= 2100:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_amount(text: str | None) -> Decimal | None:
    """Tenge in "43 250,00 ₸", "43250.00 тенге", "4 325"."""
    if not text:
        return None
    match = _MONEY.search(text)
    if not match:
        return None
    whole = re.sub(r"\D", "", match.group(1))
    # A minus in front is kept: a negative amount is a broken document, not a payment.
    sign = "-" if text[: match.start()].rstrip().endswith(("-", "−")) else ""
    try:
        return Decimal(f"{sign}{whole}.{match.group(2) or '0'}")
    except InvalidOperation:
        return None


def _money_anywhere(text: str) -> Decimal | None:
    """An amount followed by a currency mark, wherever it is (table rows, OCR)."""
    match = re.search(
        r"(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,](\d{1,2}))?\s*(?:₸|тенге|тг\b|kzt)",
        text,
        re.IGNORECASE,
    )
    if not match:
        return None
    return parse_amount(text[max(0, match.start() - 2) : match.end()])


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = re.sub(r"\s+", " ", value).strip(" :;,")
    return value or None


# ---------------------------------------------------------- names of a nomenclature

_WORD = re.compile(r"[^\W_]+")
# OCR'd names: the least similarity (difflib ratio of the letters) a leftover needs
# to count as a name, and by how much it must beat the next-best name of another
# code.  The most alike names of two subtypes of the editions so far
# ("Стационарная помощь" / "Стационарозамещающая помощь") score 0.77, so one
# correctly read name is never taken for the other (a test keeps it so).
_TOLERANT_RATIO = 0.85
_TOLERANT_MARGIN = 0.05


class NameMatch(BaseModel):
    """Printed names resolved against a nomenclature (e.g. the subtypes of an edition)."""

    model_config = ConfigDict(frozen=True)

    codes: tuple[str, ...] = ()  # in the order printed, each once
    unknown: tuple[str, ...] = ()  # printed pieces that are none of the names, as printed


def _compact(text: str) -> str:
    return "".join(normalize(w) for w in _WORD.findall(text))


def _closest(compact: str, wanted: Mapping[str, str]) -> str | None:
    scored = sorted(
        (
            (difflib.SequenceMatcher(None, compact, key, autojunk=False).ratio(), code)
            for key, code in wanted.items()
        ),
        reverse=True,
    )
    if not scored or scored[0][0] < _TOLERANT_RATIO:
        return None
    # Both languages' names of one code may score: only another code is a rival.
    rival = next((r for r, c in scored[1:] if c != scored[0][1]), 0.0)
    return scored[0][1] if scored[0][0] - rival >= _TOLERANT_MARGIN else None


def _is_marker(words: Sequence[str]) -> bool:
    """List numbering ("1)", "а.") and stray OCR specks, not an attempt at a name."""
    return all(len(w) <= 1 or w.isdigit() for w in words)


def match_names(text: str, names: Mapping[str, str], *, tolerant: bool = False) -> NameMatch:
    """The codes of the names (``names``: printed name -> code) that ``text`` lists.

    A list is printed with "; " between names, or one name a line, wrapped
    anywhere, so matching looks at words, not at separators: a name matches a
    run of whole words whose letters, with case, look-alike letters (OCR),
    punctuation and spacing ignored, are the name's; hence "консультативно-
    диагностическая" split at its hyphen by a line break still matches.  The
    longest name wins where one starts with another.  Words no name covers are
    reported as ``unknown`` pieces (cut at ";"), so a name that is not in the
    nomenclature is never silently dropped.  ``tolerant`` (text read by OCR):
    a leftover piece within a few misread letters of exactly one code's name
    counts as that code.
    """
    wanted: dict[str, str] = {}
    for name, code in names.items():
        key = _compact(name)
        if key:
            wanted[key] = code
    longest = max(map(len, wanted), default=0)
    # (start, end, folded word, whether a ";" separates it from the word before)
    words: list[tuple[int, int, str, bool]] = []
    previous_end = 0
    for m in _WORD.finditer(text):
        words.append(
            (m.start(), m.end(), normalize(m.group()), ";" in text[previous_end : m.start()])
        )
        previous_end = m.end()
    codes: list[str] = []
    unknown: list[str] = []

    def leftover(first: int, last: int) -> None:
        # Words first..last-1 are no name; each ";"-separated piece of them is judged alone.
        pieces: list[list[int]] = []
        for k in range(first, last):
            if k == first or words[k][3]:
                pieces.append([])
            pieces[-1].append(k)
        for piece in pieces:
            folded = [words[k][2] for k in piece]
            if _is_marker(folded):
                continue
            code = _closest("".join(folded), wanted) if tolerant else None
            if code is not None:
                codes.append(code)
            else:
                unknown.append(_clean(text[words[piece[0]][0] : words[piece[-1]][1]]) or "")

    i = 0
    run_start: int | None = None
    while i < len(words):
        hit: tuple[int, str] | None = None
        joined = ""
        for j in range(i, len(words)):
            joined += words[j][2]
            if len(joined) > longest:
                break
            if joined in wanted:
                hit = (j, wanted[joined])
        if hit is None:
            run_start = i if run_start is None else run_start
            i += 1
            continue
        if run_start is not None:
            leftover(run_start, i)
            run_start = None
        codes.append(hit[1])
        i = hit[0] + 1
    if run_start is not None:
        leftover(run_start, len(words))
    return NameMatch(
        codes=tuple(dict.fromkeys(codes)), unknown=tuple(dict.fromkeys(u for u in unknown if u))
    )


# --------------------------------------------------------------- pairs from text


class Found(BaseModel):
    """Raw values of one document: field -> value (first occurrence), plus repeats."""

    model_config = ConfigDict(frozen=True)

    values: dict[str, str]
    labels: dict[str, str]  # field -> the label that matched (tells БСН from ЖСН)
    repeated: dict[str, tuple[str, ...]]  # every occurrence, for fields that repeat


def _match_label(line_norm: str, labels: list[tuple[str, str]]) -> tuple[str, str] | None:
    for label, name in labels:
        if line_norm.startswith(label):
            rest = line_norm[len(label) :]
            if not rest or rest[0] in " :\t":
                return label, name
    return None


def _is_stop(line_norm: str, phrases: FieldPhrases) -> bool:
    return (
        any(line_norm.startswith(stop) for stop in phrases.stop)
        or bool(_NUMBERED.match(line_norm))
        or bool(_FOOTER.match(line_norm))
        or "___" in line_norm
    )


def read_labelled(text: str, kind: str, phrases: FieldPhrases | None = None) -> Found:
    phrases = phrases or load_field_phrases()
    spec = phrases.kinds.get(kind, KindLabels())
    labels = sorted(
        ((label, name) for name, group in spec.labels.items() for label in group),
        key=lambda pair: len(pair[0]),
        reverse=True,
    )
    values: dict[str, str] = {}
    used: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    lines = [re.sub(r"\s+", " ", ln).strip() for ln in text.splitlines()]
    i = 0
    while i < len(lines):
        line = lines[i]
        norm = normalize(line)
        hit = _match_label(norm, labels) if "___" not in norm else None
        i += 1
        if hit is None:
            continue
        label, name = hit
        value = line[len(label) :].lstrip(" :\t")
        if name in spec.multiline:
            while i < len(lines):
                nxt = normalize(lines[i])
                if not nxt or _match_label(nxt, labels) or _is_stop(nxt, phrases):
                    break
                value += " " + lines[i]
                i += 1
        repeated.setdefault(name, []).append(value.strip())
        if name not in values:
            values[name] = value.strip()
            used[name] = label
    return Found(values=values, labels=used, repeated={k: tuple(v) for k, v in repeated.items()})


# ------------------------------------------------------------- pairs from tables

Table = list[list[str]]


def plumber_tables(data: bytes, pages: Sequence[int]) -> list[Table]:
    """Ruled tables of the given 1-based pages, cells with line breaks turned into spaces.

    pdfplumber's own reading: the reference for :mod:`extractors.tables`, which
    the reader uses.  Pages whose vector paths all sit inside form XObjects are
    skipped here (see :func:`ruled_pages`) but read there.
    """
    import pdfplumber

    out: list[Table] = []
    pages = ruled_pages(data, pages)
    if not pages:
        return out
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for number in pages:
                if not 1 <= number <= len(pdf.pages):
                    continue
                page = pdf.pages[number - 1]
                for table in page.extract_tables():
                    out.append(
                        [[re.sub(r"\s+", " ", cell or "").strip() for cell in row] for row in table]
                    )
                page.flush_cache()
    except Exception:  # pdfminer's private exception zoo: tables are a bonus, text still counts
        return out
    return out


def ruled_pages(data: bytes, pages: Sequence[int]) -> list[int]:
    """The pages that draw vector paths at all: a ruled table needs lines.

    Asking pdfium costs well under a millisecond a page; pdfplumber's table
    finder costs 40-80 ms even on a page without a single line.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return []
    try:
        out = []
        for number in pages:
            if not 1 <= number <= len(doc):
                continue
            page = doc[number - 1]
            if any(
                True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=1)
            ):
                out.append(number)
            page.close()
        return out
    finally:
        doc.close()


def _merge_tables(found: Found, tables: list[Table], kind: str, phrases: FieldPhrases) -> Found:
    """Two-column rows are label/value pairs; they win over the text reading."""
    spec = phrases.kinds.get(kind, KindLabels())
    labels = sorted(
        ((label, name) for name, group in spec.labels.items() for label in group),
        key=lambda pair: len(pair[0]),
        reverse=True,
    )
    values = dict(found.values)
    used = dict(found.labels)
    seen: set[str] = set()
    for table in tables:
        for row in table:
            if len(row) != 2 or not row[0]:
                continue
            hit = _match_label(normalize(row[0]), labels)
            if hit is None or hit[1] in seen:
                continue
            label, name = hit
            seen.add(name)
            values[name] = row[1]
            used[name] = label
    return Found(values=values, labels=used, repeated=found.repeated)


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for i, cell in enumerate(header):
        norm = normalize(cell)
        if any(norm == n or norm.startswith(n) for n in names):
            return i
    return None


# ----------------------------------------------------------------- per kind


def _id_kind_from_label(label: str | None) -> ApplicantTypeCode | None:
    if label is None:
        return None
    if label in ("бсн", "бин"):
        return "legal_entity"
    if label in ("жсн", "иин"):
        return "individual"
    return None


def _application(text: str, found: Found, phrases: FieldPhrases) -> ApplicationFields:
    v = found.values
    heading = normalize(text)[:600]
    request_kind: RequestKindCode | None = None
    for code in ("duplicate", "reissue", "issue"):
        if any(p in heading for p in phrases.request_kinds.get(code, ())):
            request_kind = code
            break
    applicant_type = _id_kind_from_label(found.labels.get("iin_bin"))
    if applicant_type is None:
        for code, words in phrases.applicant_types.items():
            if any(w in heading for w in words):
                applicant_type = code
                break
    ground_text = _clean(v.get("reissue_ground"))
    ground_code: str | None = None
    if ground_text:
        norm = normalize(ground_text)
        for code, words in phrases.reissue_grounds.items():
            if any(w in norm for w in words):
                ground_code = code
                break
        if ground_code == "name":
            ground_code = (
                "individual_name" if applicant_type == "individual" else "licensee_name_or_address"
            )
    return ApplicationFields(
        request_kind=request_kind,
        applicant_type=applicant_type,
        applicant_name=_clean(v.get("applicant_name")),
        iin_bin=find_id(v.get("iin_bin")),
        head_name=_clean(v.get("head_name")),
        address=_clean(v.get("address")),
        subtypes=_split(v.get("subtypes")),
        places=_split(v.get("places")),
        license_number=_clean(v.get("license_number")),
        license_date=parse_date(v.get("license_date"), phrases),
        reissue_ground=ground_text,
        reissue_ground_code=ground_code,
        representative_name=_clean(v.get("representative_name")),
        representative_iin=find_id(v.get("representative_iin")),
        date=parse_date(v.get("date"), phrases),
    )


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(p for p in (_clean(x) for x in value.split(";")) if p)


def _payment(text: str, found: Found, tables: list[Table], phrases: FieldPhrases) -> PaymentFields:
    v = dict(found.values)
    spec = phrases.kinds["fee_payment"]
    # A payment order carries amount and purpose in a header/row table.
    for table in tables:
        if len(table) >= 2 and len(table[0]) > 2:
            header = table[0]
            for name in ("amount", "purpose", "kbk"):
                col = _column(header, spec.labels.get(name, ()))
                if col is not None and col < len(table[1]) and name not in v:
                    v[name] = table[1][col]
    amount = parse_amount(v.get("amount")) if v.get("amount") else None
    if amount is None:
        amount = _money_anywhere(text)
    date = parse_date(v.get("date"), phrases)
    if date is None:
        # A payment order puts the date on its number line, the bank mark repeats it.
        dates = all_dates(text, phrases)
        date = dates[0] if dates else None
    number = _clean(v.get("number"))
    if number is None:
        m = re.search(r"№\s*(\d{4,})", text)
        number = m.group(1) if m else None
    return PaymentFields(
        payer_name=_clean(v.get("payer_name")),
        payer_iin_bin=find_id(v.get("payer_iin_bin")),
        amount=amount,
        date=date,
        purpose=_clean(v.get("purpose")),
        kbk=_clean(v.get("kbk")),
        gateway_ref=_clean(v.get("gateway_ref")),
        number=number,
    )


def _qualification(
    text: str, found: Found, tables: list[Table], phrases: FieldPhrases
) -> QualificationFields:
    v = found.values
    spec = phrases.kinds["qualification_form"]
    staff: list[StaffEntry] = []
    seen: set[str] = set()
    for table in tables:
        if len(table) < 2:
            continue
        header = table[0]
        name_col = _column(header, spec.staff_name_column)
        cert_col = _column(header, spec.staff_certificate_column)
        if name_col is None or cert_col is None:
            continue
        pos_col = _column(header, spec.staff_position_column)
        date_col = _column(header, spec.staff_date_column)
        for row in table[1:]:
            if max(name_col, cert_col) >= len(row):
                continue
            key = f"{row[name_col]}|{row[cert_col]}"
            if key in seen:  # the staff table is repeated in every subtype section
                continue
            seen.add(key)
            staff.append(
                StaffEntry(
                    name=_clean(row[name_col]),
                    position=_clean(row[pos_col]) if pos_col is not None else None,
                    certificate_number=_clean(row[cert_col]),
                    certificate_date=parse_date(row[date_col], phrases)
                    if date_col is not None and date_col < len(row)
                    else None,
                )
            )
    if not staff:
        # No table geometry (a scan): at least the certificate numbers, in order.
        for number in dict.fromkeys(_CERT_NO.findall(text)):
            staff.append(StaffEntry(certificate_number=number))
    subtypes = tuple(
        dict.fromkeys(s for s in (_clean(x) for x in found.repeated.get("subtype", ())) if s)
    )
    return QualificationFields(
        applicant_name=_clean(v.get("applicant_name")),
        iin_bin=find_id(v.get("iin_bin")),
        subtypes=subtypes,
        address=_clean(v.get("address")),
        staff=tuple(staff),
    )


def _number_line(text: str) -> str | None:
    for line in text.splitlines()[:8]:
        m = _NUMBER_LINE.match(line.strip())
        if m:
            return m.group(1)
    return None


def _certificate(text: str, found: Found, phrases: FieldPhrases) -> CertificateFields:
    v = found.values
    numbers = _CERT_NO.findall(text)
    return CertificateFields(
        holder_name=_clean(v.get("holder_name")),
        iin=find_id(v.get("iin")) or find_id(text),
        number=numbers[0] if numbers else _number_line(text),
        specialty=_clean(v.get("specialty")),
        issued=parse_date(v.get("issued"), phrases),
        valid_until=parse_date(v.get("valid_until"), phrases),
    )


def _diploma(text: str, found: Found, phrases: FieldPhrases) -> DiplomaFields:
    v = found.values
    m = re.search(r"([A-ZА-ЯӘҒҚҢӨҰҮҺІ-]{2,}\s*№\s*\d{5,})", text)
    return DiplomaFields(
        number=_clean(m.group(1)) if m else None,
        registration_number=_clean(v.get("registration_number")),
        issued=parse_date(v.get("issued"), phrases),
    )


def _sanitary(text: str, found: Found, phrases: FieldPhrases) -> SanitaryFields:
    v = found.values
    number = None
    issued = None
    m = re.search(r"№\s*(\S+)\s+(\d{1,2}\.\d{1,2}\.\d{4})", text)
    if m:
        number, issued = m.group(1), parse_date(m.group(2), phrases)
    return SanitaryFields(
        number=number,
        issued=issued,
        applicant_name=_clean(v.get("applicant_name")),
        iin_bin=find_id(v.get("iin_bin")),
        address=_clean(v.get("address")),
    )


def _premises(text: str, found: Found, phrases: FieldPhrases) -> PremisesFields:
    v = found.values
    holder = find_id(v.get("iin_bin")) or find_id(v.get("tenant"))
    period = re.search(
        r"(\d{1,2}\.\d{1,2}\.\d{4})\s*(?:бастап|по|-|—)\s*(\d{1,2}\.\d{1,2}\.\d{4})", text
    )
    if period is None:
        period = re.search(r"с\s+(\d{1,2}\.\d{1,2}\.\d{4})\s+по\s+(\d{1,2}\.\d{1,2}\.\d{4})", text)
    return PremisesFields(
        iin_bin=holder,
        address=_clean(v.get("address")),
        cadastral_number=_clean(v.get("cadastral_number")),
        valid_from=parse_date(period.group(1), phrases)
        if period
        else parse_date(v.get("registered"), phrases),
        valid_until=parse_date(period.group(2), phrases) if period else None,
    )


def _proxy(text: str, phrases: FieldPhrases) -> ProxyFields:
    flat = re.sub(r"\s+", " ", text)
    ids = _ID.findall(flat)
    until = re.search(
        r"(?:действительна до|до)\s+(\d{1,2}\.\d{1,2}\.\d{4})|(\d{1,2}\.\d{1,2}\.\d{4})\s+дейін",
        flat,
        re.IGNORECASE,
    )
    valid_until = parse_date(until.group(1) or until.group(2), phrases) if until else None
    return ProxyFields(
        number=_number_line(text),
        principal_iin_bin=ids[0] if ids else None,
        representative_iin=ids[1] if len(ids) > 1 else None,
        issued=parse_date(flat, phrases),
        valid_until=valid_until,
    )


def _change(text: str, found: Found, phrases: FieldPhrases) -> ChangeEvidenceFields:
    v = found.values
    return ChangeEvidenceFields(
        iin_bin=find_id(v.get("iin_bin")),
        old_value=_clean(v.get("old_value")),
        new_value=_clean(v.get("new_value")),
        date=parse_date(v.get("date"), phrases),
    )


def _equipment(text: str, found: Found, tables: list[Table]) -> EquipmentFields:
    rows = sum(max(0, len(t) - 1) for t in tables if t and len(t[0]) > 3)
    if not rows:
        rows = len(re.findall(r"\bSN\d{4,}\b", text))
    return EquipmentFields(address=_clean(found.values.get("address")), items=rows)


def extract_fields(
    kind: str | None,
    text: str,
    *,
    tables: list[Table] | None = None,
    phrases: FieldPhrases | None = None,
) -> DocumentFields | None:
    """Typed fields of one document of ``kind`` from its text (and tables, when read)."""
    if kind is None:
        return None
    phrases = phrases or load_field_phrases()
    tables = tables or []
    found = _merge_tables(read_labelled(text, kind, phrases), tables, kind, phrases)
    if kind == "application":
        return _application(text, found, phrases)
    if kind == "fee_payment":
        return _payment(text, found, tables, phrases)
    if kind == "qualification_form":
        return _qualification(text, found, tables, phrases)
    if kind == "specialist_certificate":
        return _certificate(text, found, phrases)
    if kind == "diploma":
        return _diploma(text, found, phrases)
    if kind == "sanitary_conclusion":
        return _sanitary(text, found, phrases)
    if kind == "premises_title":
        return _premises(text, found, phrases)
    if kind == "proxy":
        return _proxy(text, phrases)
    if kind == "change_evidence":
        return _change(text, found, phrases)
    if kind == "equipment_list":
        return _equipment(text, found, tables)
    return None
