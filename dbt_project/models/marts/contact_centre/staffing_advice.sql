{{ config(materialized='view') }}

{#- The staffing advice is computed once, in Python, when a day's report is made (reports/staffing.py
    with the one Erlang C, pantao/erlang_c.py) and stored with the report's figures. This view only
    unpacks what the latest version of each day's report stored, so it and the report cannot
    disagree. A view, not a table: a report made after the build shows here at once. -#}

with

reports as (

    select * from {{ ref('stg_reports__daily_report_staffing') }}

),

latest as (

    -- a re-generated report (late data) replaces the advice of the versions before it
    select distinct on (business_date) *
    from reports
    order by business_date, report_version desc

),

hours as (

    select
        -- ids
        latest.business_date,
        latest.advised_date,
        h.hour,

        -- the forecast
        h.forecast_calls as forecast_calls_offered,
        h.aht_seconds,

        -- the advice and last week
        h.operators_needed as operators_needed_count,
        h.service_level as expected_service_level,
        h.asa_seconds as expected_asa_seconds,
        h.logged_in_last_week as operators_logged_in_last_week_count,
        h.is_short as is_short_of_staff,
        case when h.is_short then h.operators_needed - h.logged_in_last_week else 0 end as operators_short_count,

        -- the target
        latest.target_service_level,
        latest.target_answer_seconds,

        -- lineage
        latest.report_version,
        latest.reported_at

    from latest
    cross join lateral jsonb_to_recordset(latest.staffing_hours) as h (
        hour integer,
        forecast_calls numeric,
        aht_seconds numeric,
        operators_needed integer,
        service_level numeric,
        asa_seconds numeric,
        logged_in_last_week integer,
        is_short boolean
    )

)

select * from hours
