with

source as (

    select * from {{ source('freepbx', 'pbx_cdr') }}

),

renamed as (

    select
        -- ids
        cdr_key,
        uniqueid,
        linkedid,
        sequence as sequence_number,
        -- the queued call this CDR belongs to: its linkedid, or without one (cdr_csv without
        -- newcdrcolumns) the caller channel's uniqueid, which queue_log logs as the callid
        coalesce(nullif(linkedid, ''), nullif(uniqueid, '')) as call_linkedid,

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

        -- timestamps: calldate is a wall-clock time of the PBX's clock, calldate_zone names it
        -- (rows landed before it existed were written in the business time zone)
        (calldate at time zone coalesce(calldate_zone, '{{ var("business_timezone") }}')) as started_at,

        -- lineage
        source as landing_source,
        landed_at

    from source

)

select * from renamed
