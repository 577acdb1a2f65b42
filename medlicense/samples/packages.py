"""Assembling packages (ZIP of PDFs + optional request.json) and their truth.

A package is fully described by a :class:`PackageSpec`; :func:`render_package`
turns the spec into ZIP bytes plus the :class:`PackageTruth` the pipeline is
expected to reach, and :func:`generate_packages` draws many specs from a
:class:`Mix` and writes them with ``truth.json``.

Truth rules (what the expected verdict is derived from):

* ``outcome`` depends only on readability and completeness: a package-level
  fault (``package.empty``, ``package.nested_archive``) or a package whose PDFs
  are *all* unreadable is ``rejected`` with ``reason`` = that code (for several
  unreadable files: the first by file name) and every file's fault listed in
  ``findings``.  Otherwise a document that cannot be read (encrypted,
  truncated, not a PDF) simply does not count: its kind is missing if nothing
  else supplies it, and a finding with the fault code is listed.
* ``missing`` is what the rules core (:func:`medlicense.rules.evaluate`, edition
  of the submission date) says is required and not readable in the package —
  the rules data is the one authority, so e.g. change_evidence is only missing
  for the re-issue grounds that need it.  Missing gives ``refused``; else
  ``accepted``.
* re-issue grounds in the request are the rules data's codes
  (:func:`rules_ground`).
* ``findings`` never change the outcome here; they are the cross-checks a
  reviewer would raise (``fee.underpaid``, ``fee.paid_by_other``,
  ``id.checksum``, ``request.mismatch``, ``document.*``).  A finding is only
  listed when the document that shows it is present and readable.
* ``request`` is what the application says (the applicant's real intent), even
  when ``request.json`` disagrees with it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator
from reportlab.lib import pdfencrypt
from reportlab.pdfgen.canvas import Canvas

from medlicense.models import (
    ApplicantType,
    ApplicationRequest,
    Channel,
    Language,
    RequestKind,
)
from medlicense.samples import data, ids
from medlicense.samples.documents import (
    BUILDERS,
    Address,
    Case,
    Equipment,
    Person,
    Staff,
)
from medlicense.samples.layout import (
    STYLES,
    DocContent,
    Style,
    binary_streams,
    draw_document,
    drawn_title,
    new_canvas,
    render_pdf,
)
from medlicense.samples.scan import draw_scanned

FindingFault = Literal["fee.underpaid", "fee.paid_by_other", "id.checksum", "request.mismatch"]
DocumentFault = Literal["document.encrypted", "document.truncated", "document.not_pdf"]
PackageFault = Literal["package.empty", "package.nested_archive"]
Scenario = Literal["complete_issue", "incomplete", "reissue", "duplicate", "bad_input"]

MCI_2026 = 4325
FEE_MCI: dict[RequestKind, int] = {
    RequestKind.ISSUE: 10,
    RequestKind.REISSUE: 1,
    RequestKind.DUPLICATE: 10,
}
KZ_TIME = dt.timezone(dt.timedelta(hours=5))
# Documents an applicant plausibly brings on paper and scans; portal-made
# documents (application, payment print, forms) are born digital.
SCANNABLE: frozenset[str] = frozenset(
    {
        "diploma",
        "specialist_certificate",
        "premises_title",
        "sanitary_conclusion",
        "proxy",
        "change_evidence",
    }
)


def rules_ground(ground: str | None, entity: bool) -> str | None:
    """The rules data's re-issue ground code for the generator's kind of change.

    The generator draws a name change or an address change; the editions name the
    grounds (``medlicense/rules/data/editions``), and a name change is a different
    ground for an entity than for a person.
    """
    if ground is None:
        return None
    if ground == "address_change":
        return "object_address"
    return "licensee_name_or_address" if entity else "individual_name"


def rules_missing(request: ApplicationRequest, present: set[str]) -> list[str]:
    """Required document codes not in ``present``, as the rules core decides them.

    The truth asks :func:`medlicense.rules.evaluate` rather than keeping its own
    table, so the expected verdicts follow the rules data when staff correct it.
    """
    from medlicense.rules import evaluate, load_rulebook

    moment = request.submitted_at or dt.datetime(2026, 1, 12, tzinfo=KZ_TIME)
    edition = load_rulebook().edition_for(moment)
    return [m.code for m in evaluate(edition, request, sorted(present)).missing]


def fee_due(kind: RequestKind) -> int:
    """License fee in tenge for a payment made in 2026."""
    return FEE_MCI[kind] * MCI_2026


def required_documents(
    kind: RequestKind, *, representative: bool, gateway: bool
) -> tuple[str, ...]:
    """Document codes a complete package must contain (first version, BRIEF section 6)."""
    codes = ["application"]
    if not gateway:
        codes.append("fee_payment")
    if kind is RequestKind.ISSUE:
        codes += [
            "qualification_form",
            "diploma",
            "specialist_certificate",
            "premises_title",
            "equipment_list",
            "sanitary_conclusion",
        ]
    elif kind is RequestKind.REISSUE:
        codes.append("change_evidence")
    if representative:
        codes.append("proxy")
    return tuple(codes)


# ------------------------------------------------------------------- the spec


class PackageSpec(BaseModel):
    """Exactly which package to build; everything not given is drawn from ``seed``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: RequestKind = RequestKind.ISSUE
    applicant_type: ApplicantType = ApplicantType.LEGAL_ENTITY
    language: Language = "kk"
    seed: int = 0
    representative: bool = False
    gateway: bool = False  # fee paid through the payment gateway: no receipt attached
    gateway_print: bool = False  # ... but its print-out is attached anyway (not required)
    request_json: bool = True
    omit: frozenset[str] = frozenset()  # required document codes left out
    findings: frozenset[FindingFault] = frozenset()
    unreadable: dict[str, DocumentFault] = Field(default_factory=dict)  # code -> fault
    package_fault: PackageFault | None = None
    scanned: frozenset[str] = frozenset()  # codes drawn as image-only scans
    merge: tuple[tuple[str, ...], ...] = ()  # groups of codes sharing one PDF file
    other_language: frozenset[str] = frozenset()  # codes drawn in the other language
    subtypes: tuple[str, ...] | None = None
    staff: int | None = None  # number of staff members
    scenario: str = "custom"  # label copied into the truth

    @model_validator(mode="after")
    def _consistent(self) -> PackageSpec:
        known = set(BUILDERS)
        for group in (self.omit, self.scanned, self.other_language, set(self.unreadable)):
            unknown = set(group) - known
            if unknown:
                raise ValueError(f"unknown document codes: {sorted(unknown)}")
        if self.gateway_print and not self.gateway:
            raise ValueError("gateway_print needs gateway")
        if self.gateway and not self.request_json:
            raise ValueError("a gateway payment is only visible through request.json")
        if "request.mismatch" in self.findings and not self.request_json:
            raise ValueError("request.mismatch needs request.json")
        if self.subtypes and set(self.subtypes) - set(data.SUBTYPES):
            raise ValueError(f"unknown subtypes: {self.subtypes}")
        return self

    def required(self) -> tuple[str, ...]:
        return required_documents(
            self.kind, representative=self.representative, gateway=self.gateway
        )


