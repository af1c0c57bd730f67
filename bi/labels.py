"""Every label the dashboards show: the seam between Superset and the KPI definitions.

A column that is a KPI takes its label from the KPI registry (`pantao.kpis.load_kpis()`, the
marts' yml `meta.kpi`), so a KPI added there is labelled here with no second list. Column descriptions are not kept
here at all: they are the reporting views' COMMENTs, read from PostgreSQL at provisioning.
Labels of columns that are not KPIs, of calculated columns and of coded values live below, once.
"""

from __future__ import annotations

from pantao.kpis import load_kpis

LANGS = ("ru", "en")

def kpi_label(name: str, lang: str = "ru") -> str:
    """The KPI's label as people read it (raises KeyError for a name that is not a KPI)."""
    return load_kpis()[name].label(lang)


# Columns that are not KPIs, and the calculated columns the datasets add (bi/datasets.py).
COLUMN_LABELS: dict[str, dict[str, str]] = {
    "business_date": {"ru": "Дата", "en": "Date"},
    "hour": {"ru": "Час", "en": "Hour"},
    "hour_start_at": {"ru": "Начало часа", "en": "Hour start"},
    "scope": {"ru": "Уровень", "en": "Scope"},
    "restaurant_id": {"ru": "Ресторан", "en": "Restaurant"},
    "home_restaurant_id": {"ru": "Ресторан клиента", "en": "Home restaurant"},
    "order_id": {"ru": "Заказ", "en": "Order"},
    "created_at": {"ru": "Время заказа", "en": "Ordered at"},
    "status": {"ru": "Статус", "en": "Status"},
    "channel": {"ru": "Канал (код)", "en": "Channel (code)"},
    "customer_key": {"ru": "Клиент (псевдоним)", "en": "Customer (pseudonym)"},
    "customer_phone_masked": {"ru": "Телефон (скрыт)", "en": "Phone (masked)"},
    "customer_name": {"ru": "Имя клиента", "en": "Customer name"},
    "customer_segment": {"ru": "Сегмент (код)", "en": "Segment (code)"},
    "segment": {"ru": "Сегмент (код)", "en": "Segment (code)"},
    "subtotal_amount": {"ru": "Сумма без скидки", "en": "Subtotal"},
    "discount_amount": {"ru": "Скидка", "en": "Discount"},
    "total_amount": {"ru": "Сумма заказа", "en": "Order total"},
    "is_first_order": {"ru": "Первый заказ", "en": "First order"},
    "call_linkedid": {"ru": "Звонок", "en": "Call"},
    "operator_extension": {"ru": "Внутр. номер", "en": "Extension"},
    "operator_name": {"ru": "Оператор (имя)", "en": "Operator (name)"},
    "first_order_at": {"ru": "Первый заказ", "en": "First order at"},
    "first_order_date": {"ru": "Дата первого заказа", "en": "First order date"},
    "last_order_at": {"ru": "Последний заказ", "en": "Last order at"},
    "last_order_date": {"ru": "Дата последнего заказа", "en": "Last order date"},
    "lifetime_orders_count": {"ru": "Заказов за всё время", "en": "Lifetime orders"},
    "lifetime_revenue_amount": {"ru": "Выручка за всё время", "en": "Lifetime revenue"},
    "last_call_at": {"ru": "Последний звонок", "en": "Last call at"},
    "last_rating_score": {"ru": "Последняя оценка", "en": "Last rating"},
    "linkedid": {"ru": "Звонок", "en": "Call"},
    "queue_name": {"ru": "Очередь", "en": "Queue"},
    "entered_at": {"ru": "Время звонка", "en": "Entered queue at"},
    "business_hour": {"ru": "Час", "en": "Hour"},
    "outcome": {"ru": "Исход (код)", "en": "Outcome (code)"},
    "wait_seconds": {"ru": "Ожидание, с", "en": "Wait, s"},
    "is_short_abandon": {"ru": "Короткий сброс", "en": "Short abandon"},
    "is_answered_within_service_level": {"ru": "Отвечен в норматив", "en": "Answered within SL"},
    "answered_by_extension": {"ru": "Ответил (внутр. номер)", "en": "Answered by (extension)"},
    "pickup_seconds": {"ru": "Снятие трубки, с", "en": "Pick-up, s"},
    "talk_seconds": {"ru": "Разговор, с", "en": "Talk, s"},
    "transfer_count": {"ru": "Переводов", "en": "Transfers"},
    "caller_phone_masked": {"ru": "Телефон (скрыт)", "en": "Caller (masked)"},
    "led_to_order": {"ru": "Заказ по звонку", "en": "Led to order"},
    "order_total_amount": {"ru": "Сумма заказа по звонку", "en": "Order total of the call"},
    "rating_score": {"ru": "Оценка звонка", "en": "Call rating"},
    "is_called_back": {"ru": "Перезвонил оператор", "en": "Called back"},
    "is_answered_again": {"ru": "Дозвонился сам", "en": "Answered on a later call"},
    "is_reached_later": {"ru": "Связались позже", "en": "Reached later"},
    "call_result": {"ru": "Итог звонка (код)", "en": "Call result (code)"},
    "rating_comment": {"ru": "Комментарий к оценке", "en": "Rating comment"},
    "rated_at": {"ru": "Время оценки", "en": "Rated at"},
    # the missed-call recovery worklist
    "is_known_customer": {"ru": "Известный клиент", "en": "Known customer"},
    "had_ordered_before": {"ru": "Заказывал раньше", "en": "Ordered before"},
    "first_call_at": {"ru": "Первая попытка", "en": "First try at"},
    "last_call_hour": {"ru": "Час последней попытки", "en": "Hour of the last try"},
    "attempts_count": {"ru": "Попыток", "en": "Attempts"},
    "wait_seconds_total": {"ru": "Ждал всего, с", "en": "Waited in total, s"},
    "callback_attempts_count": {"ru": "Неудачных перезвонов", "en": "Unanswered callbacks"},
    "expected_conversion_rate": {"ru": "Ожидаемая конверсия", "en": "Expected conversion"},
    "expected_check_amount": {"ru": "Ожидаемый чек", "en": "Expected check"},
    "expected_lost_revenue_amount": {"ru": "Ожидаемая потерянная выручка", "en": "Expected lost revenue"},
    # the staffing advice
    "advised_date": {"ru": "На дату", "en": "Advised date"},
    "forecast_calls_offered": {"ru": "Прогноз звонков", "en": "Calls expected"},
    "aht_seconds": {"ru": "Длительность обработки, с", "en": "Handle time, s"},
    "operators_needed_count": {"ru": "Нужно операторов", "en": "Operators needed"},
    "expected_service_level": {"ru": "Ожидаемый уровень сервиса", "en": "Expected service level"},
    "expected_asa_seconds": {"ru": "Ожидаемое ожидание ответа, с", "en": "Expected ASA, s"},
    "operators_logged_in_last_week_count": {"ru": "Было неделю назад", "en": "Logged in a week before"},
    "is_short_of_staff": {"ru": "Не хватает операторов", "en": "Short of staff"},
    "operators_short_count": {"ru": "Не хватает, чел.", "en": "Operators short"},
    "target_service_level": {"ru": "Цель: уровень сервиса", "en": "Target service level"},
    "target_answer_seconds": {"ru": "Цель: ответ за, с", "en": "Target answer time, s"},
    "report_version": {"ru": "Версия отчёта", "en": "Report version"},
    "reported_at": {"ru": "Отчёт сформирован", "en": "Reported at"},
    # calculated columns (bi/datasets.py)
    "segment_label": {"ru": "Сегмент", "en": "Segment"},
    "channel_label": {"ru": "Канал", "en": "Channel"},
    "status_label": {"ru": "Статус заказа", "en": "Order status"},
    "restaurant_label": {"ru": "Ресторан", "en": "Restaurant"},
    "outcome_label": {"ru": "Исход звонка", "en": "Call outcome"},
    "wait_band": {"ru": "Ожидание", "en": "Wait"},
    "weekday_label": {"ru": "День недели", "en": "Weekday"},
    "hour_label": {"ru": "Час", "en": "Hour"},
    "operator_label": {"ru": "Оператор", "en": "Operator"},
    "call_result_label": {"ru": "Итог звонка", "en": "Call result"},
}

