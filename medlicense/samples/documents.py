"""What each document kind says, in Kazakh or Russian.

:class:`Case` holds the facts of one package (who applies, for what, who pays,
the staff and equipment); the ``*_doc`` functions turn those facts into a
:class:`~medlicense.samples.layout.DocContent` in one language.  Every
document repeats the facts it would repeat in life (name, IIN/BIN, address),
which is what lets the pipeline cross-check documents against each other and
against ``request.json``.

Titles are deliberately the phrases a classifier should key on: "лицензия алуға
арналған өтініш", "қайта ресімдеуге", "телнұсқасын", "лицензиялық алым" ...
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from medlicense.models import ApplicantType, Language, RequestKind
from medlicense.samples import data
from medlicense.samples.layout import (
    Block,
    DocContent,
    Fields,
    Heading,
    PageBreak,
    Para,
    Signatures,
    Table,
)

KBK = "217114"  # budget classification code of the license fee


def pick(pair: tuple[str, str], lang: Language) -> str:
    return pair[0] if lang == "kk" else pair[1]


def fmt_date(d: dt.date, lang: Language, *, long: bool = False) -> str:
    if not long:
        return d.strftime("%d.%m.%Y")
    month = pick(data.MONTHS[d.month - 1], lang)
    return f"{d.year} жылғы {d.day} {month}" if lang == "kk" else f"{d.day} {month} {d.year} г."


def add_years(d: dt.date, years: int) -> dt.date:
    """Same day ``years`` later; 29 February falls back to the 28th."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def fmt_money(amount: int, lang: Language) -> str:
    grouped = f"{amount:,}".replace(",", " ")
    return f"{grouped},00 ₸" if lang == "kk" else f"{grouped},00 тенге"


# ----------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Person:
    surname: str
    given: str
    patronymic: str
    iin: str
    birth: dt.date
    female: bool

    @property
    def full(self) -> str:
        return f"{self.surname} {self.given} {self.patronymic}".strip()

    @property
    def short(self) -> str:
        tail = f"{self.patronymic[0]}." if self.patronymic else ""
        return f"{self.surname} {self.given[0]}.{tail}"


@dataclass(frozen=True)
class Address:
    city: tuple[str, str]
    street: tuple[str, str]
    house: str

    def text(self, lang: Language) -> str:
        if lang == "kk":
            return f"{self.city[0]}, {self.street[0]}, {self.house} үй"
        return f"{self.city[1]}, {self.street[1]}, д. {self.house}"


@dataclass(frozen=True)
class Staff:
    person: Person
    position: tuple[str, str, bool]  # kk, ru, higher education
    specialty: tuple[str, str]
    school: tuple[str, str]
    diploma_no: str
    diploma_year: int
    cert_no: str
    cert_date: dt.date


@dataclass(frozen=True)
class Equipment:
    name: tuple[str, str]
    model: str
    serial: str
    year: int
    qty: int


@dataclass(frozen=True)
class Case:
    """The facts behind one package; documents are views of these facts."""

    kind: RequestKind
    applicant_type: ApplicantType
    language: Language
    org_name: str | None  # legal entity name without the legal form
    head: Person  # the individual applicant, or the entity's director
    iin_bin: str  # as printed on the application (may carry a bad check digit)
    address: Address
    places: tuple[Address, ...]
    subtypes: tuple[str, ...]
    staff: tuple[Staff, ...]
    equipment: tuple[Equipment, ...]
    phone: str
    email: str
    submitted: dt.date
    representative: Person | None
    proxy_no: str
    proxy_date: dt.date
    fee_amount: int
    payer_name: str
    payer_id: str
    payment_date: dt.date
    payment_no: str
    bank: tuple[str, str]
    gateway_ref: str | None  # set when the fee went through the e-government gateway
    license_number: str | None
    license_date: dt.date | None
    reissue_ground: str | None  # "name_change" | "address_change"
    old_name: str | None
    old_address: Address | None
    premises_owned: bool
    premises_area: str
    cadastral: str
    lessor: str
    lessor_id: str
    lease_start: dt.date
    sanitary_no: str
    sanitary_date: dt.date
    duplicate_reason: tuple[str, str]

    def applicant_name(self, lang: Language) -> str:
        if self.org_name is None:
            return self.head.full
        form = pick(data.LEGAL_FORM, lang)
        return f"«{self.org_name}» {form}" if lang == "kk" else f"{form} «{self.org_name}»"

    @property
    def is_entity(self) -> bool:
        return self.applicant_type is ApplicantType.LEGAL_ENTITY

    def id_label(self, lang: Language) -> str:
        if self.is_entity:
            return "БСН" if lang == "kk" else "БИН"
        return "ЖСН" if lang == "kk" else "ИИН"


