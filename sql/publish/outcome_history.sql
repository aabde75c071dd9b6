-- The run's outcomes that differ from the last published version of the same run date and request (or are its
-- first), and for a request a re-run no longer has (withdrawn from the request list) a version without an outcome.
with

latest as (
    select request_id, outcome, findings
    from outcome_history
    where run_date = $run_date
    qualify row_number() over (partition by request_id order by published_at desc) = 1
),

current as (
    select request_id, outcome, findings
    from outcomes
    where run_date = $run_date
),

final as (
    select current.request_id, current.outcome, current.findings
    from current
    left join latest using (request_id)
    where latest.request_id is null
       or latest.outcome is distinct from current.outcome
       or latest.findings is distinct from current.findings
    union all
    select latest.request_id, null, null
    from latest
    anti join current using (request_id)
    where latest.outcome is not null
)

select cast($run_date as varchar) as run_date, request_id, outcome, findings,
    cast($published_at as timestamptz) as published_at
from final
order by request_id
