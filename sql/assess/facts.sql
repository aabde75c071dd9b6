-- The household's facts that a re-check compares between verifications:
-- one row per (household, kind, fact_key); a key is the identifier as hd_key writes it (one car, flat,
-- company or employer however a delivery wrote it).  `applicant_id` identifies the
-- household across requests (a 动态复核 arrives under a new request id).
-- The run's slices of tables (`not materialized`) are read where used, not copied first: each use's filters
-- (a source's links) reach the table scan, and no copy of every link of the run is made.
with

-- every link, and every record waiting for review as a member's: a car still on file whose row now links only
-- by name and birth date is not "no longer there", and a new car on such a row is news (marked as unconfirmed)
links as not materialized (
    select * from hd_member_links($run_date)  -- sql/assess/macros.sql
),

applicants as (
    select request_id, any_value(id_norm) filter (where relation = '本人') as applicant_id
    from stg_requests where run_date = $run_date
    group by request_id
),

facts as (
    select l.request_id, l.member_id, 'vehicle' as kind,
        coalesce(hd_key(v.plate_no), v.record_id) as fact_key,
        '车辆 ' || coalesce(v.plate_no, '') || '（' || coalesce(v.vehicle_type, '') || '，'
            || coalesce(v.vehicle_status, '') || '）' as detail_zh, l.is_confirmed, l.is_pending
    from stg_vehicle as v inner join links as l on l.record_id = v.record_id and l.source = 'vehicle'
    where v.run_date = $run_date and v.vehicle_status = '正常'
    union all
    -- a unit as the count keys it (hd_unit_key, sql/assess/macros.sql): two flats numbered `无` at two 坐落 are two
    -- facts, not one keyed `无`; a unit without a number is its 坐落, the same fact on the next verification
    select l.request_id, l.member_id, 'property', hd_unit_key(r.unit_no, r.location, r.record_id),
        r.use_type || '房产 ' || coalesce(r.location, ''), l.is_confirmed, l.is_pending
    from stg_real_estate as r inner join links as l on l.record_id = r.record_id and l.source = 'real_estate'
    where r.run_date = $run_date and r.title_status = '现势'
    union all
    select l.request_id, l.member_id, 'business', coalesce(hd_key(b.credit_code), hd_key(b.entity_name)) || '/' || b.role,
        b.entity_name || ' ' || b.role, l.is_confirmed, l.is_pending
    from stg_business_registry as b inner join links as l on l.record_id = b.record_id and l.source = 'business_registry'
    where b.run_date = $run_date and b.entity_status in ('存续', '在业')
    union all
    select distinct t.request_id, t.member_id, 'employer', t.withholder_key, '工作单位 ' || t.withholder,
        t.is_confirmed, t.is_pending
    from hd_tax_rows($run_date) as t  -- every linked tax row and those waiting for review (sql/assess/macros.sql)
    where t.income_item = '工资薪金所得' and t.withholder is not null
    union all
    -- a member's distinct employers first, then each one's key and text: hd_key's regexes once per member and employer
    -- (≈ 11 k at tenth), not once per contribution row (≈ 350 k); the same rows (the key and text are the employer's)
    select s.request_id, s.member_id, 'employer', hd_key(s.employer), '工作单位 ' || s.employer, s.is_confirmed,
        s.is_pending
    from (select distinct request_id, member_id, employer, is_confirmed, is_pending
          from hd_si_rows($run_date)  -- the linked rows and those waiting for review (sql/assess/macros.sql)
          where category = '缴费' and employer is not null) as s
    union all
    select l.request_id, l.member_id, 'registration', p.person_status,
        '户籍状态 ' || p.person_status, l.is_confirmed, l.is_pending
    from stg_public_security as p inner join links as l on l.record_id = p.record_id and l.source = 'public_security'
    where p.run_date = $run_date and p.person_status <> '正常'
    union all
    select l.request_id, l.member_id, 'death', 'cremation',
        '殡葬记录' || coalesce('（火化日期 ' || strftime(c.cremation_date, '%Y-%m-%d') || '）', ''),
        l.is_confirmed, l.is_pending
    from stg_civil_affairs as c inner join links as l on l.record_id = c.record_id and l.source = 'civil_affairs'
    where c.run_date = $run_date
),

final as (
    -- one row per fact: the same car, flat or employer written two ways (hd_key) is one, shown as first written,
    -- as its confirmed records write it; on records nobody confirmed only, said so
    select $run_date as run_date, f.request_id, a.applicant_id, f.member_id, f.kind, f.fact_key,
        coalesce(min(f.detail_zh) filter (where f.is_confirmed),
                 min(f.detail_zh) filter (where not f.is_pending) || '（概率匹配，尚未经人工确认）',
                 min(f.detail_zh) || '（待人工确认的可能匹配记录）') as detail_zh
    from facts as f inner join applicants as a on a.request_id = f.request_id
    group by f.request_id, a.applicant_id, f.member_id, f.kind, f.fact_key
)

select * from final
