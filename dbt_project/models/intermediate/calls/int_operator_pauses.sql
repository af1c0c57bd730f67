{{
    config(
        materialized='incremental',
        unique_key='business_date',
        incremental_strategy='delete+insert',
        indexes=[{'columns': ['business_date']}],
    )
}}

{#- Pauses PAUSE -> UNPAUSE per operator and queue; an open pause counts no time until it closes.
    PAUSEALL / UNPAUSEALL are not read: app_queue.c logs them (queue NONE) in addition to a PAUSE /
    UNPAUSE in every queue the member is in, so counting them would count the pause twice. -#}

with

events as (

    select * from {{ ref('int_queue_log_events') }}
    where event_type in ('PAUSE', 'UNPAUSE')
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
        pause_reason,
        event_at,
        lead(event_type) over pause_events as next_event_type,
        lead(event_at) over pause_events as next_event_at
    from events
    window pause_events as (partition by operator_extension, queue_name order by event_at, event_type)

),

final as (

    select
        -- ids
        operator_extension,
        queue_name,

        -- attributes
        pause_reason,

        -- timestamps
        event_at as started_at,
        case when next_event_type = 'UNPAUSE' then next_event_at end as ended_at,
        {{ business_date('event_at') }} as business_date,

        -- durations
        case
            when next_event_type = 'UNPAUSE'
                then extract(epoch from next_event_at - event_at)::bigint
            else 0
        end as paused_seconds

    from sequenced
    where event_type = 'PAUSE'

)

select * from final
