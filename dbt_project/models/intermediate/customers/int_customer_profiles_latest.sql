{{ config(materialized='incremental', unique_key='customer_phone', indexes=[
    {'columns': ['customer_phone'], 'unique': True}, {'columns': ['last_landed_at']},
]) }}

{#- The latest profile is the event with the greatest event_at: a max, so new events are merged
    with the stored profile instead of rereading the phone's whole history. -#}

with

events as (select * from {{ ref('stg_kafka__customer_events') }} where {{ landed_since_last_run() }}),

candidates as (

    {{ with_stored_states('events', 'customer_phone', {
        'customer_phone': 'customer_phone', 'event_id': 'latest_event_id', 'customer_name': 'customer_name',
        'email': 'email', 'home_restaurant_id': 'home_restaurant_id', 'is_marketing_opt_in': 'is_marketing_opt_in',
        'registered_at': 'registered_at', 'event_at': 'profile_updated_at', 'landed_at': 'last_landed_at',
    }) }}

),

landing as (

    select customer_phone, max(last_landed_at) as last_landed_at
    from candidates
    group by customer_phone

),

latest as (

    select distinct on (customer_phone) *
    from candidates
    order by customer_phone, profile_updated_at desc, latest_event_id desc

),

final as (

    select
        latest.customer_phone,
        latest.latest_event_id,
        latest.customer_name,
        latest.email,
        latest.home_restaurant_id,
        latest.is_marketing_opt_in,
        latest.registered_at,
        latest.profile_updated_at,
        landing.last_landed_at
    from latest
    inner join landing using (customer_phone)

)

select * from final
