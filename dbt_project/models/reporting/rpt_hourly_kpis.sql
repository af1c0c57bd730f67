{{ config(alias='hourly_kpis') }}

select
    k.business_date, k.hour, k.hour_start_at,
    -- orders and calls (the KPIs of marts.hourly_kpis)
    k.orders_count, k.revenue_amount,
    k.calls_offered_count, k.calls_answered_count, k.calls_unanswered_count, k.missed_call_rate,
    k.short_abandon_count, k.asa_seconds, k.service_level, k.avg_talk_seconds,
    k.calls_converted_count, k.call_conversion_rate, k.revenue_per_answered_call,
    k.operators_logged_in_count
from {{ ref('hourly_kpis') }} as k
where {{ role_in(['crm_admin', 'crm_analyst', 'crm_manager']) }}
