{#- queue_log events with the operator each one is about. A member interface names the
    extension (PJSIP/101 -> 101); a member name (FreePBX's dynamic agents log in under the user's
    display name) is looked up in the directory, including people no longer listed; a name the
    directory does not have (or has twice) stays the operator's key, so the activity is kept and
    shown as unknown rather than dropped. -#}

with

events as (

    select * from {{ ref('stg_freepbx__queue_log') }}

),

-- names that identify exactly one extension
directory_names as (

    select
        lower(trim(operator_name)) as name_key,
        min(operator_extension) as operator_extension
    from {{ ref('stg_freepbx__extensions') }}
    where nullif(trim(operator_name), '') is not null
    group by 1
    having count(*) = 1

),

final as (

    select
        -- ids
        events.event_hash,
        events.linkedid,
        events.queue_name,
        coalesce(events.agent_extension, directory_names.operator_extension, events.agent_name)
            as operator_extension,
        events.agent,

        -- attributes
        events.event_type,
        events.caller_phone,
        events.exit_key,
        events.pause_reason,
        events.transfer_method,

        -- durations
        events.hold_seconds,
        events.ring_seconds,
        events.ring_milliseconds,
        events.talk_seconds,
        events.wait_seconds,

        -- timestamps
        events.event_at,

        -- lineage
        events.landed_at

    from events
    left join directory_names
        on events.agent_extension is null
       and directory_names.name_key = lower(events.agent_name)

)

select * from final
