{#- The call figures of each business day and local hour, summed from the calls: the base of the
    hourly call KPIs and, summed over a day's hours, of the daily ones, so both count alike (the
    call-to-order conversion too: the orders that answered calls placed, by the call's hour). A view
    (the intermediate default): the KPI marts read it for their late-data window only, through
    int_calls_outcomes' index. -#}

with

calls as (select * from {{ ref('int_calls_outcomes') }}),

-- the order each call placed: conversion counts answered calls only
call_orders as (select * from {{ ref('int_calls_orders') }}),

final as (

    select
        -- keys
        business_date,
        business_hour,

        -- counts
        count(*) as calls_offered_count,
        count(*) filter (where is_answered) as calls_answered_count,
        count(*) filter (where is_short_abandon) as short_abandon_count,
        count(*) filter (where is_answered_within_service_level) as answered_within_service_level_count,
        count(call_orders.linkedid) filter (where is_answered) as calls_converted_count,

        -- durations
        sum(hold_seconds) filter (where is_answered) as hold_seconds_total,
        coalesce(sum(talk_seconds) filter (where is_answered), 0) as talk_seconds_total,

        -- amounts
        coalesce(sum(call_orders.order_total_amount) filter (where is_answered), 0) as converted_revenue_amount

    from calls
    left join call_orders using (linkedid)
    group by 1, 2

)

select * from final
