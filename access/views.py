"""The `reporting` views: the stable, documented interface analysts and BI tools read.

Each view is declared once here as data (columns, SQL expression, comment, row filter); the
migration renders the DDL and the COMMENTs from it, and the export reads its allow-list and
filter columns from it, so the three can never disagree.

Row filters sit inside the views, not as policies on the mart tables: dbt drops and re-creates
table marts on every build, which would silently discard policies and grants placed on them.
The filters read the caller's scope from `access.viewer` (keyed on `current_user`) through
uncorrelated sub-selects, which PostgreSQL evaluates once per query (an InitPlan), so a
million-row scan does not pay a lookup per row. The views are `security_barrier`, so a
caller's own predicates cannot be pushed below the filter to leak hidden rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pantao.domain import CHANNELS, DAILY_KPIS, HOURLY_KPIS, OPERATOR_KPIS, SEGMENTS

# Scope of the caller, one row (see access.migrate for access.viewer). Uncorrelated, so InitPlans.
_ROLE_IN = "coalesce((select v.role in ({roles}) from access.viewer v), false)"
OWN_EXTENSION = "(select v.operator_extension from access.viewer v where v.role = 'crm_operator')"
RESTAURANT_SCOPE = "(select v.restaurant_scope from access.viewer v)::int[]"
UNSCOPED_MANAGER = "coalesce((select v.role = 'crm_manager' and v.restaurant_scope is null from access.viewer v), false)"
SALT = "(select s.secret from access.install_secret s where s.name = 'customer_key_salt')"


def role_in(*roles: str) -> str:
    return _ROLE_IN.format(roles=", ".join(f"'{r}'" for r in roles))


def customer_key(phone_sql: str) -> str:
    """Salted SHA-256 of the phone: stable across days and views (joinable), not reversible without the salt."""
    return f"left(encode(sha256({SALT} || convert_to({phone_sql}, 'UTF8')), 'hex'), 24)"


def masked_phone(phone_sql: str) -> str:
    """`+79161234567` -> `+7 *** ***-45-67`: enough to recognise a number you already know, not to dial one."""
    return (
        f"case when {phone_sql} is null then null "
        f"when length({phone_sql}) >= 11 then left({phone_sql}, length({phone_sql}) - 10) "
        f"|| ' *** ***-' || substr({phone_sql}, length({phone_sql}) - 3, 2) || '-' || right({phone_sql}, 2) "
        f"else '***' || right({phone_sql}, 2) end"
    )


def only_for(roles: tuple[str, ...], expr: str) -> str:
    return f"case when {role_in(*roles)} then {expr} end"


@dataclass(frozen=True)
class Column:
    name: str
    expr: str
    comment: str


@dataclass(frozen=True)
class ReportingView:
    name: str
    comment: str
    from_sql: str
    where_sql: str
    columns: tuple[Column, ...]
    marts: tuple[str, ...]
    # export: the date column --from/--to filter on (None: the view has an overlap rule, see export.py)
    date_column: str | None
    # export: the sort order of a file, the view's natural key (cheap to sort, deterministic)
    order_by: tuple[str, ...] = ()
    # export: filter name -> column of this view
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


NAMES_ROLES = ("crm_admin", "crm_manager")
OPERATOR_NAME_ROLES = ("crm_admin", "crm_manager", "crm_operator")


def kpi_columns(names: tuple[str, ...], comments: Mapping[str, str], alias: str = "k") -> tuple[Column, ...]:
    """The KPI columns of a view, in pantao.domain's order, each with its analyst-facing comment.

    The names come from pantao.domain so a new KPI reaches the view without an edit here; until
    someone writes its comment it points to docs/metrics.md (a test asks for the real comment).
    """
    return tuple(
        Column(name, f"{alias}.{name}", comments.get(name, f"{name}: see docs/metrics.md for its definition."))
        for name in names
    )


DAILY_KPI_COMMENTS: dict[str, str] = {
    "orders_count": "Orders created that day whose latest status is not cancelled.",
    "cancelled_orders_count": "Orders created that day whose latest status is cancelled.",
    "revenue_amount": "Sum of total_amount (after discount) of the orders in orders_count, RUB.",
    "average_check_amount": "revenue_amount / orders_count, RUB; null when there were no orders.",
    "unique_customers_count": "Distinct customers among the counted orders (anonymous orders excluded).",
    "new_customers_count": "Customers whose first non-cancelled order ever was created that day.",
    "repeat_customers_count": "Customers of the day who had a non-cancelled order on an earlier day.",
    "repeat_customer_share": "repeat_customers_count / unique_customers_count (0..1).",
    "calls_offered_count": "Calls that entered a queue that day (chain row only; null on restaurant rows).",
    "calls_answered_count": "Offered calls an operator answered (chain row only).",
    "calls_unanswered_count": "Offered calls that were abandoned, timed out, or left the queue (chain row only).",
    "missed_call_rate": "calls_unanswered_count / calls_offered_count (0..1, chain row only).",
    "short_abandon_count": "Abandoned calls that waited less than the short-abandon threshold (chain row only).",
    "asa_seconds": "Average speed of answer: mean wait of answered calls, seconds (chain row only).",
    "service_level": "Calls answered within the service-level threshold / (offered - short abandons) (0..1, chain row only).",
    "avg_talk_seconds": "Mean talk time of answered calls, seconds (chain row only).",
    "occupancy": "Talk time / operators' logged-in time minus pauses (0..1, chain row only).",
    "calls_per_operator_hour": "Answered calls per logged-in operator hour (chain row only).",
    "ratings_count": "Ratings (calls and orders) whose interaction started that day.",
    "csat_mean": "Mean rating score 1..5 of those ratings.",
    "csat_share": "Share of those ratings scored 4 or 5 (0..1).",
}

OPERATOR_KPI_COMMENTS: dict[str, str] = {
    "calls_handled_count": "Calls offered that day that this operator answered.",
    "talk_seconds_total": "Total talk time of those calls, seconds.",
    "avg_talk_seconds": "talk_seconds_total / calls_handled_count, seconds.",
    "missed_rings_count": "Times a call rang at this operator and was not picked up.",
    "missed_ring_rate": "missed_rings_count / (missed_rings_count + calls_handled_count) (0..1).",
    "avg_pickup_seconds": "Mean ring time before this operator picked up, seconds.",
    "logged_in_seconds": "Time logged in to the queue that day, seconds.",
    "paused_seconds": "Time paused that day, seconds.",
    "occupancy": "talk_seconds_total / (logged_in_seconds - paused_seconds) (0..1).",
    "ratings_count": "Ratings of calls this operator handled that day.",
    "rating_mean": "Mean score 1..5 of those ratings.",
    "rating_share_4_5": "Share of those ratings scored 4 or 5 (0..1).",
    "phone_orders_count": "Non-cancelled phone orders created that day that this operator took.",
}

HOURLY_KPI_COMMENTS: dict[str, str] = {
    "orders_count": "Non-cancelled orders created in that hour, whole chain.",
    "revenue_amount": "Revenue of those orders, RUB.",
    "calls_offered_count": "Calls that entered a queue in that hour.",
    "calls_answered_count": "Of those, calls an operator answered.",
    "calls_unanswered_count": "Of those, calls not answered (abandoned, timed out, left the queue).",
    "asa_seconds": "Mean wait of the answered calls, seconds.",
    "service_level": "Calls answered within the threshold / (offered - short abandons) (0..1).",
}


def _customers_view(tz: str) -> ReportingView:
    scoped_manager_sees = (
        f"c.home_restaurant_id = any({RESTAURANT_SCOPE}) or c.customer_phone in "
        f"(select o.customer_phone from marts.orders o where o.restaurant_id = any({RESTAURANT_SCOPE}))"
    )
    return ReportingView(
        name="customers",
        comment=(
            "One row per customer phone number (from a customer profile or any order; segment 'prospect' "
            "has not ordered yet), pseudonymised: customer_key replaces the phone number. Managers limited "
            "to restaurants see the customers of those restaurants."
        ),
        from_sql="marts.customers c",
        where_sql=(
            f"{role_in('crm_admin', 'crm_analyst')} or {UNSCOPED_MANAGER} "
            f"or ({RESTAURANT_SCOPE} is not null and ({scoped_manager_sees}))"
        ),
        columns=(
            Column("customer_key", customer_key("c.customer_phone"),
                   "Pseudonymous customer id: salted hash of the phone number. Stable, joins orders and calls; not reversible."),
            Column("customer_phone_masked", masked_phone("c.customer_phone"),
                   "Phone number with all but the last four digits hidden, e.g. +7 *** ***-45-67."),
            Column("customer_name", only_for(NAMES_ROLES, "c.customer_name"),
                   "Customer's name from the profile; shown to administrators and managers only, null for others."),
            Column("segment", "c.segment",
                   f"Customer segment: {', '.join(SEGMENTS)} (rules in docs/metrics.md), as of the latest build."),
            Column("first_order_at", "c.first_order_at", "When the customer's first non-cancelled order was placed."),
            Column("first_order_date", f"(c.first_order_at at time zone '{tz}')::date",
                   "Business date of the first order (local time of the chain)."),
            Column("last_order_at", "c.last_order_at", "When the customer's latest non-cancelled order was placed."),
            Column("last_order_date", f"(c.last_order_at at time zone '{tz}')::date",
                   "Business date of the latest order (local time of the chain)."),
            Column("lifetime_orders_count", "c.lifetime_orders_count", "Non-cancelled orders the customer ever placed."),
            Column("lifetime_revenue_amount", "c.lifetime_revenue_amount", "Revenue of those orders, RUB."),
            Column("average_check_amount", "c.average_check_amount", "lifetime_revenue_amount / lifetime_orders_count, RUB."),
            Column("home_restaurant_id", "c.home_restaurant_id", "The restaurant the customer orders from (profile or most orders)."),
            Column("last_call_at", "c.last_call_at", "When the customer last called the contact centre; null if never."),
            Column("last_rating_score", "c.last_rating_score", "Score 1..5 of the customer's latest rating; null if none."),
        ),
        marts=("customers", "orders"),
        date_column=None,
        order_by=("customer_key",),
        filters={"segment": "segment", "restaurant": "home_restaurant_id"},
    )


def _orders_view() -> ReportingView:
    return ReportingView(
        name="orders",
        comment=(
            "One row per order in its latest state. Managers limited to restaurants see those restaurants' "
            "orders; operators see the phone orders they took."
        ),
        from_sql="marts.orders o left join marts.customers cu on cu.customer_phone = o.customer_phone",
        where_sql=(
            f"{role_in('crm_admin', 'crm_analyst')} or {UNSCOPED_MANAGER} "
            f"or o.restaurant_id = any({RESTAURANT_SCOPE}) or o.operator_extension = {OWN_EXTENSION}"
        ),
        columns=(
            Column("order_id", "o.order_id", "Order id, e.g. ORD-20261101-000123."),
            Column("created_at", "o.created_at", "When the order was placed."),
            Column("business_date", "o.business_date", "Business date of the order: the local date of created_at."),
            Column("status", "o.status", "Latest status: created, paid, completed or cancelled."),
            Column("restaurant_id", "o.restaurant_id", "Restaurant that received the order."),
            Column("channel", "o.channel", f"Sales channel: {', '.join(CHANNELS[:-1])} or {CHANNELS[-1]}."),
            Column("customer_key", customer_key("o.customer_phone"),
                   "Pseudonymous customer id (as in reporting.customers); null for anonymous orders."),
            Column("customer_phone_masked", masked_phone("o.customer_phone"), "Masked phone number of the customer."),
            Column("customer_segment", "cu.segment", "The customer's current segment (as of the latest build), null if anonymous."),
            Column("subtotal_amount", "o.subtotal_amount", "Sum of item quantities times prices, RUB."),
            Column("discount_amount", "o.discount_amount", "Discount, RUB."),
            Column("total_amount", "o.total_amount", "subtotal_amount - discount_amount, RUB."),
            Column("is_first_order", "o.is_first_order", "True for the customer's first non-cancelled order."),
            Column("call_linkedid", "o.call_linkedid", "For phone orders: the call (reporting.calls.linkedid) that placed it."),
            Column("operator_extension", "o.operator_extension", "For phone orders: extension of the operator who took it."),
        ),
        marts=("orders", "customers"),
        date_column="business_date",
        order_by=("business_date", "created_at", "order_id"),
        filters={"segment": "customer_segment", "restaurant": "restaurant_id", "channel": "channel"},
    )


def _calls_view() -> ReportingView:
    return ReportingView(
        name="calls",
        comment=(
            "One row per inbound call that entered a queue (linkedid). Operators see only the calls they answered."
        ),
        from_sql="marts.calls c left join marts.customers cu on cu.customer_phone = c.customer_phone",
        where_sql=(
            f"{role_in('crm_admin', 'crm_analyst', 'crm_manager')} or c.answered_by_extension = {OWN_EXTENSION}"
        ),
        columns=(
            Column("linkedid", "c.linkedid", "Call id (the PBX linkedid)."),
            Column("queue_name", "c.queue_name", "Queue the call entered."),
            Column("entered_at", "c.entered_at", "When the call entered the queue."),
            Column("business_date", "c.business_date", "Business date of the call: the local date of entered_at."),
            Column("business_hour", "c.business_hour", "Local hour of day (0..23) the call entered the queue."),
            Column("outcome", "c.outcome", "answered, abandoned, timeout, exit_key or exit_empty."),
            Column("wait_seconds", "c.wait_seconds", "Seconds in the queue before answer or hang-up."),
            Column("is_short_abandon", "c.is_short_abandon", "Abandoned faster than the short-abandon threshold."),
            Column("is_answered_within_service_level", "c.is_answered_within_service_level",
                   "Answered within the service-level threshold (SERVICE_LEVEL_SECONDS)."),
            Column("answered_by_extension", "c.answered_by_extension", "Extension of the operator who answered; null if unanswered."),
            Column("pickup_seconds", "c.pickup_seconds", "Seconds the answering operator's phone rang."),
            Column("talk_seconds", "c.talk_seconds", "Talk time, seconds; null if unanswered."),
            Column("transfer_count", "c.transfer_count", "Times the call was transferred."),
            Column("caller_phone_masked", masked_phone("c.caller_phone"), "Masked caller number."),
            Column("customer_key", customer_key("coalesce(c.customer_phone, c.caller_phone)"),
                   "Pseudonymous id of the caller (as in reporting.customers when the caller is a known customer)."),
            Column("customer_segment", "cu.segment", "The caller's current customer segment; null if not a customer."),
            Column("led_to_order", "c.led_to_order", "True when a phone order was placed on this call."),
            Column("order_id", "c.order_id", "The order placed on this call, if any."),
            Column("rating_score", "c.rating_score", "Score 1..5 the caller gave this call, if rated."),
            Column("is_called_back", "c.is_called_back",
                   "Unanswered, and an operator's call back to the number was answered within the callback window."),
            Column("is_answered_again", "c.is_answered_again",
                   "Unanswered, and the caller called again and was answered within the callback window."),
            Column("is_reached_later", "c.is_reached_later", "is_called_back or is_answered_again."),
        ),
        marts=("calls", "customers"),
        date_column="business_date",
        order_by=("business_date", "entered_at", "linkedid"),
        filters={"segment": "customer_segment"},
    )


def _operator_daily_view() -> ReportingView:
    return ReportingView(
        name="operator_daily",
        comment=(
            "One row per operator extension per business day on which the operator logged in or took a call. "
            "Operators see only their own rows."
        ),
        from_sql="marts.operator_daily k",
        where_sql=f"{role_in('crm_admin', 'crm_analyst', 'crm_manager')} or k.operator_extension = {OWN_EXTENSION}",
        columns=(
            Column("business_date", "k.business_date", "Business date (local time of the chain)."),
            Column("operator_extension", "k.operator_extension", "Operator's PBX extension."),
            Column("operator_name", only_for(OPERATOR_NAME_ROLES, "k.operator_name"),
                   "Operator's name; null for analysts."),
            *kpi_columns(OPERATOR_KPIS, OPERATOR_KPI_COMMENTS),
        ),
        marts=("operator_daily",),
        date_column="business_date",
        order_by=("business_date", "operator_extension"),
    )


def _daily_kpis_view() -> ReportingView:
    return ReportingView(
        name="daily_kpis",
        comment=(
            "One row per business day for the whole chain (scope = 'chain') and one per restaurant "
            "(scope = 'restaurant'; call figures are null there because the contact centre is shared). "
            "Managers limited to restaurants see the chain rows and their restaurants' rows."
        ),
        from_sql="marts.daily_kpis k",
        where_sql=(
            f"{role_in('crm_admin', 'crm_analyst')} or {UNSCOPED_MANAGER} "
            f"or ({RESTAURANT_SCOPE} is not null and (k.scope = 'chain' or k.restaurant_id = any({RESTAURANT_SCOPE})))"
        ),
        columns=(
            Column("business_date", "k.business_date", "Business date (local time of the chain)."),
            Column("scope", "k.scope", "'chain' for the whole chain, 'restaurant' for one restaurant."),
            Column("restaurant_id", "k.restaurant_id", "The restaurant of a 'restaurant' row; null on the chain row."),
            *kpi_columns(DAILY_KPIS, DAILY_KPI_COMMENTS),
        ),
        marts=("daily_kpis",),
        date_column="business_date",
        order_by=("business_date", "scope", "restaurant_id"),
        filters={"restaurant": "restaurant_id"},
    )


def _hourly_kpis_view() -> ReportingView:
    return ReportingView(
        name="hourly_kpis",
        comment="One row per business date and local hour, whole chain: orders and calls by hour of day.",
        from_sql="marts.hourly_kpis k",
        where_sql=role_in("crm_admin", "crm_analyst", "crm_manager"),
        columns=(
            Column("business_date", "k.business_date", "Business date (local time of the chain)."),
            Column("hour", "k.hour", "Local hour of day, 0..23."),
            Column("hour_start_at", "k.hour_start_at", "Start of that hour as a timestamp."),
            *kpi_columns(HOURLY_KPIS, HOURLY_KPI_COMMENTS),
        ),
        marts=("hourly_kpis",),
        date_column="business_date",
        order_by=("business_date", "hour"),
    )


def reporting_views(business_timezone: str = "Europe/Moscow") -> tuple[ReportingView, ...]:
    """All reporting views, in creation order."""
    return (
        _customers_view(business_timezone.replace("'", "''")),
        _orders_view(),
        _calls_view(),
        _operator_daily_view(),
        _daily_kpis_view(),
        _hourly_kpis_view(),
    )


VIEW_NAMES = tuple(v.name for v in reporting_views())


def view_by_name(name: str, business_timezone: str = "Europe/Moscow") -> ReportingView:
    for view in reporting_views(business_timezone):
        if view.name == name:
            return view
    raise KeyError(name)