DocBuilder = Callable[[Case, Language, random.Random, int], DocContent]


# ----------------------------------------------------------------- application


def application_title(case: Case, lang: Language, long_form: bool) -> tuple[str, str | None]:
    """(title, subtitle) of the application; ``long_form`` names the applicant type in it."""
    ent = case.is_entity
    if lang == "kk":
        who = "Заңды тұлғаның" if ent else "Жеке тұлғаның"
        core = {
            RequestKind.ISSUE: "лицензия алуға арналған өтініш",
            RequestKind.REISSUE: "лицензияны қайта ресімдеуге арналған өтініш",
            RequestKind.DUPLICATE: "лицензияның телнұсқасын алуға арналған өтініш",
        }[case.kind]
        if long_form:
            return f"{who} {core}і", None
        return core[0].upper() + core[1:], "(заңды тұлға үшін)" if ent else "(жеке тұлға үшін)"
    who = "юридического лица" if ent else "физического лица"
    if long_form:
        core = {
            RequestKind.ISSUE: "для получения лицензии",
            RequestKind.REISSUE: "для переоформления лицензии",
            RequestKind.DUPLICATE: "для получения дубликата лицензии",
        }[case.kind]
        return f"Заявление {who} {core}", None
    core = {
        RequestKind.ISSUE: "на получение лицензии",
        RequestKind.REISSUE: "на переоформление лицензии",
        RequestKind.DUPLICATE: "на получение дубликата лицензии",
    }[case.kind]
    return f"Заявление {core}", f"(для {who})"


def application_doc(case: Case, lang: Language, rng: random.Random, _: int) -> DocContent:
    kk = lang == "kk"
    title, subtitle = application_title(case, lang, rng.random() < 0.5)
    header = (
        (
            f"{pick(data.SERVICE, lang)} мемлекеттік көрсетілетін қызмет стандартына 1-қосымша"
            if kk
            else f"Приложение 1 к стандарту государственной услуги {pick(data.SERVICE, lang)}"
        ),
        pick(data.PROVIDER_DATIVE, lang),
    )
    items: list[tuple[str, str]] = [
        ("Өтініш беруші" if kk else "Заявитель", case.applicant_name(lang)),
        (case.id_label(lang), case.iin_bin),
    ]
    if case.is_entity:
        items.append(("Басшы" if kk else "Руководитель", case.head.full))
        items.append(("Заңды мекенжайы" if kk else "Юридический адрес", case.address.text(lang)))
    else:
        items.append(
            ("Тұрғылықты мекенжайы" if kk else "Адрес проживания", case.address.text(lang))
        )
    items += [("Телефон", case.phone), ("Электрондық пошта" if kk else "Эл. почта", case.email)]
    items.append(("Қызмет түрі" if kk else "Вид деятельности", pick(data.ACTIVITY, lang)))
    if case.kind is RequestKind.ISSUE:
        subs = "; ".join(pick(data.SUBTYPES[s], lang) for s in case.subtypes)
        items.append(("Кіші түрлері" if kk else "Подвиды", subs))
        places = "; ".join(p.text(lang) for p in case.places)
        items.append(
            ("Қызметті жүзеге асыру орны" if kk else "Место осуществления деятельности", places)
        )
    if case.license_number and case.license_date:
        items.append(("Лицензия нөмірі" if kk else "Номер лицензии", case.license_number))
        items.append(
            (
                "Лицензия берілген күн" if kk else "Дата выдачи лицензии",
                fmt_date(case.license_date, lang),
            )
        )
    if case.kind is RequestKind.REISSUE:
        if case.reissue_ground == "name_change":
            ground = (
                "атауының (тегінің, атының) өзгеруі"
                if kk
                else "изменение наименования (фамилии, имени)"
            )
            items.append(("Бұрынғы атауы" if kk else "Прежнее наименование", case.old_name or ""))
        else:
            ground = (
                "қызмет объектісі мекенжайының өзгеруі"
                if kk
                else "изменение адреса объекта деятельности"
            )
            if case.old_address:
                items.append(
                    ("Бұрынғы мекенжайы" if kk else "Прежний адрес", case.old_address.text(lang))
                )
        items.append(("Қайта ресімдеу негізі" if kk else "Основание переоформления", ground))
    if case.kind is RequestKind.DUPLICATE:
        items.append(
            (
                "Телнұсқа алу себебі" if kk else "Причина получения дубликата",
                pick(case.duplicate_reason, lang),
            )
        )
    rep = case.representative
    if rep is not None:
        items += [
            ("Өкіл" if kk else "Представитель", rep.full),
            ("Өкілдің ЖСН" if kk else "ИИН представителя", rep.iin),
            (
                "Сенімхат" if kk else "Доверенность",
                f"№ {case.proxy_no}, {fmt_date(case.proxy_date, lang)}",
            ),
        ]
    ask = {
        RequestKind.ISSUE: (
            "Медициналық қызметпен айналысуға лицензия беруіңізді сұраймын.",
            "Прошу выдать лицензию на занятие медицинской деятельностью.",
        ),
        RequestKind.REISSUE: (
            "Жоғарыда көрсетілген негіз бойынша лицензияны қайта ресімдеуіңізді сұраймын.",
            "Прошу переоформить лицензию по указанному выше основанию.",
        ),
        RequestKind.DUPLICATE: (
            "Лицензияның телнұсқасын беруіңізді сұраймын.",
            "Прошу выдать дубликат лицензии.",
        ),
    }[case.kind]
    consent = (
        "Ақпараттық жүйелердегі заңмен қорғалатын құпияны құрайтын мәліметтерді пайдалануға "
        "келісемін. Ұсынылған құжаттардың дұрыстығына жауап беремін.",
        "Согласен на использование сведений, составляющих охраняемую законом тайну, "
        "содержащихся в информационных системах. За достоверность представленных документов "
        "несу ответственность.",
    )
    role = (
        ("Басшы" if kk else "Руководитель")
        if case.is_entity
        else ("Өтініш беруші" if kk else "Заявитель")
    )
    signer = case.head.short
    if rep is not None:
        role, signer = ("Өкіл" if kk else "Представитель"), rep.short
    date = fmt_date(case.submitted, lang, long=True)
    blocks: list[Block] = [
        Para(pick(ask, lang)),
        Fields(tuple(items)),
        Para(pick(consent, lang)),
        Signatures(((role, signer),)),
        Para(
            f"{'Күні' if kk else 'Дата'}: {date}"
            + ("    М.О." if kk and case.is_entity else "")
            + ("    М.П." if not kk and case.is_entity else "")
        ),
    ]
    return DocContent(title=title, subtitle=subtitle, header=header, blocks=tuple(blocks))


