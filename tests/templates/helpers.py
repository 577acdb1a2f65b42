"""Sample receipts and PDF inspection helpers shared by the template tests."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from templates import ReceiptData

# Between them, the applicant's name and address hold every Kazakh-specific
# letter, capital and small.
KAZAKH_NAME = "Әлихан Ғалымұлы Қоңырбаев Өңірбекұлы Үмбетов Һ І"
KAZAKH_ADDRESS = "Ұлытау ауданы, Жезқазған қ., «ТАҢ» шаһар шағын ауданы, Сәтбаев көшесі, 12 үй"
KAZAKH_LETTERS = "ӘәҒғҚқҢңӨөҰұҮүҺһІі"

DOCUMENTS = [
    ("Өтініш", "Заявление"),
    (
        "Лицензиялық алымды төлегенін растайтын құжаттың көшірмесі",
        "Копия документа, подтверждающего уплату лицензионного сбора",
    ),
    (
        "Біліктілік талаптарына сәйкестігі туралы мәліметтер нысаны",
        "Форма сведений о соответствии квалификационным требованиям",
    ),
]
MISSING = [
    ("fee_payment", DOCUMENTS[1][0], DOCUMENTS[1][1]),
    ("qualification_form", DOCUMENTS[2][0], DOCUMENTS[2][1]),
    (
        "sanitary_conclusion",
        "Санитариялық-эпидемиологиялық қорытынды",
        "Санитарно-эпидемиологическое заключение",
    ),
]


def common_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "number": "ML-2016-000123",
        "accepted_at": dt.datetime(2016, 4, 5, 10, 32, tzinfo=ZoneInfo("Asia/Oral")),
        "applicant_name": KAZAKH_NAME,
        "applicant_address": KAZAKH_ADDRESS,
        "applicant_iin_bin": "860101300123",
        "provider_name_kk": "Батыс Қазақстан облысының денсаулық сақтау басқармасы",
        "provider_name_ru": "Управление здравоохранения Западно-Казахстанской области",
        "provider_address_kk": "Орал қ., Достық-Дружба даңғылы, 201",
        "provider_address_ru": "г. Уральск, проспект Достык-Дружба, 201",
        "clerk_name": "Серікова Айгүл Нұрланқызы",
        "verify_url": "https://medlicense.example.kz/verify/ML-2016-000123?h=ab12cd",
    }
    fields.update(overrides)
    return fields


def acceptance(**overrides: object) -> ReceiptData:
    fields = common_fields(accepted=True, due_date=dt.date(2016, 4, 25), documents=DOCUMENTS)
    fields.update(overrides)
    return ReceiptData.model_validate(fields)


def refusal(**overrides: object) -> ReceiptData:
    fields = common_fields(accepted=False, executor_name="Жақсылықов Бауыржан", missing=MISSING)
    fields.update(overrides)
    return ReceiptData.model_validate(fields)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def pdftotext(pdf: Path, *, layout: bool = False) -> str:
    return run(tool("pdftotext"), *(["-layout"] if layout else []), str(pdf), "-")


def flat(text: str) -> str:
    """Text with every whitespace run (line wraps included) made one space."""
    return " ".join(text.split())
