with

source as (

    select * from {{ source('reports', 'daily_report') }}

),

renamed as (

    select
        -- ids
        business_date,
        version as report_version,

        -- the advice: the day it is for, its target, and its hours as stored (unpacked in marts.staffing_advice)
        (figures -> 'staffing' ->> 'date')::date as advised_date,
        (figures -> 'staffing' ->> 'target')::numeric as target_service_level,
        (figures -> 'staffing' ->> 'seconds')::integer as target_answer_seconds,
        figures -> 'staffing' -> 'hours' as staffing_hours,

        -- timestamps
        generated_at as reported_at

    from source

)

select * from renamed
