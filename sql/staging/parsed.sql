-- Staging, step 1: every raw row of one source delivery, its values parsed, and the
-- rule (if any) that keeps it out of staging.  First rule wins:
--   incomplete_file  the file is marked incomplete in the manifest
--   read_error       the connector could not read the row
--   bad_date / bad_month / bad_amount / bad_number / negative_balance
--                    a value is present but unparseable (or a negative balance)
--   duplicate        an exact copy (all canonical values) of an earlier row of
--                    the delivery; the first occurrence is staged
-- ID problems (bad_check, scientific, missing …) are not rules: those rows stay
-- staged with their id_status for probabilistic linkage.
-- hedui.staging fills the {{…}} slots from the header map (column names are
-- validated identifiers, headers are quoted literals); values are parameters.
create or replace temp table _hd_parsed as
with

raw as (
    select * from read_parquet($raw_parquet, file_row_number = true)
),

parsed as (
    select
        raw.*,
        {{parsed_values}}
        hd_id_clean({{id_column}}) as _id_clean,
        hd_name_norm({{name_column}}) as _name_norm
    from raw
),

checked as (
    select
        parsed.*,
        hd_id_status_clean(_id_clean) as _id_status,
        incomplete.reason as _incomplete,
        list_filter([
            cast(null as struct(column_name varchar, value_masked varchar, rule varchar, reason varchar)),
            {{value_checks}}
        ], lambda p: p is not null) as _problems
    from parsed
    left join _hd_incomplete as incomplete on incomplete.file_name = parsed.file_name
),

ruled as (
    select
        checked.*,
        case
            when _incomplete is not null then 'incomplete_file'
            when read_error is not null then 'read_error'
            when len(_problems) > 0 then _problems[1].rule
        end as _pre_rule
    from checked
),

duplicates as (
    select
        ruled.*,
        row_number() over same_values as _dup_rank,
        first_value(file_name) over same_values as _dup_file,
        first_value(row_no) over same_values as _dup_row
    from ruled
    window same_values as (
        partition by _pre_rule is null, {{dup_key}}
        order by file_row_number
    )
),

final as (
    select
        duplicates.*,
        coalesce(_pre_rule, case when _dup_rank > 1 then 'duplicate' end) as _rule,
        case
            when _incomplete is not null then '文件不完整（' || _incomplete || '），本次未采用'
            when read_error is not null then read_error
            when len(_problems) > 0 then array_to_string(list_transform(_problems, lambda p: p.reason), '；')
            when _dup_rank > 1 then '与' || _dup_file || '第' || _dup_row || '行重复'
        end as _reason,
        case
            when _incomplete is null and read_error is null and len(_problems) > 0 then _problems[1].column_name
        end as _column_name,
        case
            when _incomplete is null and read_error is null and len(_problems) > 0 then _problems[1].value_masked
            else {{row_mask}}
        end as _value_masked
    from duplicates
)

select * from final;
