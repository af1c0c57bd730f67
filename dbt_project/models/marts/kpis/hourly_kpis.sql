{{
    config(
        materialized='incremental',
        unique_key='business_date',
        incremental_strategy='delete+insert',
        indexes=[{'columns': ['business_date']}],
    )
}}

{#- Chain-wide figures per local hour for the charts; all 24 hours of every day with data, so a
    quiet hour shows as zero instead of a gap. Same definitions as daily_kpis. -#}

with

orders as (

    select * from {{ ref('orders') }}
    where not is_cancelled
    {% if is_incremental() %}
      and business_date >= {{ incremental_start_date() }}
    {% endif %}

),

calls as (

    select * from {{ ref('calls') }}
    {% if is_incremental() %}
    where business_date >= {{ incremental_start_date() }}
    {% endif %}

),

activity_days as (

    select business_date from orders
    union
    select business_date from calls

),

hours as (

    select
        days.business_date,
        hour_number as hour
    from (
        select generate_series(min(business_date), max(business_date), interval '1 day')::date as business_date
        from activity_days
    ) as days
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

call_figures as (

    select
        business_date,
        business_hour as hour,
        count(*) as calls_offered_count,
        count(*) filter (where is_answered) as calls_answered_count,
        count(*) filter (where is_short_abandon) as short_abandon_count,
        count(*) filter (where is_answered_within_service_level) as answered_within_service_level_count,
        sum(hold_seconds) filter (where is_answered) as hold_seconds_total
    from calls
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
        coalesce(c.calls_offered_count, 0) as calls_offered_count,
        coalesce(c.calls_answered_count, 0) as calls_answered_count,
        coalesce(c.calls_offered_count, 0) - coalesce(c.calls_answered_count, 0) as calls_unanswered_count,
        coalesce(c.short_abandon_count, 0) as short_abandon_count,
        {{ safe_divide('c.hold_seconds_total', 'c.calls_answered_count') }} as asa_seconds,
        {{ safe_divide('c.answered_within_service_level_count',
                       'c.calls_offered_count - c.short_abandon_count') }} as service_level

    from hours
    left join order_figures as o using (business_date, hour)
    left join call_figures as c using (business_date, hour)

)

select * from final
