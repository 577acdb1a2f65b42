"""``medlicense rules show|validate`` and ``medlicense id check``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from medlicense.errors import RulesError
from medlicense.models import ApplicantType, RequestKind
from medlicense.rules.fees import fee_due, rate_mci
from medlicense.rules.identifiers import IdCheck, check_id
from medlicense.rules.loader import Rulebook, build_rulebook, load_rulebook
from medlicense.rules.schema import CONDITION_LABELS, DocumentRequirement, Edition, Status

Subparsers = Any  # argparse's _SubParsersAction is private


def register(subparsers: Subparsers) -> None:
    rules = subparsers.add_parser("rules", help="Show or validate the rules of the service.")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")

    show = rules_sub.add_parser(
        "show", help="Document list, fees and time limits of an edition, as a table."
    )
    show.add_argument("--edition", "-e", help="Edition id (default: the one in force today).")
    show.add_argument(
        "--kind", "-k", choices=[k.value for k in RequestKind], help="Only this request kind."
    )
    show.add_argument("--date", type=dt.date.fromisoformat, help="Edition in force on this date.")
    show.add_argument("--rules-dir", type=Path, help="Directory of edited rule files.")
    show.set_defaults(func=cmd_rules_show)

    validate = rules_sub.add_parser("validate", help="Load and validate every rule data file.")
    validate.add_argument("rules_dir", nargs="?", type=Path, help="Override directory to check.")
    validate.set_defaults(func=cmd_rules_validate)

    ident = subparsers.add_parser("id", help="IIN/BIN tools.")
    id_sub = ident.add_subparsers(dest="id_command", required=True, metavar="ACTION")
    check = id_sub.add_parser("check", help="Check IIN/BIN numbers (exit 1 if any is invalid).")
    check.add_argument("numbers", nargs="+", metavar="NUMBER")
    check.add_argument("--json", action="store_true", help="One JSON object per number.")
    check.set_defaults(func=cmd_id_check)


# --- id check ------------------------------------------------------------------------------


def describe(result: IdCheck) -> str:
    if not result.valid:
        kind = f" {result.kind.upper()}" if result.kind else ""
        return f"invalid{kind}: {result.code}: {result.message}"
    if result.kind == "iin":
        return f"valid IIN: born {result.birth_date}, {result.sex}"
    return (
        f"valid BIN: registered {result.registration_year}-{result.registration_month:02d}, "
        f"{result.entity_type}, {result.office_type}"
    )


def cmd_id_check(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    results = [check_id(n) for n in args.numbers]
    if args.json:
        for r in results:
            print(json.dumps(r.model_dump(mode="json"), ensure_ascii=False), file=out)
    else:
        width = max(len(r.number) for r in results)
        for r in results:
            print(f"{r.number:<{width}}  {describe(r)}", file=out)
    return 0 if all(r.valid for r in results) else 1


# --- rules show / validate -------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cols = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, cols, strict=True))

    sep = "  ".join("-" * w for w in cols)
    return "\n".join([line(headers).rstrip(), sep] + [line(r).rstrip() for r in rows])


def _mark(status: Status) -> str:
    return {
        Status.REGULATION: "R",
        Status.VERIFIED: "V",
        Status.RECONSTRUCTED: "D",
        Status.UNKNOWN: "?",
    }[status]


def _applicants(doc: DocumentRequirement) -> str:
    if set(doc.applicants) == set(ApplicantType):
        return "all"
    return ", ".join(a.value for a in doc.applicants)


def _conditions(doc: DocumentRequirement, kind: RequestKind) -> str:
    parts = [CONDITION_LABELS[c].ru for c in doc.conditions]
    if doc.reissue_grounds and kind is RequestKind.REISSUE:
        parts.append("основания: " + ", ".join(doc.reissue_grounds))
    if not doc.blocking:
        parts.append("не блокирует приём")
    return "; ".join(parts) or "—"


def render_edition(book: Rulebook, edition: Edition, kinds: Sequence[RequestKind]) -> str:
    out: list[str] = []
    period = f"{edition.valid_from} … {edition.valid_to or 'in force'}"
    out.append(f"Edition {edition.id}  ({period})  [{_mark(edition.status)}]")
    out.append(f"  kk: {edition.title.kk}")
    out.append(f"  ru: {edition.title.ru}")
    item = edition.list_item.value or "unknown"
    refusal = edition.refusal_item.value or "unknown"
    out.append(
        f"  document list: item {item} · refusal grounds: item {refusal} · "
        f"channels: {', '.join(c.channel.value for c in edition.channels)}"
    )
    out.append("  status marks: R regulation · V verified · D reconstructed (to check) · ? unknown")

    today = dt.date.today()
    fee_rows, term_rows = [], []
    for kind in kinds:
        rate = rate_mci(edition, kind)
        try:
            due = fee_due(edition, kind, today, book.mci)
            tenge = f"{due.amount:,.0f} ₸ (MCI {due.mci_tenge} on {today})".replace(",", " ")
        except RulesError:
            tenge = "—"
        fee_rows.append(
            [
                kind.value,
                "unknown" if rate is None else f"{rate.normalize():f}",
                tenge,
                _mark(edition.fees.rate(kind).status),
            ]
        )
        term = edition.terms.term(kind)
        term_rows.append(
            [f"review: {kind.value}", _days(term.days), "working days", _mark(term.status)]
        )
    incomplete = edition.terms.incomplete
    term_rows.append(
        [
            "review: incomplete package",
            _days(incomplete.days),
            "working days",
            _mark(incomplete.status),
        ]
    )
    for step in edition.steps:
        if step.from_terms:
            continue
        where = f" ({step.channel.value})" if step.channel else ""
        term_rows.append(
            [
                f"{step.id}{where}",
                _days(step.duration),
                step.unit.value if step.unit else "",
                _mark(step.status),
            ]
        )

    out.append("")
    out.append("Fees")
    out.append(table(["kind", "MCI", "tenge today", "st"], fee_rows))
    out.append("")
    out.append("Time limits")
    out.append(table(["step", "limit", "unit", "st"], term_rows))

    for kind in kinds:
        info = edition.request_kinds[kind]
        out.append("")
        out.append(f"Documents: {kind.value} — {info.name.ru}")
        rows = []
        for n, doc in enumerate((d for d in edition.documents if kind in d.kinds), start=1):
            rows.append(
                [
                    str(n),
                    doc.code,
                    doc.mode.value,
                    _applicants(doc),
                    _conditions(doc, kind),
                    _mark(doc.status),
                    doc.name.ru,
                ]
            )
        out.append(table(["#", "code", "mode", "applicant", "conditions", "st", "name (ru)"], rows))
        if info.grounds:
            out.append("Grounds:")
            out.extend(f"  {g.code:<32} {g.name.ru}  [{_mark(g.status)}]" for g in info.grounds)
    return "\n".join(out)


def _days(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def cmd_rules_show(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    book = load_rulebook(args.rules_dir)
    if args.edition:
        edition = book.edition(args.edition)
    else:
        edition = book.edition_for(args.date or dt.date.today())
    kinds = [RequestKind(args.kind)] if args.kind else list(RequestKind)
    print(render_edition(book, edition, kinds), file=out)
    return 0


def cmd_rules_validate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    book = build_rulebook(args.rules_dir)
    for e in book.editions:
        print(f"ok  {e.id:<16} {e.valid_from} … {e.valid_to or 'in force'}", file=out)
    print(f"ok  MCI table up to {book.mci.known_until}", file=out)
    print(
        f"ok  calendar overrides: {len(book.overrides.days_off)} days off, "
        f"{len(book.overrides.working_days)} working days",
        file=out,
    )
    return 0