# ------------------------------------------------------------------ the truth


class DocumentTruth(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    kind: str | None  # what the file was made to be; unreadable files cannot show it
    pages: int
    page_range: tuple[int, int] | None = None  # 1-based inclusive range inside ``file``
    language: Language | None = None
    scanned: bool = False
    fault: str | None = None  # document.* / package.nested_archive when unreadable
    title: str | None = None  # the title as drawn (upper-cased by some layouts)


class PackageTruth(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Literal["accepted", "refused", "rejected"]
    missing: list[str] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list)
    reason: str | None = None
    request: ApplicationRequest
    documents: list[DocumentTruth] = Field(default_factory=list)
    request_json: bool = False  # whether request.json is in the ZIP
    scenario: str = "custom"


class Truth(RootModel[dict[str, PackageTruth]]):
    """Package file name -> expected verdict; serialised as ``truth.json``."""

    def __getitem__(self, name: str) -> PackageTruth:
        return self.root[name]

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def items(self) -> Iterator[tuple[str, PackageTruth]]:
        return iter(self.root.items())

    def dump(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> Truth:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


@dataclasses.dataclass(frozen=True)
class BuiltPackage:
    data: bytes
    truth: PackageTruth


# ----------------------------------------------------------------- the facts


def _date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def _person(
    rng: random.Random,
    *,
    female: bool | None = None,
    born: tuple[int, int] = (1960, 1998),
    kazakh: bool | None = None,
) -> Person:
    female = rng.random() < 0.55 if female is None else female
    kazakh = rng.random() < 0.8 if kazakh is None else kazakh
    birth = _date(rng, dt.date(born[0], 1, 1), dt.date(born[1], 12, 28))
    if kazakh:
        stem = rng.choice(data.KAZAKH_SURNAMES)
        # Kazakh surnames take -ов/-ова or -ев/-ева after the stem's last letter.
        soft = stem[-1] in "йиі" or stem.endswith(("али", "жан"))
        surname = stem + ("ева" if female else "ев") if soft else stem + ("ова" if female else "ов")
        given = rng.choice(data.KAZAKH_FEMALE if female else data.KAZAKH_MALE)
        patronymic = rng.choice(data.KAZAKH_FATHERS) + ("қызы" if female else "ұлы")
    else:
        pair = rng.choice(data.RUSSIAN_SURNAMES)
        surname = pair[1] if female else pair[0]
        given = rng.choice(data.RUSSIAN_FEMALE if female else data.RUSSIAN_MALE)
        father = rng.choice(data.RUSSIAN_FATHERS)
        patronymic = father[1] if female else father[0]
    return Person(
        surname, given, patronymic, ids.make_iin(rng, birth, female=female), birth, female
    )


def _address(rng: random.Random, city_index: int | None = None) -> Address:
    city, streets = data.CITIES[
        rng.randrange(len(data.CITIES)) if city_index is None else city_index
    ]
    house = str(rng.randrange(1, 220))
    if rng.random() < 0.2:
        house += f"/{rng.randrange(1, 12)}"
    return Address(city, rng.choice(streets), house)


def _staff(rng: random.Random, person: Person, doctor: bool, year_now: int) -> Staff:
    positions = [p for p in data.POSITIONS if p[2] == doctor]
    position = rng.choice(positions)
    if doctor:
        specialty = (
            data.SPECIALTIES[2]
            if "стоматолог" in position[1].lower()
            else (data.SPECIALTIES[1] if "педиатр" in position[1] else data.SPECIALTIES[0])
        )
        school = rng.choice(data.UNIVERSITIES)
        prefix = "ЖБ-Б"
    else:
        specialty = data.SPECIALTIES[3]
        school = rng.choice(data.COLLEGES)
        prefix = "ТКБ"
    grad = min(person.birth.year + rng.randrange(22, 27), year_now - 1)
    cert_date = _date(rng, dt.date(year_now - 4, 1, 1), dt.date(year_now - 1, 12, 1))
    return Staff(
        person=person,
        position=position,
        specialty=specialty,
        school=school,
        diploma_no=f"{prefix} № {rng.randrange(10**6, 10**7)}",
        diploma_year=grad,
        cert_no=f"KZ{rng.randrange(10**7, 10**8)}",
        cert_date=cert_date,
    )


def _plate(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def make_case(
    spec: PackageSpec, rng: random.Random
) -> tuple[Case, ApplicationRequest, dict[str, str]]:
    """Draw the facts of a package; returns the case, the true request and request.json."""
    lang = spec.language
    submitted = _date(rng, dt.date(2026, 1, 12), dt.date(2026, 6, 30))
    entity = spec.applicant_type is ApplicantType.LEGAL_ENTITY
    head = _person(rng, born=(1965, 1992))
    org_name = rng.choice(data.ORG_NAMES) if entity else None
    registered = _date(rng, dt.date(2005, 1, 1), dt.date(2024, 12, 1))
    real_id = ids.make_bin(rng, registered) if entity else head.iin
    iin_bin = ids.corrupt(real_id, rng) if "id.checksum" in spec.findings else real_id
    if not entity and iin_bin != real_id:
        head = dataclasses.replace(head, iin=iin_bin)

    address = _address(rng)
    n_places = 1 if not entity or rng.random() < 0.75 else 2
    places = tuple(_address(rng) for _ in range(n_places))
    pool = data.INDIVIDUAL_SUBTYPES if not entity else tuple(data.SUBTYPES)
    subtypes = spec.subtypes or tuple(
        sorted(rng.sample(pool, rng.randrange(1, 3 if not entity else 4)))
    )
    n_staff = spec.staff or (rng.randrange(1, 3) if not entity else rng.randrange(2, 5))
    staff_people = [head] if not entity else []
    while len(staff_people) < n_staff:
        staff_people.append(_person(rng, born=(1970, 2000)))
    # The first staff member is always a doctor so there is a higher-education diploma.
    staff = tuple(
        _staff(rng, p, i == 0 or rng.random() < 0.5, submitted.year)
        for i, p in enumerate(staff_people)
    )
    eq_idx = rng.sample(range(len(data.EQUIPMENT)), rng.randrange(6, 15))
    equipment = tuple(
        Equipment(
            (data.EQUIPMENT[i][0], data.EQUIPMENT[i][1]),
            data.EQUIPMENT[i][2],
            f"SN{_plate(rng, 6)}",
            rng.randrange(2014, 2026),
            rng.choice((1, 1, 1, 2, 3)),
        )
        for i in sorted(eq_idx)
    )
    representative = _person(rng, born=(1975, 2001)) if spec.representative else None

    due = fee_due(spec.kind)
    fee_amount = due
    if "fee.underpaid" in spec.findings:
        # Typical mistakes: last year's MCI, the re-issue rate, or a part payment.
        fee_amount = rng.choice((FEE_MCI[spec.kind] * 3932, MCI_2026, due - MCI_2026 * 2, due // 2))
        fee_amount = min(fee_amount, due - 1) if fee_amount < due else due - MCI_2026 // 2
        # "two MCI short" of a one-MCI re-issue fee would be negative: pay half instead.
        if fee_amount <= 0:
            fee_amount = due // 2
    applicant_name_lang = {
        "kk": (f"«{org_name}» ЖШС" if org_name else head.full),
        "ru": (f"ТОО «{org_name}»" if org_name else head.full),
    }
    payer_name, payer_id = applicant_name_lang[lang], iin_bin
    if "fee.paid_by_other" in spec.findings:
        other = representative or _person(rng)
        payer_name, payer_id = other.full, other.iin
    payment_date = submitted - dt.timedelta(days=rng.randrange(0, 6))
    if payment_date.year < 2026:
        payment_date = dt.date(2026, 1, 5)

    license_number = license_date = None
    if spec.kind is not RequestKind.ISSUE:
        license_date = _date(rng, dt.date(2016, 1, 1), dt.date(2025, 6, 1))
        license_number = f"KZ{_plate(rng, 2)}LAA{_plate(rng, 8)}"
    ground = old_name = None
    old_address = None
    if spec.kind is RequestKind.REISSUE:
        ground = rng.choice(("name_change", "address_change"))
        if ground == "name_change":
            if entity:
                others = [n for n in data.ORG_NAMES if n != org_name]
                old = rng.choice(others)
                old_name = f"«{old}» ЖШС" if lang == "kk" else f"ТОО «{old}»"
            else:
                old_name = (
                    _person(rng, female=head.female).surname
                    + " "
                    + head.given
                    + " "
                    + head.patronymic
                )
        else:
            old_address = _address(rng)
    owned = rng.random() < 0.35
    lessor = _person(rng)
    case = Case(
        kind=spec.kind,
        applicant_type=spec.applicant_type,
        language=lang,
        org_name=org_name,
        head=head,
        iin_bin=iin_bin,
        address=address,
        places=places,
        subtypes=subtypes,
        staff=staff,
        equipment=equipment,
        phone=f"+7 7{rng.choice(('01', '05', '07', '47', '71', '77'))} {_plate(rng, 3)} "
        f"{_plate(rng, 2)} {_plate(rng, 2)}",
        email=f"info{rng.randrange(1, 999)}@{rng.choice(('mail.kz', 'gmail.com', 'inbox.ru'))}",
        submitted=submitted,
        representative=representative,
        proxy_no=str(rng.randrange(100, 9999)),
        proxy_date=submitted - dt.timedelta(days=rng.randrange(5, 120)),
        fee_amount=fee_amount,
        payer_name=payer_name,
        payer_id=payer_id,
        payment_date=payment_date,
        payment_no=_plate(rng, 10),
        bank=rng.choice(data.BANKS),
        license_number=license_number,
        license_date=license_date,
        reissue_ground=ground,
        old_name=old_name,
        old_address=old_address,
        premises_owned=owned,
        premises_area=f"{rng.randrange(35, 900)},{rng.randrange(10)}",
        cadastral=f"08:115:{_plate(rng, 3)}:{_plate(rng, 3)}",
        lessor=lessor.full,
        lessor_id=lessor.iin,
        lease_start=_date(rng, dt.date(2019, 1, 1), dt.date(2025, 10, 1)),
        sanitary_no=f"KZ{_plate(rng, 2)}VBS{_plate(rng, 8)}",
        sanitary_date=_date(rng, dt.date(2024, 1, 1), dt.date(2025, 12, 1)),
        gateway_ref=f"PGW-{submitted:%Y%m%d}-{_plate(rng, 8)}" if spec.gateway else None,
        duplicate_reason=rng.choice(
            (("лицензияның жоғалуы", "утеря лицензии"), ("лицензияның бүлінуі", "порча лицензии"))
        ),
    )
    submitted_at = dt.datetime.combine(
        submitted, dt.time(rng.randrange(9, 18), rng.randrange(60)), tzinfo=KZ_TIME
    )
    true_request = ApplicationRequest(
        kind=spec.kind,
        applicant_type=spec.applicant_type,
        iin_bin=iin_bin,
        applicant_name=case.applicant_name(lang),
        representative=spec.representative,
        subtypes=subtypes if spec.kind is RequestKind.ISSUE else (),
        places=tuple(p.text(lang) for p in places) if spec.kind is RequestKind.ISSUE else (),
        payment_gateway_ref=case.gateway_ref,
        license_number=license_number,
        reissue_ground=rules_ground(ground, entity),
        channel=Channel.PORTAL,
        submitted_at=submitted_at,
        language=lang,
    )
    sent = true_request
    if "request.mismatch" in spec.findings:
        # The portal form was filled for someone else: a different valid number or name.
        if rng.random() < 0.5:
            other_id = (
                ids.make_bin(rng, registered) if entity else _person(rng, female=head.female).iin
            )
            sent = sent.model_copy(update={"iin_bin": other_id})
        else:
            sent = sent.model_copy(
                update={
                    "applicant_name": _person(rng).full
                    if not entity
                    else applicant_name_lang[lang].replace(
                        org_name or "", rng.choice([n for n in data.ORG_NAMES if n != org_name])
                    )
                }
            )
    request_json = sent.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    return case, true_request, request_json


# ---------------------------------------------------------------- the files

_ASCII_NAMES: dict[str, tuple[str, str]] = {
    "application": ("otinish", "zayavlenie"),
    "fee_payment": ("tolem_tubirtegi", "kvitanciya"),
    "qualification_form": ("biliktilik_talaptary", "forma_svedeniy"),
    "diploma": ("diplom", "diplom"),
    "specialist_certificate": ("maman_sertifikaty", "sertifikat_specialista"),
    "premises_title": ("ui_zhai", "pomeshchenie"),
    "equipment_list": ("zhabdyqtar_tizbesi", "perechen_oborudovaniya"),
    "sanitary_conclusion": ("san_epid_qorytyndy", "sez"),
    "proxy": ("senimkhat", "doverennost"),
    "change_evidence": ("anyqtama", "spravka"),
}
_NATIVE_NAMES: dict[str, tuple[str, str]] = {
    "application": ("Өтініш", "Заявление"),
    "fee_payment": ("Түбіртек", "Квитанция"),
    "qualification_form": ("Біліктілік нысаны", "Форма сведений"),
    "diploma": ("Диплом", "Диплом"),
    "specialist_certificate": ("Сертификат", "Сертификат"),
    "premises_title": ("Үй-жай құжаты", "Документ на помещение"),
    "equipment_list": ("Жабдықтар тізбесі", "Перечень оборудования"),
    "sanitary_conclusion": ("СЭҚ", "СЭЗ"),
    "proxy": ("Сенімхат", "Доверенность"),
    "change_evidence": ("Анықтама", "Справка"),
}


@dataclasses.dataclass
class _Doc:
    code: str
    index: int  # which staff member, for per-person documents
    content: DocContent
    style: Style
    language: Language
    scanned: bool
    fault: str | None = None
    file: str = ""


@dataclasses.dataclass
class _File:
    name: str
    docs: list[_Doc]


def _plan_documents(spec: PackageSpec, case: Case, rng: random.Random) -> list[_Doc]:
    present = [c for c in spec.required() if c not in spec.omit]
    if spec.gateway_print and "fee_payment" not in spec.omit:
        present.insert(1, "fee_payment")
    # Anything explicitly asked for (scan, fault) but not required is added too,
    # so a spec can, say, attach a proxy without a representative.
    for extra in (*spec.unreadable, *spec.scanned):
        if extra not in present and extra not in spec.omit:
            present.append(extra)
    docs: list[_Doc] = []
    other: Language = "ru" if spec.language == "kk" else "kk"
    for code in present:
        if code == "proxy" and case.representative is None:
            continue
        if code == "diploma":
            count = min(2, len(case.staff))
        elif code == "specialist_certificate":
            count = min(3, len(case.staff))
        else:
            count = 1
        lang = other if code in spec.other_language else spec.language
        for index in range(count):
            style = rng.choice(STYLES)
            content = BUILDERS[code](case, lang, random.Random(rng.getrandbits(32)), index)
            docs.append(
                _Doc(
                    code,
                    index,
                    content,
                    style,
                    lang,
                    code in spec.scanned,
                    spec.unreadable.get(code),
                )
            )
    return docs


def _plan_files(spec: PackageSpec, docs: list[_Doc], rng: random.Random) -> list[_File]:
    scheme = rng.choice(("ascii", "native", "numbered", "scanner"))
    li = 0 if spec.language == "kk" else 1
    used: set[str] = set()

    def unique(stem: str) -> str:
        name, n = f"{stem}.pdf", 2
        while name in used:
            name, n = f"{stem}_{n}.pdf", n + 1
        used.add(name)
        return name

    files: list[_File] = []
    by_code: dict[str, list[_Doc]] = {}
    for d in docs:
        by_code.setdefault(d.code, []).append(d)
    merged: set[int] = set()
    for g, group in enumerate(spec.merge):
        # Unreadable documents always keep their own file: a broken file would
        # otherwise take readable neighbours down with it.
        members = [d for c in group for d in by_code.get(c, []) if d.fault is None]
        if len(members) < 2:
            continue
        merged.update(id(d) for d in members)
        stem = (
            ("qujattar" if li == 0 else "dokumenty")
            if scheme != "native"
            else ("Құжаттар" if li == 0 else "Документы")
        )
        files.append(_File(unique(f"{stem}_{g + 1}" if g else stem), members))
    for n, d in enumerate(docs):
        if id(d) in merged:
            continue
        if scheme == "ascii":
            stem = _ASCII_NAMES[d.code][li]
        elif scheme == "native":
            stem = _NATIVE_NAMES[d.code][li]
        elif scheme == "numbered":
            stem = f"{n + 1:02d}_{_ASCII_NAMES[d.code][li]}"
        else:
            stem = f"scan_{rng.randrange(1, 9999):04d}"
        files.append(_File(unique(stem), [d]))
    if rng.random() < 0.5:
        rng.shuffle(files)
    return files


def _not_pdf(rng: random.Random) -> bytes:
    choice = rng.randrange(3)
    if choice == 0:
        from PIL import Image  # a phone photo saved with the wrong extension

        buf = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 190, 170)).save(buf, format="JPEG", quality=60)
        return buf.getvalue()
    if choice == 1:
        return (
            b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>elicense.kz</title>"
            b"</head><body><h1>504 Gateway Time-out</h1></body></html>\n"
        )
    return "Құжат табылмады / Документ не найден\n".encode()


def _render_file(f: _File, rng: random.Random) -> tuple[bytes, list[int]]:
    """The file's bytes and the page count of each document in it (0 when not a PDF)."""
    fault = f.docs[0].fault
    if fault == "document.not_pdf":
        return _not_pdf(rng), [0 for _ in f.docs]
    if fault == "document.encrypted":
        # A user password is set, so nothing can be read without it.
        enc = pdfencrypt.StandardEncryption(
            f"pw{rng.randrange(10**6)}",
            ownerPassword=f"own{rng.randrange(10**6)}",
            strength=128,
        )
        return render_pdf([(d.content, d.style) for d in f.docs], encrypt=enc)
    buf = io.BytesIO()
    counts: list[int] = []
    with binary_streams():
        canvas: Canvas = new_canvas(buf)
        for d in f.docs:
            if d.scanned:
                alone, _ = render_pdf([(d.content, d.style)])
                counts.append(draw_scanned(canvas, alone, rng))
            else:
                counts.append(draw_document(canvas, d.content, d.style))
        canvas.save()
    pdf = buf.getvalue()
    if fault == "document.truncated":
        # Cut the upload mid-way: no trailer, no xref, no %%EOF.
        return pdf[: int(len(pdf) * rng.uniform(0.3, 0.7))], counts
    return pdf, counts


def _zip(members: list[tuple[str, bytes]], when: dt.datetime) -> bytes:
    buf = io.BytesIO()
    stamp = (when.year, when.month, when.day, when.hour, when.minute, 0)
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, payload in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, payload)
    return buf.getvalue()


def render_package(spec: PackageSpec) -> BuiltPackage:
    """Build one package from its spec: the ZIP bytes and the expected verdict."""
    rng = random.Random(spec.seed)
    case, true_request, request_json = make_case(spec, rng)
    when = true_request.submitted_at or dt.datetime(2026, 1, 12, tzinfo=KZ_TIME)
    req_bytes = (json.dumps(request_json, ensure_ascii=False, indent=2) + "\n").encode()

    def truth(
        outcome: Literal["accepted", "refused", "rejected"],
        *,
        missing: list[str] | None = None,
        findings: list[str] | None = None,
        reason: str | None = None,
        documents: list[DocumentTruth] | None = None,
    ) -> PackageTruth:
        return PackageTruth(
            outcome=outcome,
            missing=missing or [],
            findings=findings or [],
            reason=reason,
            request=true_request,
            documents=documents or [],
            request_json=spec.request_json and spec.package_fault != "package.empty",
            scenario=spec.scenario,
        )

    if spec.package_fault == "package.empty":
        return BuiltPackage(_zip([], when), truth("rejected", reason="package.empty"))

    docs = _plan_documents(spec, case, rng)
    files = _plan_files(spec, docs, rng)
    members: list[tuple[str, bytes]] = []
    documents: list[DocumentTruth] = []
    for f in files:
        payload, counts = _render_file(f, rng)
        members.append((f.name, payload))
        page = 1
        for d, pages in zip(f.docs, counts, strict=True):
            documents.append(
                DocumentTruth(
                    file=f.name,
                    kind=d.code,
                    pages=pages,
                    page_range=(page, page + pages - 1) if d.fault is None else None,
                    language=d.language,
                    scanned=d.scanned,
                    fault=d.fault,
                    title=drawn_title(d.content, d.style),
                )
            )
            page += pages
    if spec.request_json:
        members.append(("request.json", req_bytes))

    if spec.package_fault == "package.nested_archive":
        inner = _zip([m for m in members if m[0] != "request.json"], when)
        name = "documents.zip" if spec.language == "ru" else "qujattar.zip"
        outer = [(name, inner)] + [m for m in members if m[0] == "request.json"]
        docs_truth = [DocumentTruth(file=name, kind=None, pages=0, fault="package.nested_archive")]
        return BuiltPackage(
            _zip(outer, when),
            truth("rejected", reason="package.nested_archive", documents=docs_truth),
        )

    readable_files = [f for f in files if f.docs[0].fault is None]
    if not files:
        return BuiltPackage(
            _zip(members, when), truth("rejected", reason="package.empty", documents=documents)
        )
    if not readable_files:
        first = min(files, key=lambda f: f.name)
        # Every unreadable file is reported with its own code, the first is the reason.
        faults = [f.docs[0].fault or "" for f in sorted(files, key=lambda f: f.name)]
        return BuiltPackage(
            _zip(members, when),
            truth("rejected", reason=first.docs[0].fault, findings=faults, documents=documents),
        )

    readable = {d.code for f in readable_files for d in f.docs}
    # Scans carry no text; they still count as present (the pipeline OCRs
    # them), so ``missing`` ignores scanning.
    missing = rules_missing(true_request, readable)
    findings: list[str] = []
    app_ok = "application" in readable
    fee_ok = "fee_payment" in readable
    for code in sorted(spec.findings):
        if (
            (code.startswith("fee.") and fee_ok)
            or (code == "id.checksum" and (app_ok or spec.request_json))
            or (code == "request.mismatch" and app_ok)
        ):
            findings.append(code)
    for f in sorted(files, key=lambda f: f.name):
        if f.docs[0].fault:
            findings.append(f.docs[0].fault)
    outcome: Literal["accepted", "refused"] = "refused" if missing else "accepted"
    return BuiltPackage(
        _zip(members, when), truth(outcome, missing=missing, findings=findings, documents=documents)
    )


def build_package(spec: PackageSpec) -> bytes:
    """ZIP bytes of the package described by ``spec`` (see :func:`render_package`)."""
    return render_package(spec).data
