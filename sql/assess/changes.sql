-- What changed since each household's previous verification (facts added or gone).
-- A kind of fact is compared only where every source it comes from passed both in this run and
-- in the previous verification's: a source missing or failed either time would otherwise turn
-- an old car into a "new" one, or a car still owned into one "no longer" there.  And only for the members
-- looked up both times: a member not looked up either time has no facts that time, which is no change — his
-- car is not "no longer there" when his authorization lapsed (nor may a member without authorization have
-- facts in the report at all), nor "new" when he was first authorized.  Both are previous_verification.sql's.
-- Nor a kind of fact of a member one of whose records of its sources was quarantined (quarantine_links: a record
-- naming him whose content is unknown) this time or the previous time: a car still owned whose row was quarantined
-- now is not "no longer there" (the record is there, unread), nor one whose row was quarantined then "new"
-- (previous_verification.sql's kinds_held, which the page names).
with

previous as (
    select * from previous_verification where run_date = $run_date
),

-- what previous_verification.sql says can be compared: the members looked up both times (authorized, a usable
-- ID), the kinds not in kinds_not_compared
looked_up_both as (
    select distinct p.request_id, m.id_norm as member_id
    from previous as p
    inner join stg_requests as m on m.run_date = $run_date and m.request_id = p.request_id
    where m.id_norm is not null and not list_contains(p.members_not_compared, m.row_no)
),

-- (household, member, kind) with a record quarantined this time or at the previous verification
-- (previous_verification.sql's kinds_held)
held as (
    select distinct p.request_id, m.id_norm as member_id, h.held.kind
    from previous as p
    cross join unnest(p.kinds_held) as h(held)
    inner join stg_requests as m on m.run_date = $run_date and m.request_id = p.request_id and m.row_no = h.held.row_no
    where m.id_norm is not null
),

now_facts as (
    select f.* from facts as f
    inner join previous as p on p.request_id = f.request_id
    semi join looked_up_both as b on b.request_id = f.request_id and b.member_id = f.member_id
    where f.run_date = $run_date and not list_contains(p.kinds_not_compared, f.kind)
),

then_facts as (
    select p.request_id as current_request_id, f.*
    from previous as p
    inner join facts as f on f.run_date = p.previous_run_date and f.request_id = p.previous_request_id
    semi join looked_up_both as b on b.request_id = p.request_id and b.member_id = f.member_id
    where not list_contains(p.kinds_not_compared, f.kind)
),

added as (
    select n.request_id, 'added' as change, n.kind, n.member_id, n.fact_key, n.detail_zh
    from now_facts as n
    anti join then_facts as t
        on t.current_request_id = n.request_id and t.kind = n.kind
       and t.fact_key = n.fact_key and t.member_id = n.member_id
    anti join held as q on q.request_id = n.request_id and q.member_id = n.member_id and q.kind = n.kind
),

removed as (
    select t.current_request_id as request_id, 'removed' as change, t.kind, t.member_id, t.fact_key, t.detail_zh
    from then_facts as t
    anti join now_facts as n
        on n.request_id = t.current_request_id and n.kind = t.kind
       and n.fact_key = t.fact_key and n.member_id = t.member_id
    anti join held as q on q.request_id = t.current_request_id and q.member_id = t.member_id and q.kind = t.kind
),

final as (
    select $run_date as run_date, * from added
    union all
    select $run_date, * from removed
)

select * from final
