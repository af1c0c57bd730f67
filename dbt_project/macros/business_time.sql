{#- Business days and hours are wall-clock values in var('business_timezone'); an interaction
    belongs to the day (and hour) it started. -#}
{% macro business_date(ts) -%}
    (({{ ts }}) at time zone '{{ var("business_timezone") }}')::date
{%- endmacro %}

{% macro business_hour(ts) -%}
    extract(hour from (({{ ts }}) at time zone '{{ var("business_timezone") }}'))::int
{%- endmacro %}

{#- The instant a business date starts (local midnight) as timestamptz. -#}
{% macro business_day_start(date_expr) -%}
    ((({{ date_expr }})::date)::timestamp at time zone '{{ var("business_timezone") }}')
{%- endmacro %}

{#- PBX CDR times are local wall-clock times without an offset (the PBX's clock). -#}
{% macro from_business_local(ts) -%}
    (({{ ts }})::timestamp at time zone '{{ var("business_timezone") }}')
{%- endmacro %}

{#- The business dates the KPI marts cover: from var('plausible_since') to today (business time)
    plus var('plausible_future_days'). An event outside stays in the facts (orders, calls), flagged
    by the plausible_business_date test, but no KPI day and no date spine reaches it. -#}
{% macro last_plausible_business_date() -%}
    ({{ business_date('now()') }} + {{ var('plausible_future_days') }}::int)
{%- endmacro %}

{% macro is_plausible_business_date(column='business_date') -%}
    ({{ column }} between date '{{ var("plausible_since") }}' and {{ last_plausible_business_date() }})
{%- endmacro %}