# ----------------------------------------------------------------- fee payment


def fee_payment_doc(case: Case, lang: Language, rng: random.Random, _: int) -> DocContent:
    kk = lang == "kk"
    variant = rng.randrange(3)
    purpose = (
        "Медициналық қызметпен айналысу құқығы үшін лицензиялық алым"
        if kk
        else "Лицензионный сбор за право занятия медицинской деятельностью"
    )
    payer_label = "ЖСН/БСН" if kk else "ИИН/БИН"
    common: list[tuple[str, str]] = [
        ("Төлеуші" if kk else "Плательщик", case.payer_name),
        (f"Төлеушінің {payer_label}" if kk else f"{payer_label} плательщика", case.payer_id),
        ("Алушы" if kk else "Получатель", pick(data.TAX_OFFICE, lang)),
        ("БКК" if kk else "КБК", KBK),
        ("Төлем мақсаты" if kk else "Назначение платежа", purpose),
        ("Сомасы" if kk else "Сумма", fmt_money(case.fee_amount, lang)),
        ("Төлем күні" if kk else "Дата платежа", fmt_date(case.payment_date, lang)),
    ]
    bank = pick(case.bank, lang)
    if case.gateway_ref:
        # The e-government payment gateway's own print-out (ЭҮТШ / ПШЭП).
        return DocContent(
            title=(
                "Электрондық үкіметтің төлем шлюзі арқылы төлем туралы түбіртек"
                if kk
                else "Квитанция об оплате через платежный шлюз электронного правительства"
            ),
            header=("egov.kz",),
            blocks=(
                Fields(
                    (
                        (
                            "Төлем сәйкестендіргіші" if kk else "Идентификатор платежа",
                            case.gateway_ref,
                        ),
                        *common,
                    )
                ),
            ),
        )
    if variant == 0:
        return DocContent(
            title="Төлем туралы түбіртек" if kk else "Квитанция об оплате",
            header=(bank,),
            number_line=f"№ {case.payment_no}",
            blocks=(
                Fields(tuple(common)),
                Signatures((("Кассир", ""),)),
                Para("Төленді" if kk else "Оплачено"),
            ),
        )
    if variant == 1:
        table = Table(
            (
                "Сомасы" if kk else "Сумма",
                "БКК" if kk else "КБК",
                "ТМК" if kk else "КНП",
                "Төлем мақсаты" if kk else "Назначение платежа",
            ),
            ((fmt_money(case.fee_amount, lang), KBK, "911", purpose),),
            (2, 1, 1, 4),
        )
        return DocContent(
            title="Төлем тапсырмасы" if kk else "Платежное поручение",
            number_line=f"№ {case.payment_no}  {fmt_date(case.payment_date, lang)}",
            header=(bank,),
            blocks=(
                Fields(tuple(common[:3])),
                table,
                Para(
                    ("Банк белгісі: орындалды " if kk else "Отметка банка: исполнено ")
                    + fmt_date(case.payment_date, lang)
                ),
            ),
        )
    # A print-out of an online banking payment.
    return DocContent(
        title="Электрондық төлем туралы түбіртек" if kk else "Электронная квитанция об оплате",
        header=(bank, "Онлайн-банкинг" if kk else "Интернет-банкинг"),
        blocks=(
            Fields(
                (
                    ("Транзакция №", case.payment_no),
                    ("Мәртебесі" if kk else "Статус", "Төленді" if kk else "Оплачено"),
                    *common,
                )
            ),
        ),
    )


