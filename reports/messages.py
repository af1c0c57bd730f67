"""Every word the reports and the bot show, in Russian (the default) and English, and number formats.

The texts of each language are in their own module (messages_ru.py, messages_en.py), and
`MESSAGES` must have the same keys in both (checked at import), so the languages cannot drift apart. A KPI's label and how
its value is written (money, share, seconds...) come from the KPI registry (pantao.kpis, the
marts' yml), not from here.
Russian numbers use a narrow no-break space (U+202F) between thousands, so «1 234 567» never
wraps on a phone, and a decimal comma; money is suffixed with «₽».
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pantao.kpis import Kpi, load_kpis
from pantao.periods import Period
from reports.messages_en import EN
from reports.messages_ru import RU

if TYPE_CHECKING:
    from reports.anomalies import Flag

THOUSANDS_SEP = {"ru": "\u202f", "en": ","}
DECIMAL_SEP = {"ru": ",", "en": "."}

WEEKDAYS = {
    "ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
# "usual for a Friday": Russian needs the genitive («для пятницы»)
WEEKDAYS_FOR = {
    "ru": ("понедельника", "вторника", "среды", "четверга", "пятницы", "субботы", "воскресенья"),
    "en": ("a Monday", "a Tuesday", "a Wednesday", "a Thursday", "a Friday", "a Saturday", "a Sunday"),
}
MONTHS = {
    "ru": ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
           "ноябрь", "декабрь"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
MONTHS_SHORT = {
    "ru": ("янв.", "февр.", "март", "апр.", "май", "июнь", "июль", "авг.", "сент.", "окт.", "нояб.", "дек."),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}

MESSAGES: dict[str, dict[str, str]] = {"ru": RU, "en": EN}

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

    def short_date(self, value: dt.date) -> str:
        """A date without its year, for comparisons inside one line: «20.11», "Nov 20"."""
        return value.strftime("%d.%m") if self.lang == "ru" else f"{MONTHS_SHORT['en'][value.month - 1]} {value.day}"

    def month(self, value: dt.date) -> str:
        """«ноябрь 2026», "November 2026"."""
        return f"{MONTHS[self.lang][value.month - 1]} {value.year}"

    def moment(self, value: dt.datetime | str | None, timezone: str) -> str:
        """An instant in the business time zone, with the zone named: «14.05.2024 18:08 (Europe/Moscow)»."""
        if not value:
            return self.t("no_value")
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is None:  # stored without a zone: it is UTC (PostgreSQL's timestamptz as text)
            moment = moment.replace(tzinfo=dt.UTC)
        local = moment.astimezone(ZoneInfo(timezone))
        return f"{self.date(local.date())} {local:%H:%M} ({timezone})"

    # -- periods ---------------------------------------------------------------------------
    def period(self, period: Period) -> str:
        """A period as titles name it: a date, «02.11–08.11.2026», «ноябрь 2026»."""
        if period.kind == "day":
            return self.date(period.start)
        if period.kind == "month":
            return self.month(period.start)
        return f"{self.short_date(period.start)}–{self.date(period.end)}" if self.lang == "ru" else (
            f"{period.start.isoformat()} – {period.end.isoformat()}")

    def versus(self, period: Period) -> str:
        """What a change of `period` is against (its previous period): «к пт 20.11», «к нед. 26.10–01.11»."""
        base = period.previous()
        if base.kind == "day":
            return self.t("vs_day", weekday=self.weekday(base.start), date=self.short_date(base.start))
        if base.kind == "week":
            return self.t("vs_week", start=self.short_date(base.start), end=self.short_date(base.end))
        return self.t("vs_month", month=f"{MONTHS_SHORT[self.lang][base.start.month - 1]} {base.start.year}")

    def no_comparison(self, period: Period) -> str:
        return self.t({"day": "no_comparison", "week": "no_comparison_week", "month": "no_comparison_month"}[period.kind])

    def change_versus(self, current: float | int | None, previous: float | int | None, column: str,
                      period: Period) -> str | None:
        """The change with what it is against: «+7,3 % к вт 07.05»; None when a value is missing."""
        change = self.change(current, previous, column)
        return f"{change} {self.versus(period)}" if change else None

    # -- anomaly flags ---------------------------------------------------------------------
    def band(self, column: str, low: float, high: float) -> str:
        """A range of a KPI's values, its unit written once: «11,0–14,0 %», "₽900–₽1,100"."""
        first, last = self.kpi(column, low), self.kpi(column, high)
        unit = last[len(last.rstrip("%₽сsч h\u00a0")):]
        if unit and first.endswith(unit):
            first = first[: -len(unit)]
        return f"{first}–{last}"

    def flag(self, flag: Flag, day: dt.date) -> str:
        """One anomaly flag as a sentence: «Доля пропущенных 16,1 % — выше обычного для пятницы: 11,0–14,0 %»."""
        params = {"label": self.label(flag.kpi), "value": self.kpi(flag.kpi, flag.value),
                  "direction": self.t(f"flag_{flag.direction}"), "weekday": WEEKDAYS_FOR[self.lang][day.weekday()]}
        band = self.band(flag.kpi, flag.band.low, flag.band.high) if flag.band else None
        threshold = self.kpi(flag.kpi, flag.threshold) if flag.threshold is not None else None
        if band and threshold:
            return self.t("flag_both", band=band, threshold=threshold, **params)
        if band:
            return self.t("flag_usual", band=band, **params)
        return self.t("flag_alert", threshold=threshold, **params)

    def flag_note(self, flag: Flag, day: dt.date) -> str:
        """A flag as a KPI card says it beside the value: «⚠ обычно для пятницы: 11,0–14,0 %»."""
        parts = []
        if flag.band:
            parts.append(self.t("card_usual", weekday=WEEKDAYS_FOR[self.lang][day.weekday()],
                                band=self.band(flag.kpi, flag.band.low, flag.band.high)))
        if flag.threshold is not None:
            parts.append(self.t("card_alert", threshold=self.kpi(flag.kpi, flag.threshold)))
        return "⚠ " + "; ".join(parts)
