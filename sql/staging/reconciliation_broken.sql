-- Files whose rows do not add up, and rows staged or quarantined from no delivered file.
with

recon as (
    select * from reconciliation where run_date = $run_date
),

orphans as (
    select source, file_name from source_records where run_date = $run_date
    union
    select source, file_name from stg_requests where run_date = $run_date
    union
    select source, file_name from quarantine where run_date = $run_date
),

final as (
    select source, file, rows_delivered, rows_staged, rows_quarantined
    from recon where rows_delivered <> rows_staged + rows_quarantined
    union all
    select o.source, o.file_name, 0, null, null
    from orphans as o
    where not exists (select 1 from recon as r where r.source = o.source and r.file = o.file_name)
)

select * from final
