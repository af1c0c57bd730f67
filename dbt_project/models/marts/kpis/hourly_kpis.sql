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
        hour_number as hour
    from days
    cross join generate_series(0, 23) as hour_number

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
        {{ from_business_local("hours.business_date + hours.hour * interval '1 hour'") }} as hour_start_at,

        -- orders
        coalesce(o.orders_count, 0) as orders_count,
        coalesce(o.revenue_amount, 0) as revenue_amount,

        -- calls
        {{ call_kpis('c') }}

    from hours
    left join order_figures as o using (business_date, hour)
    left join hourly_calls as c
        on c.business_date = hours.business_date
       and c.business_hour = hours.hour

)

select * from final
