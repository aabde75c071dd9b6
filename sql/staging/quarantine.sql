-- Staging, step 4: the rows kept out, one per raw row, with the rule and a Chinese reason.
-- value_masked: the offending value (masked by its column type) for value rules;
-- the row's masked ID number for row rules (incomplete_file, read_error, duplicate).
with

kept_out as (
    select * from _hd_parsed where _rule is not null
),

final as (
    select
        cast($run_date as varchar) as run_date,
        source,
        file_name,
        row_no,
        case when _rule = _problems[1].rule then _problems[1].column_name end as column_name,
        case when _rule = _problems[1].rule then _problems[1].value_masked else {{row_mask}} end as value_masked,
        _rule as rule,
        case _rule
            when 'incomplete_file' then '文件不完整（' || _incomplete || '），本次未采用'
            when 'read_error' then read_error
            when 'duplicate' then '与' || _dup_file || '第' || _dup_row || '行重复'
            else array_to_string(list_transform(_problems, lambda p: p.reason), '；')
        end as reason_zh,
        file_row_number
    from kept_out
)

select * exclude (file_row_number) from final
order by file_row_number
