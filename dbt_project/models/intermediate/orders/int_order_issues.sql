{#- The orders whose latest state breaks a business rule (macros/data_rules.sql). A view: always
    the current state, so a correcting event takes an order off this list on the next run. -#}

with

orders as (select * from {{ ref('int_orders_latest') }}),

broken as (

    select orders.*, checks.rule
    from orders
    {{ rule_checks(order_rules('orders')) }}
    where checks.is_broken

),

final as (

    select
        -- ids
        rule,
        'order' as entity,
        order_id as entity_key,

        -- what was wrong
        format('restaurant_id=%s subtotal_amount=%s discount_amount=%s total_amount=%s',
               restaurant_id, subtotal_amount, discount_amount, total_amount) as detail,
        business_date,

        -- lineage: the message that set the order's latest state
        'orders' as source_stream,
        source_partition,
        source_offset,
        latest_event_id as source_event_id,
        last_landed_at

    from broken

)

select * from final
