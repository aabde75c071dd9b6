-- evidence: every record linked to a member (the facts a report may cite): source, delivery date, file, row, method, weight, and for the records a household figure reads (figure_lineage) the amount, the item and whether it counts (income window, policy exclusions).
with

lineage as (
    select run_date, request_id, record_id, any_value(item) as item, any_value(period_month) as period_month,
        any_value(amount_yuan) as amount_yuan, bool_and(is_in_window) as is_in_window,
        bool_or(is_excluded) as is_excluded, bool_or(is_counted) as is_counted
    from figure_lineage
    group by run_date, request_id, record_id
),

final as (
    select
        links.run_date,
        links.request_id,
        links.member_id as member_pseudonym,
        links.source,
        links.record_id,
        records.delivery_date,
        records.file_name,
        records.row_no,
        links.method,
        links.match_weight,
        links.is_confirmed,
        lineage.item as figure_item,
        lineage.period_month,
        lineage.amount_yuan,
        lineage.is_in_window,
        lineage.is_excluded,
        lineage.is_counted
    from links
    left join source_records as records
        on records.run_date = links.run_date
       and records.record_id = links.record_id
    left join lineage
        on lineage.run_date = links.run_date
       and lineage.request_id = links.request_id
       and lineage.record_id = links.record_id
)

select * from final
