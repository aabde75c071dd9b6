-- Each household's previous verification: the latest earlier run that verified
-- the same request (复核, a new report version) or the same applicant
-- (动态复核, a periodic re-check under a new request id).
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

final as (
    select $run_date as run_date, l.request_id, l.previous_run_date, l.previous_request_id, l.is_same_request,
        o.outcome as previous_outcome, o.findings as previous_findings
    from latest as l
    left join outcomes as o on o.run_date = l.previous_run_date and o.request_id = l.previous_request_id
)

select * from final
