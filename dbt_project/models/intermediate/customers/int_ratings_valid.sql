{#- The ratings every mart counts: those that keep the business rules (macros/data_rules.sql). -#}

with

ratings as (select * from {{ ref('int_ratings_deduplicated') }}),

final as (

    select * from ratings
    where not {{ breaks_any_rule(rating_rules('ratings')) }}

)

select * from final
