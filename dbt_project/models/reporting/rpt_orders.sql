{{ config(alias='orders') }}

select
    -- the order
    o.order_id, o.created_at, o.business_date, o.status, o.restaurant_id, o.channel,
    -- its customer, pseudonymised
    o.customer_key,
    {{ masked_phone('o.customer_phone') }} as customer_phone_masked,
    cu.segment as customer_segment,
    -- amounts
    o.subtotal_amount, o.discount_amount, o.total_amount,
    -- first order; for phone orders the call and the operator
    o.is_first_order, o.call_linkedid, o.operator_extension
from {{ ref('orders') }} as o
left join {{ ref('customers') }} as cu on cu.customer_phone = o.customer_phone
where {{ role_in(['crm_admin', 'crm_analyst']) }}
   or {{ unscoped_manager() }}
   or o.restaurant_id = any({{ restaurant_scope() }})
   or o.operator_extension = {{ own_extension() }}
