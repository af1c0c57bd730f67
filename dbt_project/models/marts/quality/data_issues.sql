{{ config(materialized='table', indexes=[{'columns': ['rule']}, {'columns': ['entity', 'entity_key']}]) }}

{#- Rebuilt whole on every run from the issue views, so a corrected record leaves it on the next
    run; first_seen_at is carried over from the table this build replaces. -#}

{%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier)
    if execute else none %}

with

issues as (

    select * from {{ ref('int_order_issues') }}
    union all
    select * from {{ ref('int_rating_issues') }}

),

{% if existing is not none %}
seen as (select rule, entity, entity_key, first_seen_at from {{ this }}),
{% endif %}

final as (

    select
        -- ids
        issues.rule,
        issues.entity,
        issues.entity_key,

        -- what was wrong
        issues.detail,
        issues.business_date,

        -- lineage: the raw message behind the record
        issues.source_stream,
        issues.source_partition,
        issues.source_offset,
        issues.source_event_id,
        issues.last_landed_at,

        -- timestamps
        {% if existing is not none %}coalesce(seen.first_seen_at, now()){% else %}now(){% endif %} as first_seen_at

    from issues
    {% if existing is not none %}left join seen using (rule, entity, entity_key){% endif %}

)

select * from final