# Coded values as people read them: (kind, code, Russian, English); a None code labels a missing value.
# The calculated *_label columns render these in SQL.
_VALUE_WORDS: tuple[tuple[str, str | None, str, str], ...] = (
    ("segment", "prospect", "Потенциальные", "Prospects"),
    ("segment", "new", "Новые", "New"),
    ("segment", "repeat", "Повторные", "Repeat"),
    ("segment", "loyal", "Постоянные", "Loyal"),
    ("segment", "vip", "VIP", "VIP"),
    ("segment", "lapsed", "Ушедшие", "Lapsed"),
    ("segment", None, "Без профиля", "Unknown"),
    ("channel", "phone", "Телефон", "Phone"),
    ("channel", "app", "Приложение", "App"),
    ("channel", "web", "Сайт", "Web"),
    ("channel", "kiosk", "Киоск", "Kiosk"),
    ("channel", "delivery_partner", "Агрегатор доставки", "Delivery partner"),
    ("status", "created", "Создан", "Created"),
    ("status", "paid", "Оплачен", "Paid"),
    ("status", "completed", "Выполнен", "Completed"),
    ("status", "cancelled", "Отменён", "Cancelled"),
    ("outcome", "answered", "Отвечен", "Answered"),
    ("outcome", "abandoned", "Сброшен в очереди", "Abandoned"),
    ("outcome", "timeout", "Истекло ожидание", "Timed out"),
    ("outcome", "exit_key", "Вышел по кнопке", "Left by key"),
    ("outcome", "exit_empty", "Нет операторов", "No operators"),
    ("outcome", "in_queue", "Ещё в очереди", "Still queued"),
    ("call_result", "order_placed", "Оформлен заказ", "Order placed"),
    ("call_result", "transferred", "Переведён", "Transferred"),
    ("call_result", "answered", "Отвечен", "Answered"),
)
VALUE_LABELS: dict[str, dict[str | None, dict[str, str]]] = {}
for _kind, _code, _ru, _en in _VALUE_WORDS:
    VALUE_LABELS.setdefault(_kind, {})[_code] = {"ru": _ru, "en": _en}
WEEKDAYS: dict[str, tuple[str, ...]] = {
    "ru": ("1 пн", "2 вт", "3 ср", "4 чт", "5 пт", "6 сб", "7 вс"),
    "en": ("1 Mon", "2 Tue", "3 Wed", "4 Thu", "5 Fri", "6 Sat", "7 Sun"),
}
RESTAURANT_PREFIX = {"ru": "Ресторан", "en": "Restaurant"}
UNITS: dict[str, dict[str, str]] = {"seconds": {"ru": "с", "en": "s"}, "hours": {"ru": "ч", "en": "h"}}


def column_label(name: str, lang: str = "ru") -> str:
    """The label of any dataset column: a KPI's own label, else the mapping above (KeyError if neither)."""
    if name in load_kpis():
        return kpi_label(name, lang)
    return COLUMN_LABELS[name][lang]


def value_label(kind: str, value: str | None, lang: str = "ru") -> str:
    return VALUE_LABELS[kind][value][lang]
