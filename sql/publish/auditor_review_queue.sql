-- review_queue: every probabilistic pair staff were asked to review, with its weight, band and latest decision.
select
    run_date,
    record_id,
    source,
    request_id,
    member_id as member_pseudonym,
    decision_key,
    match_weight,
    match_probability,
    band,
    status,
    reviewer,
    decided_at,
    hd_audit_mask(reason) as reason
from review_queue
order by run_date, request_id, record_id
