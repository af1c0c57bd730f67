with

source as (

    select * from {{ source('freepbx', 'pbx_queue_log') }}

),

renamed as (

    select
        -- ids
        event_hash,
        nullif(callid, 'NONE') as linkedid,
        queuename as queue_name,
        agent,
        -- a member interface (PJSIP/101, SIP/101, IAX2/101, Local/101@from-queue/n, Agent/101) -> 101
        substring(agent from '^[A-Za-z][A-Za-z0-9]*/([^/@]+)') as agent_extension,
        -- otherwise the member name FreePBX gives dynamic agents (the user's display name)
        case
            when agent !~ '^[A-Za-z][A-Za-z0-9]*/' and nullif(trim(agent), '') <> 'NONE'
                then trim(agent)
        end as agent_name,

        -- attributes
        event as event_type,
        case when event = 'ENTERQUEUE' then nullif(data2, '') end as caller_phone,
        case when event = 'EXITWITHKEY' then data1 end as exit_key,
        case when event in ('PAUSE', 'PAUSEALL') then nullif(data1, '') end as pause_reason,
        case when event = 'ATTENDEDTRANSFER' then data1 end as transfer_method,

        -- durations, by event (docs/contracts.md §2 has the data fields and where they come from).
        -- ATTENDEDTRANSFER LINK|chan1|chan2|hold|talk|origpos has one field more than the BRIDGE
        -- and APP forms; the file and the database both keep that rest in data5 ("talk|origpos").
        case
            when event in ('CONNECT', 'COMPLETEAGENT', 'COMPLETECALLER') then {{ to_int('data1') }}
            when event = 'ATTENDEDTRANSFER' and data1 = 'LINK' then {{ to_int('data4') }}
            when event in ('TRANSFER', 'BLINDTRANSFER', 'ATTENDEDTRANSFER') then {{ to_int('data3') }}
        end as hold_seconds,
        case when event = 'CONNECT' then {{ to_int('data3') }} end as ring_seconds,
        case when event in ('RINGNOANSWER', 'RINGCANCELED') then {{ to_int('data1') }} end as ring_milliseconds,
        case
            when event in ('COMPLETEAGENT', 'COMPLETECALLER') then {{ to_int('data2') }}
            when event = 'ATTENDEDTRANSFER' and data1 = 'LINK' then {{ to_int("split_part(data5, '|', 1)") }}
            when event in ('TRANSFER', 'BLINDTRANSFER', 'ATTENDEDTRANSFER') then {{ to_int('data4') }}
        end as talk_seconds,
        -- EXITWITHKEY is key|position|origposition|waittime since Asterisk 1.6, key|position before
        case
            when event in ('ABANDON', 'EXITWITHTIMEOUT', 'EXITEMPTY') then {{ to_int('data3') }}
            when event = 'EXITWITHKEY' then {{ to_int('data4') }}
        end as wait_seconds,

        -- raw data fields, for events not typed above
        data1,
        data2,
        data3,
        data4,
        data5,

        -- timestamps
        event_at,

        -- lineage
        source as landing_source,
        landed_at

    from source

)

select * from renamed
