-- Findings of policy.md as reports and machines read them, one row per (household, code,
-- evidence record): the substantive findings that stand on linked evidence
-- (finding_candidates, pending rows left out) and every gap of evidence_gaps.
with

substantive as (
    select request_id, code, member_id, source, record_id, detail_zh, is_confirmed, method, match_weight
    from finding_candidates
    where run_date = $run_date and not is_pending
),

gaps as (
    select request_id, code, member_id, source, record_id,
        reason_zh as detail_zh,
        code <> 'UNCONFIRMED_LINK' as is_confirmed,
        case code
            when 'UNCONFIRMED_LINK' then 'probabilistic'
            when 'RECORD_QUARANTINED' then 'quarantine'
            when 'NO_AUTHORIZATION' then 'request'
            when 'VALUE_UNKNOWN' then 'record'
            else 'source'
        end as method,
        match_weight
    from evidence_gaps
    where run_date = $run_date
),

final as (
    select $run_date as run_date, * from substantive
    union all
    select $run_date, * from gaps
)

select * from final
