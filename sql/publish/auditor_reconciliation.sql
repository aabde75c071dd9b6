-- reconciliation: per run and file, rows delivered = rows staged + rows quarantined.
select run_date, source, file, rows_delivered, rows_staged, rows_quarantined
from reconciliation
order by run_date, source, file
