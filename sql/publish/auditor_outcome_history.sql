-- outcome_history: every outcome each household's verification of a run date was published with: version 1 the first, the current one is_current (a re-run, late delivery or review decision superseded the others; each publication is in access_log); outcome NULL: a re-run no longer had the request.
with

versions as (
    select
        run_date,
        request_id,
        row_number() over (partition by run_date, request_id order by published_at) as version,
        outcome,
        findings,
        published_at,
        lead(published_at) over (partition by run_date, request_id order by published_at) as superseded_at
    from outcome_history
)

select *, superseded_at is null as is_current
from versions
order by run_date, request_id, version
