{#- The call figures of each business day and local hour, summed from the calls: the base of the
    hourly call KPIs and, summed over a day's hours, of the daily ones, so both count alike. A view
    (the intermediate default): the KPI marts read it for their late-data window only, through
    int_calls_outcomes' index. -#}

with

calls as (select * from {{ ref('int_calls_outcomes') }}),

final as (

    select
        -- keys
        business_date,
        business_hour,

        -- counts
        count(*) as calls_offered_count,
        count(*) filter (where is_answered) as calls_answered_count,
        count(*) filter (where is_short_abandon) as short_abandon_count,
        count(*) filter (where is_answered_within_service_level) as answered_within_service_level_count,

        -- durations
        sum(hold_seconds) filter (where is_answered) as hold_seconds_total,
        coalesce(sum(talk_seconds) filter (where is_answered), 0) as talk_seconds_total

    from calls
    group by 1, 2

)

select * from final
