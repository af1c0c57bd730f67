{{ config(unique_key=['period_kind', 'period_start'],
          indexes=[{'columns': ['period_kind', 'period_start'], 'unique': True}]) }}

{#- One row per week (Monday to Sunday) and per calendar month holding a day of daily_kpis: the
    chain's KPIs over the whole period with the daily definitions, computed again from the facts
    rather than from the days' figures (a customer who ordered on three days of the week is one
    customer; a new customer's first order ever falls in the period). Only the days of daily_kpis
    count, so a record with a broken clock stays out here too. Incremental: a run rebuilds the
    periods its late-data window reaches (in_period_lookback_window). -#}

with

days as (select business_date from {{ ref('daily_kpis') }}),

periods as (

    select
        p.period_kind,
        p.period_start,
        p.period_end,
        count(*) as days_count
    from days
    cross join lateral {{ periods_of('days.business_date') }}
    group by 1, 2, 3
    having {{ in_period_lookback_window('p.period_end', period_end=true) }}

),

orders as (

    select orders.*, p.period_kind, p.period_start, p.period_end
    from {{ ref('orders') }} as orders
    cross join lateral {{ periods_of('orders.business_date') }}
    where orders.business_date in (select business_date from days)
      and {{ in_period_lookback_window('orders.business_date') }}

),

order_figures as (

    select
        period_kind,
        period_start,
        {{ order_figures('period_start', 'period_end') }}
    from orders
    group by 1, 2

),

call_figures as (

    select
        p.period_kind,
        p.period_start,
        {{ call_figures() }}
    from {{ ref('int_calls_aggregated_to_hours') }} as hours
    cross join lateral {{ periods_of('hours.business_date') }}
    where hours.business_date in (select business_date from days)
      and {{ in_period_lookback_window('hours.business_date') }}
    group by 1, 2

),

operator_figures as (

    select
        p.period_kind,
        p.period_start,
        sum(operator_days.logged_in_seconds) as logged_in_seconds,
        sum(operator_days.paused_seconds) as paused_seconds
    from {{ ref('operator_daily') }} as operator_days
    cross join lateral {{ periods_of('operator_days.business_date') }}
    where operator_days.business_date in (select business_date from days)
      and {{ in_period_lookback_window('operator_days.business_date') }}
    group by 1, 2

),

rating_figures as (

    select
        p.period_kind,
        p.period_start,
        {{ rating_figures() }}
    from {{ ref('ratings') }} as ratings
    cross join lateral {{ periods_of('ratings.business_date') }}
    where ratings.business_date in (select business_date from days)
      and {{ in_period_lookback_window('ratings.business_date') }}
    group by 1, 2

),

final as (

    select
        -- keys
        periods.period_kind,
        periods.period_start,
        periods.period_end,
        periods.days_count,

        -- orders and customers
        {{ order_kpis('o') }},

        -- calls
        {{ call_kpis('c') }},

        -- operators
        {{ operator_load_kpis('c', 'ops') }},

        -- ratings: calls and orders together, then each apart
        {{ rating_kpis('r') }}

    from periods
    left join order_figures as o using (period_kind, period_start)
    left join call_figures as c using (period_kind, period_start)
    left join operator_figures as ops using (period_kind, period_start)
    left join rating_figures as r using (period_kind, period_start)

)

select * from final
