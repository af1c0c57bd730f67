{{ config(alias='operator_daily') }}

select
    k.business_date,
    k.operator_extension,
    {{ only_for(['crm_admin', 'crm_manager', 'crm_operator'], 'k.operator_name') }} as operator_name,
    -- calls, presence, ratings, orders (the KPIs of marts.operator_daily)
    k.calls_handled_count, k.talk_seconds_total, k.avg_talk_seconds, k.missed_rings_count, k.missed_ring_rate,
    k.avg_pickup_seconds, k.logged_in_seconds, k.paused_seconds, k.occupancy,
    k.ratings_count, k.rating_mean, k.rating_share_4_5, k.phone_orders_count,
    k.calls_converted_count, k.call_conversion_rate, k.revenue_per_answered_call
from {{ ref('operator_daily') }} as k
where {{ role_in(['crm_admin', 'crm_analyst', 'crm_manager']) }}
   or k.operator_extension = {{ own_extension() }}
