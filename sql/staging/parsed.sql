-- Staging, step 1: every raw row of one source delivery, its values parsed, and the
-- rule (if any) that keeps it out of staging (duplicates are marked by duplicates.sql).
-- First rule wins:
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

ids as (
    select
        raw.*,
        regexp_full_match({{id_column}}, '[0-9]{17}[0-9X]') as _id_fast
    from raw
),

cleaned as (
    select
        ids.*,
        case when _id_fast then {{id_column}} else hd_id_clean_slow({{id_column}}) end as _id_clean
    from ids
),

parsed as (
    select
        cleaned.*,
        {{parsed_values}}
        case when _id_fast then 18 else hd_id_kind(_id_clean) end as _id_kind,
        hd_name_norm({{name_column}}) as _name_norm
    from cleaned
),

bodies as (
    select parsed.*, hd_id_body(_id_clean, _id_kind) as _id_body from parsed
),

checked as (
    select
        bodies.*,
        hd_id_status_k(_id_clean, _id_kind, _id_body) as _id_status,
        incomplete.reason as _incomplete,
        -- built only for the (few) rows with a problem
        case when {{any_problem}} then
            list_filter([
                cast(null as struct(column_name varchar, value_masked varchar, rule varchar, reason varchar)),
                {{value_checks}}
            ], lambda p: p is not null)
        end as _problems
    from bodies
    left join _hd_incomplete as incomplete on incomplete.file_name = bodies.file_name
),

ruled as (
    select
        checked.*,
        case
            when _incomplete is not null then 'incomplete_file'
            when read_error is not null then 'read_error'
            when _problems is not null then _problems[1].rule
        end as _rule,
        hash({{dup_key}}) as _dup_hash,
        cast(null as varchar) as _dup_file,
        cast(null as integer) as _dup_row
    from checked
),

final as (
    select * exclude (_id_fast) from ruled
)

select * from final;
