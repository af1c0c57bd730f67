{#- The order each phone call placed: a non-cancelled order carrying the call's linkedid (the first,
    should a call place several). The one definition of "a call led to an order" that the calls
    mart and the conversion figures of the KPI marts share. -#}

with

orders as (

    select * from {{ ref('int_orders_latest') }}
    where call_linkedid is not null
      and status <> 'cancelled'

),

final as (

    select distinct on (call_linkedid)
        -- ids
        call_linkedid as linkedid,
        order_id,

        -- amounts
        total_amount as order_total_amount

    from orders
    order by call_linkedid, created_at, order_id

)

select * from final
