-- Records waiting for staff review as possible links (between the linkage thresholds):
-- one row per (record, member) pair still pending or deferred.  A pair stops waiting only when
-- its record is settled: linked by a valid ID or confirmed by staff (the record is that person's),
-- or linked, by any method, to a member of the same request (the household weighs it already).  A record
-- linked to someone of ANOTHER household by a link nobody confirmed still waits for this one: confirmed
-- here, it would be this household's evidence (policy.md, UNCONFIRMED_LINK).
-- Figures and findings weigh them apart (`is_pending`): what confirming them would change is
-- UNCONFIRMED_LINK evidence (evidence_gaps.sql).
with

queue as (
    select * from review_queue where run_date = $run_date
),

settled as (
    select record_id, request_id, is_confirmed from links where run_date = $run_date
),

final as (
    select
        $run_date as run_date,
        q.source,
        q.record_id,
        q.request_id,
        q.member_id,
        'probabilistic' as method,
        q.match_weight,
        false as is_confirmed,
        q.status
    from queue as q
    where q.band = 'review' and q.status in ('pending', 'deferred')
      and not exists (
          select 1 from settled as s
          where s.record_id = q.record_id and (s.is_confirmed or s.request_id = q.request_id))
)

select * from final
