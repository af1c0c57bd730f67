{{ config(alias='my_interactions') }}

{#- An operator's own page: each call they answered, with the customer's rating and comment when
    one was given. Operators see their own calls; administrators and managers see every
    operator's, with names and comments; analysts every call without names or comments (free
    text may name a person). -#}

select
    -- the call
    c.business_date,
    c.entered_at,
    c.linkedid,
    c.queue_name,
    c.answered_by_extension as operator_extension,
    {{ only_for(['crm_admin', 'crm_manager', 'crm_operator'], 'c.answered_by_name') }} as operator_name,
    -- how it went
    c.wait_seconds,
    c.pickup_seconds,
    c.talk_seconds,
    case
        when c.led_to_order then 'order_placed'
        when c.is_transferred then 'transferred'
        else 'answered'
    end as call_result,
    c.order_id,
    -- the customer's rating of the call
    r.score as rating_score,
    {{ only_for(['crm_admin', 'crm_manager', 'crm_operator'], 'r.comment') }} as rating_comment,
    r.submitted_at as rated_at
from {{ ref('calls') }} as c
left join {{ ref('ratings') }} as r on r.rating_id = c.rating_id
where c.is_answered
  and (
      {{ role_in(['crm_admin', 'crm_analyst', 'crm_manager']) }}
      or c.answered_by_extension = {{ own_extension() }}
  )
