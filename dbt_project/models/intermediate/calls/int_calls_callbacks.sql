{{
    config(
        materialized='incremental',
        unique_key='business_date',
        incremental_strategy='delete+insert',
        indexes=[{'columns': ['linkedid'], 'unique': True}, {'columns': ['business_date']}],
    )
}}

{#- For each unanswered call: did the caller get through within var('callback_window_hours')
    after the call ended — an operator called the number back (outbound CDR from a directory
    extension, answered) or the caller called again and was answered. Rebuilt for the late-data
    window, which must cover the callback window (late_data_lookback_days × 24 ≥
    callback_window_hours) so a callback on the next day updates the earlier call. -#}

with

calls as (

    select * from {{ ref('int_calls_outcomes') }}
    {% if is_incremental() %}
    where business_date >= {{ incremental_start_date() }}
    {% endif %}

),

unanswered as (

    select linkedid, business_date, caller_phone, {{ phone_key('caller_phone') }} as phone_key, ended_at
    from calls
    where not is_answered and caller_phone is not null

),

answered_again as (

    select
        {{ phone_key('caller_phone') }} as phone_key,
        linkedid,
        connected_at
    from calls
    where is_answered and caller_phone is not null

),

extensions as (

    select operator_extension from {{ ref('stg_freepbx__extensions') }}

),

outbound_calls as (

    select
        {{ phone_key('destination_number') }} as phone_key,
        source_number as operator_extension,
        started_at,
        is_answered
    from {{ ref('stg_freepbx__cdr') }}
    where source_number in (select operator_extension from extensions)
      and destination_context = 'from-internal'
    {% if is_incremental() %}
      and started_at >= {{ incremental_start_at() }}
    {% endif %}

),

callbacks as (

    select
        unanswered.linkedid,
        min(outbound_calls.started_at) as first_callback_attempt_at,
        min(outbound_calls.started_at) filter (where outbound_calls.is_answered) as called_back_at,
        count(*) as callback_attempts_count
    from unanswered
    inner join outbound_calls
        on outbound_calls.phone_key = unanswered.phone_key
       and outbound_calls.started_at > unanswered.ended_at
       and outbound_calls.started_at <= unanswered.ended_at + interval '{{ var("callback_window_hours") }} hours'
    group by unanswered.linkedid

),

repeat_calls as (

    select
        unanswered.linkedid,
        min(answered_again.connected_at) as answered_again_at
    from unanswered
    inner join answered_again
        on answered_again.phone_key = unanswered.phone_key
       and answered_again.connected_at > unanswered.ended_at
       and answered_again.connected_at <= unanswered.ended_at + interval '{{ var("callback_window_hours") }} hours'
    group by unanswered.linkedid

),

final as (

    select
        -- ids
        unanswered.linkedid,
        unanswered.caller_phone,

        -- attributes
        callbacks.called_back_at is not null as is_called_back,
        repeat_calls.answered_again_at is not null as is_answered_again,
        callbacks.called_back_at is not null or repeat_calls.answered_again_at is not null as is_reached_later,
        coalesce(callbacks.callback_attempts_count, 0) as callback_attempts_count,

        -- timestamps
        callbacks.first_callback_attempt_at,
        callbacks.called_back_at,
        repeat_calls.answered_again_at,
        least(callbacks.called_back_at, repeat_calls.answered_again_at) as reached_at,
        unanswered.business_date

    from unanswered
    left join callbacks using (linkedid)
    left join repeat_calls using (linkedid)

)

select * from final
