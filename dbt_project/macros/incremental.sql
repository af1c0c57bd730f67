{#- Late-data handling shared by the incremental models.

    Business-day window: an incremental run rebuilds every business date from
    (latest plausible business date already in the model - var('late_data_lookback_days')) on, so
    events that arrive up to that many days late, and facts that depend on later events
    (callbacks), are recomputed. Older days are kept as they are; data later than the lookback
    needs `--full-refresh` or a run with a larger late_data_lookback_days. A date after the
    plausible window (a producer's broken clock, 9999-12-31) does not count as "latest": it would
    move the window past every real day and freeze the model.

    Landing watermark: models built from Kafka events instead pick up every event landed since the
    newest `landed_at` they already hold (minus an overlap for landing transactions still open when
    the last run read), whatever day the event belongs to. -#}

{% macro incremental_start_date(date_column='business_date') -%}
    (select coalesce(max({{ date_column }}), date '1900-01-01') - {{ var('late_data_lookback_days') }}::int
     from {{ this }} where {{ date_column }} <= {{ last_plausible_business_date() }})
{%- endmacro %}

{% macro incremental_start_at(date_column='business_date') -%}
    {{ business_day_start(incremental_start_date(date_column)) }}
{%- endmacro %}

{#- The condition that limits an incremental run to the late-data window: `where {{ in_lookback_window() }}`.
    Always true on a full build. `column` is a business date, or with timestamp=true an instant. -#}
{% macro in_lookback_window(column='business_date', timestamp=false) -%}
    {%- if not is_incremental() -%}
        true
    {%- elif timestamp -%}
        {{ column }} >= {{ incremental_start_at() }}
    {%- else -%}
        {{ column }} >= {{ incremental_start_date() }}
    {%- endif -%}
{%- endmacro %}

{% macro landed_watermark(column='last_landed_at') -%}
    (select coalesce(max({{ column }}), '-infinity'::timestamptz) from {{ this }})
        - interval '{{ var("landing_overlap_minutes", 60) }} minutes'
{%- endmacro %}

{#- The condition that limits a landing-watermark model to what landed since its last run:
    `where {{ landed_since_last_run() }}`. Always true on a full build. -#}
{% macro landed_since_last_run(column='landed_at', stored_column='last_landed_at') -%}
    {%- if is_incremental() -%}
        {{ column }} > {{ landed_watermark(stored_column) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Candidate states for a "latest state" model: each new event as a state (`columns` maps event
    column -> state column), and on an incremental run the state already stored for the same `key`,
    so the latest is a max over both without rereading old events. -#}
{% macro with_stored_states(events, key, columns) -%}
    select
        {%- for event_column, state_column in columns.items() %}
        {{ event_column }}{{ ' as ' ~ state_column if event_column != state_column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ events }}
    {%- if is_incremental() %}

    union all

    select {{ columns.values() | join(', ') }}
    from {{ this }}
    where {{ key }} in (select {{ key }} from {{ events }})
    {%- endif %}
{%- endmacro %}
