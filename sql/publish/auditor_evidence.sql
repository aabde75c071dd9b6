-- evidence: every record linked to a member (the facts a report may cite): source, delivery date, file, row, method, weight, and for the records a household figure reads (figure_lineage) the amount, the item and whether it counts (income window, policy exclusions).
-- One join per source: hedui.steps.publish.evidence_sql repeats this query for every department's source
-- ({records}: its staged table, {of_source}: its record IDs, which begin with the source — sql/staging/split.sql)
-- and once for the links whose record ID names no source (no record), and unions them: a source's links meet
-- only that source's records and figure lineage, never all records at once.
with

linked as (
    select * from links
    where {of_source}
),

records as (
    select run_date, record_id, delivery_date, file_name, row_no
    from {records}
),

lineage as (
    select run_date, request_id, record_id, any_value(item) as item, any_value(period_month) as period_month,
        any_value(amount_yuan) as amount_yuan, bool_and(is_in_window) as is_in_window,
        bool_or(is_excluded) as is_excluded, any_value(exclusion_zh) as exclusion_zh,
        bool_or(is_counted) as is_counted
    from figure_lineage
    where {of_source}
    group by run_date, request_id, record_id
),

final as (
    select
        linked.run_date,
        linked.request_id,
        linked.member_id as member_pseudonym,
        linked.source,
        linked.record_id,
        records.delivery_date,
        records.file_name,
        records.row_no,
        linked.method,
        linked.match_weight,
        linked.is_confirmed,
        lineage.item as figure_item,
        lineage.period_month,
        lineage.amount_yuan,
        lineage.is_in_window,
        lineage.is_excluded,
        lineage.exclusion_zh,
        lineage.is_counted
    from linked
    left join records
        on records.run_date = linked.run_date
       and records.record_id = linked.record_id
    left join lineage
        on lineage.run_date = linked.run_date
       and lineage.request_id = linked.request_id
       and lineage.record_id = linked.record_id
)

select * from final
