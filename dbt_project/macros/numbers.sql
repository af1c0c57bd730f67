{#- A ratio whose denominator is zero (or null) is null, never an error: docs/metrics.md. -#}
{% macro safe_divide(numerator, denominator) -%}
    (({{ numerator }})::numeric / nullif(({{ denominator }})::numeric, 0))
{%- endmacro %}

{#- Text to integer, null when the text is not a whole number (queue_log data fields are free text). -#}
{% macro to_int(text_expr) -%}
    (case when ({{ text_expr }}) ~ '^-?[0-9]+$' then ({{ text_expr }})::bigint end)
{%- endmacro %}

{#- Order status rank for "latest state": created 0 < paid 1 < completed 2, cancelled 3 (docs/contracts.md). -#}
{% macro order_status_rank(status) -%}
    (case {{ status }} when 'created' then 0 when 'paid' then 1 when 'completed' then 2 when 'cancelled' then 3 end)
{%- endmacro %}

{#- Phone numbers compare on their last 10 digits: E.164 (+79161234567), the 8-prefixed national
    form (89161234567) and a bare number dialled from an extension all match. -#}
{% macro phone_key(phone) -%}
    right(regexp_replace({{ phone }}, '[^0-9]', '', 'g'), 10)
{%- endmacro %}