# --------------------------------------------------------- qualification form


def qualification_form_doc(case: Case, lang: Language, rng: random.Random, _: int) -> DocContent:
    kk = lang == "kk"
    title = (
        "Біліктілік талаптарына сәйкестігі туралы мәліметтер нысаны"
        if kk
        else "Форма сведений о соответствии квалификационным требованиям"
    )
    header = (
        "Медициналық қызметке қойылатын біліктілік талаптарына қосымша"
        if kk
        else "Приложение к квалификационным требованиям к медицинской деятельности",
    )
    blocks: list[Block] = [
        Fields(
            (
                ("Лицензиат (өтініш беруші)" if kk else "Заявитель", case.applicant_name(lang)),
                (case.id_label(lang), case.iin_bin),
            )
        )
    ]
    staff_rows = tuple(
        (
            str(i + 1),
            s.person.full,
            pick(s.position[:2], lang),
            s.cert_no,
            fmt_date(s.cert_date, lang),
        )
        for i, s in enumerate(case.staff)
    )
    eq_rows = tuple(
        (str(i + 1), pick(e.name, lang), e.model, e.serial, str(e.year), str(e.qty))
        for i, e in enumerate(case.equipment)
    )
    place = case.places[0]
    basis = (
        ("меншік құқығы" if kk else "право собственности")
        if case.premises_owned
        else (
            f"жалға алу шарты, {fmt_date(case.lease_start, lang)}"
            if kk
            else f"договор аренды от {fmt_date(case.lease_start, lang)}"
        )
    )
    for n, code in enumerate(case.subtypes):
        if n:
            blocks.append(PageBreak())
        blocks.append(
            Heading(("Кіші түрі: " if kk else "Подвид: ") + pick(data.SUBTYPES[code], lang))
        )
        blocks.append(Heading("1. Медицина қызметкерлері" if kk else "1. Медицинский персонал"))
        blocks.append(
            Table(
                (
                    "№",
                    "Т.А.Ә." if kk else "Ф.И.О.",
                    "Лауазымы" if kk else "Должность",
                    "Маман сертификатының №" if kk else "№ сертификата специалиста",
                    "Берілген күні" if kk else "Дата выдачи",
                ),
                staff_rows,
                (0.5, 3, 2.4, 2, 1.4),
            )
        )
        blocks.append(Heading("2. Үй-жай" if kk else "2. Помещение"))
        blocks.append(
            Fields(
                (
                    ("Мекенжайы" if kk else "Адрес", place.text(lang)),
                    ("Жалпы ауданы" if kk else "Общая площадь", f"{case.premises_area} м²"),
                    ("Пайдалану негізі" if kk else "Основание пользования", basis),
                )
            )
        )
        blocks.append(Heading("3. Медициналық жабдықтар" if kk else "3. Медицинское оборудование"))
        blocks.append(
            Table(
                (
                    "№",
                    "Атауы" if kk else "Наименование",
                    "Моделі" if kk else "Модель",
                    "Зауыттық №" if kk else "Заводской №",
                    "Жылы" if kk else "Год",
                    "Саны" if kk else "Кол-во",
                ),
                eq_rows,
                (0.5, 3.6, 2.2, 1.6, 0.9, 0.9),
            )
        )
    # The attestation always sits on its own page: the form is multi-page in life.
    blocks.append(PageBreak())
    blocks.append(
        Para(
            "Ұсынылған мәліметтердің дұрыстығын растаймын."
            if kk
            else "Достоверность представленных сведений подтверждаю."
        )
    )
    blocks.append(Signatures((("Басшы" if kk else "Руководитель", case.head.short),)))
    blocks.append(Para(fmt_date(case.submitted, lang, long=rng.random() < 0.5)))
    return DocContent(title=title, header=header, blocks=tuple(blocks))


