{#- Every business date lies in the KPI marts' window (macros/business_time.sql): a date outside is
    a clock error upstream, kept in the facts but counted in no KPI. Declared with severity warn, so
    it is shown in the build's results without stopping it. -#}
{% test plausible_business_date(model, column_name) %}
select *
from {{ model }}
where not {{ is_plausible_business_date(column_name) }}
{% endtest %}
