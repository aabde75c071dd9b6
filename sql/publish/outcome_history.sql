-- The run's outcomes that differ from the last published version of the same run date and request (or are its first).
with

latest as (
    select request_id, arg_max(outcome, published_at) as outcome, arg_max(findings, published_at) as findings
    from outcome_history
    where run_date = $run_date
    group by request_id
)

select outcomes.run_date, outcomes.request_id, outcomes.outcome, outcomes.findings,
    cast($published_at as timestamptz) as published_at
from outcomes
left join latest using (request_id)
where outcomes.run_date = $run_date
  and (latest.request_id is null
       or latest.outcome is distinct from outcomes.outcome
       or latest.findings is distinct from outcomes.findings)
order by outcomes.request_id