# ------------------------------------------------------------- staff documents


def diploma_doc(case: Case, lang: Language, rng: random.Random, index: int) -> DocContent:
    kk = lang == "kk"
    s = case.staff[index]
    higher = s.position[2]
    if higher:
        title = "Жоғары білім туралы диплом" if kk else "Диплом о высшем образовании"
        qual = "Дәрігер" if kk else "Врач"
    else:
        title = (
            "Техникалық және кәсіптік білім туралы диплом"
            if kk
            else "Диплом о техническом и профессиональном образовании"
        )
        qual = pick(s.position[:2], lang)
    body = (
        f"Осы диплом {s.person.full} {s.diploma_year} жылы {pick(s.school, lang)} "
        f"«{pick(s.specialty, lang)}» мамандығы бойынша толық курсын бітіргенін және оған "
        f"«{qual}» біліктілігі берілгенін растайды."
        if kk
        else f"Настоящий диплом выдан {s.person.full} в том, что в {s.diploma_year} году "
        f"он(а) окончил(а) {pick(s.school, lang)} по специальности "
        f"«{pick(s.specialty, lang)}» и ему (ей) присвоена квалификация «{qual}»."
    )
    return DocContent(
        title=title,
        header=("Қазақстан Республикасы" if kk else "Республика Казахстан",),
        number_line=s.diploma_no,
        blocks=(
            Para(body),
            Fields(
                (
                    (
                        "Тіркеу нөмірі" if kk else "Регистрационный номер",
                        str(rng.randrange(1000, 9999)),
                    ),
                    (
                        "Берілген күні" if kk else "Дата выдачи",
                        fmt_date(dt.date(s.diploma_year, 6, rng.randrange(20, 30)), lang),
                    ),
                )
            ),
            Signatures((("Ректор" if higher else "Директор", ""),)),
        ),
    )


def specialist_certificate_doc(
    case: Case, lang: Language, rng: random.Random, index: int
) -> DocContent:
    kk = lang == "kk"
    s = case.staff[index]
    long_title = rng.random() < 0.5
    if kk:
        title = (
            "Денсаулық сақтау саласындағы маман сертификаты" if long_title else "Маман сертификаты"
        )
    else:
        title = (
            "Сертификат специалиста в области здравоохранения"
            if long_title
            else "Сертификат специалиста"
        )
    valid = add_years(s.cert_date, 5)
    return DocContent(
        title=title,
        header=(pick(data.CERT_BODY, lang),),
        number_line=f"№ {s.cert_no}",
        blocks=(
            Fields(
                (
                    ("Т.А.Ә." if kk else "Ф.И.О.", s.person.full),
                    ("ЖСН" if kk else "ИИН", s.person.iin),
                    ("Мамандығы" if kk else "Специальность", pick(s.position[:2], lang)),
                    ("Берілген күні" if kk else "Дата выдачи", fmt_date(s.cert_date, lang)),
                    ("Жарамдылық мерзімі" if kk else "Срок действия", fmt_date(valid, lang)),
                )
            ),
            Signatures((("Төраға" if kk else "Председатель", ""),)),
        ),
    )


# -------------------------------------------------------------------- premises


