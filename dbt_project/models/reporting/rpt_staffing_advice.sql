{{ config(alias='staffing_advice') }}

{#- The staffing advice per hour as the daily reports stored it (marts.staffing_advice), readable by
    whoever reads the contact centre's hourly figures (reporting.hourly_kpis): administrators,
    managers and analysts; operators see no rows. -#}

select
    s.business_date, s.advised_date, s.hour,
    -- the forecast
    s.forecast_calls_offered, s.aht_seconds,
    -- the advice (Erlang C) and last week
    s.operators_needed_count, s.expected_service_level, s.expected_asa_seconds,
    s.operators_logged_in_last_week_count, s.is_short_of_staff, s.operators_short_count,
    -- the target
    s.target_service_level, s.target_answer_seconds,
    -- which report
    s.report_version, s.reported_at
from {{ ref('staffing_advice') }} as s
where {{ role_in(['crm_admin', 'crm_analyst', 'crm_manager']) }}
order by s.advised_date desc, s.hour
