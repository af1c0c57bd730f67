{{ config(indexes=[{'columns': ['business_date']}]) }}

{#- Chain-wide figures per local hour for the charts: all 24 hours of every day of daily_kpis, so a
    quiet hour shows as zero instead of a gap. Same definitions as daily_kpis. -#}

with

days as (

    select business_date from {{ ref('daily_kpis') }}
    where {{ in_lookback_window() }}

),

orders as (

    select * from {{ ref('orders') }}
    where not is_cancelled
      and {{ in_lookback_window() }}

),

hourly_calls as (select * from {{ ref('int_calls_aggregated_to_hours') }} where {{ in_lookback_window() }}),

hours as (

    select
        days.business_date,
        hour_number as hour,
        {{ from_business_local("days.business_date + hour_number * interval '1 hour'") }} as hour_start_at
    from days
    cross join generate_series(0, 23) as hour_number

),

-- operators logged in to a queue at some moment of the hour (a session started the day before may
-- reach into it; an open session has no end yet and counts from its start only)
sessions as (

    select operator_extension, started_at, coalesce(ended_at, started_at) as ended_at
    from {{ ref('int_operator_sessions') }}
    where business_date >= (select min(business_date) from days) - 1

),

presence as (

    select
        hours.business_date,
        hours.hour,
        count(distinct sessions.operator_extension) as operators_logged_in_count
    from hours
    inner join sessions
        on sessions.started_at < hours.hour_start_at + interval '1 hour'
       and sessions.ended_at > hours.hour_start_at
    group by 1, 2

),

order_figures as (

    select
        business_date,
        business_hour as hour,
        count(*) as orders_count,
        sum(total_amount) as revenue_amount
    from orders
    group by 1, 2

),

final as (

    select
        -- keys
        hours.business_date,
        hours.hour,
        hours.hour_start_at,

        -- orders
        coalesce(o.orders_count, 0) as orders_count,
        coalesce(o.revenue_amount, 0) as revenue_amount,

        -- calls
        {{ call_kpis('c') }},

        -- operators (the staffing advice compares them with the Erlang C need: reports/staffing.py)
        coalesce(p.operators_logged_in_count, 0) as operators_logged_in_count

    from hours
    left join order_figures as o using (business_date, hour)
    left join presence as p using (business_date, hour)
    left join hourly_calls as c
        on c.business_date = hours.business_date
       and c.business_hour = hours.hour

)

select * from final
