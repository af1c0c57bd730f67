{{ config(materialized='table', indexes=[
    {'columns': ['rating_id'], 'unique': True}, {'columns': ['business_date']},
    {'columns': ['call_linkedid']}, {'columns': ['operator_extension', 'business_date']},
]) }}

{#- One row per rating of a call or an order the marts hold, dated by the interaction it rates (a
    call's ENTERQUEUE day, an order's creation day: docs/metrics.md). daily_kpis, period_kpis and
    the report's satisfaction section all count these rows, so their counts and means agree.
    Rebuilt whole on every run: a rating's day depends on a call or an order that may land later. -#}

with

ratings as (select * from {{ ref('int_ratings_valid') }}),
calls as (select * from {{ ref('calls') }}),
orders as (select * from {{ ref('orders') }}),

call_ratings as (

    select
        -- ids
        ratings.rating_id,
        'call' as subject_type,
        calls.linkedid as call_linkedid,
        null::text as order_id,
        calls.answered_by_extension as operator_extension,
        null::integer as restaurant_id,

        -- the rating
        ratings.score,
        nullif(btrim(ratings.comment), '') as comment,

        -- timestamps
        calls.entered_at as interaction_at,
        calls.business_date,
        ratings.submitted_at

    from ratings
    inner join calls on calls.linkedid = ratings.call_linkedid
    where ratings.subject_type = 'call'

),

order_ratings as (

    select
        -- ids
        ratings.rating_id,
        'order' as subject_type,
        orders.call_linkedid,
        orders.order_id,
        orders.operator_extension,
        orders.restaurant_id,

        -- the rating
        ratings.score,
        nullif(btrim(ratings.comment), '') as comment,

        -- timestamps
        orders.created_at as interaction_at,
        orders.business_date,
        ratings.submitted_at

    from ratings
    inner join orders on orders.order_id = ratings.order_id
    where ratings.subject_type = 'order'

),

final as (

    select * from call_ratings
    union all
    select * from order_ratings

)

select * from final
