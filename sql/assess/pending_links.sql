-- Records waiting for staff review as possible links (between the linkage thresholds):
-- one row per (record, member) pair still pending or deferred, unless the record is
-- already linked to someone.  Figures and findings weigh them apart (`is_pending`): what
-- confirming them would change is UNCONFIRMED_LINK evidence (evidence_gaps.sql).
with

queue as (
    select * from review_queue where run_date = $run_date
),

-- `not in` asks only whether a record is among them: no `distinct` (a hash of every link's record first)
linked as (
    select record_id from links where run_date = $run_date
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
      and q.record_id not in (select record_id from linked)
)

select * from final
