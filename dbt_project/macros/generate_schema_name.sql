{#- Models go to exactly the schema their folder names (staging, intermediate, marts), without the
    target-schema prefix dbt adds by default: the reporting layer and consumers rely on fixed names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
