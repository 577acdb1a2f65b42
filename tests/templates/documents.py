"""Test records of the results of the service (reasoned refusal, license, appendix
and their re-issue and duplicate variants) and PDF inspection helpers for them.

Unlike templates.samples, which must read like real documents, these put the
applicant's and licensee's names and addresses into the Kazakh letters the
fonts must cover (helpers.KAZAKH_NAME / KAZAKH_ADDRESS).
"""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pdfplumber
import pypdf

from medlicense.models import ApplicantType
from templates import (
    SIGNATURE_AREA,
    AppendixData,
    DocumentData,
    LicenseData,
    ReasonedRefusalData,
)

from .helpers import KAZAKH_ADDRESS, KAZAKH_NAME

TZ = ZoneInfo("Asia/Oral")
PROVIDER: dict[str, str] = {
    "provider_name_kk": "Батыс Қазақстан облысының денсаулық сақтау басқармасы",
    "provider_name_ru": "Управление здравоохранения Западно-Казахстанской области",
    "provider_address_kk": "Орал қ., Достық-Дружба даңғылы, 201",
    "provider_address_ru": "г. Уральск, проспект Достык-Дружба, 201",
}
HEAD = "Қуанышев Ерлан Сағынтайұлы"
EXECUTOR = "Жақсылықов Бауыржан"
ENTITY_NAME = "«Ақжайық Медикал» ЖШС"
ENTITY_BIN = "040340001233"
PERSON_IIN = "860101300126"

LICENSE_NO = "16006514"
ISSUED = dt.datetime(2016, 4, 22, 15, 40, tzinfo=TZ)
LATER = dt.datetime(2018, 6, 13, 16, 20, tzinfo=TZ)

GROUNDS = [
    (
        "qualification_not_met",
        "Өтініш беруші біліктілік талаптарына сәйкес келмейді",
        "Заявитель не соответствует квалификационным требованиям",
    ),
    ("fee_not_paid", "Лицензиялық алым төленбеген", "Не внесён лицензионный сбор"),
]
SUBTYPES = [
    ("Стационарлық көмек", "Стационарная помощь"),
    (
        "Қалпына келтіру емі және медициналық оңалту",
        "Восстановительное лечение и медицинская реабилитация",
    ),
    ("Зертханалық диагностика", "Лабораторная диагностика"),
]
PLACES = [KAZAKH_ADDRESS, "Орал қ., Мұхит көшесі, 48, 2-қабат"]
OLD_NAME = "«Ақжайық Медикал» ЖШС"
NEW_NAME = "«Ақжайық Денсаулық Орталығы» ЖШС"
CHANGES = [
    ("Лицензиаттың атауы", "Наименование лицензиата", OLD_NAME, NEW_NAME),
    (
        "Лицензиаттың орналасқан жері",
        "Местонахождение лицензиата",
        "Орал қ., Құрманғазы к., 154",
        KAZAKH_ADDRESS,
    ),
]


def reasoned_refusal(**overrides: object) -> ReasonedRefusalData:
    fields: dict[str, object] = {
        **PROVIDER,
        "number": "MR-2016-000047",
        "issued_at": dt.datetime(2016, 5, 17, 12, 15, tzinfo=TZ),
        "applicant_name": KAZAKH_NAME,
        "applicant_iin_bin": PERSON_IIN,
        "applicant_address": KAZAKH_ADDRESS,
        "application": {"number": "ML-2016-000311", "issued_on": dt.date(2016, 4, 29)},
        "grounds": GROUNDS,
        "reasoning_kk": "Күндізгі стационарға қажетті жабдықтар тізбесі ұсынылмаған.",
        "reasoning_ru": "Не представлен перечень оборудования дневного стационара.",
        "legal_basis_kk": "Мемлекеттік көрсетілетін қызмет стандартының 10-тармағы",
        "legal_basis_ru": "Пункт 10 стандарта государственной услуги",
        "executor_name": EXECUTOR,
        "head_name": HEAD,
        "verify_url": "https://medlicense.example.kz/verify/MR-2016-000047",
    }
    fields.update(overrides)
    return ReasonedRefusalData.model_validate(fields)


