"""Realistic sample records, one per kind of outgoing document.

Used to print a set of specimen PDFs (``render-samples``) for the people who run
the service to check wording and layout, and by the template tests.  The
office is the West Kazakhstan oblast health department of the 2016 regulation;
people and companies are invented, their IINs/BINs have valid check digits,
and dates follow one plausible history: a clinic applies, gets its license
and appendix, later loses the paper license, then renames and moves.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from medlicense.models import ApplicantType

from .models import (
    AppendixData,
    Change,
    DocumentData,
    DocumentRef,
    LicenseData,
    Licensee,
    ReasonedRefusalData,
    ReceiptData,
    RefusalGround,
    Reissue,
)

__all__ = ["SAMPLE_KINDS", "sample_records"]

# The office's own time zone (Oral, UTC+5): documents are dated in it.
OFFICE_TZ = ZoneInfo("Asia/Oral")
VERIFY_BASE = "https://medlicense.example.kz/verify/"

# Keys of sample_records(), in the order a reader would meet the documents.
SAMPLE_KINDS: tuple[str, ...] = (
    "receipt-acceptance",
    "receipt-refusal",
    "reasoned-refusal",
    "license",
    "appendix",
    "license-reissued",
    "appendix-reissued",
    "license-duplicate",
)

_PROVIDER: dict[str, str] = {
    "provider_name_kk": "Батыс Қазақстан облысының денсаулық сақтау басқармасы",
    "provider_name_ru": "Управление здравоохранения Западно-Казахстанской области",
    "provider_address_kk": "Орал қ., Достық-Дружба даңғылы, 201",
    "provider_address_ru": "г. Уральск, проспект Достык-Дружба, 201",
}
_PLACE = {"place_of_issue_kk": "Орал қ.", "place_of_issue_ru": "г. Уральск"}
_HEAD = "Қуанышев Ерлан Сағынтайұлы"
_CLERK = "Серікова Айгүл Нұрланқызы"
_EXECUTOR = "Жақсылықов Бауыржан Төлегенұлы"

_CLINIC = Licensee(
    kind=ApplicantType.LEGAL_ENTITY,
    name="«Ақжайық Медикал» жауапкершілігі шектеулі серіктестігі",
    iin_bin="040340001233",
    address="Батыс Қазақстан облысы, Орал қ., Құрманғазы көшесі, 154",
)
_CLINIC_RENAMED = _CLINIC.model_copy(
    update={
        "name": "«Ақжайық Денсаулық Орталығы» жауапкершілігі шектеулі серіктестігі",
        "address": "Батыс Қазақстан облысы, Орал қ., Әбілқайыр хан даңғылы, 62/1",
    }
)

_SUBTYPES = (
    (
        "Амбулаториялық-емханалық көмек: консультациялық-диагностикалық көмек",
        "Амбулаторно-поликлиническая помощь: консультативно-диагностическая помощь",
    ),
    ("Стационарды алмастыратын көмек", "Стационарозамещающая помощь"),
    ("Зертханалық диагностика", "Лабораторная диагностика"),
)

_LICENSE_NO = "16006514"
_REISSUED_NO = "18011207"
_ISSUED = dt.datetime(2016, 4, 22, 15, 40, tzinfo=OFFICE_TZ)
_DUPLICATED = dt.datetime(2017, 2, 8, 11, 5, tzinfo=OFFICE_TZ)
_REISSUED = dt.datetime(2018, 6, 13, 16, 20, tzinfo=OFFICE_TZ)

_RENAME_AND_MOVE = (
    (
        "Лицензиаттың атауы",
        "Наименование лицензиата",
        _CLINIC.name,
        _CLINIC_RENAMED.name,
    ),
    (
        "Лицензиаттың орналасқан жері",
        "Местонахождение лицензиата",
        _CLINIC.address,
        _CLINIC_RENAMED.address,
    ),
)


def _verify(number: str) -> str:
    return f"{VERIFY_BASE}{number}"


def _receipts() -> dict[str, ReceiptData]:
    common: dict[str, object] = {
        **_PROVIDER,
        "applicant_name": _CLINIC.name,
        "applicant_iin_bin": _CLINIC.iin_bin,
        "applicant_address": _CLINIC.address,
        "clerk_name": _CLERK,
    }
    acceptance = ReceiptData.model_validate(
        {
            **common,
            "number": "ML-2016-000123",
            "accepted": True,
            "accepted_at": dt.datetime(2016, 4, 5, 10, 32, tzinfo=OFFICE_TZ),
            "due_date": dt.date(2016, 4, 25),
            "executor_name": _EXECUTOR,
            "documents": [
                (
                    "Заңды тұлғаның лицензия алуға арналған өтініші",
                    "Заявление юридического лица для получения лицензии",
                ),
                (
                    "Лицензиялық алымды төлегенін растайтын құжаттың көшірмесі",
                    "Копия документа, подтверждающего уплату лицензионного сбора",
                ),
                (
                    "Біліктілік талаптарына сәйкестігі туралы мәліметтер нысаны",
                    "Форма сведений о соответствии квалификационным требованиям",
                ),
                (
                    "Санитариялық-эпидемиологиялық қорытынды",
                    "Санитарно-эпидемиологическое заключение",
                ),
            ],
            "verify_url": _verify("ML-2016-000123"),
        }
    )
    refusal = ReceiptData.model_validate(
        {
            **common,
            "number": "ML-2016-000098",
            "accepted": False,
            "accepted_at": dt.datetime(2016, 3, 28, 9, 47, tzinfo=OFFICE_TZ),
            "executor_name": _EXECUTOR,
            "missing": [
                (
                    "fee_payment",
                    "Лицензиялық алымды төлегенін растайтын құжаттың көшірмесі",
                    "Копия документа, подтверждающего уплату лицензионного сбора",
                ),
                (
                    "sanitary_conclusion",
                    "Санитариялық-эпидемиологиялық қорытынды",
                    "Санитарно-эпидемиологическое заключение",
                ),
            ],
            "verify_url": _verify("ML-2016-000098"),
        }
    )
    return {"receipt-acceptance": acceptance, "receipt-refusal": refusal}


def _reasoned_refusal() -> ReasonedRefusalData:
    return ReasonedRefusalData(
        **_PROVIDER,
        number="MR-2016-000047",
        issued_at=dt.datetime(2016, 5, 17, 12, 15, tzinfo=OFFICE_TZ),
        applicant_name="Нұрғалиева Сәуле Қайратқызы",
        applicant_iin_bin="851124400347",
        applicant_address="Батыс Қазақстан облысы, Ақсай қ., Шағын аудан 4, 17-үй, 23-пәтер",
        application=DocumentRef(number="ML-2016-000311", issued_on=dt.date(2016, 4, 29)),
        grounds=(
            RefusalGround(
                code="qualification_not_met",
                name_kk="Өтініш беруші біліктілік талаптарына сәйкес келмейді",
                name_ru="Заявитель не соответствует квалификационным требованиям",
            ),
            RefusalGround(
                code="unreliable_documents",
                name_kk=(
                    "Ұсынылған құжаттардың және (немесе) олардағы деректердің (мәліметтердің) "
                    "анық еместігі анықталды"
                ),
                name_ru=(
                    "Установлена недостоверность представленных документов и (или) данных "
                    "(сведений), содержащихся в них"
                ),
            ),
        ),
        reasoning_kk=(
            "Стационарды алмастыратын көмек кіші түрі үшін ұсынылған медициналық жабдықтар "
            "тізбесінде күндізгі стационарға қажетті жабдықтар көрсетілмеген.\n"
            "Мейіргердің маман сертификаты бойынша Денсаулық сақтау саласындағы "
            "мамандарды сертификаттау жүйесінде мәліметтер жоқ."
        ),
        reasoning_ru=(
            "В перечне медицинского оборудования, представленном по подвиду "
            "«стационарозамещающая помощь», отсутствует оборудование, необходимое для "
            "дневного стационара.\n"
            "Сведения о сертификате специалиста медицинской сестры в системе "
            "сертификации специалистов здравоохранения не найдены."
        ),
        legal_basis_kk=(
            "«Медициналық қызметке лицензия беру» мемлекеттік көрсетілетін қызмет "
            "стандартының 10-тармағы (Қазақстан Республикасы Денсаулық сақтау және "
            "әлеуметтік даму министрінің 2015 жылғы 28 сәуірдегі № 294 бұйрығы)"
        ),
        legal_basis_ru=(
            "Пункт 10 стандарта государственной услуги «Выдача лицензии на медицинскую "
            "деятельность» (приказ Министра здравоохранения и социального развития "
            "Республики Казахстан от 28 апреля 2015 года № 294)"
        ),
        executor_name=_EXECUTOR,
        head_name=_HEAD,
        verify_url=_verify("MR-2016-000047"),
    )


def _licenses() -> dict[str, LicenseData]:
    license = LicenseData(
        **_PROVIDER,
        **_PLACE,
        number=_LICENSE_NO,
        issued_at=_ISSUED,
        first_issued_on=_ISSUED.date(),
        licensee=_CLINIC,
        head_name=_HEAD,
        verify_url=_verify(_LICENSE_NO),
    )
    duplicate = LicenseData.model_validate(
        {
            **license.model_dump(),
            "issued_at": _DUPLICATED,
            "duplicate_of": DocumentRef(number=_LICENSE_NO, issued_on=_ISSUED.date()),
            "verify_url": _verify(f"{_LICENSE_NO}-D1"),
        }
    )
    reissued = LicenseData(
        **_PROVIDER,
        **_PLACE,
        number=_REISSUED_NO,
        issued_at=_REISSUED,
        first_issued_on=_ISSUED.date(),
        licensee=_CLINIC_RENAMED,
        head_name=_HEAD,
        special_conditions_kk="Қызмет тек лицензияға қосымшада көрсетілген мекенжайларда жүзеге асырылады.",
        special_conditions_ru="Деятельность осуществляется только по адресам, указанным в приложении к лицензии.",
        reissue=Reissue(
            previous=DocumentRef(number=_LICENSE_NO, issued_on=_ISSUED.date()),
            changes=tuple(
                Change(label_kk=a, label_ru=b, old=c, new=d) for a, b, c, d in _RENAME_AND_MOVE
            ),
        ),
        verify_url=_verify(_REISSUED_NO),
    )
    return {"license": license, "license-reissued": reissued, "license-duplicate": duplicate}


def _appendices() -> dict[str, AppendixData]:
    appendix = AppendixData(
        **_PROVIDER,
        **_PLACE,
        number="001",
        license_number=_LICENSE_NO,
        issued_at=_ISSUED,
        licensee=_CLINIC,
        head_name=_HEAD,
        subtypes=_SUBTYPES,
        places=(_CLINIC.address, "Батыс Қазақстан облысы, Орал қ., Мұхит көшесі, 48, 2-қабат"),
        verify_url=_verify(f"{_LICENSE_NO}-001"),
    )
    reissued = AppendixData(
        **_PROVIDER,
        **_PLACE,
        number="001",
        license_number=_REISSUED_NO,
        issued_at=_REISSUED,
        licensee=_CLINIC_RENAMED,
        head_name=_HEAD,
        subtypes=_SUBTYPES,
        places=(
            _CLINIC_RENAMED.address,
            "Батыс Қазақстан облысы, Орал қ., Мұхит көшесі, 48, 2-қабат",
        ),
        reissue=Reissue(
            previous=DocumentRef(number="001", issued_on=_ISSUED.date()),
            changes=(
                *(Change(label_kk=a, label_ru=b, old=c, new=d) for a, b, c, d in _RENAME_AND_MOVE),
                Change(
                    label_kk="Лицензияның нөмірі",
                    label_ru="Номер лицензии",
                    old=_LICENSE_NO,
                    new=_REISSUED_NO,
                ),
            ),
        ),
        verify_url=_verify(f"{_REISSUED_NO}-001"),
    )
    return {"appendix": appendix, "appendix-reissued": reissued}


def sample_records() -> dict[str, DocumentData]:
    """One record per kind of outgoing document, keyed as in :data:`SAMPLE_KINDS`."""
    records: dict[str, DocumentData] = {
        **_receipts(),
        "reasoned-refusal": _reasoned_refusal(),
        **_licenses(),
        **_appendices(),
    }
    return {kind: records[kind] for kind in SAMPLE_KINDS}
