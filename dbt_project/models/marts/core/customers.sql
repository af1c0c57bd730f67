{#- The unique index lets PostgreSQL drop reporting.orders' join to customers from a query that
    does not read customer_segment (a join removal), and holds the grain. -#}
{{ config(materialized='table', indexes=[{'columns': ['customer_phone'], 'unique': True}]) }}

{#- Rebuilt in full on every run: a segment is relative to the data's latest day, so any row may
    change daily. The input is the orders fact grouped by phone, which stays cheap. -#}

with

orders as (select * from {{ ref('orders') }}),
profiles as (select * from {{ ref('int_customer_profiles_latest') }}),
calls as (select * from {{ ref('calls') }} where customer_phone is not null),
ratings as (select * from {{ ref('int_ratings_valid') }} where customer_phone is not null),

as_of as (

    -- the latest day with orders that is not past the plausible window (one order dated
    -- 9999-12-31 would otherwise make every customer lapsed)
    select max(business_date) as as_of_date from orders
    where {{ is_plausible_business_date() }}

),

order_history as (

    select
        customer_phone,
        min(created_at) filter (where not is_cancelled) as first_order_at,
        max(created_at) filter (where not is_cancelled) as last_order_at,
        count(*) filter (where not is_cancelled) as lifetime_orders_count,
        count(*) filter (where is_cancelled) as cancelled_orders_count,
        coalesce(sum(total_amount) filter (where not is_cancelled), 0) as lifetime_revenue_amount,
        max(business_date) filter (where not is_cancelled) as last_order_date,
        -- every restaurant with an order of theirs, cancelled too: the reporting views' scope of
        -- a manager limited to restaurants ("customers of their restaurants", docs/access.md)
        array_agg(distinct restaurant_id order by restaurant_id) filter (where restaurant_id is not null)
            as ordered_at_restaurant_ids
    from orders
    where customer_phone is not null
    group by 1

),

-- the restaurant a customer orders from most (ties: the lower id)
favourite_restaurants as (

    select distinct on (customer_phone)
        customer_phone,
        restaurant_id as favourite_restaurant_id
    from (
        select customer_phone, restaurant_id, count(*) as orders_count
        from orders
        where customer_phone is not null and not is_cancelled
        group by 1, 2
    ) as per_restaurant
    order by customer_phone, orders_count desc, restaurant_id

),

last_calls as (

    select customer_phone, max(entered_at) as last_call_at, count(*) as calls_count
    from calls
    group by 1

),

last_ratings as (

    select distinct on (customer_phone)
        customer_phone,
        score as last_rating_score,
        submitted_at as last_rating_at
    from ratings
    order by customer_phone, submitted_at desc, rating_id desc

),

phones as (

    select customer_phone from profiles
    union
    select customer_phone from order_history

),

joined as (

    select
        phones.customer_phone,
        profiles.customer_name,
        profiles.email,
        profiles.registered_at,
        profiles.is_marketing_opt_in,
        coalesce(profiles.home_restaurant_id, favourite_restaurants.favourite_restaurant_id) as home_restaurant_id,
        order_history.first_order_at,
        order_history.last_order_at,
        order_history.last_order_date,
        coalesce(order_history.lifetime_orders_count, 0) as lifetime_orders_count,
        coalesce(order_history.cancelled_orders_count, 0) as cancelled_orders_count,
        coalesce(order_history.lifetime_revenue_amount, 0) as lifetime_revenue_amount,
        coalesce(order_history.ordered_at_restaurant_ids, '{}') as ordered_at_restaurant_ids,
        last_calls.last_call_at,
        coalesce(last_calls.calls_count, 0) as calls_count,
        last_ratings.last_rating_score,
        last_ratings.last_rating_at,
        as_of.as_of_date
    from phones
    cross join as_of
    left join profiles using (customer_phone)
    left join order_history using (customer_phone)
    left join favourite_restaurants using (customer_phone)
    left join last_calls using (customer_phone)
    left join last_ratings using (customer_phone)

),

final as (

    select
        -- ids
        customer_phone,
        {{ customer_key('customer_phone') }} as customer_key,
        customer_name,
        email,
        home_restaurant_id,
        ordered_at_restaurant_ids,

        -- segment (first matching rule wins; docs/metrics.md)
        case
            when lifetime_orders_count = 0 then 'prospect'
            when lifetime_revenue_amount >= {{ var('segment_vip_revenue_amount') }} then 'vip'
            when last_order_date < as_of_date - {{ var('segment_recent_days') }} then 'lapsed'
            when lifetime_orders_count >= {{ var('segment_loyal_min_orders') }} then 'loyal'
            when lifetime_orders_count >= {{ var('segment_repeat_min_orders') }} then 'repeat'
            else 'new'
        end as segment,
        is_marketing_opt_in,

        -- orders
        first_order_at,
        last_order_at,
        lifetime_orders_count,
        cancelled_orders_count,
        lifetime_revenue_amount,
        {{ safe_divide('lifetime_revenue_amount', 'lifetime_orders_count') }} as average_check_amount,

        -- contact centre
        last_call_at,
        calls_count,
        last_rating_score,
        last_rating_at,

        -- timestamps
        registered_at,
        as_of_date as segment_as_of_date

    from joined

)

select * from final
