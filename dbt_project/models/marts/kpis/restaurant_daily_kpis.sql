{{ config(indexes=[{'columns': ['business_date', 'restaurant_id'], 'unique': True}]) }}

{#- One row per restaurant and business day: the order and customer KPIs, with the definitions of
    daily_kpis. Calls and ratings are the chain's (the contact centre is shared): daily_kpis holds
    them. Every restaurant seen in the orders has a row on every day of daily_kpis. -#}

with

days as (

    select business_date from {{ ref('daily_kpis') }}
    where {{ in_lookback_window() }}

),

orders as (select * from {{ ref('orders') }} where {{ in_lookback_window() }}),

restaurants as (

    select distinct restaurant_id from orders
    {% if is_incremental() %}
    union
    select restaurant_id from {{ this }}
    {% endif %}

),

order_figures as (

    select
        business_date,
        restaurant_id,
        {{ order_figures() }}
    from orders
    group by 1, 2

),

final as (

    select
        -- keys
        days.business_date,
        restaurants.restaurant_id,

        -- orders and customers
        {{ order_kpis('o') }}

    from days
    cross join restaurants
    left join order_figures as o
        on o.business_date = days.business_date
       and o.restaurant_id = restaurants.restaurant_id

)

select * from final
