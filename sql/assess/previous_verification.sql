-- Each household's previous verification: the latest earlier run that verified
-- the same request (复核, a new report version) or the same applicant
-- (动态复核, a periodic re-check under a new request id).
-- What cannot be compared with it (changes.sql compares the rest; the report says which is which):
--   kinds_not_compared    a kind of fact one of whose sources was missing or failed in this run or in the
--                         previous one (an old car would look new, a car still owned "no longer there")
--   members_not_compared  the request rows (row_no) of members not looked up both times: no authorization
--                         or no usable ID in this run or in the previous one (a member not looked up has no
--                         facts that time, which is no change)
--   kinds_held            (request row, kind) of a member one of whose records of the kind's sources was
--                         quarantined (quarantine_links: a record naming him whose content is unknown) in this run or
--                         in the previous one: a car still owned whose row was quarantined now is not "no longer
--                         there", nor one whose row was quarantined then "new"; the page says which went uncompared
with

current_households as (
    select request_id, any_value(id_norm) filter (where relation = '本人') as applicant_id
    from stg_requests where run_date = $run_date
    group by request_id
),

earlier_households as (
    select run_date, request_id, any_value(id_norm) filter (where relation = '本人') as applicant_id
    from stg_requests where run_date < $run_date
    group by all
),

matched as (
    select c.request_id, e.run_date, e.request_id as previous_request_id,
        e.request_id = c.request_id as is_same_request
    from current_households as c
    inner join earlier_households as e
        on e.request_id = c.request_id or e.applicant_id = c.applicant_id
),

latest as (
    select request_id,
        max(run_date) as previous_run_date,
        arg_max(previous_request_id, run_date) as previous_request_id,
        arg_max(is_same_request, run_date) as is_same_request
    from matched
    group by request_id
),

kinds_not_compared as (
    select l.request_id, list(distinct ks.kind order by ks.kind) as kinds
    from latest as l
    cross join hd_kind_sources() as ks
    where not exists (select 1 from source_status as s
                      where s.run_date = $run_date and s.source = ks.source and s.status = 'passed')
       or not exists (select 1 from source_status as s
                      where s.run_date = l.previous_run_date and s.source = ks.source and s.status = 'passed')
    group by l.request_id
),

looked_up_then as (
    select l.request_id, m.id_norm
    from latest as l
    inner join stg_requests as m on m.run_date = l.previous_run_date and m.request_id = l.previous_request_id
    where m.id_norm is not null and nullif(trim(m.authorization_no), '') is not null
),

members_not_compared as (
    select l.request_id, list(distinct m.row_no order by m.row_no) as row_nos
    from latest as l
    inner join stg_requests as m on m.run_date = $run_date and m.request_id = l.request_id
    where m.id_norm is null or nullif(trim(m.authorization_no), '') is null
       or not exists (select 1 from looked_up_then as t where t.request_id = l.request_id and t.id_norm = m.id_norm)
    group by l.request_id
),

-- a member's records quarantined this time (this request) or at the previous verification (its request), by the
-- member's ID as this run's request row carries it
kinds_held as (
    select l.request_id,
        list(distinct {'row_no': m.row_no, 'kind': ks.kind} order by {'row_no': m.row_no, 'kind': ks.kind}) as held
    from latest as l
    inner join stg_requests as m on m.run_date = $run_date and m.request_id = l.request_id and m.id_norm is not null
    inner join quarantine_links as q
        on q.member_id = m.id_norm
       and ((q.run_date = $run_date and q.request_id = l.request_id)
            or (q.run_date = l.previous_run_date and q.request_id = l.previous_request_id))
    inner join hd_kind_sources() as ks on ks.source = q.source
    group by l.request_id
),

final as (
    select $run_date as run_date, l.request_id, l.previous_run_date, l.previous_request_id, l.is_same_request,
        o.outcome as previous_outcome, o.findings as previous_findings,
        coalesce(k.kinds, []::varchar[]) as kinds_not_compared,
        coalesce(n.row_nos, []::integer[]) as members_not_compared,
        coalesce(q.held, []::struct(row_no integer, kind varchar)[]) as kinds_held
    from latest as l
    left join outcomes as o on o.run_date = l.previous_run_date and o.request_id = l.previous_request_id
    left join kinds_not_compared as k on k.request_id = l.request_id
    left join members_not_compared as n on n.request_id = l.request_id
    left join kinds_held as q on q.request_id = l.request_id
)

select * from final
