{#- The KPI formulas shared by the KPI marts, so the chain, each restaurant and each hour are
    computed alike (definitions: docs/metrics.md). -#}

{#- Order and customer figures of a group of marts.orders rows (group by the grain around it). A
    customer is new when their first order ever falls in the grain's days, [first_day, last_day]:
    the business day itself for a day's figures, a week's or a month's first and last day for a
    period's. -#}
{% macro order_figures(first_day='business_date', last_day='business_date') -%}
    count(*) filter (where not is_cancelled) as orders_count,
    count(*) filter (where is_cancelled) as cancelled_orders_count,
    sum(total_amount) filter (where not is_cancelled) as revenue_amount,
    count(distinct customer_phone) filter (where not is_cancelled) as unique_customers_count,
    count(distinct customer_phone)
        filter (where not is_cancelled
                and customer_first_order_date between {{ first_day }} and {{ last_day }}) as new_customers_count
{%- endmacro %}

{#- The order and customer KPI columns from order_figures() joined as `figures` (null: no orders). -#}
{% macro order_kpis(figures) -%}
    coalesce({{ figures }}.orders_count, 0) as orders_count,
    coalesce({{ figures }}.cancelled_orders_count, 0) as cancelled_orders_count,
    coalesce({{ figures }}.revenue_amount, 0) as revenue_amount,
    {{ safe_divide(figures ~ '.revenue_amount', figures ~ '.orders_count') }} as average_check_amount,
    coalesce({{ figures }}.unique_customers_count, 0) as unique_customers_count,
    coalesce({{ figures }}.new_customers_count, 0) as new_customers_count,
    coalesce({{ figures }}.unique_customers_count - {{ figures }}.new_customers_count, 0) as repeat_customers_count,
    {{ safe_divide(figures ~ '.unique_customers_count - ' ~ figures ~ '.new_customers_count',
                   figures ~ '.unique_customers_count') }} as repeat_customer_share
{%- endmacro %}

{#- The call figures of a group of int_calls_aggregated_to_hours rows, summed to the grain around it. -#}
{% macro call_figures() -%}
    sum(calls_offered_count)::bigint as calls_offered_count,
    sum(calls_answered_count)::bigint as calls_answered_count,
    sum(short_abandon_count)::bigint as short_abandon_count,
    sum(answered_within_service_level_count)::bigint as answered_within_service_level_count,
    sum(hold_seconds_total) as hold_seconds_total,
    sum(talk_seconds_total) as talk_seconds_total,
    sum(calls_converted_count)::bigint as calls_converted_count,
    sum(converted_revenue_amount) as converted_revenue_amount
{%- endmacro %}

{#- The call KPI columns from int_calls_aggregated_to_hours' figures (summed to the grain) joined as
    `figures` (null: no calls). -#}
{% macro call_kpis(figures) -%}
    coalesce({{ figures }}.calls_offered_count, 0) as calls_offered_count,
    coalesce({{ figures }}.calls_answered_count, 0) as calls_answered_count,
    coalesce({{ figures }}.calls_offered_count - {{ figures }}.calls_answered_count, 0) as calls_unanswered_count,
    {{ safe_divide(figures ~ '.calls_offered_count - ' ~ figures ~ '.calls_answered_count',
                   figures ~ '.calls_offered_count') }} as missed_call_rate,
    coalesce({{ figures }}.short_abandon_count, 0) as short_abandon_count,
    {{ safe_divide(figures ~ '.hold_seconds_total', figures ~ '.calls_answered_count') }} as asa_seconds,
    {{ safe_divide(figures ~ '.answered_within_service_level_count',
                   figures ~ '.calls_offered_count - ' ~ figures ~ '.short_abandon_count') }} as service_level,
    {{ safe_divide(figures ~ '.talk_seconds_total', figures ~ '.calls_answered_count') }} as avg_talk_seconds,
    {{ conversion_kpis(figures ~ '.calls_converted_count', figures ~ '.converted_revenue_amount',
                       figures ~ '.calls_answered_count') }}
{%- endmacro %}

{#- Call-to-order conversion from the answered calls, those of them that placed an order and the
    revenue of those orders (null figures: no calls): the chain's per day and hour, an operator's. -#}
{% macro conversion_kpis(converted, revenue, answered) -%}
    coalesce({{ converted }}, 0) as calls_converted_count,
    {{ safe_divide(converted, answered) }} as call_conversion_rate,
    {{ safe_divide('coalesce(' ~ revenue ~ ', 0)', answered) }} as revenue_per_answered_call
{%- endmacro %}

{#- Rating figures of a group of marts.ratings rows: all of them, then the call and the order ratings. -#}
{% macro rating_figures() -%}
    count(*) as ratings_count,
    sum(score) as score_total,
    count(*) filter (where score >= 4) as ratings_4_5_count,
    count(*) filter (where subject_type = 'call') as call_ratings_count,
    sum(score) filter (where subject_type = 'call') as call_score_total,
    count(*) filter (where subject_type = 'order') as order_ratings_count,
    sum(score) filter (where subject_type = 'order') as order_score_total
{%- endmacro %}

{#- The rating KPI columns from rating_figures() joined as `figures` (null: no ratings). -#}
{% macro rating_kpis(figures) -%}
    coalesce({{ figures }}.ratings_count, 0) as ratings_count,
    {{ safe_divide(figures ~ '.score_total', figures ~ '.ratings_count') }} as csat_mean,
    {{ safe_divide(figures ~ '.ratings_4_5_count', figures ~ '.ratings_count') }} as csat_share,
    coalesce({{ figures }}.call_ratings_count, 0) as call_ratings_count,
    {{ safe_divide(figures ~ '.call_score_total', figures ~ '.call_ratings_count') }} as call_csat_mean,
    coalesce({{ figures }}.order_ratings_count, 0) as order_ratings_count,
    {{ safe_divide(figures ~ '.order_score_total', figures ~ '.order_ratings_count') }} as order_csat_mean
{%- endmacro %}

{#- Occupancy and calls per operator-hour from the call figures (`calls`, from call_figures()) and the
    operators' summed logged_in_seconds and paused_seconds (`operators`). -#}
{% macro operator_load_kpis(calls, operators) -%}
    {{ safe_divide('coalesce(' ~ calls ~ '.talk_seconds_total, 0)',
                   operators ~ '.logged_in_seconds - ' ~ operators ~ '.paused_seconds') }} as occupancy,
    {{ safe_divide('coalesce(' ~ calls ~ '.calls_answered_count, 0)', operators ~ '.logged_in_seconds / 3600.0') }}
        as calls_per_operator_hour
{%- endmacro %}
