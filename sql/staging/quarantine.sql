-- Staging, step 3: the rows kept out, one per raw row, with the rule and a Chinese reason.
-- value_masked: the offending value (masked by its column type) for value rules;
-- the row's masked ID number for row rules (incomplete_file, read_error, duplicate).
select
    cast($run_date as varchar) as run_date,
    source,
    file_name,
    row_no,
    _column_name as column_name,
    _value_masked as value_masked,
    _rule as rule,
    _reason as reason_zh
from _hd_parsed
where _rule is not null
order by file_row_number
