{#- The KPI formulas shared by the KPI marts, so the chain, each restaurant and each hour are
    computed alike (definitions: docs/metrics.md). -#}

{#- Order and customer figures of a group of marts.orders rows (group by the grain around it). -#}
{% macro order_figures() -%}
    count(*) filter (where not is_cancelled) as orders_count,
    count(*) filter (where is_cancelled) as cancelled_orders_count,
    sum(total_amount) filter (where not is_cancelled) as revenue_amount,
    count(distinct customer_phone) filter (where not is_cancelled) as unique_customers_count,
    count(distinct customer_phone)
        filter (where not is_cancelled and customer_first_order_date = business_date) as new_customers_count
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
    {{ safe_divide(figures ~ '.talk_seconds_total', figures ~ '.calls_answered_count') }} as avg_talk_seconds
{%- endmacro %}
