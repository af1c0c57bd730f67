{{ config(materialized='incremental', indexes=[{'columns': ['business_date']}]) }}

{#- Pauses PAUSE -> UNPAUSE per operator and queue; an open pause counts no time until it closes
    (macros/operator_spans.sql). PAUSEALL / UNPAUSEALL are not read: app_queue.c logs them (queue
    NONE) in addition to a PAUSE / UNPAUSE in every queue the member is in, so counting them would
    count the pause twice. -#}

{{ operator_spans(
    start_events=['PAUSE'],
    end_events=['UNPAUSE'],
    seconds_column='paused_seconds',
    extra_columns=['pause_reason'],
) }}
