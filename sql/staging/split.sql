-- Staging, step 2: every raw row once, in delivery order, with its staged columns (typed,
-- docs/internals.md, stg_<source>) and, for a row a rule keeps out, its quarantine line:
-- value_masked is the offending value (masked by its column type) for value rules, the
-- row's masked ID number for row rules (incomplete_file, read_error).  hedui.staging
-- streams the result and writes rows with _rule null (less the duplicates of
-- duplicates.sql) to the staged file, the others to the quarantine.  name_norm leaves here as
-- the delivered name, id_norm and id_status empty: hedui.steps.ingest fills them per distinct
-- name (hd_name_norm, or Python for the exceptions) and per distinct ID (ids.sql) of a
-- batch of staged rows, not per row.
with

{{parsed}},

final as (
    select
        {{staged_columns}}
        {{id_norm}} as id_norm,  -- with an ID column: parsed per distinct ID (ids.sql) by hedui.steps.ingest
        {{id_status}} as id_status,
        {{name_column}} as name_norm,  -- the raw name: normalized per distinct name by hedui.steps.ingest
        cast($run_date as varchar) as run_date,
        source,
        delivery_date,
        file_name,
        row_no,
        source || ':' || file_name || ':' || row_no as record_id,
        file_row_number as _file_row_number,
        _rule,
        case when _rule = _problems[1].rule then _problems[1].column_name end as _q_column_name,
        case
            when _rule is null then null
            when _rule = _problems[1].rule then _problems[1].value_masked
            else {{row_mask}}
        end as _q_value_masked,
        case _rule
            when 'incomplete_file' then '文件不完整（' || _incomplete || '），本次未采用'
            when 'read_error' then read_error
            else array_to_string(list_transform(_problems, lambda p: p.reason), '；')
        end as _q_reason_zh
    from ruled
)

select * from final
