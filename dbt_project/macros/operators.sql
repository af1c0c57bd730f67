{#- How operators are named where the directory cannot name them, in var('report_lang'). An
    extension missing from the FreePBX directory (operators leave, directories lag, follow-me and
    Local channels answer from numbers nobody listed) is «неизвестный (доб. 117)» / "unknown
    (ext. 117)"; a member name the directory does not know is «неизвестный (Анна Петрова)». -#}

{% macro extension_label(extension) -%}
    {%- if var('report_lang', 'ru') == 'en' -%}
    ('ext. ' || {{ extension }})
    {%- else -%}
    ('доб. ' || {{ extension }})
    {%- endif -%}
{%- endmacro %}

{% macro unknown_operator_name(extension) -%}
    case
        when {{ extension }} is null then null
        when {{ extension }} ~ '^[0-9]+$'
            then {% if var('report_lang', 'ru') == 'en' %}'unknown (' || {% else %}'неизвестный (' || {% endif %}{{ extension_label(extension) }} || ')'
        else {% if var('report_lang', 'ru') == 'en' %}'unknown (' {% else %}'неизвестный (' {% endif %}|| {{ extension }} || ')'
    end
{%- endmacro %}
