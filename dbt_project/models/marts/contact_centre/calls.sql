{{ config(indexes=[
    {'columns': ['linkedid'], 'unique': True}, {'columns': ['business_date']},
    {'columns': ['customer_phone']},
], pre_hook=["{{ keep_customer_keys('caller_phone') }}"]) }}

with

calls as (select * from {{ ref('int_calls_outcomes') }} where {{ in_lookback_window() }}),
callbacks as (select * from {{ ref('int_calls_callbacks') }}),
operators as (select * from {{ ref('int_operators') }}),

-- the call's CDRs, linked by linkedid or, without one, by the caller channel's uniqueid
call_cdrs as (

    select
        call_linkedid as linkedid,
        count(*) as cdr_count,
        sum(billed_seconds) as cdr_billed_seconds
    from {{ ref('stg_freepbx__cdr') }}
    where call_linkedid in (select linkedid from calls)
    group by 1

),

-- the order a phone call placed
call_orders as (

    select * from {{ ref('int_calls_orders') }}
    where linkedid in (select linkedid from calls)

),

call_ratings as (

    select distinct on (call_linkedid)
        call_linkedid as linkedid,
        rating_id,
        score as rating_score
    from {{ ref('int_ratings_valid') }}
    where subject_type = 'call'
      and call_linkedid in (select linkedid from calls)
    order by call_linkedid, submitted_at, rating_id

),

known_customers as (

    select customer_phone from {{ ref('int_customer_profiles_latest') }}
    where customer_phone in (select caller_phone from calls)
    union
    select customer_phone from {{ ref('orders') }}
    where customer_phone in (select caller_phone from calls)

),

final as (

    select
        -- ids
        calls.linkedid,
        calls.queue_name,
        calls.answered_by_extension,
        coalesce(operators.operator_name, {{ unknown_operator_name('calls.answered_by_extension') }})
            as answered_by_name,
        calls.caller_phone,
        known_customers.customer_phone,
        call_orders.order_id,
        call_ratings.rating_id,

        -- outcome
        calls.outcome,
        calls.is_answered,
        calls.is_short_abandon,
        calls.is_answered_within_service_level,
        calls.is_transferred,
        call_orders.order_id is not null as led_to_order,
        call_orders.order_total_amount,
        call_ratings.rating_score,
        coalesce(callbacks.is_called_back, false) as is_called_back,
        coalesce(callbacks.is_answered_again, false) as is_answered_again,
        coalesce(callbacks.is_reached_later, false) as is_reached_later,
        coalesce(callbacks.callback_attempts_count, 0) as callback_attempts_count,

        -- durations
        calls.wait_seconds,
        calls.hold_seconds,
        calls.pickup_seconds,
        calls.talk_seconds,

        -- counts
        calls.transfer_count,
        calls.missed_rings_count,
        call_cdrs.cdr_count,
        call_cdrs.cdr_billed_seconds,

        -- timestamps
        calls.entered_at,
        calls.business_date,
        calls.business_hour,
        calls.connected_at,
        calls.ended_at,
        callbacks.reached_at,
        calls.last_landed_at,

        -- the caller, pseudonymised (macros/customer_key.sql)
        {{ customer_key('calls.caller_phone') }} as customer_key

    from calls
    left join callbacks using (linkedid)
    left join operators on operators.operator_extension = calls.answered_by_extension
    left join call_cdrs using (linkedid)
    left join call_orders using (linkedid)
    left join call_ratings using (linkedid)
    left join known_customers on known_customers.customer_phone = calls.caller_phone

)

select * from final
