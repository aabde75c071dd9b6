-- Staging, the parse: CTEs (included by duplicates.sql and split.sql, not run alone) that
-- take raw rows ({{rows}}: the raw Parquet, or some of its rows) to their parsed values and
-- the rule, if any, that keeps each row out of staging.  First rule wins:
--   incomplete_file  the file is marked incomplete in the manifest
--   read_error       the connector could not read the row
--   bad_date / bad_month / bad_amount / bad_number / negative_balance
--                    a value is present but unparseable (or a negative balance)
--   duplicate        an exact copy (all canonical values) of an earlier row of
--                    the delivery; the first occurrence is staged (duplicates.sql)
-- ID problems (bad_check, scientific, missing …) are not rules: those rows stay
-- staged with their id_status for probabilistic linkage.
-- Only scans, projections and filters (no joins), so rows keep their delivery order:
-- the incomplete files and the Python-normalized names come as list parameters
-- ($incomplete_files / $incomplete_reasons, $fix_names / $fix_norms for the names
-- matching $name_exceptions).  hedui.staging fills the {{…}} slots from the header map
-- (column names are validated identifiers, headers are quoted literals).

raw as (
    {{rows}}
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
        {{name_norm}} as _name_norm
    from cleaned
),

bodies as (
    select parsed.*, hd_id_body(_id_clean, _id_kind) as _id_body from parsed
),

-- the ID's parts once per row (a macro would re-evaluate them in each CASE branch)
id_parts as (
    select
        bodies.*,
        hd_id_birth_ok(_id_body) as _id_birth_ok,
        hd_id_check(_id_body) as _id_check
    from bodies
),

checked as (
    select
        id_parts.*,
        hd_id_status_v(_id_kind, _id_birth_ok, _id_check = substr(_id_clean, 18, 1)) as _id_status,
        case when list_contains(cast($incomplete_files as varchar[]), file_name) then
            cast($incomplete_reasons as varchar[])[list_position(cast($incomplete_files as varchar[]), file_name)]
        end as _incomplete,
        -- built only for the (few) rows with a problem
        case when {{any_problem}} then
            list_filter([
                cast(null as struct(column_name varchar, value_masked varchar, rule varchar, reason varchar)),
                {{value_checks}}
            ], lambda p: p is not null)
        end as _problems
    from id_parts
),

ruled as (
    select
        checked.*,
        case
            when _incomplete is not null then 'incomplete_file'
            when read_error is not null then 'read_error'
            when _problems is not null then _problems[1].rule
        end as _rule
    from checked
)
