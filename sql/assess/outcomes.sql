-- The outcome per household (policy.md): FINDINGS when a substantive finding
-- stands on confirmed evidence; else INCOMPLETE when anything is missing or
-- unconfirmed; else CLEAR.  Gaps are always listed.
with

households as (
    select request_id from households where run_date = $run_date
),

findings as (
    select * from findings where run_date = $run_date
),

gap_codes as (
    select unnest(['NO_AUTHORIZATION', 'SOURCE_MISSING', 'SOURCE_FAILED', 'UNCONFIRMED_LINK']) as code
),

per_household as (
    select
        h.request_id,
        count(f.code) filter (
            where f.is_confirmed and f.code not in (select code from gap_codes)) as n_confirmed,
        count(f.code) as n_any,
        string_agg(distinct f.code, ';' order by f.code) as findings
    from households as h
    left join findings as f on f.request_id = h.request_id
    group by h.request_id
),

final as (
    select
        $run_date as run_date,
        request_id,
        case
            when n_confirmed > 0 then 'FINDINGS'
            when n_any > 0 then 'INCOMPLETE'
            else 'CLEAR'
        end as outcome,
        coalesce(findings, '') as findings
    from per_household
)

select * from final
