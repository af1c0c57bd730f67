{#- The operator directory as the marts show it: every extension FreePBX lists or once listed,
    with its name. Activity of an extension not here is shown with
    unknown_operator_name() (macros/operators.sql), which the marts apply. -#}

with

directory as (

    select * from {{ ref('stg_freepbx__extensions') }}

),

final as (

    select
        -- ids
        operator_extension,

        -- attributes
        coalesce(
            nullif(trim(operator_name), ''),
            {{ extension_label('operator_extension') }}
        ) as operator_name,
        is_listed,

        -- timestamps
        removed_at

    from directory

)

select * from final
