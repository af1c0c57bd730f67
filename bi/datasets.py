"""The Superset datasets: one per `reporting` view, with the metrics and calculated columns charts use.

This tuple is the one list of datasets. The metrics restate the marts' KPI definitions over the
views' rows (docs/metrics.md), so they stay right under any filter a person sets: ratios are
sums over sums, never averages of daily ratios. Labels come from bi.labels.

When `daily_kpis` splits into `daily_kpis` (chain) and `restaurant_daily_kpis`, add a Dataset
for the new view here (and its calculated columns below; the chain view loses `scope` and its
`restaurant_label`); no dashboard reads either view, so nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bi.labels import RESTAURANT_PREFIX, VALUE_LABELS, WEEKDAYS

NOT_CANCELLED = "status <> 'cancelled'"
ANSWERED = "outcome = 'answered'"

# d3 formats; `$` renders the currency of D3_FORMAT (₽ in Russian, see bi/superset_config.py)
COUNT = ",d"
MONEY = "$,.0f"
MONEY_EXACT = "$,.2f"
SHARE = ".1%"
SECONDS = ",.1f"
SCORE = ".2f"


@dataclass(frozen=True)
class Metric:
    name: str
    expression: str
    d3format: str
    label: dict[str, str] | None = None  # None: the KPI label of `name` (bi.labels.kpi_label)
    description: str = ""
    unit: str | None = None  # a key of bi.labels.UNITS, appended to the label: «Ожидание ответа, с»


@dataclass(frozen=True)
class CalculatedColumn:
    name: str
    expression: str  # `{lang}`-dependent SQL comes from the builders below
    type: str = "VARCHAR"


@dataclass(frozen=True)
class Dataset:
    view: str
    time_column: str | None
    metrics: tuple[Metric, ...] = ()
    calculated: tuple[CalculatedColumn, ...] = field(default_factory=tuple)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def coded_label(kind: str, column: str, lang: str) -> str:
    """CASE turning a coded column into the people's word for it (an unknown code is shown as is)."""
    labels = VALUE_LABELS[kind]
    whens = " ".join(f"when {column} = {_sql_text(code)} then {_sql_text(text[lang])}"
                     for code, text in labels.items() if code is not None)
    missing = labels.get(None, {}).get(lang)
    null_case = f"when {column} is null then {_sql_text(missing)} " if missing else ""
    return f"case {null_case}{whens} else {column} end"


def calculated_columns(view: str, lang: str) -> tuple[CalculatedColumn, ...]:
    restaurant = f"{_sql_text(RESTAURANT_PREFIX[lang] + ' ')} || lpad(restaurant_id::text, 2, '0')"
    weekday = "case extract(isodow from business_date)::int " + " ".join(
        f"when {i + 1} then {_sql_text(day)}" for i, day in enumerate(WEEKDAYS[lang])) + " end"
    by_view: dict[str, tuple[CalculatedColumn, ...]] = {
        "orders": (
            CalculatedColumn("segment_label", coded_label("segment", "customer_segment", lang)),
            CalculatedColumn("channel_label", coded_label("channel", "channel", lang)),
            CalculatedColumn("status_label", coded_label("status", "status", lang)),
            CalculatedColumn("restaurant_label", restaurant),
            CalculatedColumn("weekday_label", weekday),
        ),
        "calls": (
            CalculatedColumn("segment_label", coded_label("segment", "customer_segment", lang)),
            CalculatedColumn("outcome_label", coded_label("outcome", "outcome", lang)),
            CalculatedColumn("weekday_label", weekday),
            CalculatedColumn("hour_label", "lpad(business_hour::text, 2, '0') || ':00'"),
            CalculatedColumn(
                "wait_band",
                "case when wait_seconds < 10 then '0–10 с' when wait_seconds < 20 then '10–20 с' "
                "when wait_seconds < 30 then '20–30 с' when wait_seconds < 60 then '30–60 с' else '60+ с' end"
                if lang == "ru" else
                "case when wait_seconds < 10 then '0–10 s' when wait_seconds < 20 then '10–20 s' "
                "when wait_seconds < 30 then '20–30 s' when wait_seconds < 60 then '30–60 s' else '60+ s' end",
            ),
        ),
        "customers": (
            CalculatedColumn("segment_label", coded_label("segment", "segment", lang)),
        ),
        "operator_daily": (
            CalculatedColumn(
                "operator_label",
                "coalesce(operator_name || ' (' || operator_extension || ')', operator_extension)"),
            CalculatedColumn("weekday_label", weekday),
        ),
        "daily_kpis": (
            CalculatedColumn("restaurant_label", f"case when scope = 'chain' then "
                             f"{_sql_text('Вся сеть' if lang == 'ru' else 'Whole chain')} else {restaurant} end"),
        ),
        "hourly_kpis": (
            CalculatedColumn("hour_label", "lpad(hour::text, 2, '0') || ':00'"),
        ),
        "my_interactions": (
            CalculatedColumn("call_result_label", coded_label("call_result", "call_result", lang)),
            CalculatedColumn("weekday_label", weekday),
        ),
        "missed_call_recovery": (
            CalculatedColumn("restaurant_label", restaurant.replace("restaurant_id", "home_restaurant_id")),
        ),
        "staffing_advice": (
            CalculatedColumn("hour_label", "lpad(hour::text, 2, '0') || ':00'"),
            CalculatedColumn("weekday_label", weekday.replace("business_date", "advised_date")),
        ),
    }
    return by_view[view]


