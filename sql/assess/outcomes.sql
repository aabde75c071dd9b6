-- The outcome per household (policy.md): FINDINGS when a substantive finding stands on
-- confirmed evidence; else INCOMPLETE when evidence_gaps holds any gap (the only place
-- gaps are read); else CLEAR — earned, never a default.  Gaps are always listed.
with

households as (
    select request_id from households where run_date = $run_date
),

-- a household every row of which was quarantined has no member to verify and no report page, but
-- it is answered, not skipped: INCOMPLETE, RECORD_QUARANTINED (the quarantine names its rows)
quarantined_only as (
    select distinct q.request_id
    from quarantine_subjects as q
    where q.run_date = $run_date and q.source = 'requests' and q.request_id is not null
      and q.request_id not in (select request_id from households)
),

substantive as (
    select request_id, code, is_confirmed from finding_candidates
    where run_date = $run_date and not is_pending
),

gaps as (
    select request_id, code from evidence_gaps where run_date = $run_date
),

codes as (
    select request_id, code from substantive
    union
    select request_id, code from gaps
),

per_household as (
    select
        h.request_id,
        (select count(*) from substantive as s where s.request_id = h.request_id and s.is_confirmed)
            as n_confirmed,
        (select count(*) from codes as c where c.request_id = h.request_id) as n_any,
        (select string_agg(c.code, ';' order by c.code) from codes as c where c.request_id = h.request_id)
            as findings
    from households as h
),

final as (
    select
        $run_date as run_date,
        request_id,
        case
            when n_confirmed > 0 then 'FINDINGS'
            when n_any > 0 then 'INCOMPLETE'
            else 'CLEAR'
        end as outcome,
        coalesce(findings, '') as findings
    from per_household
    union all
    select $run_date, request_id, 'INCOMPLETE', 'RECORD_QUARANTINED' from quarantined_only
)

select * from final
