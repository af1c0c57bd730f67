{{ config(materialized='table', indexes=[
    {'columns': ['period_kind', 'period_start', 'restaurant_id'], 'unique': True},
]) }}

{#- One row per restaurant and period of period_kpis (weeks Monday to Sunday, calendar months): the
    order and customer KPIs of restaurant_daily_kpis over the whole period, from the facts
    (customers distinct over the period; "first order ever" stays chain-wide). Every restaurant
    seen in the orders has a row for every period. Rebuilt whole on every run. -#}

with

periods as (select period_kind, period_start, period_end from {{ ref('period_kpis') }}),
days as (select business_date from {{ ref('daily_kpis') }}),

orders as (

    select orders.*, p.period_kind, p.period_start, p.period_end
    from {{ ref('orders') }} as orders
    cross join lateral {{ periods_of('orders.business_date') }}
    where orders.business_date in (select business_date from days)

),

restaurants as (select distinct restaurant_id from orders),

order_figures as (

    select
        period_kind,
        period_start,
        restaurant_id,
        {{ order_figures('period_start', 'period_end') }}
    from orders
    group by 1, 2, 3

),

final as (

    select
        -- keys
        periods.period_kind,
        periods.period_start,
        periods.period_end,
        restaurants.restaurant_id,

        -- orders and customers
        {{ order_kpis('o') }}

    from periods
    cross join restaurants
    left join order_figures as o
        on o.period_kind = periods.period_kind
       and o.period_start = periods.period_start
       and o.restaurant_id = restaurants.restaurant_id

)

select * from final
