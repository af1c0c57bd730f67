{{ config(alias='missed_call_recovery') }}

{#- The callback worklist, highest expected lost revenue first, pseudonymised as every reporting
    view is (the number to call is in the bot's /callbacks, for managers and administrators in
    private chats). Operators see no rows; a manager limited to restaurants sees the customers at
    home in one of them. -#}

select
    r.business_date,
    {{ masked_phone('r.caller_phone') }} as caller_phone_masked,
    r.customer_key,
    -- who they are
    r.is_known_customer, r.had_ordered_before, r.home_restaurant_id, r.lifetime_orders_count, r.last_order_at,
    r.average_check_amount,
    -- their tries
    r.first_call_at, r.last_call_at, r.last_call_hour, r.attempts_count, r.wait_seconds_total,
    r.callback_attempts_count,
    -- what it may cost
    r.expected_conversion_rate, r.expected_check_amount, r.expected_lost_revenue_amount
from {{ ref('missed_call_recovery') }} as r
where {{ role_in(['crm_admin', 'crm_analyst']) }}
   or {{ unscoped_manager() }}
   or ({{ restaurant_scope() }} is not null and r.home_restaurant_id = any({{ restaurant_scope() }}))
order by r.business_date desc, r.expected_lost_revenue_amount desc, r.last_call_at
