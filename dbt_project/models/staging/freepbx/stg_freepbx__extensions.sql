with

source as (

    select * from {{ source('freepbx', 'pbx_extensions') }}

),

renamed as (

    select
        -- ids
        extension as operator_extension,

        -- attributes
        name as operator_name,
        removed_at is null as is_listed,

        -- timestamps
        removed_at,

        -- lineage
        source as landing_source,
        landed_at

    from source

)

select * from renamed
