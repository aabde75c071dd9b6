-- Per delivered file: rows delivered = rows staged + rows quarantined.
with

files as (
    select source, file_name, rows_delivered
    from delivered_files where run_date = $run_date
),

staged as (
    select source, file_name, count(*) as rows_staged
    from source_records where run_date = $run_date
    group by all
    union all
    select source, file_name, count(*) from stg_requests where run_date = $run_date group by all
),

quarantined as (
    select source, file_name, count(distinct row_no) as rows_quarantined
    from quarantine where run_date = $run_date
    group by all
),

final as (
    select
        $run_date as run_date,
        f.source,
        f.file_name as file,
        coalesce(f.rows_delivered, 0) as rows_delivered,
        coalesce(s.rows_staged, 0) as rows_staged,
        coalesce(q.rows_quarantined, 0) as rows_quarantined
    from files as f
    left join staged as s on s.source = f.source and s.file_name = f.file_name
    left join quarantined as q on q.source = f.source and q.file_name = f.file_name
)

select * from final
