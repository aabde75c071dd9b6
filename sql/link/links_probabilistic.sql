-- Probabilistic links: pairs above the link threshold, and review-band pairs
-- that staff confirmed; a rejected pair never links.  Unconfirmed links stay
-- probabilistic: findings resting on them carry UNCONFIRMED_LINK.
with

queue as (
    select * from review_queue where run_date = $run_date
),

final as (
    select
        $run_date as run_date,
        source,
        record_id,
        request_id,
        member_id,
        'probabilistic' as method,
        match_weight,
        status = 'confirmed' as is_confirmed
    from queue
    where status <> 'rejected'
      and (band = 'link' or status = 'confirmed')
)

select * from final
