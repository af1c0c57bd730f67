{#- The business rules a landed record must keep to count in the marts (docs/metrics.md, "Data
    issues"). A record that breaks one is kept out of the marts and listed in marts.data_issues
    with the rule's name; the build goes on. Each rule is written here once, as a condition that
    is true when the rule is BROKEN, over the columns of a row aliased `row`.

    Only the structural invariants (keys unique and not null) are dbt tests that block a build. -#}

{% macro order_rules(row='orders') -%}
    {{ return({
        'order_negative_total': row ~ '.total_amount < 0',
        'order_negative_discount': row ~ '.discount_amount < 0',
        'order_total_mismatch': 'abs(' ~ row ~ '.subtotal_amount - ' ~ row ~ '.discount_amount - '
            ~ row ~ '.total_amount) >= 0.005',
        'order_unknown_restaurant': known_restaurant_condition(row ~ '.restaurant_id'),
    }) }}
{%- endmacro %}

{% macro rating_rules(row='ratings') -%}
    {{ return({
        'rating_score_out_of_range': row ~ '.score is null or ' ~ row ~ '.score not between 1 and 5',
        'rating_subject_missing': 'not ((' ~ row ~ ".subject_type = 'call' and " ~ row ~ '.call_linkedid is not null)'
            ~ ' or (' ~ row ~ ".subject_type = 'order' and " ~ row ~ '.order_id is not null))',
    }) }}
{%- endmacro %}

{#- A restaurant id is known when it is positive and, when var('known_restaurant_ids') lists the
    chain's restaurants (the RESTAURANT_IDS setting), one of them. -#}
{% macro known_restaurant_condition(column) -%}
    {%- set known = var('known_restaurant_ids', []) -%}
    {{ column }} is null or {{ column }} < 1
    {%- if known %} or {{ column }} not in ({{ known | join(', ') }}){% endif %}
{%- endmacro %}

{#- true when the row breaks any of `rules` (a null condition counts as kept) -#}
{% macro breaks_any_rule(rules) -%}
    coalesce(({{ rules.values() | join(') or (') }}), false)
{%- endmacro %}

{#- `cross join lateral` one row per rule a row breaks: columns `rule`, `is_broken` -#}
{% macro rule_checks(rules) -%}
    cross join lateral (
        values
        {%- for rule, condition in rules.items() %}
        ('{{ rule }}', coalesce(({{ condition }}), false)){{ ',' if not loop.last }}
        {%- endfor %}
    ) as checks (rule, is_broken)
{%- endmacro %}
