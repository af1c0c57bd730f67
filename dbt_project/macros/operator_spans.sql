{#- The body of a model of operator spans paired from queue_log events (int_queue_log_events), per operator and queue:
    each start event is closed by that operator's next event in that queue when it is an end event.
    A span still open (no end landed yet) has no end and counts no time until it closes; it is
    rebuilt on later runs while its day is inside the late-data window. `extra_columns` are event
    columns kept as the span's attributes. -#}
{% macro operator_spans(start_events, end_events, seconds_column, extra_columns=[]) %}
{%- set starts = "'" ~ start_events | join("', '") ~ "'" -%}
{%- set ends = "'" ~ end_events | join("', '") ~ "'" -%}
with

events as (

    select * from {{ ref('int_queue_log_events') }}
    where event_type in ({{ starts }}, {{ ends }})
      and operator_extension is not null
      and {{ in_lookback_window('event_at', timestamp=true) }}

),

sequenced as (

    select
        operator_extension,
        queue_name,
        event_type,
        {%- for column in extra_columns %}
        {{ column }},
        {%- endfor %}
        event_at,
        lead(event_type) over operator_events as next_event_type,
        lead(event_at) over operator_events as next_event_at
    from events
    window operator_events as (partition by operator_extension, queue_name order by event_at, event_type)

),

final as (

    select
        -- ids
        operator_extension,
        queue_name,
        {%- if extra_columns %}

        -- attributes
        {%- for column in extra_columns %}
        {{ column }},
        {%- endfor %}
        {%- endif %}

        -- timestamps
        event_at as started_at,
        case when next_event_type in ({{ ends }}) then next_event_at end as ended_at,
        {{ business_date('event_at') }} as business_date,

        -- durations
        case
            when next_event_type in ({{ ends }}) then extract(epoch from next_event_at - event_at)::bigint
            else 0
        end as {{ seconds_column }}

    from sequenced
    where event_type in ({{ starts }})

)

select * from final
{% endmacro %}
