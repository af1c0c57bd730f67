{{ config(materialized='incremental', unique_key='order_id', indexes=[
    {'columns': ['order_id'], 'unique': True}, {'columns': ['last_landed_at']},
    {'columns': ['customer_phone']}, {'columns': ['call_linkedid']},
]) }}

{#- Latest state is a max over (status_rank, event_at, event_id), so an incremental run only
    needs the events landed since the last run plus the state already stored for their orders:
    any lateness is handled without rereading old events. -#}

with

events as (select * from {{ ref('stg_kafka__order_events') }} where {{ landed_since_last_run() }}),

-- a re-sent event counts once
deduplicated as (

    select distinct on (event_id) *
    from events
    order by event_id, landed_at

),

candidates as (

    {{ with_stored_states('deduplicated', 'order_id', {
        'order_id': 'order_id', 'event_id': 'latest_event_id', 'status': 'status', 'status_rank': 'status_rank',
        'event_at': 'latest_event_at', 'created_at': 'created_at', 'restaurant_id': 'restaurant_id',
        'channel': 'channel', 'customer_phone': 'customer_phone', 'items_count': 'items_count',
        'subtotal_amount': 'subtotal_amount', 'discount_amount': 'discount_amount', 'total_amount': 'total_amount',
        'call_linkedid': 'call_linkedid', 'operator_extension': 'operator_extension', 'landed_at': 'last_landed_at',
        'kafka_partition': 'source_partition', 'kafka_offset': 'source_offset',
    }) }}

),

-- every landing counts, re-sent duplicates too, so full and incremental builds agree
landing as (

    select order_id, max(last_landed_at) as last_landed_at
    from (
        select order_id, landed_at as last_landed_at from events
        union all
        select order_id, last_landed_at from candidates
    ) as landings
    group by order_id

),

latest as (

    select distinct on (order_id) *
    from candidates
    order by order_id, status_rank desc, latest_event_at desc, latest_event_id desc

),

final as (

    select
        -- ids
        latest.order_id,
        latest.latest_event_id,
        latest.restaurant_id,
        latest.customer_phone,
        latest.call_linkedid,
        latest.operator_extension,

        -- attributes
        latest.status,
        latest.status_rank,
        latest.channel,
        latest.items_count,

        -- amounts
        latest.subtotal_amount,
        latest.discount_amount,
        latest.total_amount,

        -- timestamps
        latest.created_at,
        {{ business_date('latest.created_at') }} as business_date,
        latest.latest_event_at,
        landing.last_landed_at,

        -- lineage: the raw.orders message of the latest state (data issues name it)
        latest.source_partition,
        latest.source_offset

    from latest
    inner join landing using (order_id)

)

select * from final
