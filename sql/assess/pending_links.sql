-- Records waiting for staff review as possible links (between the linkage thresholds):
-- one row per (record, member) pair still pending or deferred, unless the record is
-- already settled as someone's (an exact or a confirmed link) or linked in the same household.  A link
-- nobody confirmed settles nothing: the record may still be this member's, and it is in staff's queue.
-- Figures and findings weigh them apart (`is_pending`): what confirming them would change is
-- UNCONFIRMED_LINK evidence (evidence_gaps.sql).
with

queue as (
    select * from review_queue where run_date = $run_date
),

-- `not in` asks only whether a record is among them: no `distinct` (a hash of every link's record first)
settled as (
    select record_id from links where run_date = $run_date and is_confirmed
),

unconfirmed as (
    select record_id, request_id from links where run_date = $run_date and not is_confirmed
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
      and q.record_id not in (select record_id from settled)
      and not exists (
          select 1 from unconfirmed as u where u.record_id = q.record_id and u.request_id = q.request_id
      )
)

select * from final
