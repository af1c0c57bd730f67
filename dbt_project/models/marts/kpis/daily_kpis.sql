{{ config(indexes=[{'columns': ['business_date'], 'unique': True}]) }}

{#- One row per business day for the whole chain. Its days are the date spine the other KPI marts
    share (restaurant_daily_kpis, hourly_kpis): every day with data inside the plausible window,
    and the quiet days between two of them (docs/metrics.md, "Which days the KPI marts cover"). -#}

with

orders as (select * from {{ ref('orders') }} where {{ in_lookback_window() }}),
calls as (select * from {{ ref('calls') }} where {{ in_lookback_window() }}),
hourly_calls as (select * from {{ ref('int_calls_aggregated_to_hours') }} where {{ in_lookback_window() }}),
operator_days as (select * from {{ ref('operator_daily') }} where {{ in_lookback_window() }}),

ratings as (

    select calls.business_date, r.score
    from {{ ref('int_ratings_deduplicated') }} as r
    inner join calls on calls.linkedid = r.call_linkedid
    where r.subject_type = 'call'

    union all

    select orders.business_date, r.score
    from {{ ref('int_ratings_deduplicated') }} as r
    inner join orders on orders.order_id = r.order_id
    where r.subject_type = 'order'

),

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
        sum(calls_offered_count)::bigint as calls_offered_count,
        sum(calls_answered_count)::bigint as calls_answered_count,
        sum(short_abandon_count)::bigint as short_abandon_count,
        sum(answered_within_service_level_count)::bigint as answered_within_service_level_count,
        sum(hold_seconds_total) as hold_seconds_total,
        sum(talk_seconds_total) as talk_seconds_total
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
        count(*) as ratings_count,
        sum(score) as score_total,
        count(*) filter (where score >= 4) as ratings_4_5_count
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
        {{ safe_divide('coalesce(c.talk_seconds_total, 0)', 'ops.logged_in_seconds - ops.paused_seconds') }}
            as occupancy,
        {{ safe_divide('coalesce(c.calls_answered_count, 0)', 'ops.logged_in_seconds / 3600.0') }}
            as calls_per_operator_hour,

        -- ratings
        coalesce(r.ratings_count, 0) as ratings_count,
        {{ safe_divide('r.score_total', 'r.ratings_count') }} as csat_mean,
        {{ safe_divide('r.ratings_4_5_count', 'r.ratings_count') }} as csat_share

    from days
    left join order_figures as o using (business_date)
    left join call_figures as c using (business_date)
    left join operator_figures as ops using (business_date)
    left join rating_figures as r using (business_date)

)

select * from final
