{#- Returns (fails with) every row for which `expression` is not true; null counts as a failure.
    Declared on a model or a column; the expression names its columns explicitly. -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
