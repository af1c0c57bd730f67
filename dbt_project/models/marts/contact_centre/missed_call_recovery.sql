{{ config(indexes=[{'columns': ['business_date']}, {'columns': ['caller_phone']}],
          pre_hook=["{{ keep_customer_keys('caller_phone') }}"]) }}

{#- The missed-call recovery worklist (docs/metrics.md, "Missed-call recovery"): per business day,
    every caller whose unanswered calls of that day were not reached back — no answered callback
    and no answered later call within var('callback_window_hours') — with what we know of them and
    the revenue the chain can expect to lose: the conversion of answered calls into orders in that
    local hour by callers of the same kind (ordered before or not) over var('recovery_learning_days')
    (28) days up to that day,
    times their average check (a newcomer's: the chain's average phone order over those days). -#}

with

calls as (select * from {{ ref('calls') }} where {{ in_lookback_window() }}),
customers as (select * from {{ ref('customers') }}),

not_reached as (

    select *
    from calls
    where not is_answered
      and caller_phone is not null
      and not is_reached_later

),

callers as (

    select
        business_date,
        caller_phone,
        max(customer_phone) as customer_phone,
        min(entered_at) as first_call_at,
        max(entered_at) as last_call_at,
        (array_agg(business_hour order by entered_at desc))[1] as last_call_hour,
        count(*) as attempts_count,
        sum(wait_seconds)::bigint as wait_seconds_total,
        sum(callback_attempts_count)::bigint as callback_attempts_count
    from not_reached
    group by 1, 2

),

-- the answered calls the conversion is learnt from: var('recovery_learning_days') up to the earliest day rebuilt
answered as (

    select
        c.business_date,
        c.business_hour,
        c.led_to_order,
        c.order_total_amount,
        coalesce(cu.first_order_at < c.entered_at, false) as had_ordered_before
    from {{ ref('calls') }} as c
    left join customers as cu on cu.customer_phone = c.customer_phone
    where c.is_answered
      and c.business_date >= (select min(business_date) from callers) - {{ var('recovery_learning_days') - 1 }}

),

days as (select distinct business_date from callers),

-- per day, hour and kind of caller first, so the 28-day sums below stay small at any volume
answered_days as (

    select
        business_date,
        business_hour,
        had_ordered_before,
        count(*) as answered_count,
        count(*) filter (where led_to_order) as converted_count,
        sum(order_total_amount) as converted_revenue_amount
    from answered
    group by 1, 2, 3

),

conversion as (

    select
        days.business_date,
        a.business_hour,
        a.had_ordered_before,
        {{ safe_divide('sum(a.converted_count)', 'sum(a.answered_count)') }} as conversion_rate
    from days
    inner join answered_days as a
        on a.business_date between days.business_date - {{ var('recovery_learning_days') - 1 }} and days.business_date
    group by 1, 2, 3

),

-- the average order a call placed over those days (any hour, any caller)
phone_checks as (

    select
        days.business_date,
        {{ safe_divide('sum(a.converted_revenue_amount)', 'sum(a.converted_count)') }} as phone_average_check_amount
    from days
    inner join answered_days as a
        on a.business_date between days.business_date - {{ var('recovery_learning_days') - 1 }} and days.business_date
    group by 1

),

described as (

    select
        callers.*,
        coalesce(cu.first_order_at < callers.last_call_at, false) as had_ordered_before,
        cu.last_order_at,
        cu.average_check_amount,
        coalesce(cu.lifetime_orders_count, 0) as lifetime_orders_count,
        cu.home_restaurant_id
    from callers
    left join customers as cu on cu.customer_phone = callers.customer_phone

),

final as (

    select
        -- keys
        described.business_date,
        described.caller_phone,

        -- who they are
        described.customer_phone is not null as is_known_customer,
        described.had_ordered_before,
        described.home_restaurant_id,
        described.lifetime_orders_count,
        described.last_order_at,
        described.average_check_amount,

        -- their tries
        described.first_call_at,
        described.last_call_at,
        described.last_call_hour,
        described.attempts_count,
        described.wait_seconds_total,
        described.callback_attempts_count,

        -- what it may cost
        coalesce(conversion.conversion_rate, 0) as expected_conversion_rate,
        coalesce(described.average_check_amount, phone_checks.phone_average_check_amount)
            as expected_check_amount,
        coalesce(conversion.conversion_rate, 0)
            * coalesce(described.average_check_amount, phone_checks.phone_average_check_amount, 0)
            as expected_lost_revenue_amount,

        -- the caller, pseudonymised (macros/customer_key.sql)
        {{ customer_key('described.caller_phone') }} as customer_key

    from described
    left join conversion
        on conversion.business_date = described.business_date
       and conversion.business_hour = described.last_call_hour
       and conversion.had_ordered_before = described.had_ordered_before
    left join phone_checks on phone_checks.business_date = described.business_date

)

select * from final