def premises_title_doc(case: Case, lang: Language, rng: random.Random, _: int) -> DocContent:
    kk = lang == "kk"
    place = case.places[0].text(lang)
    owner = case.applicant_name(lang)
    if case.premises_owned:
        return DocContent(
            title=(
                "Жылжымайтын мүлікке тіркелген құқықтар туралы анықтама"
                if kk
                else "Справка о зарегистрированных правах на недвижимое имущество"
            ),
            header=(
                "«Азаматтарға арналған үкімет» мемлекеттік корпорациясы"
                if kk
                else "Государственная корпорация «Правительство для граждан»",
            ),
            number_line=f"№ {rng.randrange(10**9, 10**10)}",
            blocks=(
                Fields(
                    (
                        ("Кадастрлық нөмірі" if kk else "Кадастровый номер", case.cadastral),
                        ("Мекенжайы" if kk else "Адрес", place),
                        (
                            "Объектінің түрі" if kk else "Вид объекта",
                            "тұрғын емес үй-жай" if kk else "нежилое помещение",
                        ),
                        ("Жалпы ауданы" if kk else "Общая площадь", f"{case.premises_area} м²"),
                        ("Құқық иесі" if kk else "Правообладатель", owner),
                        (case.id_label(lang), case.iin_bin),
                        (
                            "Құқық түрі" if kk else "Вид права",
                            "Меншік құқығы" if kk else "Право собственности",
                        ),
                        (
                            "Тіркелген күні" if kk else "Дата регистрации",
                            fmt_date(case.lease_start, lang),
                        ),
                    )
                ),
            ),
        )
    start = case.lease_start
    end = add_years(start, 3)
    city = pick(case.places[0].city, lang)
    if kk:
        clauses = [
            (
                "1. Шарттың мәні",
                f"Жалға беруші {place} мекенжайы бойынша орналасқан жалпы "
                f"ауданы {case.premises_area} м² тұрғын емес үй-жайды медициналық қызмет үшін "
                "жалға алушының уақытша иеленуіне және пайдалануына береді.",
            ),
            (
                "2. Шарттың мерзімі",
                f"Шарт {fmt_date(start, lang)} бастап {fmt_date(end, lang)} дейін жасалды.",
            ),
            (
                "3. Жалдау ақысы",
                "Айлық жалдау ақысы тараптардың келісімімен белгіленеді және "
                "ай сайын келесі айдың 10-на дейін төленеді.",
            ),
            (
                "4. Тараптардың міндеттері",
                "Жалға беруші үй-жайды санитариялық нормаларға "
                "сәйкес жай-күйде береді. Жалға алушы үй-жайды мақсатына сай пайдаланады, "
                "коммуналдық төлемдерді уақтылы төлейді және өрт қауіпсіздігі талаптарын "
                "сақтайды.",
            ),
            (
                "5. Жауапкершілік",
                "Міндеттемелерді орындамағаны үшін тараптар Қазақстан "
                "Республикасының заңнамасына сәйкес жауапты болады.",
            ),
            (
                "6. Форс-мажор",
                "Еңсерілмейтін күш жағдайлары туындаған кезде тараптар "
                "жауапкершіліктен босатылады.",
            ),
            (
                "7. Дауларды шешу",
                "Даулар келіссөздер арқылы, келісімге келмеген жағдайда сот тәртібімен шешіледі.",
            ),
            (
                "8. Қорытынды ережелер",
                "Шарт бірдей заңды күші бар екі данада қазақ және орыс тілдерінде жасалды.",
            ),
        ]
    else:
        clauses = [
            (
                "1. Предмет договора",
                f"Арендодатель передает арендатору во временное владение и "
                f"пользование нежилое помещение общей площадью {case.premises_area} м², "
                f"расположенное по адресу: {place}, для осуществления медицинской деятельности.",
            ),
            (
                "2. Срок договора",
                f"Договор заключен на срок с {fmt_date(start, lang)} по {fmt_date(end, lang)}.",
            ),
            (
                "3. Арендная плата",
                "Ежемесячная арендная плата устанавливается по соглашению "
                "сторон и вносится до 10 числа следующего месяца.",
            ),
            (
                "4. Обязанности сторон",
                "Арендодатель передает помещение в состоянии, "
                "соответствующем санитарным нормам. Арендатор использует помещение по назначению, "
                "своевременно оплачивает коммунальные услуги и соблюдает требования пожарной "
                "безопасности.",
            ),
            (
                "5. Ответственность сторон",
                "За неисполнение обязательств стороны несут "
                "ответственность в соответствии с законодательством Республики Казахстан.",
            ),
            (
                "6. Форс-мажор",
                "Стороны освобождаются от ответственности при наступлении "
                "обстоятельств непреодолимой силы.",
            ),
            (
                "7. Разрешение споров",
                "Споры разрешаются путем переговоров, а при недостижении "
                "согласия — в судебном порядке.",
            ),
            (
                "8. Заключительные положения",
                "Договор составлен в двух экземплярах на "
                "казахском и русском языках, имеющих одинаковую юридическую силу.",
            ),
        ]
    blocks: list[Block] = [
        Para(
            f"{city}, {fmt_date(start, lang, long=True)}. "
            + (
                f"Бұдан әрі «Жалға беруші» деп аталатын {case.lessor} (ЖСН/БСН {case.lessor_id}) "
                f"бір тараптан және бұдан әрі «Жалға алушы» деп аталатын {owner} екінші тараптан "
                "төмендегілер туралы осы шартты жасасты:"
                if kk
                else f"{case.lessor} (ИИН/БИН {case.lessor_id}), именуемый в дальнейшем «Арендодатель», "
                f"с одной стороны, и {owner}, именуемое в дальнейшем «Арендатор», с другой стороны, "
                "заключили настоящий договор о нижеследующем:"
            )
        )
    ]
    for head, text in clauses:
        blocks += [Heading(head), Para(text)]
    # Requisites on their own page, as lease contracts usually end.
    blocks.append(PageBreak())
    blocks.append(Heading("9. Тараптардың деректемелері" if kk else "9. Реквизиты сторон"))
    blocks.append(
        Fields(
            (
                ("Жалға беруші" if kk else "Арендодатель", f"{case.lessor}, {case.lessor_id}"),
                ("Жалға алушы" if kk else "Арендатор", f"{owner}, {case.iin_bin}"),
            )
        )
    )
    blocks.append(
        Signatures(
            (
                ("Жалға беруші" if kk else "Арендодатель", ""),
                ("Жалға алушы" if kk else "Арендатор", case.head.short),
            )
        )
    )
    return DocContent(
        title="Тұрғын емес үй-жайды жалға алу шарты" if kk else "Договор аренды нежилого помещения",
        number_line=f"№ {rng.randrange(1, 300)}",
        blocks=tuple(blocks),
        footer="Шарт" if kk else "Договор",
    )


