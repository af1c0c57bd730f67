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