def _licensed(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        **PROVIDER,
        "place_of_issue_kk": "Орал қ.",
        "place_of_issue_ru": "г. Уральск",
        "issued_at": ISSUED,
        "licensee": {
            "kind": ApplicantType.INDIVIDUAL,
            "name": KAZAKH_NAME,
            "iin_bin": PERSON_IIN,
            "address": KAZAKH_ADDRESS,
        },
        "head_name": HEAD,
    }
    fields.update(overrides)
    return fields


def license_(**overrides: object) -> LicenseData:
    fields = _licensed(
        number=LICENSE_NO,
        first_issued_on=ISSUED.date(),
        special_conditions_kk="Тек қосымшада көрсетілген мекенжайларда.",
        special_conditions_ru="Только по адресам, указанным в приложении.",
        verify_url=f"https://medlicense.example.kz/verify/{LICENSE_NO}",
    )
    fields.update(overrides)
    return LicenseData.model_validate(fields)


def appendix(**overrides: object) -> AppendixData:
    fields = _licensed(
        number="001",
        license_number=LICENSE_NO,
        subtypes=SUBTYPES,
        places=PLACES,
        verify_url=f"https://medlicense.example.kz/verify/{LICENSE_NO}-001",
    )
    fields.update(overrides)
    return AppendixData.model_validate(fields)


def _reissue(previous: str) -> dict[str, object]:
    return {
        "issued_at": LATER,
        "reissue": {
            "previous": {"number": previous, "issued_on": ISSUED.date()},
            "changes": CHANGES,
        },
    }


def _duplicate(number: str) -> dict[str, object]:
    return {"issued_at": LATER, "duplicate_of": {"number": number, "issued_on": ISSUED.date()}}


def reissued_license(**overrides: object) -> LicenseData:
    return license_(number="18011207", **{**_reissue(LICENSE_NO), **overrides})


def reissued_appendix(**overrides: object) -> AppendixData:
    return appendix(license_number="18011207", **{**_reissue("001"), **overrides})


def duplicate_license(**overrides: object) -> LicenseData:
    return license_(**{**_duplicate(LICENSE_NO), **overrides})


def duplicate_appendix(**overrides: object) -> AppendixData:
    return appendix(**{**_duplicate("001"), **overrides})


# Kind -> builder of its test record; the PDFs are rendered once per session.
BUILDERS: dict[str, Callable[[], DocumentData]] = {
    "reasoned-refusal": reasoned_refusal,
    "license": license_,
    "appendix": appendix,
    "license-reissued": reissued_license,
    "appendix-reissued": reissued_appendix,
    "license-duplicate": duplicate_license,
    "appendix-duplicate": duplicate_appendix,
}

# --- PDF inspection ----------------------------------------------------------------

PDFAID = "{http://www.aiim.org/pdfa/ns/id/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


def pdfa_claim(pdf: bytes) -> tuple[str, str]:
    """``(part, conformance)`` from the XMP metadata of ``pdf``."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    root: Any = reader.trailer["/Root"]  # pypdf types nested objects loosely
    packet = root["/Metadata"].get_object().get_data()
    end_tag = b"</x:xmpmeta>"
    xmp = ET.fromstring(packet[packet.index(b"<x:xmpmeta") : packet.index(end_tag) + len(end_tag)])
    (ids,) = [d for d in xmp.iter(f"{RDF}Description") if f"{PDFAID}part" in d.attrib]
    return ids.attrib[f"{PDFAID}part"], ids.attrib[f"{PDFAID}conformance"]


def last_page_objects(pdf: bytes) -> tuple[list[str], str]:
    """Of the last page: labels of what lies inside the signature strip, and the
    text above it (the page number in the bottom margin is below the strip)."""
    x0, y0, x1, y1 = SIGNATURE_AREA.box_pt
    inside: list[str] = []
    above: list[str] = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[-1]
        # pdfplumber measures from the top of the page, PDF boxes from the bottom.
        top, bottom = page.height - y1, page.height - y0
        for obj in page.chars + page.rects + page.lines + page.curves + page.images:
            label = obj.get("text") or obj["object_type"]
            if obj["x1"] > x0 and obj["x0"] < x1 and obj["bottom"] > top and obj["top"] < bottom:
                inside.append(label)
            elif obj["bottom"] <= top and "text" in obj:
                above.append(label)
    return inside, "".join(above)
