"""Every word the reports and the bot show, in Russian (the default) and English, and number formats.

One module so a translation is a one-file change and the two languages cannot drift apart:
`MESSAGES` must have the same keys in both languages (checked at import). A KPI's label and how
its value is written (money, share, seconds...) come from the KPI registry (pantao.kpis, the
marts' yml), not from here.
Russian numbers use a narrow no-break space (U+202F) between thousands, so «1 234 567» never
wraps on a phone, and a decimal comma; money is suffixed with «₽».
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from pantao.kpis import Kpi, load_kpis

THOUSANDS_SEP = {"ru": "\u202f", "en": ","}
DECIMAL_SEP = {"ru": ",", "en": "."}

WEEKDAYS = {
    "ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}

MESSAGES: dict[str, dict[str, str]] = {
    "ru": {
        "summary_title": "Итоги дня {date} ({weekday})",
        "csat": "Удовлетворённость (CSAT)",
        "operator_load": "Загрузка операторов",
        "vs_last_week": "к {weekday} {date}",
        "no_comparison": "нет данных за прошлую неделю",
        "absolute_change": "{change} с {previous}",
        "of_customers": "из {total} клиентов",
        "csat_value": "{mean} из 5, {share} оценок 4–5 ({count})",
        "load_value": "занятость {occupancy}, {per_hour} звонка на оператора в час",
        "missed_value": "{count} из {offered} ({rate})",
        "no_value": "—",
        "detailed_report": "Подробный отчёт",
        "no_data": "Нет данных за {date}: витрины за этот день пусты. Проверьте, что конвейер отработал.",
        "telegram_not_configured": "Telegram не настроен (TELEGRAM_BOT_TOKEN): сводка выведена здесь, отчёт сохранён в файлы.",
        # detailed report / HTML
        "report_title": "Отчёт по сети за {date}",
        "report_version": "версия {version}, сформирован {generated_at}",
        "data_freshness": "Данные по состоянию на",
        "latest_order": "последний заказ",
        "latest_call": "последний звонок",
        "kpi_section": "Ключевые показатели",
        "charts_section": "По часам",
        "chart_orders_by_hour": "Заказы по часам",
        "chart_calls_by_hour": "Звонки по часам: отвеченные и неотвеченные",
        "chart_asa_by_hour": "Среднее ожидание ответа по часам, с",
        "chart_csat": "Оценки клиентов",
        "answered": "Отвеченные",
        "unanswered": "Неотвеченные",
        "hour": "Час",
        "seconds": "с",
        "ratings": "Оценки",
        "operators_section": "Операторы",
        "unknown_operators": "Нет в справочнике FreePBX: {names}. Их звонки учтены; добавьте их в FreePBX, "
                             "чтобы видеть имена.",
        "restaurants_section": "Рестораны",
        "csat_section": "Удовлетворённость клиентов",
        "change": "Изменение",
        "same_weekday_last_week": "Тот же день прошлой недели",
        "operator": "Оператор",
        "extension": "Внутр. номер",
        "hours_unit": "ч",
        "restaurant": "Ресторан",
        "restaurant_n": "Ресторан {id}",
        "top_restaurants": "Лучшие рестораны по выручке",
        "score": "Оценка",
        "count": "Количество",
        # bot
        "help": (
            "Я отвечаю на запросы по отчётам сети.\n"
            "/report [дата] — подробный отчёт за день\n"
            "/operators [дата] — показатели операторов\n"
            "/calls [дата] — звонки контакт-центра\n"
            "/restaurant &lt;номер&gt; [дата] — показатели ресторана\n"
            "/mystats [период] — ваша статистика оператора: today, yesterday, week, month "
            "или ГГГГ-ММ-ДД..ГГГГ-ММ-ДД\n"
            "Дата — ГГГГ-ММ-ДД, по умолчанию вчера."
        ),
        "refusal": (
            "Извините, у вас нет доступа к отчётам. Обратитесь к администратору и сообщите ваш "
            "Telegram ID: {telegram_id}."
        ),
        "role_refusal": "Эта команда доступна руководителям и аналитикам. Ваша статистика: /mystats",
        "restaurant_refusal": "Ресторан {id} не входит в ваши рестораны ({allowed}).",
        "not_operator": "Ваша учётная запись не связана с внутренним номером оператора. Обратитесь к администратору.",
        "bad_date": "Не понял дату «{value}». Укажите дату как ГГГГ-ММ-ДД, например {example}.",
        "bad_period": (
            "Не понял период «{value}». Укажите today, yesterday, week, month или диапазон "
            "ГГГГ-ММ-ДД..ГГГГ-ММ-ДД, например {example}."
        ),
        "bad_restaurant": "Укажите номер ресторана: /restaurant 3 [ГГГГ-ММ-ДД].",
        "unknown_restaurant": "Нет данных по ресторану {id} за {date}.",
        "operators_title": "Операторы за {date}",
        "calls_title": "Звонки за {date}",
        "restaurant_title": "Ресторан {id} за {date}",
        "mystats_title": "Ваша статистика ({extension}) за {period}",
        "mystats_empty": "За {period} у вас нет смен и звонков.",
        "peak_hour": "Пиковый час",
        "text_hint": "Я понимаю только команды. Список команд: /help",
        "internal_error": "Не удалось получить данные. Попробуйте позже.",
        # bot: where it answers and what it reads (notifications/bot_guard.py)
        "group_help": (
            "В этой группе я присылаю только сводку по сети: /report [дата]. Подробный отчёт и "
            "остальные команды — в личном чате со мной."
        ),
        "group_private_only": "В группе я показываю только сводку по сети (/report). Это — в личном чате со мной.",
        "chat_closed": "В этом чате я не отвечаю. Напишите мне в личные сообщения.",
        "too_long": "Слишком длинный запрос: не больше {limit} символов. Список команд: /help",
        "alert_delivery_failed": "Утренняя сводка за {date} не доставлена в чат {chat_id}: {error}",
    },
    "en": {
        "summary_title": "Daily summary {date} ({weekday})",
        "csat": "Customer satisfaction (CSAT)",
        "operator_load": "Operator load",
        "vs_last_week": "vs {weekday} {date}",
        "no_comparison": "no data for last week",
        "absolute_change": "{change} from {previous}",
        "of_customers": "of {total} customers",
        "csat_value": "{mean} of 5, {share} rated 4–5 ({count})",
        "load_value": "{occupancy} occupancy, {per_hour} calls per operator-hour",
        "missed_value": "{count} of {offered} ({rate})",
        "no_value": "—",
        "detailed_report": "Detailed report",
        "no_data": "No data for {date}: the marts are empty for that day. Check that the pipeline ran.",
        "telegram_not_configured": "Telegram is not configured (TELEGRAM_BOT_TOKEN): the summary is printed here and the report is saved to files.",
        "report_title": "Chain report for {date}",
        "report_version": "version {version}, generated {generated_at}",
        "data_freshness": "Data as of",
        "latest_order": "latest order",
        "latest_call": "latest call",
        "kpi_section": "Key figures",
        "charts_section": "By hour",
        "chart_orders_by_hour": "Orders by hour",
        "chart_calls_by_hour": "Calls by hour: answered and unanswered",
        "chart_asa_by_hour": "Average speed of answer by hour, s",
        "chart_csat": "Customer ratings",
        "answered": "Answered",
        "unanswered": "Unanswered",
        "hour": "Hour",
        "seconds": "s",
        "ratings": "Ratings",
        "operators_section": "Operators",
        "unknown_operators": "Not in the FreePBX directory: {names}. Their calls are counted; add them in "
                             "FreePBX to see their names.",
        "restaurants_section": "Restaurants",
        "csat_section": "Customer satisfaction",
        "change": "Change",
        "same_weekday_last_week": "Same weekday last week",
        "operator": "Operator",
        "extension": "Extension",
        "hours_unit": "h",
        "restaurant": "Restaurant",
        "restaurant_n": "Restaurant {id}",
        "top_restaurants": "Top restaurants by revenue",
        "score": "Score",
        "count": "Count",
        "help": (
            "I answer questions about the chain's reports.\n"
            "/report [date] — detailed report for a day\n"
            "/operators [date] — operator figures\n"
            "/calls [date] — contact-centre calls\n"
            "/restaurant &lt;id&gt; [date] — one restaurant's figures\n"
            "/mystats [period] — your own operator figures: today, yesterday, week, month "
            "or YYYY-MM-DD..YYYY-MM-DD\n"
            "Dates are YYYY-MM-DD; the default is yesterday."
        ),
        "refusal": (
            "Sorry, you do not have access to the reports. Ask the administrator to add you and "
            "give them your Telegram ID: {telegram_id}."
        ),
        "role_refusal": "This command is for managers and analysts. Your own figures: /mystats",
        "restaurant_refusal": "Restaurant {id} is not one of your restaurants ({allowed}).",
        "not_operator": "Your account is not linked to an operator extension. Ask the administrator.",
        "bad_date": "I could not read the date “{value}”. Use YYYY-MM-DD, for example {example}.",
        "bad_period": (
            "I could not read the period “{value}”. Use today, yesterday, week, month or a range "
            "YYYY-MM-DD..YYYY-MM-DD, for example {example}."
        ),
        "bad_restaurant": "Give the restaurant number: /restaurant 3 [YYYY-MM-DD].",
        "unknown_restaurant": "No data for restaurant {id} on {date}.",
        "operators_title": "Operators on {date}",
        "calls_title": "Calls on {date}",
        "restaurant_title": "Restaurant {id} on {date}",
        "mystats_title": "Your figures ({extension}) for {period}",
        "mystats_empty": "You had no shifts or calls in {period}.",
        "peak_hour": "Peak hour",
        "text_hint": "I only understand commands. The list: /help",
        "internal_error": "Could not fetch the data. Please try again later.",
        # bot: where it answers and what it reads (notifications/bot_guard.py)
        "group_help": (
            "In this group I send the chain summary only: /report [date]. The detailed report and the "
            "other commands are in a private chat with me."
        ),
        "group_private_only": "In a group I show the chain summary only (/report). Ask this in a private chat with me.",
        "chat_closed": "I do not answer in this chat. Write to me in a private chat.",
        "too_long": "The request is too long: at most {limit} characters. The commands: /help",
        "alert_delivery_failed": "The morning summary for {date} was not delivered to chat {chat_id}: {error}",
    },
}

if MESSAGES["ru"].keys() != MESSAGES["en"].keys():  # pragma: no cover - guards translators
    raise RuntimeError(f"reports.messages: keys differ: {MESSAGES['ru'].keys() ^ MESSAGES['en'].keys()}")


# Message key of the label of a column that is not a KPI (a KPI's label is in the registry).
COLUMN_LABELS = {"operator_name": "operator", "operator_extension": "extension", "restaurant_id": "restaurant"}


class Messages:
    """The texts and number formats of one language."""

    def __init__(self, lang: str, kpis: dict[str, Kpi] | None = None) -> None:
        if lang not in MESSAGES:
            raise ValueError(f"report language {lang!r} is not supported; use one of {', '.join(MESSAGES)}")
        self.lang = lang
        self._kpis = kpis

    @property
    def kpis(self) -> dict[str, Kpi]:
        """The KPI registry (read from the dbt manifest on first use)."""
        if self._kpis is None:
            self._kpis = load_kpis()
        return self._kpis

    def t(self, key: str, **params: object) -> str:
        return MESSAGES[self.lang][key].format(**params)

    # -- numbers ---------------------------------------------------------------------------
    def number(self, value: float | int | Decimal | None, decimals: int = 0) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.t("no_value")
        text = f"{float(value):,.{decimals}f}"
        integer, _, fraction = text.partition(".")
        integer = integer.replace(",", THOUSANDS_SEP[self.lang])
        return integer + (DECIMAL_SEP[self.lang] + fraction if fraction else "")

    def money(self, value: float | int | Decimal | None, decimals: int = 0) -> str:
        if value is None:
            return self.t("no_value")
        amount = self.number(value, decimals)
        return f"{amount}\u00a0₽" if self.lang == "ru" else f"₽{amount}"

    def percent(self, share: float | int | Decimal | None, decimals: int = 1) -> str:
        """A share (0..1) as a percentage."""
        if share is None:
            return self.t("no_value")
        return f"{self.number(float(share) * 100, decimals)}\u00a0%" if self.lang == "ru" else (
            f"{self.number(float(share) * 100, decimals)}%"
        )

    def seconds(self, value: float | int | Decimal | None) -> str:
        if value is None:
            return self.t("no_value")
        return f"{self.number(value, 0)}\u00a0{self.t('seconds')}"

    def change(self, current: float | int | None, previous: float | int | None, column: str = "") -> str | None:
        """The change against last week: relative ("+5,2 %"), or absolute with last week's value
        ("+12 from 0") when last week was 0; None only when a value is missing.

        `column` formats the absolute change like the KPI itself (count, money, share).
        """
        if current is None or previous is None:
            return None
        both_int = isinstance(current, int) and isinstance(previous, int)
        delta = current - previous if both_int else float(current) - float(previous)
        sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
        if float(previous) == 0:
            # A percentage of zero is undefined, but "from 0 to 12" is news, not missing data.
            return self.t("absolute_change", change=sign + self.kpi(column, abs(delta)),
                          previous=self.kpi(column, previous))
        return sign + self.percent(abs(delta / float(previous)))

    def hours(self, seconds: float | int | Decimal | None) -> str:
        if seconds is None:
            return self.t("no_value")
        return f"{self.number(float(seconds) / 3600, 1)}\u00a0{self.t('hours_unit')}"

    def label(self, column: str) -> str:
        """A KPI's label from the registry, a few other columns' from MESSAGES, else the column name."""
        kpi = self.kpis.get(column)
        if kpi is not None:
            return kpi.label(self.lang)
        key = COLUMN_LABELS.get(column)
        return self.t(key) if key else column

    def kpi(self, column: str, value: object) -> str:
        """A value formatted as the registry says its KPI is written (money, share, seconds, count)."""
        if value is None:
            return self.t("no_value")
        if isinstance(value, str):
            return value
        kpi = self.kpis.get(column)
        if kpi is None:  # not a KPI (an id, an extra column): a plain number
            return self.number(value, 0 if isinstance(value, int) else 2)
        return self._formatted(kpi, value)

    def _formatted(self, kpi: Kpi, value: float | int | Decimal) -> str:
        if kpi.format == "money":
            return self.money(value, kpi.decimals)
        if kpi.format == "percent":
            return self.percent(value, kpi.decimals)
        if kpi.format == "seconds":
            return self.seconds(value)
        if kpi.format == "hours":
            return self.hours(value)
        return self.number(value, kpi.decimals)  # integer, number

    # -- dates -----------------------------------------------------------------------------
    def date(self, value: dt.date) -> str:
        return value.strftime("%d.%m.%Y") if self.lang == "ru" else value.isoformat()

    def weekday(self, value: dt.date) -> str:
        return WEEKDAYS[self.lang][value.weekday()]
