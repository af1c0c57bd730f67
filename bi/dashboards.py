"""The three dashboards, as data: charts, their layout, and the native filters of each.

Everything a person reads is here in Russian and English; `bi.bundle` turns it into Superset's
import format. Charts name datasets and metrics from bi/datasets.py. A filter applies to every
chart of its dashboard whose dataset has its column (Superset skips the others), except charts
listed in `excluded` (the 8-week trend keeps its own period).

Which filters: sales have restaurant, segment and channel; calls have the caller's segment and
the queue but no restaurant or channel (the contact centre is shared, docs/access.md); operator
days have only the operator. A filter that could change nothing is not offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def t(ru: str, en: str) -> dict[str, str]:
    return {"ru": ru, "en": en}


@dataclass(frozen=True)
class Chart:
    key: str  # stable: the chart's uuid derives from it, so re-provisioning updates in place
    title: dict[str, str]
    dataset: str
    viz: str  # big_number_total | bar | hbar (horizontal) | stacked_bar | line | pie | table
    metrics: tuple[str, ...]
    x_axis: str | None = None  # a date column (with time_grain) or a category column
    time_grain: str | None = None  # P1D, P1W
    groupby: tuple[str, ...] = ()
    width: int = 4  # of 12 grid columns
    height: int = 50  # grid units of 8 px
    time_range: str = "No filter"
    sort_by: str | None = None  # tables: the metric rows are sorted by, descending
    description: dict[str, str] | None = None


@dataclass(frozen=True)
class Filter:
    key: str
    title: dict[str, str]
    kind: str  # filter_time | filter_select
    dataset: str | None = None
    column: str | None = None
    excluded: tuple[str, ...] = ()  # chart keys this filter leaves alone


@dataclass(frozen=True)
class Dashboard:
    key: str
    slug: str
    title: dict[str, str]
    rows: tuple[tuple[Chart, ...], ...]
    filters: tuple[Filter, ...] = field(default_factory=tuple)

    @property
    def charts(self) -> tuple[Chart, ...]:
        return tuple(chart for row in self.rows for chart in row)


PERIOD = t("Период", "Period")
EIGHT_WEEKS = 'DATEADD(DATETIME("today"), -56, day) : today'


def _big(key: str, dataset: str, metric: str, title: dict[str, str], width: int = 2) -> Chart:
    return Chart(key, title, dataset, "big_number_total", (metric,), width=width, height=25)


SALES = Dashboard(
    key="sales", slug="sales", title=t("Продажи и клиенты", "Sales and customers"),
    rows=(
        (
            _big("sales_orders", "orders", "orders_count", t("Заказы", "Orders"), 3),
            _big("sales_revenue", "orders", "revenue_amount", t("Выручка", "Revenue"), 3),
            _big("sales_average_check", "orders", "average_check_amount", t("Средний чек", "Average check")),
            _big("sales_new_customers", "orders", "new_customers_count", t("Новые клиенты", "New customers")),
            _big("sales_customers", "orders", "unique_customers_count", t("Клиенты", "Customers")),
        ),
        (
            Chart("sales_orders_by_day", t("Заказы по дням", "Orders per day"), "orders", "bar",
                  ("orders_count",), "business_date", "P1D", width=6),
            Chart("sales_revenue_by_day", t("Выручка по дням", "Revenue per day"),
                  "orders", "line", ("revenue_amount",), "business_date", "P1D", width=6),
        ),
        (
            Chart("sales_customers_by_day", t("Новые и повторные клиенты по дням", "New and repeat customers per day"),
                  "orders", "stacked_bar", ("new_customers_count", "repeat_customers_count"), "business_date", "P1D",
                  width=6),
            Chart("sales_average_check_by_day", t("Средний чек по дням", "Average check per day"), "orders", "line",
                  ("average_check_amount",), "business_date", "P1D", width=6),
        ),
        (
            Chart("sales_by_restaurant", t("Выручка по ресторанам", "Revenue by restaurant"), "orders", "hbar",
                  ("revenue_amount",), "restaurant_label"),
            Chart("sales_by_channel", t("Заказы по каналам", "Orders by channel"), "orders", "pie",
                  ("orders_count",), groupby=("channel_label",)),
            Chart("sales_by_segment", t("Выручка по сегментам клиентов", "Revenue by customer segment"), "orders",
                  "hbar", ("revenue_amount",), "segment_label"),
        ),
        (
            Chart("sales_trend_orders", t("Заказы по неделям, 8 недель", "Orders per week, 8 weeks"), "orders",
                  "bar", ("orders_count",), "business_date", "P1W", width=6, time_range=EIGHT_WEEKS),
            Chart("sales_trend_revenue", t("Выручка по неделям, 8 недель", "Revenue per week, 8 weeks"), "orders",
                  "bar", ("revenue_amount",), "business_date", "P1W", width=6, time_range=EIGHT_WEEKS),
        ),
        (
            Chart("sales_top_restaurants", t("Рестораны по выручке", "Restaurants by revenue"), "orders", "table",
                  ("revenue_amount", "orders_count", "average_check_amount", "new_customers_count",
                   "repeat_customers_count"), groupby=("restaurant_label",), width=12, sort_by="revenue_amount"),
        ),
    ),
    filters=(
        Filter("period", PERIOD, "filter_time", excluded=("sales_trend_orders", "sales_trend_revenue")),
        Filter("restaurant", t("Ресторан", "Restaurant"), "filter_select", "orders", "restaurant_label"),
        Filter("segment", t("Сегмент клиента", "Customer segment"), "filter_select", "orders", "segment_label"),
        Filter("channel", t("Канал", "Channel"), "filter_select", "orders", "channel_label"),
    ),
)

CONTACT_CENTRE = Dashboard(
    key="contact_centre", slug="contact-centre", title=t("Контакт-центр", "Contact centre"),
    rows=(
        (
            _big("cc_offered", "calls", "calls_offered_count", t("Поступило звонков", "Calls offered")),
            _big("cc_answered", "calls", "calls_answered_count", t("Отвечено", "Answered")),
            _big("cc_missed", "calls", "calls_unanswered_count", t("Неотвеченные", "Unanswered")),
            _big("cc_asa", "calls", "asa_seconds", t("Ожидание ответа, с", "Speed of answer, s")),
            _big("cc_service_level", "calls", "service_level", t("Уровень сервиса", "Service level")),
            _big("cc_short_abandons", "calls", "short_abandon_count", t("Короткие сбросы", "Short abandons")),
        ),
        (
            Chart("cc_calls_by_day", t("Звонки по дням: отвеченные и неотвеченные", "Calls per day: answered and unanswered"),
                  "calls", "stacked_bar", ("calls_answered_count", "calls_unanswered_count"), "business_date", "P1D",
                  width=8),
            Chart("cc_missed_rate_by_day", t("Доля неотвеченных по дням", "Unanswered share per day"), "calls", "line",
                  ("missed_call_rate",), "business_date", "P1D", width=4),
        ),
        (
            Chart("cc_by_hour", t("Звонки по часам дня", "Calls by hour of day"), "calls", "stacked_bar",
                  ("calls_answered_count", "calls_unanswered_count"), "hour_label", width=6),
            Chart("cc_by_weekday", t("Звонки по дням недели", "Calls by day of week"), "calls", "stacked_bar",
                  ("calls_answered_count", "calls_unanswered_count"), "weekday_label", width=6),
        ),
        (
            Chart("cc_wait_bands", t("Время ожидания в очереди", "Wait time in the queue"), "calls", "bar",
                  ("calls_offered_count",), "wait_band", width=4),
            Chart("cc_asa_by_hour", t("Среднее ожидание ответа по часам, с", "Average speed of answer by hour, s"),
                  "calls", "bar", ("asa_seconds",), "hour_label", width=4),
            Chart("cc_service_level_by_hour", t("Уровень сервиса по часам", "Service level by hour"), "calls", "bar",
                  ("service_level",), "hour_label", width=4),
        ),
        (
            Chart("cc_callbacks", t("Неотвеченные звонки: связались ли позже", "Unanswered calls: reached later?"),
                  "calls", "stacked_bar", ("called_back_count", "answered_again_only_count", "not_reached_count"),
                  "business_date", "P1D", width=8),
            _big("cc_reached_later_share", "calls", "reached_later_share",
                 t("Неотвеченные, с кем связались позже", "Unanswered calls reached later"), 4),
        ),
    ),
    filters=(
        Filter("period", PERIOD, "filter_time"),
        Filter("segment", t("Сегмент звонящего", "Caller segment"), "filter_select", "calls", "segment_label"),
        Filter("queue", t("Очередь", "Queue"), "filter_select", "calls", "queue_name"),
    ),
)

OPERATORS = Dashboard(
    key="operators", slug="operators", title=t("Операторы", "Operators"),
    rows=(
        (
            Chart("op_table", t("Показатели операторов", "Operator figures"), "operator_daily", "table",
                  ("calls_handled_count", "avg_talk_seconds", "missed_ring_rate", "avg_pickup_seconds", "occupancy",
                   "rating_mean", "phone_orders_count", "logged_in_hours"),
                  groupby=("operator_label",), width=12, height=90, sort_by="calls_handled_count"),
        ),
        (
            Chart("op_calls", t("Обработано звонков", "Calls handled"), "operator_daily", "bar",
                  ("calls_handled_count",), "operator_label", width=6),
            Chart("op_occupancy", t("Занятость", "Occupancy"), "operator_daily", "bar", ("occupancy",),
                  "operator_label", width=6),
        ),
        (
            Chart("op_missed_rings", t("Доля пропущенных вызовов", "Missed ring rate"), "operator_daily", "bar",
                  ("missed_ring_rate",), "operator_label", width=6),
            Chart("op_pickup", t("Время снятия трубки, с", "Pick-up time, s"), "operator_daily", "bar",
                  ("avg_pickup_seconds",), "operator_label", width=6),
        ),
        (
            Chart("op_calls_by_day", t("Звонки операторов по дням", "Operators' calls per day"), "operator_daily",
                  "line", ("calls_handled_count",), "business_date", "P1D", groupby=("operator_label",), width=12),
        ),
    ),
    filters=(
        Filter("period", PERIOD, "filter_time"),
        Filter("operator", t("Оператор", "Operator"), "filter_select", "operator_daily", "operator_label"),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (SALES, CONTACT_CENTRE, OPERATORS)
