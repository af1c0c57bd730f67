{{ config(materialized='incremental', unique_key='rating_id', indexes=[
    {'columns': ['rating_id'], 'unique': True}, {'columns': ['call_linkedid']},
    {'columns': ['order_id']}, {'columns': ['landed_at']},
]) }}

{#- A rating never changes; a re-sent one (same rating_id) is kept once, its first landing. The one
    exception is a correction: a landing that keeps the business rules (macros/data_rules.sql)
    replaces a stored one that broke them, and wins over a broken one whatever the landing order,
    so full and incremental builds agree. -#}

with

ratings as (

    select * from {{ ref('stg_kafka__ratings') }} as stg_kafka__ratings
    {% if is_incremental() %}
    where landed_at > {{ landed_watermark('landed_at') }}
      and not exists (
          select 1 from {{ this }} as stored
          where stored.rating_id = stg_kafka__ratings.rating_id
            and not {{ breaks_any_rule(rating_rules('stored')) }}
      )
    {% endif %}

),

final as (

    select distinct on (rating_id)
        -- ids
        rating_id,
        call_linkedid,
        order_id,
        operator_extension,
        customer_phone,

        -- attributes
        subject_type,
        score,
        comment,

        -- timestamps
        submitted_at,
        landed_at,

        -- lineage: the raw.feedback message kept
        kafka_partition as source_partition,
        kafka_offset as source_offset

    from ratings
    order by rating_id, {{ breaks_any_rule(rating_rules('ratings')) }}, landed_at, submitted_at

)

select * from final
