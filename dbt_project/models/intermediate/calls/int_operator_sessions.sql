{{ config(materialized='incremental', indexes=[{'columns': ['business_date']}]) }}

{#- Queue membership spans ADDMEMBER -> REMOVEMEMBER per operator and queue (chan_agent's
    AGENTLOGIN -> AGENTLOGOFF and AGENTCALLBACKLOGIN -> AGENTCALLBACKLOGOFF, logged with queue
    NONE). A span still open counts no time until it closes (macros/operator_spans.sql). -#}

{{ operator_spans(
    start_events=['ADDMEMBER', 'AGENTLOGIN', 'AGENTCALLBACKLOGIN'],
    end_events=['REMOVEMEMBER', 'AGENTLOGOFF', 'AGENTCALLBACKLOGOFF'],
    seconds_column='logged_in_seconds',
) }}
