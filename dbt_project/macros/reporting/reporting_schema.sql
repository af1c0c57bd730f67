{#- The advisory lock key of access setup (access.migrate.SETUP_LOCK_KEY, "pantao" in ASCII). -#}
{% macro access_setup_lock_key() -%}
    {{ return(123563767259503) }}
{%- endmacro %}

{#- on-run-start: when the run builds reporting views, check what they need and put the reporting
    schema in order: owned by crm_reporting_owner, usable by the group roles, closed to public, and
    the marts schema usable by the views' owner (the marts' own grants come with each build, see
    dbt_project.yml). In a write–audit–publish build these are the shadow schemas (`reporting__build`),
    which the publish step makes the live ones. Idempotent, and serialized with `pantao prepare`. -#}
{% macro reporting_schema() %}
  {%- set views = [] -%}
  {%- for unique_id in selected_resources if unique_id.startswith('model.' ~ project_name ~ '.rpt_') -%}
    {%- do views.append(unique_id) -%}
  {%- endfor -%}
  {%- if views and execute %}
    {%- set missing = missing_upstream(views) -%}
    {%- if missing -%}
      {#- named as readers know them: marts.orders, not the shadow build's marts__build.orders -#}
      {%- set suffix = env_var('PANTAO_DBT_SCHEMA_SUFFIX', '') -%}
      {%- set missing = missing | map('replace', suffix ~ '.', '.') | list if suffix else missing -%}
      {{ exceptions.raise_compiler_error(
          "marts " ~ missing | join(', ') ~ " do not exist yet, and the reporting views read them: build them "
          ~ "first (`pantao run` or `pantao dbt build`), then the views (`pantao dbt run --select path:models/reporting`)") }}
    {%- endif %}
    {%- set reporting = generate_schema_name('reporting', none) -%}
    {%- set marts = generate_schema_name('marts', none) %}
    do $$
    begin
        perform pg_advisory_xact_lock({{ access_setup_lock_key() }});
        if to_regclass('access.viewer') is null
           or not exists (select from pg_roles where rolname = 'crm_reporting_owner') then
            raise exception 'the reporting views need the roles and the access schema: run `pantao prepare` first';
        end if;
        create schema if not exists {{ reporting }};
        alter schema {{ reporting }} owner to crm_reporting_owner;
        revoke all on schema {{ reporting }} from public;
        grant usage on schema {{ reporting }} to crm_admin, crm_manager, crm_analyst, crm_operator;
        comment on schema {{ reporting }} is 'Stable, documented views for analysts and BI tools (docs/analysts.md). Row filters and pseudonymisation apply to every login.';
        grant usage on schema {{ marts }} to crm_reporting_owner, crm_admin;
    end $$;
  {%- endif %}
{% endmacro %}

{#- The relations the given models read that this run does not build and that do not exist. -#}
{% macro missing_upstream(unique_ids) %}
  {%- set relations = [] -%}
  {%- for unique_id in unique_ids -%}
    {%- for parent in graph.nodes[unique_id].depends_on.nodes
          if parent.startswith('model.') and parent not in selected_resources -%}
      {%- set node = graph.nodes[parent] -%}
      {%- do relations.append(node.schema ~ '.' ~ (node.alias or node.name)) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- if not relations -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set found = run_query("select r from unnest(array['" ~ relations | unique | sort | join("', '")
                            ~ "']) as r where to_regclass(r) is null order by 1") -%}
  {{ return(found.columns[0].values() | list) }}
{% endmacro %}
