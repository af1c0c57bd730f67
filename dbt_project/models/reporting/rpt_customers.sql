{{ config(alias='customers') }}

{#- A manager limited to restaurants sees the customers at home in one of them or who ordered there.
    "Ordered there" reads the customers mart's own list of restaurants, not the orders: a sub-select
    of the orders inside this OR is a SubPlan, run once per customer without a hash table when the
    scope's orders outgrow work_mem (a year of three restaurants: 780k rows), and a month's
    breakdown by segment then ran past the manager's statement timeout (issue #15). -#}

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
           or c.ordered_at_restaurant_ids && {{ restaurant_scope() }}
       )
   )
