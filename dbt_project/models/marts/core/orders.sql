{{ config(unique_key='order_id', indexes=[
    {'columns': ['order_id'], 'unique': True}, {'columns': ['business_date']}, {'columns': ['customer_phone']},
    {'columns': ['call_linkedid']}, {'columns': ['last_landed_at']},
], pre_hook=[
    "alter table if exists {{ this }} drop column if exists customer_last_landed_at",
    "{{ keep_customer_keys('customer_phone') }}",
], post_hook=[
    "delete from {{ this }} as stored using {{ ref('int_order_issues') }} as issues
     where issues.entity_key = stored.order_id",
]) }}

{#- is_first_order depends on the customer's other orders (an earlier order landing late, or the
    first order being cancelled, moves it), so an incremental run recomputes every order of each
    customer whose orders changed since the last run (the "customers affected") and writes the
    rows that differ from the stored ones: the changed orders, and those whose first-order figures
    moved. Writing every order of the customers affected made the run after a backfill dearer than
    the full build (issue #15): a re-landed day reaches most of the chain's regular customers.
    The pre-hook drops customer_last_landed_at (the customer's newest landing, which the earlier
    release stored on every row) from a table built before this change, so an incremental run can
    compare whole rows; the index on it goes with it.

    An order breaking a business rule (int_order_issues) is left out, and the post-hook deletes it
    when a later event made a stored order break one: delete+insert only replaces the keys the
    run produces.

    The scope is set-based (hash joins on the changed keys): `order_id in (...) or customer_phone
    in (...)` plans non-hashed SubPlans once the changed set outgrows work_mem (issue #15,
    tests/test_marts_incremental_plans.py). -#}

with

latest as (select * from {{ ref('int_orders_latest') }}),

-- the orders that keep the business rules (int_order_issues lists the others, by the same macro)
kept as (

    select latest.* from latest
    where not {{ breaks_any_rule(order_rules('latest')) }}

),

{% if is_incremental() %}
-- the customers affected, an anonymous order being its own customer: every order of a changed
-- order's customer is in scope (the changed order too, through its own key)
changed_customers as (

    select distinct coalesce(customer_phone, order_id) as customer_ref
    from latest
    where last_landed_at > {{ landed_watermark() }}

),

scope as (

    select kept.* from kept
    inner join changed_customers on changed_customers.customer_ref = coalesce(kept.customer_phone, kept.order_id)

),
{% else %}
scope as (

    select * from kept

),
{% endif %}

-- one pass over the scope: window functions, no self-join a misestimate could turn into a nested loop
final as (

    select
        -- ids
        order_id,
        restaurant_id,
        customer_phone,
        call_linkedid,
        operator_extension,

        -- attributes
        status,
        channel,
        items_count,
        status = 'cancelled' as is_cancelled,
        -- the customer's first non-cancelled order ever (ties: the smaller order_id)
        customer_phone is not null
            and status <> 'cancelled'
            and row_number() over (
                partition by customer_phone
                order by (status = 'cancelled'), created_at, order_id
            ) = 1 as is_first_order,
        -- the business day of that first order: a customer is new on it (daily KPIs)
        case when customer_phone is not null then
            min(business_date) filter (where status <> 'cancelled') over (partition by customer_phone)
        end as customer_first_order_date,

        -- amounts
        subtotal_amount,
        discount_amount,
        total_amount,

        -- timestamps
        created_at,
        business_date,
        {{ business_hour('created_at') }} as business_hour,
        latest_event_at,
        last_landed_at,

        -- the customer, pseudonymised (macros/customer_key.sql); last, where a pre-hook adds it
        -- to a table built without it
        {{ customer_key('customer_phone') }} as customer_key

    from scope

)

{% if is_incremental() %}
-- what delete+insert writes: a row new or different in any column (a whole-row comparison, so a
-- column added to final is compared too)
select final.* from final
left join {{ this }} as stored on stored.order_id = final.order_id
where stored.order_id is null or row(final.*) is distinct from row(stored.*)
{% else %}
select * from final
{% endif %}
