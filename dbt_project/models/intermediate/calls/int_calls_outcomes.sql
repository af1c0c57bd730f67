{{ config(materialized='incremental', indexes=[
    {'columns': ['linkedid'], 'unique': True}, {'columns': ['business_date']}, {'columns': ['caller_phone']},
]) }}

{#- One row per call that entered a queue. Incremental runs rebuild the calls that entered on the
    business days of the late-data window (their events all lie after the window's start). -#}

with

events as (

    select * from {{ ref('int_queue_log_events') }}
    where linkedid is not null
      and {{ in_lookback_window('event_at', timestamp=true) }}

),

entries as (

    select distinct on (linkedid)
        linkedid,
        queue_name,
        caller_phone,
        event_at as entered_at
    from events
    where event_type = 'ENTERQUEUE'
    order by linkedid, event_at

),

connects as (

    select distinct on (linkedid)
        linkedid,
        operator_extension as answered_by_extension,
        event_at as connected_at,
        hold_seconds,
        ring_seconds as pickup_seconds
    from events
    where event_type = 'CONNECT'
    order by linkedid, event_at

),

-- how an unanswered call left the queue
exits as (

    select distinct on (linkedid)
        linkedid,
        event_type as exit_event_type,
        wait_seconds as exit_wait_seconds,
        event_at as exited_at,
        exit_key
    from events
    where event_type in ('ABANDON', 'EXITWITHTIMEOUT', 'EXITWITHKEY', 'EXITEMPTY')
    order by linkedid, event_at desc

),

-- talk time: COMPLETEAGENT / COMPLETECALLER calltime, or the transfer's calltime
completions as (

    select distinct on (linkedid)
        linkedid,
        event_type as completion_event_type,
        talk_seconds
    from events
    where event_type in ('COMPLETEAGENT', 'COMPLETECALLER', 'TRANSFER', 'BLINDTRANSFER', 'ATTENDEDTRANSFER')
    order by linkedid, event_at

),

call_stats as (

    select
        linkedid,
        count(*) filter (where event_type in ('TRANSFER', 'BLINDTRANSFER', 'ATTENDEDTRANSFER')) as transfer_count,
        count(*) filter (where event_type = 'RINGNOANSWER') as missed_rings_count,
        max(event_at) as last_event_at,
        max(landed_at) as last_landed_at
    from events
    group by linkedid

),

joined as (

    select
        entries.*,
        connects.answered_by_extension,
        connects.connected_at,
        connects.hold_seconds,
        connects.pickup_seconds,
        exits.exit_event_type,
        -- the exit event's waittime; EXITWITHKEY written before Asterisk 1.6 has none: its time does
        coalesce(exits.exit_wait_seconds, extract(epoch from exits.exited_at - entries.entered_at)::bigint)
            as exit_wait_seconds,
        exits.exit_key,
        completions.completion_event_type,
        completions.talk_seconds,
        call_stats.transfer_count,
        call_stats.missed_rings_count,
        call_stats.last_event_at,
        call_stats.last_landed_at
    from entries
    inner join call_stats using (linkedid)
    left join connects using (linkedid)
    left join exits using (linkedid)
    left join completions using (linkedid)

),

final as (

    select
        -- ids
        linkedid,
        queue_name,
        caller_phone,
        answered_by_extension,

        -- outcome
        case
            when connected_at is not null then 'answered'
            when exit_event_type = 'ABANDON' then 'abandoned'
            when exit_event_type = 'EXITWITHTIMEOUT' then 'timeout'
            when exit_event_type = 'EXITWITHKEY' then 'exit_key'
            when exit_event_type = 'EXITEMPTY' then 'exit_empty'
            else 'in_queue'
        end as outcome,
        connected_at is not null as is_answered,
        coalesce(
            connected_at is null
            and exit_event_type = 'ABANDON'
            and exit_wait_seconds < {{ var('short_abandon_seconds') }},
            false
        ) as is_short_abandon,
        coalesce(
            connected_at is not null
            and hold_seconds <= {{ var('service_level_seconds') }},
            false
        ) as is_answered_within_service_level,
        exit_key,
        completion_event_type,
        transfer_count > 0 as is_transferred,

        -- durations
        case when connected_at is not null then hold_seconds else exit_wait_seconds end as wait_seconds,
        hold_seconds,
        pickup_seconds,
        case when connected_at is not null then talk_seconds end as talk_seconds,

        -- counts
        transfer_count,
        missed_rings_count,

        -- timestamps
        entered_at,
        {{ business_date('entered_at') }} as business_date,
        {{ business_hour('entered_at') }} as business_hour,
        connected_at,
        last_event_at as ended_at,
        last_landed_at

    from joined

)

select * from final
