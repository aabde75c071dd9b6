-- One row per source of a run for the run summary: its status, reasons and quarantined rows.
with

statuses as (
    select source, source_zh, status, reasons_zh from source_status where run_date = $run_date
),

quarantined as (
    select source, count(*) as rows_quarantined from quarantine where run_date = $run_date group by source
),

final as (
    select s.source, s.source_zh, s.status, s.reasons_zh, coalesce(q.rows_quarantined, 0) as rows_quarantined
    from statuses as s
    left join quarantined as q using (source)
    order by s.source
)

select * from final
