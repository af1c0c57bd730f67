"""A stored version of a day's report and the files it renders to.

The one definition every part of the report reads (the snapshot that stores it, the renderer, the
KPI cards, the summaries, the bot and the Telegram delivery), kept free of database and plotting
code so that importing it costs nothing and depends on nothing else in `reports/`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pantao.periods import Period
from pantao.settings import Settings

CHART_FILES = ("orders_by_hour.png", "calls_by_hour.png", "asa_by_hour.png", "csat.png")
CSV_FILES = ("kpis.csv", "hourly.csv", "operators.csv", "restaurants.csv")
# A week's or a month's report: trend charts by day instead of by hour.
PERIOD_CHART_FILES = ("orders_by_day.png", "revenue_by_day.png", "missed_call_rate_by_day.png",
                      "csat_mean_by_day.png", "csat.png")
PERIOD_CSV_FILES = ("kpis.csv", "trend.csv", "operators.csv", "restaurants.csv")
# The KPIs the trend charts show by day, and over how many periods (the report's own the last one).
TREND_KPIS = ("orders_count", "revenue_amount", "missed_call_rate", "csat_mean")
TREND_PERIODS = {"week": 8, "month": 6}
# Written last into a rendered folder: which stored version its files show.
VERSION_FILE = "version.txt"


class ReportError(RuntimeError):
    """A report cannot be built; the message says what is missing and how to get it."""


@dataclass(frozen=True, kw_only=True)
class _StoredFigures:
    """A stored version of a report of any period, and what it offers over its `figures` and `files`;
    its subclasses add what the report is of, their one positional field."""

    version: int
    figures: dict[str, Any]
    data_freshness: dict[str, Any]
    generated_at: dt.datetime
    lang: str
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def chain(self) -> dict[str, Any]:
        return self.figures.get("chain") or {}

    @property
    def previous_chain(self) -> dict[str, Any] | None:
        return self.figures.get("previous_chain")

    @property
    def html_path(self) -> Path | None:
        return self.files.get("html")


@dataclass(frozen=True)
class DailyReport(_StoredFigures):
    """One stored version of a day's report and where its rendered files are."""

    business_date: dt.date

    @property
    def period(self) -> Period:
        return Period("day", self.business_date, self.business_date)


@dataclass(frozen=True)
class PeriodReport(_StoredFigures):
    """One stored version of a week's or a month's report (reports.period_report) and its files."""

    period: Period

    @property
    def business_date(self) -> dt.date:
        """The period's first day: what deliveries are keyed on, beside their kind."""
        return self.period.start


def period_dir(settings: Settings, period: Period) -> Path:
    """`<reports>/week-2026-11-23/`, `<reports>/month-2026-11/` (a day's is `<reports>/<date>/`)."""
    if period.kind == "day":
        return report_dir(settings, period.start)
    suffix = period.start.isoformat() if period.kind == "week" else period.start.strftime("%Y-%m")
    return settings.reports_dir / f"{period.kind}-{suffix}"


def expected_period_files(directory: Path) -> dict[str, Path]:
    """The files of a rendered week or month report, by role as for a day."""
    files = {"html": directory / "report.html"}
    files.update({f"csv:{Path(name).stem}": directory / name for name in PERIOD_CSV_FILES})
    files.update({f"png:{Path(name).stem}": directory / name for name in PERIOD_CHART_FILES})
    return files


def report_dir(settings: Settings, business_date: dt.date) -> Path:
    return settings.reports_dir / business_date.isoformat()


def expected_files(directory: Path) -> dict[str, Path]:
    """The files a rendered report consists of, by role ("html", "csv:kpis", "png:calls_by_hour")."""
    files = {"html": directory / "report.html"}
    files.update({f"csv:{Path(name).stem}": directory / name for name in CSV_FILES})
    files.update({f"png:{Path(name).stem}": directory / name for name in CHART_FILES})
    return files


def rendered_version(directory: Path) -> int | None:
    """The version whose files `directory` holds, or None when it holds no complete rendering."""
    try:
        return int((directory / VERSION_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def plain_value(value: Any) -> Any:
    """A JSON-ready value: numerics as int/float, dates as ISO strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    return value
