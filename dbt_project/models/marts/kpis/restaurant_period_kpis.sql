{{ config(unique_key=['period_kind', 'period_start'], indexes=[
    {'columns': ['period_kind', 'period_start', 'restaurant_id'], 'unique': True},
]) }}

{#- One row per restaurant and period of period_kpis (weeks Monday to Sunday, calendar months): the
    order and customer KPIs of restaurant_daily_kpis over the whole period, from the facts
    (customers distinct over the period; "first order ever" stays chain-wide). Every restaurant
    seen in the orders has a row for every period. Incremental: a run rebuilds the periods its
    late-data window reaches (in_period_lookback_window), and every period when a restaurant the
    table does not hold yet appears. -#}

{%- set every_period = '(select has_new_restaurant from new_restaurants)' if is_incremental() else 'false' %}

with

days as (select business_date from {{ ref('daily_kpis') }}),

restaurants as (

    select distinct restaurant_id
    from {{ ref('orders') }}
    where business_date in (select business_date from days)

),
{% if is_incremental() %}
new_restaurants as (

    select exists (
        select from restaurants
        where not exists (select from {{ this }} as stored where stored.restaurant_id = restaurants.restaurant_id)
    ) as has_new_restaurant

),
{% endif %}
periods as (

    select period_kind, period_start, period_end
    from {{ ref('period_kpis') }}
    where {{ in_period_lookback_window('period_end', period_end=true) }} or {{ every_period }}

),

orders as (

    select orders.*, p.period_kind, p.period_start, p.period_end
    from {{ ref('orders') }} as orders
    cross join lateral {{ periods_of('orders.business_date') }}
    where orders.business_date in (select business_date from days)
      and ({{ in_period_lookback_window('orders.business_date') }} or {{ every_period }})

),

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
