{#- Late-data handling shared by the incremental models.

    Business-day window: an incremental run rebuilds every business date from
    (latest business date already in the model - var('late_data_lookback_days')) on, so events that
    arrive up to that many days late, and facts that depend on later events (callbacks), are
    recomputed. Older days are kept as they are; data later than the lookback needs
    `--full-refresh` or a run with a larger late_data_lookback_days.

    Landing watermark: models built from Kafka events instead pick up every event landed since the
    newest `landed_at` they already hold (minus an overlap for landing transactions still open when
    the last run read), whatever day the event belongs to. -#}

{% macro incremental_start_date(date_column='business_date') -%}
    (select coalesce(max({{ date_column }}), date '1900-01-01') - {{ var('late_data_lookback_days') }}::int from {{ this }})
{%- endmacro %}

{% macro incremental_start_at(date_column='business_date') -%}
    {{ business_day_start(incremental_start_date(date_column)) }}
{%- endmacro %}

{% macro landed_watermark(column='last_landed_at') -%}
    (select coalesce(max({{ column }}), '-infinity'::timestamptz) from {{ this }})
        - interval '{{ var("landing_overlap_minutes", 60) }} minutes'
{%- endmacro %}