_NEW = f"count(distinct customer_key) filter (where is_first_order and {NOT_CANCELLED})"
_UNIQUE = f"count(distinct customer_key) filter (where {NOT_CANCELLED})"
_OFFERED = "count(*)"
_ANSWERED_N = f"count(*) filter (where {ANSWERED})"
_HANDLED = "sum(calls_handled_count)"

DATASETS: tuple[Dataset, ...] = (
    Dataset("orders", "business_date", (
        Metric("orders_count", f"count(*) filter (where {NOT_CANCELLED})", COUNT),
        Metric("cancelled_orders_count", "count(*) filter (where status = 'cancelled')", COUNT),
        Metric("revenue_amount", f"coalesce(sum(total_amount) filter (where {NOT_CANCELLED}), 0)", MONEY),
        Metric("average_check_amount",
               f"sum(total_amount) filter (where {NOT_CANCELLED}) / nullif(count(*) filter (where {NOT_CANCELLED}), 0)",
               MONEY_EXACT),
        Metric("unique_customers_count", _UNIQUE, COUNT),
        Metric("new_customers_count", _NEW, COUNT,
               description="Customers whose first non-cancelled order ever is among the selected orders."),
        Metric("repeat_customers_count", f"{_UNIQUE} - {_NEW}", COUNT,
               description="Customers of the selected orders whose first order came before them."),
        Metric("repeat_customer_share", f"({_UNIQUE} - {_NEW})::numeric / nullif({_UNIQUE}, 0)", SHARE),
    )),
    Dataset("calls", "business_date", (
        Metric("calls_offered_count", _OFFERED, COUNT),
        Metric("calls_answered_count", _ANSWERED_N, COUNT),
        Metric("calls_unanswered_count", f"{_OFFERED} - {_ANSWERED_N}", COUNT),
        Metric("missed_call_rate", f"({_OFFERED} - {_ANSWERED_N})::numeric / nullif({_OFFERED}, 0)", SHARE),
        Metric("short_abandon_count", "count(*) filter (where is_short_abandon)", COUNT),
        Metric("asa_seconds", f"avg(wait_seconds) filter (where {ANSWERED})", SECONDS, unit="seconds"),
        Metric("service_level", "count(*) filter (where is_answered_within_service_level)::numeric "
               "/ nullif(count(*) - count(*) filter (where is_short_abandon), 0)", SHARE),
        Metric("avg_talk_seconds", f"avg(talk_seconds) filter (where {ANSWERED})", SECONDS, unit="seconds"),
        Metric("call_conversion_rate",
               f"count(*) filter (where {ANSWERED} and led_to_order)::numeric / nullif({_ANSWERED_N}, 0)", SHARE),
        Metric("revenue_per_answered_call",
               f"coalesce(sum(order_total_amount) filter (where {ANSWERED}), 0) / nullif({_ANSWERED_N}, 0)",
               MONEY_EXACT),
        Metric("reached_later_count", "count(*) filter (where is_reached_later)", COUNT,
               {"ru": "Связались позже", "en": "Reached later"},
               "Unanswered calls whose caller was reached within the callback window."),
        Metric("called_back_count", "count(*) filter (where is_called_back)", COUNT,
               {"ru": "Перезвонил оператор", "en": "Called back by an operator"}),
        Metric("answered_again_only_count", "count(*) filter (where is_answered_again and not is_called_back)", COUNT,
               {"ru": "Клиент дозвонился сам", "en": "Caller got through later"},
               "Unanswered calls whose caller called again and was answered, and no operator called back first."),
        Metric("not_reached_count", f"count(*) filter (where not {ANSWERED} and not is_reached_later)", COUNT,
               {"ru": "Не связались", "en": "Not reached"}),
        Metric("reached_later_share",
               f"count(*) filter (where is_reached_later)::numeric / nullif({_OFFERED} - {_ANSWERED_N}, 0)", SHARE,
               {"ru": "Доля неотвеченных, с кем связались", "en": "Share of unanswered reached later"}),
        Metric("csat_mean", "avg(rating_score)", SCORE),
        Metric("csat_share", "count(*) filter (where rating_score >= 4)::numeric / nullif(count(rating_score), 0)",
               SHARE),
    )),
    Dataset("operator_daily", "business_date", (
        Metric("calls_handled_count", _HANDLED, COUNT),
        Metric("avg_talk_seconds", f"sum(talk_seconds_total)::numeric / nullif({_HANDLED}, 0)", SECONDS, unit="seconds"),
        Metric("missed_rings_count", "sum(missed_rings_count)", COUNT),
        Metric("missed_ring_rate",
               f"sum(missed_rings_count)::numeric / nullif(sum(missed_rings_count) + {_HANDLED}, 0)", SHARE),
        Metric("avg_pickup_seconds", "sum(avg_pickup_seconds * calls_handled_count) "
               "/ nullif(sum(calls_handled_count) filter (where avg_pickup_seconds is not null), 0)", SECONDS,
               unit="seconds"),
        Metric("occupancy", "sum(talk_seconds_total)::numeric / nullif(sum(logged_in_seconds - paused_seconds), 0)",
               SHARE, {"ru": "Занятость", "en": "Occupancy"}),
        Metric("rating_mean", "sum(rating_mean * ratings_count) / nullif(sum(ratings_count), 0)", SCORE),
        Metric("ratings_count", "sum(ratings_count)", COUNT),
        Metric("phone_orders_count", "sum(phone_orders_count)", COUNT),
        Metric("call_conversion_rate", f"sum(calls_converted_count)::numeric / nullif({_HANDLED}, 0)", SHARE),
        Metric("revenue_per_answered_call",
               f"sum(revenue_per_answered_call * calls_handled_count) / nullif({_HANDLED}, 0)", MONEY_EXACT),
        Metric("logged_in_hours", "sum(logged_in_seconds) / 3600.0", ",.1f",
               {"ru": "В сети, ч", "en": "Logged in, h"}),
    )),
    Dataset("customers", "first_order_date", (
        Metric("customers_count", "count(*)", COUNT, {"ru": "Клиенты", "en": "Customers"}),
    )),
    Dataset("daily_kpis", "business_date", (
        Metric("revenue_amount", "sum(revenue_amount)", MONEY),
        Metric("orders_count", "sum(orders_count)", COUNT),
    )),
    Dataset("hourly_kpis", "business_date", (
        Metric("orders_count", "sum(orders_count)", COUNT),
        Metric("calls_offered_count", "sum(calls_offered_count)", COUNT),
    )),
    Dataset("missed_call_recovery", "business_date", (
        Metric("callers_count", "count(*)", COUNT, {"ru": "Не дозвонились", "en": "Callers not reached"},
               "Callers whose unanswered calls nobody reached back within the callback window."),
        Metric("expected_lost_revenue_sum", "sum(expected_lost_revenue_amount)", MONEY,
               {"ru": "Ожидаемая потерянная выручка", "en": "Expected lost revenue"}),
        Metric("attempts_sum", "sum(attempts_count)", COUNT, {"ru": "Попыток дозвониться", "en": "Attempts"}),
    )),
    Dataset("staffing_advice", "advised_date", (
        Metric("forecast_calls_sum", "sum(forecast_calls_offered)", ",.1f",
               {"ru": "Прогноз звонков", "en": "Calls expected"}),
        Metric("operators_needed_max", "max(operators_needed_count)", COUNT,
               {"ru": "Нужно операторов (пик)", "en": "Operators needed (peak)"}),
        Metric("short_hours_count", "count(*) filter (where is_short_of_staff)", COUNT,
               {"ru": "Часов с нехваткой", "en": "Hours short of staff"},
               "Hours where fewer operators were logged in a week before than the advice needs."),
        Metric("operator_hours_short_sum", "sum(operators_short_count)", COUNT,
               {"ru": "Не хватает операторо-часов", "en": "Operator-hours short"}),
    )),
    Dataset("my_interactions", "business_date", (
        Metric("calls_answered_count", "count(*)", COUNT),
        Metric("avg_talk_seconds", "avg(talk_seconds)", SECONDS, unit="seconds"),
        Metric("phone_orders_count", "count(*) filter (where call_result = 'order_placed')", COUNT),
        Metric("call_ratings_count", "count(rating_score)", COUNT),
        Metric("call_csat_mean", "avg(rating_score)", SCORE),
    )),
)


def dataset(view: str) -> Dataset:
    for item in DATASETS:
        if item.view == view:
            return item
    raise KeyError(view)