def equipment_list_doc(case: Case, lang: Language, rng: random.Random, _: int) -> DocContent:
    kk = lang == "kk"
    rows = tuple(
        (str(i + 1), pick(e.name, lang), e.model, e.serial, str(e.year), str(e.qty))
        for i, e in enumerate(case.equipment)
    )
    return DocContent(
        title=(
            "Медициналық техника мен медициналық бұйымдардың тізбесі"
            if kk
            else "Перечень медицинской техники и изделий медицинского назначения"
        ),
        header=(case.applicant_name(lang),),
        blocks=(
            Fields((("Мекенжайы" if kk else "Адрес", case.places[0].text(lang)),)),
            Table(
                (
                    "№",
                    "Атауы" if kk else "Наименование",
                    "Моделі" if kk else "Модель",
                    "Зауыттық №" if kk else "Заводской №",
                    "Жылы" if kk else "Год",
                    "Саны" if kk else "Кол-во",
                ),
                rows,
                (0.5, 3.6, 2.2, 1.6, 0.9, 0.9),
            ),
            Signatures((("Басшы" if kk else "Руководитель", case.head.short),)),
            Para(fmt_date(case.submitted - dt.timedelta(days=rng.randrange(1, 20)), lang)),
        ),
    )


def sanitary_conclusion_doc(case: Case, lang: Language, rng: random.Random, _: int) -> DocContent:
    kk = lang == "kk"
    verdict = (
        "санитариялық-эпидемиологиялық талаптарға СӘЙКЕС КЕЛЕДІ"
        if kk
        else "СООТВЕТСТВУЕТ санитарно-эпидемиологическим требованиям"
    )
    return DocContent(
        title="Санитариялық-эпидемиологиялық қорытынды"
        if kk
        else "Санитарно-эпидемиологическое заключение",
        header=(pick(data.SANITARY_BODY, lang),),
        number_line=f"№ {case.sanitary_no} {fmt_date(case.sanitary_date, lang)}",
        blocks=(
            Fields(
                (
                    ("Объект", "медициналық ұйым" if kk else "медицинская организация"),
                    ("Мекенжайы" if kk else "Адрес", case.places[0].text(lang)),
                    ("Өтініш беруші" if kk else "Заявитель", case.applicant_name(lang)),
                    (case.id_label(lang), case.iin_bin),
                )
            ),
            Para(f"Объект {verdict}."),
            Signatures(
                (
                    (
                        "Бас мемлекеттік санитариялық дәрігер"
                        if kk
                        else "Главный государственный санитарный врач",
                        f"{rng.choice(data.NOTARIES)}",
                    ),
                )
            ),
        ),
    )


