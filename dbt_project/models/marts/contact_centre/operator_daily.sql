{{ config(indexes=[{'columns': ['business_date']}]) }}

{#- A row exists for every operator and business day with any activity: a session, a pause, a
    rung or answered call, a rating of their call or a phone order they took. -#}

with

calls as (select * from {{ ref('calls') }} where {{ in_lookback_window() }}),
sessions as (select * from {{ ref('int_operator_sessions') }} where {{ in_lookback_window() }}),
pauses as (select * from {{ ref('int_operator_pauses') }} where {{ in_lookback_window() }}),

-- RINGNOANSWER events count on the business day of the call they belong to
missed_rings as (

    select
        calls.business_date,
        rings.operator_extension,
        count(*) as missed_rings_count
    from {{ ref('int_queue_log_events') }} as rings
    inner join calls on calls.linkedid = rings.linkedid
    where rings.event_type = 'RINGNOANSWER'
      and rings.operator_extension is not null
      and {{ in_lookback_window('rings.event_at', timestamp=true) }}
    group by 1, 2

),

handled as (

    select
        business_date,
        answered_by_extension as operator_extension,
        count(*) as calls_handled_count,
        coalesce(sum(talk_seconds), 0) as talk_seconds_total,
        sum(pickup_seconds) as pickup_seconds_total,
        count(*) filter (where led_to_order) as calls_converted_count,
        sum(order_total_amount) as converted_revenue_amount
    from calls
    where is_answered
    group by 1, 2

),

call_ratings as (

    select
        calls.business_date,
        calls.answered_by_extension as operator_extension,
        count(*) as ratings_count,
        sum(ratings.score) as rating_score_total,
        count(*) filter (where ratings.score >= 4) as ratings_4_5_count
    from calls
    inner join {{ ref('int_ratings_valid') }} as ratings
        on ratings.call_linkedid = calls.linkedid and ratings.subject_type = 'call'
    where calls.is_answered
    group by 1, 2

),

logged_in as (

    select business_date, operator_extension, sum(logged_in_seconds) as logged_in_seconds
    from sessions
    group by 1, 2

),

paused as (

    select business_date, operator_extension, sum(paused_seconds) as paused_seconds
    from pauses
    group by 1, 2

),

phone_orders as (

    select business_date, operator_extension, count(*) as phone_orders_count
    from {{ ref('orders') }}
    where operator_extension is not null
      and not is_cancelled
      and {{ in_lookback_window() }}
    group by 1, 2

),

operators as (select * from {{ ref('int_operators') }}),

operator_days as (

    select business_date, operator_extension from logged_in
    union
    select business_date, operator_extension from paused
    union
    select business_date, operator_extension from missed_rings
    union
    select business_date, operator_extension from handled
    union
    select business_date, operator_extension from call_ratings
    union
    select business_date, operator_extension from phone_orders

),

final as (

    select
        -- keys
        operator_days.business_date,
        operator_days.operator_extension,
        coalesce(operators.operator_name, {{ unknown_operator_name('operator_days.operator_extension') }})
            as operator_name,
        operators.operator_extension is not null as is_known_operator,

        -- calls
        coalesce(handled.calls_handled_count, 0) as calls_handled_count,
        coalesce(handled.talk_seconds_total, 0) as talk_seconds_total,
        {{ safe_divide('handled.talk_seconds_total', 'handled.calls_handled_count') }} as avg_talk_seconds,
        coalesce(missed_rings.missed_rings_count, 0) as missed_rings_count,
        {{ safe_divide(
            'coalesce(missed_rings.missed_rings_count, 0)',
            'coalesce(missed_rings.missed_rings_count, 0) + coalesce(handled.calls_handled_count, 0)'
        ) }} as missed_ring_rate,
        {{ safe_divide('handled.pickup_seconds_total', 'handled.calls_handled_count') }} as avg_pickup_seconds,

        -- presence
        coalesce(logged_in.logged_in_seconds, 0) as logged_in_seconds,
        coalesce(paused.paused_seconds, 0) as paused_seconds,
        {{ safe_divide(
            'coalesce(handled.talk_seconds_total, 0)',
            'coalesce(logged_in.logged_in_seconds, 0) - coalesce(paused.paused_seconds, 0)'
        ) }} as occupancy,

        -- ratings of the calls they handled
        coalesce(call_ratings.ratings_count, 0) as ratings_count,
        {{ safe_divide('call_ratings.rating_score_total', 'call_ratings.ratings_count') }} as rating_mean,
        {{ safe_divide('call_ratings.ratings_4_5_count', 'call_ratings.ratings_count') }} as rating_share_4_5,

        -- orders
        coalesce(phone_orders.phone_orders_count, 0) as phone_orders_count,
        {{ conversion_kpis('handled.calls_converted_count', 'handled.converted_revenue_amount',
                           'handled.calls_handled_count') }}

    from operator_days
    left join handled using (business_date, operator_extension)
    left join missed_rings using (business_date, operator_extension)
    left join logged_in using (business_date, operator_extension)
    left join paused using (business_date, operator_extension)
    left join call_ratings using (business_date, operator_extension)
    left join phone_orders using (business_date, operator_extension)
    left join operators on operators.operator_extension = operator_days.operator_extension

)

select * from final
