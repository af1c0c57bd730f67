{#- The message's JSON document, parsed once per row: `from source {{ parse_once('source.payload') }}`
    then `doc ->> 'field'`. A plain `payload::jsonb as doc` in a CTE or view is inlined into every
    `doc ->> ...` that reads it, so PostgreSQL parsed the whole document again for each column (18
    times per order event: most of int_orders_latest's full build, issue #15). The lateral
    subquery's `offset 0` keeps it from being flattened; filters on the source's own columns
    (`landed_at`) still reach the table scan. -#}
{% macro parse_once(payload) -%}
    cross join lateral (select {{ payload }}::jsonb as doc offset 0) as parsed_payload
{%- endmacro %}
