{{ config(indexes=[{'columns': ['business_date']}]) }}

{#- Pauses PAUSE -> UNPAUSE (or PAUSEALL -> UNPAUSEALL) per operator and queue; an open pause
    counts no time until it closes (macros/operator_spans.sql). -#}

{{ operator_spans(
    start_events=['PAUSE', 'PAUSEALL'],
    end_events=['UNPAUSE', 'UNPAUSEALL'],
    seconds_column='paused_seconds',
    extra_columns=['pause_reason'],
) }}
