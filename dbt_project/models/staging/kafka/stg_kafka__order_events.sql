with

source as (

    select * from {{ source('kafka', 'orders') }}

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
        doc ->> 'order_id' as order_id,
        (doc ->> 'restaurant_id')::int as restaurant_id,
        doc ->> 'customer_phone' as customer_phone,
        doc ->> 'call_linkedid' as call_linkedid,
        doc ->> 'operator_extension' as operator_extension,

        -- attributes
        doc ->> 'event_type' as event_type,
        doc ->> 'status' as status,
        {{ order_status_rank("doc ->> 'status'") }} as status_rank,
        doc ->> 'channel' as channel,
        doc ->> 'currency' as currency,
        jsonb_array_length(doc -> 'items') as items_count,

        -- amounts
        (doc ->> 'subtotal_amount')::numeric(14, 2) as subtotal_amount,
        (doc ->> 'discount_amount')::numeric(14, 2) as discount_amount,
        (doc ->> 'total_amount')::numeric(14, 2) as total_amount,

        -- timestamps
        (doc ->> 'event_at')::timestamptz as event_at,
        (doc ->> 'created_at')::timestamptz as created_at,

        -- lineage
        kafka_partition,
        kafka_offset,
        landed_at

    from parsed

)

select * from renamed
