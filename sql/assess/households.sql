-- One row per household (request): program, region, size, authorization, and
-- the policy parameters resolved for it (household_policy, filled per run).
-- The size (n_members, the per-capita figures' divisor) is every member declared: a member whose
-- request row was quarantined (an ID cut by Excel …) is still one of the household's people, only
-- not verified (RECORD_QUARANTINED); leaving him out would raise the per-capita figures over what
-- the household declared.  A quarantined row naming a staged member of the household again is no
-- other member; duplicates of a staged row never reach quarantine_subjects.
with

requests as (
    select * from stg_requests where run_date = $run_date
),

quarantined_members as (
    select q.request_id, count(*) as n_quarantined
    from quarantine_subjects as q
    where q.run_date = $run_date and q.source = 'requests' and q.request_id is not null
      and not exists (
          select 1 from requests as r
          where r.request_id = q.request_id and r.name_norm = q.name_norm
      )
    group by q.request_id
),

-- the household's program, county and 城市/农村 are its applicant's (without an applicant row, the least
-- value: the same on every run, never any_value's pick); a member whose row says otherwise is listed by
-- evidence_gaps.sql (VALUE_UNKNOWN): the limits that apply are not known
per_household as (
    select
        request_id,
        min(program) filter (where relation = '本人') as applicant_program,
        min(program) as any_program,
        min(region_code) filter (where relation = '本人') as applicant_region,
        min(region_code) as any_region,
        min(urban_rural) filter (where relation = '本人') as applicant_urban_rural,
        min(urban_rural) as any_urban_rural,
        min(request_date) as request_date,
        -- a person listed twice in one request (two rows of one ID) is one member, not two
        count(distinct coalesce(id_norm, record_id)) as n_staged_members,
        count(distinct coalesce(id_norm, record_id)) filter (where nullif(trim(authorization_no), '') is not null)
            as n_authorized
    from requests
    group by request_id
),

final as (
    select
        $run_date as run_date,
        h.request_id,
        coalesce(h.applicant_program, h.any_program) as program,
        coalesce(h.applicant_region, h.any_region) as region_code,
        coalesce(h.applicant_urban_rural, h.any_urban_rural) as urban_rural,
        h.request_date,
        h.n_staged_members + coalesce(q.n_quarantined, 0) as n_members,
        h.n_authorized,
        p.* exclude (request_id, run_date)
    from per_household as h
    left join quarantined_members as q on q.request_id = h.request_id
    left join household_policy as p
        on p.request_id = h.request_id and p.run_date = $run_date
)

select * from final
