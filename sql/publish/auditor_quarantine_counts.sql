-- quarantine_counts: rows kept out per run, source, file, rule and column (counts only, never the values).
select
    run_date,
    source,
    file_name,
    rule,
    column_name,
    count(*) as n_rows,
    hd_audit_mask(min(reason_zh)) as reason_example_zh
from quarantine
group by run_date, source, file_name, rule, column_name
order by run_date, source, file_name, rule, column_name
