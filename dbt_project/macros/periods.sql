{#- The reporting periods a business date belongs to: its week (Monday to Sunday) and its calendar
    month, as rows (period_kind, period_start, period_end). Use as
    `cross join lateral {{ periods_of('x.business_date') }}`; the date is truncated as a timestamp
    without time zone, so the session's time zone cannot move it. -#}
{% macro periods_of(business_date) -%}
    (values
        ('week', date_trunc('week', {{ business_date }}::timestamp)::date,
         date_trunc('week', {{ business_date }}::timestamp)::date + 6),
        ('month', date_trunc('month', {{ business_date }}::timestamp)::date,
         (date_trunc('month', {{ business_date }}::timestamp) + interval '1 month - 1 day')::date)
    ) as p (period_kind, period_start, period_end)
{%- endmacro %}
