-- Staging, the parse: CTEs (included by duplicates.sql and split.sql, not run alone) that
-- take raw rows ({{rows}}: the raw Parquet, or some of its rows) to their parsed values and
-- the rule, if any, that keeps each row out of staging.  First rule wins:
--   incomplete_file  the file is marked incomplete in the manifest
--   read_error       the connector could not read the row
--   bad_date / bad_month / bad_amount / bad_number / negative_balance
--                    a value is present but unparseable (or a negative balance)
--   scientific_account  an account / policy number Excel turned into 6.23E+18 (its digits are lost)
--   bad_id           an ID among other words (代理人360102…, two IDs in one cell): whose record it is is not known
--   duplicate        an exact copy (all canonical values) of an earlier row of
--                    the delivery; the first occurrence is staged (duplicates.sql)
-- ID problems (bad_check, scientific, missing …) are not rules: those rows stay
-- staged with their id_status for probabilistic linkage.  The ID is parsed in ids.sql,
-- once per distinct ID of a batch of staged rows (hedui.steps.ingest), not here per row.
-- Only scans, projections and filters (no joins), so rows keep their delivery order:
-- the incomplete files come as list parameters ($incomplete_files / $incomplete_reasons).
-- hedui.staging fills the {{…}} slots from the header map (column names are validated
-- identifiers, headers are quoted literals).

raw as (
    {{rows}}
),

parsed as (
    select
        raw.*,
        {{parsed_values}}
    from raw
),

checked as (
    select
        parsed.*,
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
    from parsed
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
