-- input_files: every delivered file of every run with its SHA-256, format, marker and row counts.
select
    run_date,
    source,
    file_name,
    sha256,
    format,
    encoding,
    marker_count,
    rows_delivered,
    is_complete,
    hd_audit_mask(problems_zh) as problems_zh
from delivered_files
order by run_date, source, file_name
