-- The review queue of a run: every probabilistic pair at or above the review
-- threshold, with the latest staff decision on it (if any).
with

pairs as (
    select * from prob_pairs
),

latest as (
    select * from latest_decisions
),

final as (
    select
        $run_date as run_date,
        p.record_id,
        p.source,
        p.request_id,
        p.member_id,
        p.decision_key,
        p.match_weight,
        p.match_probability,
        p.band,
        p.breakdown,
        coalesce(d.decision, 'pending') as status,
        d.reviewer,
        d.decided_at,
        d.reason
    from pairs as p
    left join latest as d on d.decision_key = p.decision_key
)

select * from final
