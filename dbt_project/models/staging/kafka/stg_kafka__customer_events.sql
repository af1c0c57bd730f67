with

source as (

    select * from {{ source('kafka', 'customers') }}

),

parsed as (

    select
        source.landed_at,
        parsed_payload.doc
    from source
    {{ parse_once('source.payload') }}

),

renamed as (

    select
        -- ids
        doc ->> 'event_id' as event_id,
        doc ->> 'customer_phone' as customer_phone,
        (doc ->> 'home_restaurant_id')::int as home_restaurant_id,

        -- attributes
        doc ->> 'event_type' as event_type,
        doc ->> 'name' as customer_name,
        doc ->> 'email' as email,
        (doc ->> 'marketing_opt_in')::boolean as is_marketing_opt_in,

        -- timestamps
        (doc ->> 'registered_at')::timestamptz as registered_at,
        (doc ->> 'event_at')::timestamptz as event_at,

        -- lineage
        landed_at

    from parsed

)

select * from renamed
