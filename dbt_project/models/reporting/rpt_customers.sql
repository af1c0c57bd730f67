{{ config(alias='customers') }}

{#- A manager limited to restaurants sees the customers at home in one of them or who ordered there. -#}

select
    c.customer_key,
    {{ masked_phone('c.customer_phone') }} as customer_phone_masked,
    {{ only_for(['crm_admin', 'crm_manager'], 'c.customer_name') }} as customer_name,
    c.segment,
    c.first_order_at,
    {{ business_date('c.first_order_at') }} as first_order_date,
    c.last_order_at,
    {{ business_date('c.last_order_at') }} as last_order_date,
    c.lifetime_orders_count,
    c.lifetime_revenue_amount,
    c.average_check_amount,
    c.home_restaurant_id,
    c.last_call_at,
    c.last_rating_score
from {{ ref('customers') }} as c
where {{ role_in(['crm_admin', 'crm_analyst']) }}
   or {{ unscoped_manager() }}
   or (
       {{ restaurant_scope() }} is not null
       and (
           c.home_restaurant_id = any({{ restaurant_scope() }})
           or c.customer_phone in (
               select o.customer_phone from {{ ref('orders') }} as o
               where o.restaurant_id = any({{ restaurant_scope() }})
           )
       )
   )
