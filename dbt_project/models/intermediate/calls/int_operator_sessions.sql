{{
    config(
        materialized='incremental',
        unique_key='business_date',
        incremental_strategy='delete+insert',
        indexes=[{'columns': ['business_date']}],
    )
}}

{#- Queue membership spans ADDMEMBER -> REMOVEMEMBER per operator and queue (chan_agent's
    AGENTLOGIN -> AGENTLOGOFF and AGENTCALLBACKLOGIN -> AGENTCALLBACKLOGOFF, logged with queue
    NONE). A span still open (no REMOVEMEMBER landed yet) has no end and counts no time until it closes; it is rebuilt on
    later runs while its day is inside the late-data window. -#}

with

events as (

    select * from {{ ref('int_queue_log_events') }}
    where event_type in ('ADDMEMBER', 'REMOVEMEMBER', 'AGENTLOGIN', 'AGENTLOGOFF', 'AGENTCALLBACKLOGIN',
                         'AGENTCALLBACKLOGOFF')
      and operator_extension is not null
    {% if is_incremental() %}
      and event_at >= {{ incremental_start_at() }}
    {% endif %}

),

sequenced as (

    select
        operator_extension,
        queue_name,
        event_type,
        event_at,
        lead(event_type) over member_events as next_event_type,
        lead(event_at) over member_events as next_event_at
    from events
    window member_events as (partition by operator_extension, queue_name order by event_at, event_type)

),

final as (

    select
        -- ids
        operator_extension,
        queue_name,

        -- timestamps
        event_at as started_at,
        case
            when next_event_type in ('REMOVEMEMBER', 'AGENTLOGOFF', 'AGENTCALLBACKLOGOFF') then next_event_at
        end as ended_at,
        {{ business_date('event_at') }} as business_date,

        -- durations
        case
            when next_event_type in ('REMOVEMEMBER', 'AGENTLOGOFF', 'AGENTCALLBACKLOGOFF')
                then extract(epoch from next_event_at - event_at)::bigint
            else 0
        end as logged_in_seconds

    from sequenced
    where event_type in ('ADDMEMBER', 'AGENTLOGIN', 'AGENTCALLBACKLOGIN')

)

select * from final
