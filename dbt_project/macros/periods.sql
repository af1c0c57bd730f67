{#- The reporting periods a business date belongs to: its week (Monday to Sunday) and its calendar
    month, as rows (period_kind, period_start, period_end). Use as
    `cross join lateral {{ periods_of('x.business_date') }}`; the date is truncated as a timestamp
    without time zone, so the session's time zone cannot move it. -#}
{% macro periods_of(business_date) -%}
    (values
        ('week', date_trunc('week', {{ business_date }}::timestamp)::date,
         date_trunc('week', {{ business_date }}::timestamp)::date + 6),
        ('month', date_trunc('month', {{ business_date }}::timestamp)::date,
         (date_trunc('month', {{ business_date }}::timestamp) + interval '1 month - 1 day')::date)
    ) as p (period_kind, period_start, period_end)
{%- endmacro %}

{#- The late-data window of a period mart (one row per period_kind and period_start): an incremental
    run rebuilds every period ending on or after W, the newest week it already holds minus
    var('late_data_lookback_days'). That week starts on or before the newest day the last run held,
    so every day the daily marts rebuild (from that day minus the lookback) falls in a rebuilt period
    (sometimes a period more, never one less); older periods are kept as they are, as the daily
    marts keep older days. `where {{ in_period_lookback_window('period_end', period_end=true) }}`
    picks the periods; `where {{ in_period_lookback_window('x.business_date') }}` the facts they
    need: from the first day of W's week or month, whichever is earlier. Always true on a full build. -#}
{% macro in_period_lookback_window(column, period_end=false) -%}
    {%- if not is_incremental() -%}
        true
    {%- else -%}
        {%- set window_start -%}
            (select coalesce(max(period_start), date '1900-01-01') - {{ var('late_data_lookback_days') }}::int
             from {{ this }} where period_kind = 'week')
        {%- endset -%}
        {%- if period_end -%}
            {{ column }} >= {{ window_start }}
        {%- else -%}
            {{ column }} >= least(date_trunc('week', {{ window_start }}::timestamp)::date,
                                  date_trunc('month', {{ window_start }}::timestamp)::date)
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
