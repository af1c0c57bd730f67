{{ config(indexes=[{'columns': ['business_date'], 'unique': True}]) }}

{#- One row per business day for the whole chain. Its days are the date spine the other KPI marts
    share (restaurant_daily_kpis, hourly_kpis): every day with data inside the plausible window,
    and the quiet days between two of them (docs/metrics.md, "Which days the KPI marts cover"). -#}

with

orders as (select * from {{ ref('orders') }} where {{ in_lookback_window() }}),
calls as (select * from {{ ref('calls') }} where {{ in_lookback_window() }}),
hourly_calls as (select * from {{ ref('int_calls_aggregated_to_hours') }} where {{ in_lookback_window() }}),
operator_days as (select * from {{ ref('operator_daily') }} where {{ in_lookback_window() }}),

-- the rows of marts.ratings: the report's satisfaction section counts the same ones
ratings as (select * from {{ ref('ratings') }} where {{ in_lookback_window() }}),

-- the date spine: days with data in the plausible window, each followed by the quiet days up to
-- the next day with data when that one is at most var('spine_max_gap_days') later
active_days as (

    select business_date from orders
    union
    select business_date from calls
    union
    select business_date from operator_days

),

plausible_days as (

    select
        business_date,
        lead(business_date) over (order by business_date) as next_active_date
    from active_days
    where {{ is_plausible_business_date() }}

),

days as (

    select spine.day::date as business_date
    from plausible_days
    cross join lateral generate_series(
        plausible_days.business_date,
        case
            when plausible_days.next_active_date - plausible_days.business_date <= {{ var('spine_max_gap_days') }}
                then plausible_days.next_active_date - 1
            else plausible_days.business_date
        end,
        interval '1 day'
    ) as spine (day)

),

order_figures as (

    select
        business_date,
        {{ order_figures() }}
    from orders
    group by 1

),

call_figures as (

    select
        business_date,
        {{ call_figures() }}
    from hourly_calls
    group by 1

),

operator_figures as (

    select
        business_date,
        sum(logged_in_seconds) as logged_in_seconds,
        sum(paused_seconds) as paused_seconds
    from operator_days
    group by 1

),

rating_figures as (

    select
        business_date,
        {{ rating_figures() }}
    from ratings
    group by 1

),

final as (

    select
        -- keys
        days.business_date,

        -- orders and customers
        {{ order_kpis('o') }},

        -- calls
        {{ call_kpis('c') }},

        -- operators
        {{ operator_load_kpis('c', 'ops') }},

        -- ratings: calls and orders together, then each apart
        {{ rating_kpis('r') }}

    from days
    left join order_figures as o using (business_date)
    left join call_figures as c using (business_date)
    left join operator_figures as ops using (business_date)
    left join rating_figures as r using (business_date)

)

select * from final
