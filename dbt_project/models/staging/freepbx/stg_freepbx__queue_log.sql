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
        -- PJSIP/101, SIP/101 or Local/101@from-queue/n -> 101
        case
            when agent ~ '^[A-Za-z]+/[^/@]+'
                then substring(agent from '^[A-Za-z]+/([^/@]+)')
        end as operator_extension,

        -- attributes
        event as event_type,
        case when event = 'ENTERQUEUE' then nullif(data2, '') end as caller_phone,
        case when event = 'EXITWITHKEY' then data1 end as exit_key,
        case when event in ('PAUSE', 'PAUSEALL') then nullif(data1, '') end as pause_reason,

        -- durations, by event (see docs/contracts.md §2 for the data fields)
        case
            when event in ('CONNECT', 'COMPLETEAGENT', 'COMPLETECALLER') then {{ to_int('data1') }}
            when event in ('TRANSFER', 'BLINDTRANSFER', 'ATTENDEDTRANSFER') then {{ to_int('data3') }}
        end as hold_seconds,
        case when event = 'CONNECT' then {{ to_int('data3') }} end as ring_seconds,
        case when event = 'RINGNOANSWER' then {{ to_int('data1') }} end as ring_milliseconds,
        case
            when event in ('COMPLETEAGENT', 'COMPLETECALLER') then {{ to_int('data2') }}
            when event in ('TRANSFER', 'BLINDTRANSFER', 'ATTENDEDTRANSFER') then {{ to_int('data4') }}
        end as talk_seconds,
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