def proxy_doc(case: Case, lang: Language, rng: random.Random, _: int) -> DocContent:
    kk = lang == "kk"
    rep = case.representative
    assert rep is not None, "a proxy needs a representative"
    principal = case.applicant_name(lang)
    until = add_years(case.proxy_date, 1)
    notary = rng.choice(data.NOTARIES)
    city = pick(case.address.city, lang)
    text = (
        f"{principal} ({case.id_label(lang)} {case.iin_bin}) осы сенімхатпен {rep.full}-ға "
        f"(ЖСН {rep.iin}) {pick(data.PROVIDER_DATIVE, lang).lower()} және «Азаматтарға "
        "арналған үкімет» мемлекеттік корпорациясына медициналық қызметке лицензия алу, "
        "қайта ресімдеу және телнұсқасын алу мәселелері бойынша өтініш беруге, құжаттарға "
        "қол қоюға және нәтижесін алуға сенім білдіреді."
        if kk
        else f"{principal} ({case.id_label(lang)} {case.iin_bin}) настоящей доверенностью "
        f"уполномочивает {rep.full} (ИИН {rep.iin}) подавать заявления, подписывать документы "
        "и получать результат по вопросам получения, переоформления и получения дубликата "
        "лицензии на медицинскую деятельность в Управлении здравоохранения "
        "Западно-Казахстанской области и Государственной корпорации "
        "«Правительство для граждан»."
    )
    notarial = (
        f"Сенімхатты нотариус {notary} куәландырды. Тізілімде № {rng.randrange(100, 9999)} "
        "болып тіркелді."
        if kk
        else f"Доверенность удостоверена нотариусом {notary}. Зарегистрировано в реестре за "
        f"№ {rng.randrange(100, 9999)}."
    )
    return DocContent(
        title="Сенімхат" if kk else "Доверенность",
        number_line=f"№ {case.proxy_no}",
        blocks=(
            Para(f"{city}, {fmt_date(case.proxy_date, lang, long=True)}"),
            Para(text),
            Para(
                f"Сенімхат {fmt_date(until, lang)} дейін жарамды."
                if kk
                else f"Доверенность действительна до {fmt_date(until, lang)}."
            ),
            Signatures(
                (("Сенім білдіруші" if kk else "Доверитель", case.head.short), ("Нотариус", notary))
            ),
            Para(notarial),
        ),
    )


def change_evidence_doc(case: Case, lang: Language, rng: random.Random, _: int) -> DocContent:
    kk = lang == "kk"
    when = case.submitted - dt.timedelta(days=rng.randrange(10, 60))
    if case.reissue_ground == "name_change" and not case.is_entity:
        return DocContent(
            title=(
                "Тегін, атын, әкесінің атын ауыстыру туралы куәлік"
                if kk
                else "Свидетельство о перемене имени"
            ),
            header=(
                "АХАЖ тіркеу органы" if kk else "Орган регистрации актов гражданского состояния",
            ),
            number_line=f"№ {rng.randrange(100000, 999999)}",
            blocks=(
                Fields(
                    (
                        ("Бұрынғы Т.А.Ә." if kk else "Прежнее Ф.И.О.", case.old_name or ""),
                        ("Жаңа Т.А.Ә." if kk else "Новое Ф.И.О.", case.head.full),
                        ("ЖСН" if kk else "ИИН", case.iin_bin),
                        ("Тіркелген күні" if kk else "Дата регистрации", fmt_date(when, lang)),
                    )
                ),
            ),
        )
    if case.reissue_ground == "name_change":
        return DocContent(
            title=(
                "Заңды тұлғаны мемлекеттік қайта тіркеу туралы анықтама"
                if kk
                else "Справка о государственной перерегистрации юридического лица"
            ),
            header=(
                "«Азаматтарға арналған үкімет» мемлекеттік корпорациясы"
                if kk
                else "Государственная корпорация «Правительство для граждан»",
            ),
            blocks=(
                Fields(
                    (
                        ("БСН" if kk else "БИН", case.iin_bin),
                        ("Бұрынғы атауы" if kk else "Прежнее наименование", case.old_name or ""),
                        ("Жаңа атауы" if kk else "Новое наименование", case.applicant_name(lang)),
                        (
                            "Қайта тіркелген күні" if kk else "Дата перерегистрации",
                            fmt_date(when, lang),
                        ),
                    )
                ),
            ),
        )
    old = case.old_address.text(lang) if case.old_address else ""
    return DocContent(
        title="Мекенжайдың өзгергені туралы анықтама" if kk else "Справка об изменении адреса",
        header=("Мекенжай тіркелімі" if kk else "Адресный регистр",),
        number_line=f"№ {rng.randrange(10**7, 10**8)}",
        blocks=(
            Fields(
                (
                    ("Бұрынғы мекенжайы" if kk else "Прежний адрес", old),
                    ("Жаңа мекенжайы" if kk else "Новый адрес", case.places[0].text(lang)),
                    ("Өзгерген күні" if kk else "Дата изменения", fmt_date(when, lang)),
                )
            ),
        ),
    )


BUILDERS: dict[str, DocBuilder] = {
    "application": application_doc,
    "fee_payment": fee_payment_doc,
    "qualification_form": qualification_form_doc,
    "diploma": diploma_doc,
    "specialist_certificate": specialist_certificate_doc,
    "premises_title": premises_title_doc,
    "equipment_list": equipment_list_doc,
    "sanitary_conclusion": sanitary_conclusion_doc,
    "proxy": proxy_doc,
    "change_evidence": change_evidence_doc,
}
DOCUMENT_KINDS: tuple[str, ...] = tuple(BUILDERS)
