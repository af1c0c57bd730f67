{{
    config(
        materialized='incremental',
        unique_key='business_date',
        incremental_strategy='delete+insert',
        indexes=[{'columns': ['business_date']}],
    )
}}

{#- One chain row and one row per restaurant per business day. Restaurant rows carry the order,
    customer figures only: the contact centre and the ratings are chain-wide. -#}

with

orders as (

    select * from {{ ref('orders') }}
    {% if is_incremental() %}
    where business_date >= {{ incremental_start_date() }}
    {% endif %}

),

calls as (

    select * from {{ ref('calls') }}
    {% if is_incremental() %}
    where business_date >= {{ incremental_start_date() }}
    {% endif %}

),

operator_days as (

    select * from {{ ref('operator_daily') }}
    {% if is_incremental() %}
    where business_date >= {{ incremental_start_date() }}
    {% endif %}

),

-- "new" needs the customer's whole history: first order dates come from the full orders fact
first_orders as (

    select customer_phone, business_date as first_order_date
    from {{ ref('orders') }}
    where is_first_order
      and customer_phone in (select customer_phone from orders)

),

orders_enriched as (

    select orders.*, first_orders.first_order_date
    from orders
    left join first_orders using (customer_phone)

),

ratings as (

    select calls.business_date, r.score
    from {{ ref('int_ratings_deduplicated') }} as r
    inner join calls on calls.linkedid = r.call_linkedid
    where r.subject_type = 'call'

    union all

    select orders.business_date, r.score
    from {{ ref('int_ratings_deduplicated') }} as r
    inner join orders on orders.order_id = r.order_id
    where r.subject_type = 'order'

),

restaurants as (

    select distinct restaurant_id from orders
    {% if is_incremental() %}
    union
    select restaurant_id from {{ this }} where scope = 'restaurant'
    {% endif %}

),

activity_days as (

    select business_date from orders
    union
    select business_date from calls
    union
    select business_date from operator_days

),

days as (

    select generate_series(min(business_date), max(business_date), interval '1 day')::date as business_date
    from activity_days

),

scopes as (

    select days.business_date, 'chain' as scope, null::int as restaurant_id
    from days

    union all

    select days.business_date, 'restaurant' as scope, restaurants.restaurant_id
    from days
    cross join restaurants

),

order_figures as (

    select
        business_date,
        case when grouping(restaurant_id) = 1 then 'chain' else 'restaurant' end as scope,
        restaurant_id,
        count(*) filter (where not is_cancelled) as orders_count,
        count(*) filter (where is_cancelled) as cancelled_orders_count,
        sum(total_amount) filter (where not is_cancelled) as revenue_amount,
        count(distinct customer_phone) filter (where not is_cancelled) as unique_customers_count,
        count(distinct customer_phone)
            filter (where not is_cancelled and first_order_date = business_date) as new_customers_count
    from orders_enriched
    group by grouping sets ((business_date), (business_date, restaurant_id))

),

scoped_order_figures as (

    select
        scopes.business_date,
        scopes.scope,
        scopes.restaurant_id,
        coalesce(f.orders_count, 0) as orders_count,
        coalesce(f.cancelled_orders_count, 0) as cancelled_orders_count,
        coalesce(f.revenue_amount, 0) as revenue_amount,
        coalesce(f.unique_customers_count, 0) as unique_customers_count,
        coalesce(f.new_customers_count, 0) as new_customers_count
    from scopes
    left join order_figures as f
        on f.business_date = scopes.business_date
       and f.scope = scopes.scope
       and f.restaurant_id is not distinct from scopes.restaurant_id

),

call_figures as (

    select
        business_date,
        count(*) as calls_offered_count,
        count(*) filter (where is_answered) as calls_answered_count,
        count(*) filter (where is_short_abandon) as short_abandon_count,
        count(*) filter (where is_answered_within_service_level) as answered_within_service_level_count,
        sum(hold_seconds) filter (where is_answered) as hold_seconds_total,
        coalesce(sum(talk_seconds) filter (where is_answered), 0) as talk_seconds_total
    from calls
    group by 1

),

operator_figures as (

    select
        business_date,
        sum(logged_in_seconds) as logged_in_seconds,
        sum(paused_seconds) as paused_seconds
    from operator_days
    group by 1

),

rating_figures as (

    select
        business_date,
        count(*) as ratings_count,
        sum(score) as score_total,
        count(*) filter (where score >= 4) as ratings_4_5_count
    from ratings
    group by 1

),

final as (

    select
        -- keys
        o.business_date,
        o.scope,
        o.restaurant_id,

        -- orders and customers
        o.orders_count,
        o.cancelled_orders_count,
        o.revenue_amount,
        {{ safe_divide('o.revenue_amount', 'o.orders_count') }} as average_check_amount,
        o.unique_customers_count,
        o.new_customers_count,
        o.unique_customers_count - o.new_customers_count as repeat_customers_count,
        {{ safe_divide('o.unique_customers_count - o.new_customers_count', 'o.unique_customers_count') }}
            as repeat_customer_share,

        -- calls (chain row only)
        case when o.scope = 'chain' then coalesce(calls.calls_offered_count, 0) end as calls_offered_count,
        case when o.scope = 'chain' then coalesce(calls.calls_answered_count, 0) end as calls_answered_count,
        case when o.scope = 'chain'
            then coalesce(calls.calls_offered_count, 0) - coalesce(calls.calls_answered_count, 0)
        end as calls_unanswered_count,
        case when o.scope = 'chain'
            then {{ safe_divide('calls.calls_offered_count - calls.calls_answered_count', 'calls.calls_offered_count') }}
        end as missed_call_rate,
        case when o.scope = 'chain' then coalesce(calls.short_abandon_count, 0) end as short_abandon_count,
        case when o.scope = 'chain'
            then {{ safe_divide('calls.hold_seconds_total', 'calls.calls_answered_count') }}
        end as asa_seconds,
        case when o.scope = 'chain'
            then {{ safe_divide('calls.answered_within_service_level_count',
                                'calls.calls_offered_count - calls.short_abandon_count') }}
        end as service_level,
        case when o.scope = 'chain'
            then {{ safe_divide('calls.talk_seconds_total', 'calls.calls_answered_count') }}
        end as avg_talk_seconds,
        case when o.scope = 'chain'
            then {{ safe_divide('coalesce(calls.talk_seconds_total, 0)',
                                'ops.logged_in_seconds - ops.paused_seconds') }}
        end as occupancy,
        case when o.scope = 'chain'
            then {{ safe_divide('coalesce(calls.calls_answered_count, 0)', 'ops.logged_in_seconds / 3600.0') }}
        end as calls_per_operator_hour,

        -- ratings (chain row only)
        case when o.scope = 'chain' then coalesce(r.ratings_count, 0) end as ratings_count,
        case when o.scope = 'chain' then {{ safe_divide('r.score_total', 'r.ratings_count') }} end as csat_mean,
        case when o.scope = 'chain' then {{ safe_divide('r.ratings_4_5_count', 'r.ratings_count') }} end as csat_share

    from scoped_order_figures as o
    left join call_figures as calls on calls.business_date = o.business_date
    left join operator_figures as ops on ops.business_date = o.business_date
    left join rating_figures as r on r.business_date = o.business_date

)

select * from final
