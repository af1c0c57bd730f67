{#- The pseudonymous customer key (docs/access.md, "Why customer_key cannot be turned back into a
    phone number"): computed once, when a mart row is written, and stored in the marts that carry a
    phone (orders, customers, calls, missed_call_recovery), so the reporting views select it instead
    of hashing every row of every query (issue #15: a month's segment breakdown through `reporting`
    hashed 590k phones, 5-9x the marts query). The marts are read by administrators only, who read
    the phones themselves; the salt stays readable by its owner and the reporting views' owner only. -#}

{#- on-run-start: a run that builds a mart storing the key needs the install's salt, which
    `pantao prepare` makes; without it every key would be null (and the build's not_null tests
    would stop its publish), so say what to do instead. -#}
{% macro customer_key_salt_check() %}
  {%- set keyed = ['orders', 'customers', 'calls', 'missed_call_recovery'] -%}
  {%- set building = [] -%}
  {%- for unique_id in selected_resources if unique_id.startswith('model.' ~ project_name ~ '.')
          and unique_id.split('.')[-1] in keyed -%}
    {%- do building.append(unique_id) -%}
  {%- endfor -%}
  {%- if building and execute %}
    do $$
    begin
        if to_regclass('access.install_secret') is null
           or not exists (select from access.install_secret where name = 'customer_key_salt') then
            raise exception 'the marts store each customer''s key, made with the install''s salt, and there is none yet: run `pantao prepare` first';
        end if;
    end $$;
  {%- endif %}
{% endmacro %}

{#- Salted SHA-256 of a phone number: stable across days and marts (joinable), not reversible
    without the per-install salt. Null for a null phone. Collation "C": hex digits have no
    linguistic order, and an analyst's join on the key sorts or hashes it byte by byte (through
    the security-barrier views PostgreSQL sees no statistics and tends to sort-merge: 1.5-2x
    faster in "C" than in the database's collation, issue #15). -#}
{% macro customer_key(phone) -%}
    left(encode(sha256(
        (select s.secret from access.install_secret s where s.name = 'customer_key_salt')
        || convert_to({{ phone }}, 'UTF8')
    ), 'hex'), 24) collate "C"
{%- endmacro %}

{#- Pre-hook of the incremental marts that store the key: keeps the stored keys those of the
    current salt. A table built before the key was stored gets the column (at the end, where a new
    build puts it); when the salt has changed (delete its row and run `pantao prepare`, docs/access.md)
    every key is recomputed. One row tells: a salt change moves every key. Nothing to do on a
    full build, where the table is written with the current salt. -#}
{% macro keep_customer_keys(phone) -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none -%}
    {%- if existing is not none and existing.is_table -%}
        alter table {{ this }} add column if not exists customer_key text collate "C";
        update {{ this }} set customer_key = {{ customer_key(phone) }}
        where exists (
            select from (
                select stored.customer_key, stored.{{ phone }} as phone from {{ this }} as stored
                where stored.{{ phone }} is not null limit 1
            ) as sample
            where sample.customer_key is distinct from {{ customer_key('sample.phone') }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
