-- source_status: per run and source, passed / missing / incomplete / failed, with the reasons.
select run_date, source, source_zh, status, hd_audit_mask(reasons_zh) as reasons_zh
from source_status
order by run_date, source
