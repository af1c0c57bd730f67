{#- A security-barrier view, replaced in one transaction (materialized='secure_view').

    dbt's own view materialization cannot set security_barrier, and it swaps by create-tmp, rename,
    drop-backup, reading the relation cache it filled when the run started. This one works from the
    database's state instead: under the advisory lock `pantao prepare` (access.migrate) takes, it
    drops the view if it exists and creates it with (security_barrier), then applies the grants
    config and the yml's comments (persist_docs) and runs the post-hooks (the owner), all before the
    commit. So a reader sees the old view or the new one, never one without its row filter, grants or
    owner, and a concurrent `pantao prepare` or a second build waits instead of failing. Like dbt's
    own views, the drop cascades to objects someone built on the view. -#}
{% materialization secure_view, adapter='postgres' %}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set grant_config = config.get('grants') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  -- `BEGIN` happens here:
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('main') -%}
    select pg_advisory_xact_lock({{ access_setup_lock_key() }});
    drop view if exists {{ target_relation }} cascade;
    create view {{ target_relation }} with (security_barrier) as (
      {{ sql }}
    );
  {%- endcall %}

  {% do apply_grants(target_relation, grant_config, should_revoke=False) %}
  {% do persist_docs(target_relation, model) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
