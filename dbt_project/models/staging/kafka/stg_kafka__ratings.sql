with

source as (

    select * from {{ source('kafka', 'feedback') }}

),

parsed as (

    select
        source.kafka_partition,
        source.kafka_offset,
        source.landed_at,
        parsed_payload.doc
    from source
    {{ parse_once('source.payload') }}

),

renamed as (

    select
        -- ids
        doc ->> 'event_id' as event_id,
        doc ->> 'rating_id' as rating_id,
        doc ->> 'call_linkedid' as call_linkedid,
        doc ->> 'order_id' as order_id,
        doc ->> 'operator_extension' as operator_extension,
        doc ->> 'customer_phone' as customer_phone,

        -- attributes
        doc ->> 'subject_type' as subject_type,
        (doc ->> 'score')::int as score,
        doc ->> 'comment' as comment,

        -- timestamps
        (doc ->> 'event_at')::timestamptz as submitted_at,

        -- lineage
        kafka_partition,
        kafka_offset,
        landed_at

    from parsed

)

select * from renamed
