-- changes: facts added or gone since a household's previous verification (re-check).
select
    run_date,
    request_id,
    change,
    kind,
    member_id as member_pseudonym,
    hd_audit_mask(fact_key) as fact_key,
    hd_audit_mask(detail_zh) as detail_zh
from changes
order by run_date, request_id, change, kind
