-- Probabilistic links: pairs above the link threshold, and review-band pairs
-- that staff confirmed; a rejected pair never links, and a record that staff
-- confirmed as someone's no longer links on its own to anyone else (a record
-- belongs to one person).  Unconfirmed links stay probabilistic: findings
-- resting on them carry UNCONFIRMED_LINK.
with

queue as (
    select * from review_queue where run_date = $run_date
),

confirmed as (
    select distinct record_id, member_id from queue where status = 'confirmed'
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
      and (status = 'confirmed'
           or (band = 'link' and not exists (
                   select 1 from confirmed c
                   where c.record_id = queue.record_id and c.member_id <> queue.member_id)))
)

select * from final
