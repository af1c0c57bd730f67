{{ config(materialized='incremental', indexes=[
    {'columns': ['linkedid'], 'unique': True}, {'columns': ['business_date']},
]) }}

{#- For each unanswered call: did the caller get through within var('callback_window_hours')
    after the call ended — an operator called the number back (outbound CDR from a directory
    extension, answered) or the caller called again and was answered. Rebuilt for the late-data
    window, which must cover the callback window (late_data_lookback_days × 24 ≥
    callback_window_hours) so a callback on the next day updates the earlier call. -#}

with

calls as (select * from {{ ref('int_calls_outcomes') }} where {{ in_lookback_window() }}),

unanswered as (

    select linkedid, business_date, caller_phone, {{ phone_key('caller_phone') }} as phone_key, ended_at
    from calls
    where not is_answered and caller_phone is not null

),

extensions as (select operator_extension from {{ ref('stg_freepbx__extensions') }}),

-- every later contact with a number: an operator's outbound call (answered or not), or a call
-- from that number that an operator answered
later_contacts as (

    select
        {{ phone_key('destination_number') }} as phone_key,
        started_at as contact_at,
        true as is_callback,
        is_answered
    from {{ ref('stg_freepbx__cdr') }}
    where source_number in (select operator_extension from extensions)
      and destination_context = 'from-internal'
      and {{ in_lookback_window('started_at', timestamp=true) }}

    union all

    select
        {{ phone_key('caller_phone') }} as phone_key,
        connected_at as contact_at,
        false as is_callback,
        true as is_answered
    from calls
    where is_answered and caller_phone is not null

),

reached as (

    select
        unanswered.linkedid,
        min(c.contact_at) filter (where c.is_callback) as first_callback_attempt_at,
        min(c.contact_at) filter (where c.is_callback and c.is_answered) as called_back_at,
        count(*) filter (where c.is_callback) as callback_attempts_count,
        min(c.contact_at) filter (where not c.is_callback) as answered_again_at
    from unanswered
    inner join later_contacts as c
        on c.phone_key = unanswered.phone_key
       and c.contact_at > unanswered.ended_at
       and c.contact_at <= unanswered.ended_at + interval '{{ var("callback_window_hours") }} hours'
    group by unanswered.linkedid

),

final as (

    select
        -- ids
        unanswered.linkedid,
        unanswered.caller_phone,

        -- attributes
        reached.called_back_at is not null as is_called_back,
        reached.answered_again_at is not null as is_answered_again,
        reached.called_back_at is not null or reached.answered_again_at is not null as is_reached_later,
        coalesce(reached.callback_attempts_count, 0) as callback_attempts_count,

        -- timestamps
        reached.first_callback_attempt_at,
        reached.called_back_at,
        reached.answered_again_at,
        least(reached.called_back_at, reached.answered_again_at) as reached_at,
        unanswered.business_date

    from unanswered
    left join reached using (linkedid)

)

select * from final
