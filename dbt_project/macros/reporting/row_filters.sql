{#- The row filters and masking of the reporting views (docs/access.md).

    The caller's scope comes from access.viewer (one row, keyed on current_user; `pantao prepare`
    creates it) through uncorrelated sub-selects, which PostgreSQL evaluates once per query (an
    InitPlan), so a million-row scan does not pay a lookup per row. The filters sit inside the views,
    not as policies on the marts: dbt replaces a table mart on a full build, which would silently
    discard policies placed on it. The role names are access/sql.py's and pantao.domain.GROUP_ROLES
    (tests/test_reporting_models.py checks). -#}

{#- True when the caller's role is one of `roles`; false for a login outside access.users. -#}
{% macro role_in(roles) -%}
    coalesce((select v.role in ('{{ roles | join("', '") }}') from access.viewer v), false)
{%- endmacro %}

{#- `expression` for callers in `roles`, null for everyone else (a column some roles may not see). -#}
{% macro only_for(roles, expression) -%}
    case when {{ role_in(roles) }} then {{ expression }} end
{%- endmacro %}

{#- The caller's own PBX extension when the caller is an operator, else null. -#}
{% macro own_extension() -%}
    (select v.operator_extension from access.viewer v where v.role = 'crm_operator')
{%- endmacro %}

{#- The restaurants a manager is limited to; null for everyone else and for unlimited managers. -#}
{% macro restaurant_scope() -%}
    (select v.restaurant_scope from access.viewer v)::int[]
{%- endmacro %}

{#- True for a manager limited to no restaurant (who sees every restaurant). -#}
{% macro unscoped_manager() -%}
    coalesce((select v.role = 'crm_manager' and v.restaurant_scope is null from access.viewer v), false)
{%- endmacro %}

{#- `+79161234567` -> `*** ***-**-67`: the last two digits only, read from the digits whatever the
    number's formatting (`8 (916) 123-45-67` gives the same), so a key and its masked phone leave 10^8
    numbers to try even with the salt; a number of fewer than five digits shows none. -#}
{% macro masked_phone(phone) -%}
    case
        when {{ phone }} is null then null
        when length(regexp_replace({{ phone }}, '[^0-9]', '', 'g')) >= 5
            then '*** ***-**-' || right(regexp_replace({{ phone }}, '[^0-9]', '', 'g'), 2)
        else '***'
    end
{%- endmacro %}
