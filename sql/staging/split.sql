-- Staging, step 2: every raw row once (no order promised: with several threads the streamed batches
-- may come out of delivery order; row_no says where each was), with its staged columns (typed,
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
        -- lineage: few distinct values (one per run, source, delivery, file), so they leave as the
        -- ENUM _hd_lineage (hedui.steps.ingest makes it from the raw file's values): Arrow gets them
        -- dictionary-encoded, not one string per row, and the Parquet writers take them so
        cast(cast($run_date as varchar) as _hd_lineage) as run_date,
        cast(source as _hd_lineage) as source,
        cast(delivery_date as _hd_lineage) as delivery_date,
        cast(file_name as _hd_lineage) as file_name,
        row_no,
        -- the delivered text, not the ENUM above; one concat, not a chain of ||s (0.16 → 0.10 CPU-s over social
        -- insurance's 2.27 M rows), NULL when a part is, as || gives (test_contract_stagesplit BZ03)
        case when ruled.source is null or ruled.file_name is null or row_no is null then null
             else concat(ruled.source, ':', ruled.file_name, ':', row_no) end as record_id,
        file_row_number as _file_row_number,
        _rule,
        case when _rule = _problems[1].rule then _problems[1].column_name end as _q_column_name,
        case
            when _rule is null then null
            when _rule = _problems[1].rule then _problems[1].value_masked
            else {{row_mask}}
        end as _q_value_masked,
        case _rule
            -- a complete file beside an incomplete one says so itself (connectors.manifest.incomplete_files)
            when 'incomplete_file' then case when starts_with(_incomplete, '本文件完整') then _incomplete
                                             else '文件不完整（' || _incomplete || '），本次未采用' end
            when 'read_error' then read_error
            else array_to_string(list_transform(_problems, lambda p: p.reason), '；')
        end as _q_reason_zh
    from ruled
)

select * from final
