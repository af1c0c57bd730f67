{#- Models go to exactly the schema their folder names (staging, intermediate, marts), without the
    target-schema prefix dbt adds by default: the reporting layer and consumers rely on fixed names.
    A write–audit–publish build (pantao/wap.py) sets PANTAO_DBT_SHADOWED_SCHEMAS and
    PANTAO_DBT_SCHEMA_SUFFIX: those schemas get the suffix (`marts__build`), and the publish step
    swaps them for the live ones once the build and its tests passed. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}
        {%- set name = custom_schema_name | trim -%}
        {%- set shadowed = env_var('PANTAO_DBT_SHADOWED_SCHEMAS', '').split(',') -%}
        {%- if name in shadowed -%}{{ name ~ env_var('PANTAO_DBT_SCHEMA_SUFFIX', '') }}{%- else -%}{{ name }}{%- endif -%}
    {%- endif -%}
{%- endmacro %}
