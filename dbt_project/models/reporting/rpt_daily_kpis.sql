{{ config(alias='daily_kpis') }}

{#- The chain's days and the restaurants' days in one view, told apart by `scope`, as analysts have
    always read them. The KPI columns are the ones this view's yml documents: a restaurant row has
    those of restaurant_daily_kpis and null for the chain-wide rest (calls, operators, ratings). -#}
{%- set keys = ['business_date', 'scope', 'restaurant_id'] -%}
{%- set kpis = model.columns.keys() | reject('in', keys) | list -%}
{%- set restaurant_columns = graph.nodes.get('model.' ~ project_name ~ '.restaurant_daily_kpis', {}).get('columns', {}) if execute else {} -%}

with

-- one union (no CTE per branch): a restaurant row's null takes the type of the chain's column
both_scopes as (

    select
        business_date,
        'chain' as scope,
        null::int as restaurant_id,
        {%- for column in kpis %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('daily_kpis') }}

    union all

    select
        business_date,
        'restaurant' as scope,
        restaurant_id,
        {%- for column in kpis %}
        {{ column if column in restaurant_columns else 'null' }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('restaurant_daily_kpis') }}

),

final as (

    select *
    from both_scopes as k
    where {{ role_in(['crm_admin', 'crm_analyst']) }}
       or {{ unscoped_manager() }}
       or (
           {{ restaurant_scope() }} is not null
           and (k.scope = 'chain' or k.restaurant_id = any({{ restaurant_scope() }}))
       )

)

select * from final
