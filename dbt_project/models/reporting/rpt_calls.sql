{{ config(alias='calls') }}

select
    -- the call and how it went
    c.linkedid, c.queue_name, c.entered_at, c.business_date, c.business_hour, c.outcome, c.wait_seconds,
    c.is_short_abandon, c.is_answered_within_service_level,
    c.answered_by_extension, c.pickup_seconds, c.talk_seconds, c.transfer_count,
    -- its caller, pseudonymised
    {{ masked_phone('c.caller_phone') }} as caller_phone_masked,
    c.customer_key,
    cu.segment as customer_segment,
    -- what came of it
    c.led_to_order, c.order_id, c.order_total_amount, c.rating_score,
    c.is_called_back, c.is_answered_again, c.is_reached_later
from {{ ref('calls') }} as c
left join {{ ref('customers') }} as cu on cu.customer_phone = c.customer_phone
where {{ role_in(['crm_admin', 'crm_analyst', 'crm_manager']) }}
   or c.answered_by_extension = {{ own_extension() }}
