{#- The ratings that break a business rule (macros/data_rules.sql). A view: always the current
    state, so a correcting landing takes a rating off this list on the next run. -#}

with

ratings as (select * from {{ ref('int_ratings_deduplicated') }}),

broken as (

    select ratings.*, checks.rule
    from ratings
    {{ rule_checks(rating_rules('ratings')) }}
    where checks.is_broken

),

final as (

    select
        -- ids
        rule,
        'rating' as entity,
        rating_id as entity_key,

        -- what was wrong
        format('subject_type=%s score=%s call_linkedid=%s order_id=%s',
               subject_type, score, call_linkedid, order_id) as detail,
        null::date as business_date,

        -- lineage: the message kept for the rating
        'feedback' as source_stream,
        source_partition,
        source_offset,
        null::text as source_event_id,
        landed_at as last_landed_at

    from broken

)

select * from final
