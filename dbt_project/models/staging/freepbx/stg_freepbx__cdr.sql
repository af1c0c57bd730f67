with

source as (

    select * from {{ source('freepbx', 'pbx_cdr') }}

),

renamed as (

    select
        -- ids
        uniqueid,
        linkedid,
        sequence as sequence_number,

        -- parties
        src as source_number,
        dst as destination_number,
        clid as caller_id,
        dcontext as destination_context,
        channel,
        dstchannel as destination_channel,
        did,

        -- attributes
        lastapp as last_application,
        lastdata as last_application_data,
        disposition,
        disposition = 'ANSWERED' as is_answered,

        -- durations
        duration as duration_seconds,
        billsec as billed_seconds,

        -- timestamps (the PBX writes local wall-clock time)
        {{ from_business_local('calldate') }} as started_at,

        -- lineage
        source as landing_source,
        landed_at

    from source

)

select * from renamed
