{{ config(indexes=[{'columns': ['business_date']}]) }}

{#- Queue membership spans ADDMEMBER -> REMOVEMEMBER (or AGENTLOGIN -> AGENTLOGOFF) per operator and
    queue; an open session counts no time until it closes (macros/operator_spans.sql). -#}

{{ operator_spans(
    start_events=['ADDMEMBER', 'AGENTLOGIN'],
    end_events=['REMOVEMEMBER', 'AGENTLOGOFF'],
    seconds_column='logged_in_seconds',
) }}
