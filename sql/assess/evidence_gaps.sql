-- Evidence completeness (policy.md: CLEAR is earned): one row per piece of evidence that
-- could change a household's outcome but was not weighed, per (household, member, source).
-- outcomes.sql reads gaps from here only, so a new kind of gap is one more CTE below.
--   SOURCE_MISSING / SOURCE_FAILED  a source not delivered (or incomplete) / failed validation
--   NO_AUTHORIZATION                a member without authorization, never looked up
--   UNCONFIRMED_LINK                a finding resting on an unconfirmed probabilistic link, or a
--                                   record waiting for review that, confirmed, creates a finding
--   RECORD_QUARANTINED              a quarantined record that names a member (by ID, or name and
--                                   the birth date of a partial ID: quarantine_links)
--   VALUE_UNKNOWN                   a linked record lacking a value the assessment needs (empty is
--                                   unknown, never zero), or a member's request row contradicting the
--                                   household's program, county or 城市/农村, a household no policy
--                                   version applies to (the limits are unknown), or one with no
--                                   applicant row or two
-- The run's slices of tables (`not materialized`) are read where used, not copied first: each use's filters
-- (a source's links) reach the table scan, and no copy of every link of the run is made.
with

households as not materialized (
    select * from households where run_date = $run_date
),

members as not materialized (
    select request_id, id_norm as member_id, record_id, relation, program, region_code, urban_rural, name_norm,
        nullif(trim(authorization_no), '') is not null as is_authorized
    from stg_requests where run_date = $run_date
),

candidates as not materialized (
    select * from finding_candidates where run_date = $run_date
),

pending as not materialized (
    select * from pending_links where run_date = $run_date
),

links as not materialized (
    select * from links where run_date = $run_date
),

window_bounds as (
    select h.request_id, h.excluded_income_items, h.count_housing_fund_balance, h.business_always_review_types,
        h.business_contribution_limit_yuan,
        (date_trunc('month', strptime($run_date, '%Y%m%d'))::date - to_months(h.income_window_months))::date
            as window_start,
        date_trunc('month', strptime($run_date, '%Y%m%d'))::date as window_end
    from households as h
),

source_gaps as (
    select h.request_id, cast(null as varchar) as member_id, s.source,
        case when s.status = 'failed' then 'SOURCE_FAILED' else 'SOURCE_MISSING' end as code,
        cast(null as varchar) as record_id, cast(null as varchar) as file_name, cast(null as integer) as row_no,
        cast(null as double) as match_weight, cast(null as varchar) as related_code,
        s.source_zh || case s.status
            when 'failed' then '数据未通过校验：'
            when 'incomplete' then '数据交付不完整：'
            else '数据未交付：' end || coalesce(s.reasons_zh, '') as reason_zh
    from households as h
    cross join (select * from source_status where run_date = $run_date) as s
    -- the request list failing validation (its rows staged, judged untrustworthy as a whole) keeps every
    -- household from CLEAR; a request file not complete leaves out its own households' rows only
    where s.status <> 'passed' and (s.source <> 'requests' or s.status = 'failed')
),

-- a source of monthly income rows (税务 by 所属期, 社会保险 by 月份) whose delivery ends before the income window does: the
-- months after its last are not delivered, not months without income (DESIGN.md: absence of evidence is not
-- evidence).  Read as no income they made a household CLEAR (test_contract_assess9 AV04).  The contract gives a
-- delivery no period (no 数据截止 column, no manifest of months): the delivery's own rows show where it ends.  A
-- department delivers one row per person and month, so a delivery carrying monthly series (rows in two months or more)
-- of at least ten persons, none of them after month M, is an extract that ends at M — ten people's wages, pensions
-- and contributions do not all stop in one month.  Fewer such persons say too little (one person's wages ending are a
-- job ending).  Every household of the run is affected: SOURCE_MISSING on the source, naming the months; a finding
-- standing on what was delivered stands (policy.md), the gap listed beside it.  The window's last month alone missing
-- is not one: a month's tax is declared, and its contributions settled, in the month after, so a run early in a month
-- (or an urgent one on the last delivery) has none of it from anyone — every household INCOMPLETE on every such run
-- (test_recheck: a run of 12-28 on a delivery ending 10).  Two months or more missing are a short delivery; so is
-- a delivery starting after the window does (short_ends)
source_months as not materialized (
    select 'tax' as source, id_norm as person, period_month from stg_tax
    where run_date = $run_date and period_month is not null and id_norm is not null
    union all
    select 'social_insurance', id_norm, period_month from stg_social_insurance
    where run_date = $run_date and period_month is not null and id_norm is not null
),

-- per person of a source his first and last month (two months or more: a series — his first month is not his last,
-- cheaper than counting distinct months), and the months any row of the source is of.  Two groupings, each of its
-- own scan of the two columns: one `grouping sets` pass copied the 3.2 M staged rows into a buffer first (tenth),
-- dearer than reading the columns twice
source_grouped as materialized (  -- read three times below
    select source, person, cast(null as date) as period_month, false as is_month,
        min(period_month) as first_month, max(period_month) as last_month
    from source_months
    group by source, person
    union all
    select source, cast(null as varchar), period_month, true, period_month, period_month
    from (select distinct source, period_month from source_months)
),

source_persons as (
    select source, person, first_month, last_month, first_month < last_month as is_series
    from source_grouped where not is_month
),

source_ends as (
    select source, max(last_month) as last_month, min(first_month) as first_month,
        count(*) filter (where is_series) as n_series,
        min(last_month) filter (where is_series) = max(last_month) filter (where is_series)
            and max(last_month) filter (where is_series) = max(last_month) as is_one_end
    from source_persons
    group by source
    -- ten series or more, or a smaller delivery (a county's few people) whose every series stops in one month, no
    -- row of anyone after it: several people's incomes do not all stop in one month, a delivery does — read as months without income a delivery of three people ending in 2026-06 made a household CLEAR
    -- (test_contract_assess10 AW01).  One person's series alone says too little (his job ending): lone_ends
),

-- months inside a delivery (rows before and after) of which nobody has a row, while two people's series or more run
-- across them: a month's file not delivered (a department delivering a file a month), not a month without income —
-- three months missing made a wage of 1,000 average 750 under 800 (test_contract_assess10 AW03).  A month nobody
-- has a row of is a few rows of months per source, so the range join below meets none at a nightly without holes
source_holes as (
    select e.source, m.month
    from source_ends as e
    cross join lateral (
        select unnest(generate_series(e.first_month::timestamp, e.last_month::timestamp, interval 1 month))::date
            as month) as m
    where hd_whole_delivery()  -- (an urgent verification's slice shows no delivery's months: hedui.steps.assess)
      and not exists (select 1 from source_grouped as g
                      where g.is_month and g.source = e.source and g.period_month = m.month)
      and (select count(*) from source_persons as p
           where p.source = e.source and p.is_series and p.first_month < m.month and p.last_month > m.month) >= 2
),

-- a delivery whose every row is of one month a quarter (2025-12, 2026-03, 2026-06, 2026-09: a department extracting
-- quarterly declarations; 经营所得 is declared by the quarter) leaves the months between without anyone's row.  Whether
-- a row is its month's income or its quarter's is not known (sources.md: a row per person and month): the months
-- between stay unknown (source_holes), and the reason says which reading is open and asks, rather than calling them
-- files lost (test_contract_assess13 BB03).  A few rows of months per source
quarterly_sources as (
    select source, string_agg(strftime(period_month, '%Y-%m'), '、' order by period_month) as months_zh
    from source_grouped
    where is_month
    group by source
    having count(*) >= 3 and min(month(period_month) % 3) = max(month(period_month) % 3)
),

hole_sources as (
    select h.request_id, cast(null as varchar) as member_id, o.source, 'SOURCE_MISSING' as code,
        cast(null as varchar) as record_id, cast(null as varchar) as file_name, cast(null as integer) as row_no,
        cast(null as double) as match_weight, cast(null as varchar) as related_code,
        coalesce(any_value(s.source_zh), o.source) || coalesce('数据的记录只在每季度的一个月（' || any_value(q.months_zh)
            || '），收入计算期内的 ' || string_agg(strftime(o.month, '%Y-%m'), '、' order by o.month) || ' 共 '
            || count(*) || ' 个月没有任何人员的记录：所属期可能是季度而非月份，每条记录是该月的收入还是整个季度的收入'
            || '无法判断，这些月份的收入未知，未按无收入计；请向交付部门核实“所属期”是否指季度，或按月补交数据',
            '数据在收入计算期内的 '
            || string_agg(strftime(o.month, '%Y-%m'), '、' order by o.month) || ' 共 ' || count(*)
            || ' 个月没有任何人员的记录（之前和之后的月份均有记录），属交付不完整，这些月份的收入未知，未按无收入计；'
            || '请交付部门补交这些月份的数据') as reason_zh
    from households as h
    inner join window_bounds as w on w.request_id = h.request_id
    inner join source_holes as o on o.month >= w.window_start and o.month < w.window_end
    left join (select * from source_status where run_date = $run_date) as s on s.source = o.source
    left join quarterly_sources as q on q.source = o.source
    where coalesce(s.status, 'passed') = 'passed'  -- a source missing or failed is listed as such (source_gaps)
    group by h.request_id, o.source
),

short_ends as (
    select h.request_id, w.window_start, w.window_end, e.source, e.last_month, e.first_month,
        coalesce(s.source_zh, e.source) as source_zh,
        -- two window months or more not delivered, or none of the window at all: the last month alone missing is
        -- excused, but with a window of one month (a policy parameter, 1 to 36) the excuse covered the whole window,
        -- and a household was CLEAR weighing no month of income (test_contract_assess13 BB04).  The delivery's series
        -- still decide (a single row of a bystander before a window of six months is no delivery ending: traps8 TH20)
        ((e.last_month + interval 2 month)::date < w.window_end or e.last_month < w.window_start)
            and (e.n_series >= 10 or (hd_whole_delivery() and e.n_series >= 2 and e.is_one_end)) as is_short_end,
        -- a delivery starting after the window does (an extract of the last months): the months before its first are
        -- not delivered either, not months without income (test_contract_assess10 AW02).  No month is declared late
        -- at the start: the window's first month missing is one.  Ten series or more only: a few people's series
        -- starting in one month and running to the window's end are what a small honest delivery of the last months
        -- looks like (two people's wages of 2026-08 to 2026-10 were SOURCE_MISSING: test_contract_assess11 AX01), and
        -- one series starting is a person's income starting (AX02); a small delivery ending early is judged above
        e.first_month > w.window_start and e.n_series >= 10 as is_short_start
    from households as h
    inner join window_bounds as w on w.request_id = h.request_id
    cross join source_ends as e
    left join (select * from source_status where run_date = $run_date) as s on s.source = e.source
    where coalesce(s.status, 'passed') = 'passed'  -- a source missing or failed is listed as such (source_gaps)
),

short_sources as (
    select request_id, cast(null as varchar) as member_id, source, 'SOURCE_MISSING' as code,
        cast(null as varchar) as record_id, cast(null as varchar) as file_name, cast(null as integer) as row_no,
        cast(null as double) as match_weight, cast(null as varchar) as related_code,
        source_zh || '数据只交付至 ' || strftime(last_month, '%Y-%m') || '：收入计算期 '
            || strftime(window_start, '%Y-%m') || ' 至 ' || strftime((window_end - interval 1 month)::date, '%Y-%m')
            || ' 中 ' || strftime(greatest((last_month + interval 1 month)::date, window_start), '%Y-%m')
            || if(date_diff('month', greatest((last_month + interval 1 month)::date, window_start), window_end) > 1,
                  ' 至 ' || strftime((window_end - interval 1 month)::date, '%Y-%m'), '')
            || ' 共 ' || date_diff('month', greatest((last_month + interval 1 month)::date, window_start), window_end)
            || ' 个月没有任何人员的记录，属交付不完整，这些月份的收入未知，未按无收入计；请交付部门补交这些月份的数据'
            as reason_zh
    from short_ends where is_short_end
    union all
    select request_id, null, source, 'SOURCE_MISSING', null, null, null, null, null,
        source_zh || '数据自 ' || strftime(first_month, '%Y-%m') || ' 起才有记录：收入计算期 '
            || strftime(window_start, '%Y-%m') || ' 至 ' || strftime((window_end - interval 1 month)::date, '%Y-%m')
            || ' 中 ' || strftime(window_start, '%Y-%m')
            || if(date_diff('month', window_start, first_month) > 1,
                  ' 至 ' || strftime((first_month - interval 1 month)::date, '%Y-%m'), '')
            || ' 共 ' || date_diff('month', window_start, first_month)
            || ' 个月没有任何人员的记录，属交付不完整，这些月份的收入未知，未按无收入计；请交付部门补交这些月份的数据'
    from short_ends where is_short_start
),

-- a member whose monthly series (rows in two months or more) in a source ends where the whole delivery ends, two months
-- or more before the window does, the delivery not judged short (too few series, short_ends): whether his income
-- stopped or the delivery did cannot be told — a delivery of one person's pension ending in 2026-06 read as a pension
-- ended (test_contract_assess10 AW05).  A single row (a month's income) is no series that stops
lone_ends as (
    select m.request_id, m.member_id, e.source, 'SOURCE_MISSING', m.record_id, null, null, null, null,
        '该成员在' || coalesce(s.source_zh, e.source) || '数据中的记录止于 ' || strftime(e.last_month, '%Y-%m')
            || '，该数据此后也没有任何人员的记录（只交付至 ' || strftime(e.last_month, '%Y-%m') || '）：此后 '
            || date_diff('month', greatest((e.last_month + interval 1 month)::date, w.window_start), w.window_end)
            || ' 个月是收入停止还是数据未交付无法判断，这些月份的收入未知，未按无收入计；请向交付部门核实'
    from members as m
    inner join window_bounds as w on w.request_id = m.request_id
    inner join source_persons as p on p.person = m.member_id and p.is_series
    inner join source_ends as e on e.source = p.source and e.last_month = p.last_month
    left join (select * from source_status where run_date = $run_date) as s on s.source = e.source
    where hd_whole_delivery() and m.is_authorized
      and ((e.last_month + interval 2 month)::date < w.window_end or e.last_month < w.window_start)  -- (short_ends)
      and coalesce(s.status, 'passed') = 'passed'
      and not exists (select 1 from short_ends as x
                      where x.request_id = m.request_id and x.source = e.source and x.is_short_end)
      -- months of unknown income add to a figure (a share not known is not deducted, policy.md): over the standard on
      -- confirmed evidence already, the household's outcome and findings are what they are whatever those months
      -- held — a tiny delivery of one wage series of 60,000 to 2026-03 is FINDINGS on income, nothing unknown beside
      -- (test_contract_assess11 AX04)
      and not exists (select 1 from candidates as c
                      where c.request_id = m.request_id and c.code = 'INCOME_OVER_STANDARD' and c.is_confirmed
                        and not c.is_pending)
),

no_authorization as (
    select m.request_id, m.member_id, 'requests', 'NO_AUTHORIZATION', m.record_id, null, null, null, null,
        '该成员无授权书，未查询其信息'
    from members as m where not m.is_authorized
),

-- the sources each household figure reads
figure_sources (code, source) as (
    values ('INCOME_OVER_STANDARD', 'tax'), ('INCOME_OVER_STANDARD', 'social_insurance'),
           ('FINANCIAL_ASSETS_OVER_LIMIT', 'bank'), ('FINANCIAL_ASSETS_OVER_LIMIT', 'securities'),
           ('FINANCIAL_ASSETS_OVER_LIMIT', 'insurance'), ('FINANCIAL_ASSETS_OVER_LIMIT', 'housing_fund')
),

-- findings that stand on a probabilistic link nobody confirmed: the record itself, or for a
-- figure the unconfirmed records of the sources it reads
unconfirmed_findings as (
    select distinct c.request_id, c.member_id, c.source, 'UNCONFIRMED_LINK', c.record_id, null, null,
        c.match_weight, c.code, '该情形所依据的记录为概率匹配，尚未经人工确认'
    from candidates as c where not c.is_pending and not c.is_confirmed and c.record_id is not null
      and c.source <> 'requests'
      -- a record on a confirmed link whose finding rests on other records nobody confirmed (a unit of a household
      -- over its limit only with units on unconfirmed links; a 迁出 while a registration in force is unconfirmed):
      -- those records are listed, below and by pending_ended, not this one
      and not (c.code in ('RESIDENTIAL_UNITS_OVER_LIMIT', 'MEMBER_REGISTRATION_ENDED') and exists (
          select 1 from links as l
          where l.request_id = c.request_id and l.source = c.source and l.record_id = c.record_id and l.is_confirmed))
    union
    select distinct c.request_id, l.member_id, l.source, 'UNCONFIRMED_LINK', l.record_id, null, null,
        l.match_weight, c.code, '该情形所依据的记录为概率匹配，尚未经人工确认'
    from candidates as c
    inner join figure_sources as fs on fs.code = c.code
    inner join links as l on l.request_id = c.request_id and l.source = fs.source and not l.is_confirmed
    where not c.is_pending and not c.is_confirmed and c.record_id is null
),

-- records waiting for review that, confirmed, would create a record-based finding
pending_records as (
    select distinct c.request_id, c.member_id, c.source, 'UNCONFIRMED_LINK', c.record_id, null, null,
        c.match_weight, c.code, '待人工确认的可能匹配记录；若确认，将构成该情形'
    from candidates as c where c.is_pending and c.record_id is not null and c.method <> 'if_rejected'
),

-- a member registered only on links nobody confirmed (finding_candidates.sql, method `if_rejected`): rejected,
-- he is a declared member not in the registration, so the outcome rests on those registration records
rejected_registration as (
    select distinct c.request_id, c.member_id, l.source, 'UNCONFIRMED_LINK', l.record_id, null, null,
        l.match_weight, c.code,
        '概率匹配、尚未经人工确认的户籍记录（该成员仅凭此记录在册）；若经核实不属于该成员，“户籍中未查到该成员”的情形将成立'
    from candidates as c
    inner join links as l
        on l.request_id = c.request_id and l.member_id = c.member_id and l.source = 'public_security'
       and not l.is_confirmed
    where c.code = 'MEMBER_REGISTRATION_MISMATCH' and c.is_pending and c.method = 'if_rejected'
),

-- a member not found in the registration while a registration record waits for review as his:
-- confirmed, it undoes the finding (MEMBER_REGISTRATION_MISMATCH rests on it, unconfirmed)
pending_registration as (
    select distinct c.request_id, c.member_id, p.source, 'UNCONFIRMED_LINK', p.record_id, null, null,
        p.match_weight, c.code, '待人工确认的可能匹配户籍记录；若确认，“户籍中未查到该成员”的情形将不成立'
    from candidates as c
    inner join pending as p
        on p.request_id = c.request_id and p.member_id = c.member_id and p.source = 'public_security'
    where c.code = 'MEMBER_REGISTRATION_MISMATCH' and c.source = 'requests' and not c.is_pending
      and not c.is_confirmed
),

-- a member moved out (迁出) or cancelled (注销) on a confirmed record while a registration in force (正常) is linked
-- to him by a link nobody confirmed, or waits for review as his: confirmed, it undoes the finding
pending_ended as (
    select distinct c.request_id, c.member_id, l.source, 'UNCONFIRMED_LINK', l.record_id, null, null,
        l.match_weight, c.code,
        case when l.is_pending then '待人工确认的可能匹配户籍记录（人员状态“正常”）' else
            '概率匹配、尚未经人工确认的户籍记录（人员状态“正常”）' end
            || '；若确认，该成员户籍仍在册，“' || p.person_status || '”的情形将不成立'
    from candidates as c
    inner join stg_public_security as p on p.record_id = c.record_id and p.run_date = $run_date
    inner join hd_member_links($run_date, 'public_security') as l  -- and those waiting for review
        on l.request_id = c.request_id and l.member_id = c.member_id
       and l.record_id <> c.record_id
    inner join stg_public_security as n on n.record_id = l.record_id and n.run_date = $run_date
    where c.code = 'MEMBER_REGISTRATION_ENDED' and c.source = 'public_security' and not c.is_pending
      and not c.is_confirmed and p.person_status in ('迁出', '注销') and n.person_status = '正常'
      and (l.is_pending or not l.is_confirmed)
      and (n.change_date is null or p.change_date is null or n.change_date >= p.change_date)
),

-- records waiting for review that, confirmed, would push a household figure over its limit
pending_figures as (
    select distinct c.request_id, p.member_id, p.source, 'UNCONFIRMED_LINK', p.record_id, null, null,
        p.match_weight, c.code, '待人工确认的可能匹配记录；' || c.detail_zh
    from candidates as c
    inner join figure_sources as fs on fs.code = c.code
    inner join pending as p on p.request_id = c.request_id and p.source = fs.source
    where c.is_pending and c.record_id is null and c.method = 'figure'
),

-- records on links nobody confirmed that keep a household figure under its limit: rejected, it is over
rejected_figures as (
    select distinct c.request_id, l.member_id, l.source, 'UNCONFIRMED_LINK', l.record_id, null, null,
        l.match_weight, c.code, c.detail_zh
    from candidates as c
    inner join figure_sources as fs on fs.code = c.code
    inner join links as l on l.request_id = c.request_id and l.source = fs.source and not l.is_confirmed
    where c.is_pending and c.record_id is null and c.method = 'figure_if_rejected'
),

quarantined as (
    select distinct ql.request_id, ql.member_id, ql.source, 'RECORD_QUARANTINED',
        ql.source || ':' || ql.file_name || ':' || ql.row_no, ql.file_name, ql.row_no, null,
        cast(null as varchar),
        case ql.method when 'exact_id' then '按身份证号' when 'name' then '按姓名（该记录无身份证号和出生日期）'
            when 'partial_id' then '按身份证号（该记录的身份证号校验位有误）'
            when 'masked_id' then '按身份证号的可见位（该记录的身份证号部分遮蔽）'
            when 'embedded_id' then '按身份证号（该记录的号码一栏中除该成员的身份证号外还有其他内容）'
            when 'misread_id' then '按身份证号前 14 位（该记录的身份证号无法识别，其区划代码和出生日期与该成员相同）'
            else '按姓名和出生日期' end
            || '关联到该成员的记录被隔离，内容未能核对：' || coalesce(q.reason_zh, '')
    from quarantine_links as ql
    inner join quarantine_subjects as q
        on q.run_date = ql.run_date and q.source = ql.source and q.file_name = ql.file_name
       and q.row_no = ql.row_no
    inner join members as m on m.request_id = ql.request_id and m.member_id = ql.member_id and m.is_authorized
    where ql.run_date = $run_date
),

-- a row of the request list that was quarantined: that member of the household was not verified
quarantined_requests as (
    select distinct q.request_id, cast(null as varchar), 'requests', 'RECORD_QUARANTINED',
        'requests:' || q.file_name || ':' || q.row_no, q.file_name, q.row_no, null, cast(null as varchar),
        '委托名单中本户的一名成员（' || coalesce(q.name_norm || '，', '') || coalesce(q.id_masked, '无有效身份证号')
            || '）所在行被隔离，该成员未能核对：' || coalesce(q.reason_zh, '')
    from quarantine_subjects as q
    inner join households as h on h.request_id = q.request_id
    where q.run_date = $run_date and q.source = 'requests'
),

-- a member whose request row names another program, county or 城市/农村 than the household's (the
-- applicant's): which policy version and standard apply is not known, so the outcome cannot be earned
inconsistent_requests as (
    -- the row of the request list (record_id is requests:<file>:<row>)
    select m.request_id, m.member_id, 'requests', 'VALUE_UNKNOWN', m.record_id,
        regexp_extract(m.record_id, '^requests:(.*):[0-9]+$', 1),
        try_cast(regexp_extract(m.record_id, ':([0-9]+)$', 1) as integer), null, null,
        '委托名单中该成员的' || array_to_string(list_filter([
            case when m.program is distinct from h.program
                then '业务类型“' || coalesce(m.program, '空') || '”' end,
            case when m.region_code is distinct from h.region_code
                then '区划代码“' || coalesce(m.region_code, '空') || '”' end,
            case when m.urban_rural is distinct from h.urban_rural
                then '城乡类别“' || coalesce(m.urban_rural, '空') || '”' end], lambda x: x is not null), '、')
            || '与本户（申请人）的' || array_to_string(list_filter([
            case when m.program is distinct from h.program then '“' || coalesce(h.program, '空') || '”' end,
            case when m.region_code is distinct from h.region_code then '“' || coalesce(h.region_code, '空') || '”' end,
            case when m.urban_rural is distinct from h.urban_rural then '“' || coalesce(h.urban_rural, '空') || '”' end],
            lambda x: x is not null), '、')
            || '不一致，本户适用的政策标准无法确定；请委托机关核实后重新委托'
    from members as m
    inner join households as h on h.request_id = m.request_id
    where m.program is distinct from h.program or m.region_code is distinct from h.region_code
       or m.urban_rural is distinct from h.urban_rural
),

-- one ID on rows of two names in one request (the wife's row carrying her husband's ID, one twin's the other's):
-- whose ID it is is not known, and the member whose own ID is missing was looked up nowhere.  Two names or more of an ID
-- are its least and greatest name apart (count(distinct) ignores NULLs, as min/max do): one grouping joined back to
-- the few such IDs' rows, where two windows over every request row (a count(distinct) one) sorted them all
shared_ids as (
    select m.request_id, m.member_id, 'requests', 'VALUE_UNKNOWN', m.record_id,
        regexp_extract(m.record_id, '^requests:(.*):[0-9]+$', 1),
        try_cast(regexp_extract(m.record_id, ':([0-9]+)$', 1) as integer), null, null,
        '委托名单中同一身份证号出现在姓名不同的 ' || g.n_rows
            || ' 行，无法确定该身份证号是哪位成员的，另一位成员未被核对；请委托机关核实各成员的身份证号后重新委托'
    from members as m
    inner join (
        select request_id, member_id, count(*) as n_rows
        from members
        where member_id is not null
        group by request_id, member_id
        having min(name_norm) < max(name_norm)
    ) as g on g.request_id is not distinct from m.request_id and g.member_id = m.member_id
),

-- a household no policy version applies to (a program, 城市/农村 or county the deployment's policy file does
-- not cover, hedui/steps/assess.py): the standard and every limit are unknown, named on the applicant's row
no_policy as (
    select h.request_id, m.member_id, 'requests', 'VALUE_UNKNOWN', m.record_id,
        regexp_extract(m.record_id, '^requests:(.*):[0-9]+$', 1),
        try_cast(regexp_extract(m.record_id, ':([0-9]+)$', 1) as integer), null, null,
        -- a 动态复核 whose aid program decides its version (hedui/steps/assess.py) says so
        coalesce(h.policy_unknown_zh,
            '没有适用于本户（区划代码 ' || coalesce(h.region_code, '空') || '，' || left($run_date, 4) || ' 年，'
            || coalesce(h.urban_rural, '空') || '，' || coalesce(h.program, '空')
            || '）的政策版本，保障标准和各项限额无法确定，收入和资产未与限额比较；请在政策文件中补充相应的政策参数后重新核对')
    from households as h
    left join members as m on m.request_id = h.request_id and m.relation = '本人'
    where h.policy_id is null
    qualify row_number() over (partition by h.request_id order by m.record_id) = 1
),

-- a household whose request list has no applicant (与申请人关系 本人), or two: the applicant was not verified, or
-- which of two people the declared relations and the household's standard are those of is not known.  A request
-- row of the household quarantined may be the applicant's: quarantined_requests lists it already
no_applicant as (
    select h.request_id, cast(null as varchar), 'requests', 'VALUE_UNKNOWN', cast(null as varchar),
        cast(null as varchar), cast(null as integer), null, null,
        case when count(distinct m.member_id) filter (where m.relation = '本人') = 0
            then '委托名单中本户没有与申请人关系为“本人”的成员：申请人未列入，未核对'
            else '委托名单中本户有 ' || count(distinct m.member_id) filter (where m.relation = '本人')
                || ' 名与申请人关系为“本人”的成员：申请人是谁无法确定' end
            || '，本户人数、适用的政策标准和各成员申报的关系无法确认；请委托机关核实后重新委托'
    from households as h
    inner join members as m on m.request_id = h.request_id
    where not exists (
        select 1 from quarantine_subjects as q
        where q.run_date = $run_date and q.source = 'requests' and q.request_id = h.request_id)
    group by h.request_id
    having count(distinct m.member_id) filter (where m.relation = '本人') <> 1
),

-- the records the values below are read from: the linked ones, and those waiting for review (a waiting record
-- lacking a value could, confirmed, change the outcome: UNCONFIRMED_LINK, pending_unknown below)
value_links as not materialized (
    select * from hd_member_links($run_date)  -- and, apart (`is_pending`), the pending (sql/assess/macros.sql)
),

-- the values each linked record must carry for the figures and findings (empty = unknown); of an account
-- answered twice only its latest linked answer is weighed (figures.sql), so only that answer's values are needed
-- the linked registration records: the member's declared relation beside the registered one
registered as (
    select l.request_id, l.member_id, l.source, l.record_id, hd_key(t.hukou_no) as hukou_no, m.relation,
        c.category
    from stg_public_security as t
    inner join links as l on l.record_id = t.record_id and l.source = 'public_security'
    inner join members as m on m.request_id = l.request_id and m.member_id = l.member_id
    left join hd_relation_categories($run_date) as c  -- each word's category once (sql/assess/macros.sql)
        on c.relation_to_head = t.relation_to_head
    where t.run_date = $run_date
),

-- a 户 with two heads: none of its relations is compared with a declaration (finding_candidates.sql's two_heads),
-- so a relation there that cannot be read changes nothing
two_heads as (
    select hukou_key as hukou_no from hd_two_heads($run_date)  -- (sql/assess/macros.sql)
),

-- the members' months with a tax wage that counts (linked, not waiting for review; a wage of 0 is a zero declaration,
-- no wage figure): such a month takes its wage from tax, not from a contribution base (figures.sql)
tax_wage_months as (
    select distinct x.request_id, x.member_id, x.period_month
    from hd_tax_rows($run_date) as x  -- the counted row of one withholder's month (sql/assess/macros.sql)
    where x.is_kept and not x.is_pending and x.income_item = '工资薪金所得' and x.income_yuan <> 0
),

needed_values as (
    -- (an account and its answers: hd_bank_rows, sql/assess/macros.sql)
    select request_id, member_id, 'bank' as source, record_id, is_pending, match_weight, '余额' as value_zh
    from (select *, max(query_date) filter (where not is_pending)
                        over (partition by request_id, member_id, account_key) as latest_date
          from hd_bank_rows($run_date))
    where balance_yuan is null and not coalesce(latest_date > query_date, false)
    union all
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '持仓市值'
    from stg_securities as t inner join value_links as l on l.record_id = t.record_id and l.source = 'securities'
    where t.run_date = $run_date and t.market_value_yuan is null
      and not exists (select 1 from stg_securities as n inner join value_links as nl on nl.record_id = n.record_id
          where n.run_date = $run_date and nl.request_id = l.request_id and nl.member_id = l.member_id
            and not nl.is_pending
            and n.securities_account = t.securities_account and n.query_date > t.query_date)
    union all
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '资金余额'
    from stg_securities as t inner join value_links as l on l.record_id = t.record_id and l.source = 'securities'
    where t.run_date = $run_date and t.cash_balance_yuan is null
      and not exists (select 1 from stg_securities as n inner join value_links as nl on nl.record_id = n.record_id
          where n.run_date = $run_date and nl.request_id = l.request_id and nl.member_id = l.member_id
            and not nl.is_pending
            and n.securities_account = t.securities_account and n.query_date > t.query_date)
    union all
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '现金价值'
    from stg_insurance as t inner join value_links as l on l.record_id = t.record_id and l.source = 'insurance'
    where t.run_date = $run_date and t.policy_status = '有效' and t.cash_value_yuan is null
      and not exists (select 1 from stg_insurance as n inner join value_links as nl on nl.record_id = n.record_id
          where n.run_date = $run_date and nl.request_id = l.request_id and nl.member_id = l.member_id
            and not nl.is_pending
            and n.policy_no = t.policy_no and n.query_date > t.query_date)
    union all
    -- an answer of no 查询日期 (empty, or the column left out) is not shown to answer this request's query and is not
    -- counted (figures.sql, hd_not_this_query): what the account holds is unknown, whatever later answer stands beside
    -- it (which of them is the later is unknown too).  A policy not in force counts nothing, dated or not
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '查询日期'
    from stg_bank as t inner join value_links as l on l.record_id = t.record_id and l.source = 'bank'
    where t.run_date = $run_date and t.query_date is null
    union all
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '查询日期'
    from stg_securities as t inner join value_links as l on l.record_id = t.record_id and l.source = 'securities'
    where t.run_date = $run_date and t.query_date is null
    union all
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '查询日期'
    from stg_insurance as t inner join value_links as l on l.record_id = t.record_id and l.source = 'insurance'
    where t.run_date = $run_date and t.query_date is null and t.policy_status = '有效'
    union all
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '账户余额'
    from stg_housing_fund as t
    inner join value_links as l on l.record_id = t.record_id and l.source = 'housing_fund'
    inner join window_bounds as w on w.request_id = l.request_id
    where t.run_date = $run_date and w.count_housing_fund_balance and t.account_status <> '销户'
      and t.balance_yuan is null
    union all
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '建筑面积'
    from stg_real_estate as t inner join value_links as l on l.record_id = t.record_id and l.source = 'real_estate'
    where t.run_date = $run_date and t.use_type = '住宅' and t.title_status = '现势' and t.floor_area_m2 is null
    union all
    -- a residential unit whose 不动产单元号 is no number (`-`, `无`: hd_unit_numbered): counted as a unit of its own (by
    -- its 坐落), it may be one of the household's other units written otherwise — where the count is over the limit,
    -- which it is decides the finding (test_contract_assess11 AX03)
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '不动产单元号'
    from stg_real_estate as t
    inner join (select * from value_links as l
                where l.source = 'real_estate' and exists (
                    select 1 from candidates as c
                    where c.request_id = l.request_id and c.code = 'RESIDENTIAL_UNITS_OVER_LIMIT'
                      and c.is_pending = l.is_pending)) as l on l.record_id = t.record_id
    where t.run_date = $run_date and t.use_type = '住宅' and t.title_status = '现势'
      -- the number read on the linked units of households over the limit only (`|| left(…, 0)` adds nothing, but
      -- names the link: pushed into the scan, hd_key's regexes read every residential unit delivered, 72 k at tenth)
      and not hd_unit_numbered(t.unit_no || left(l.request_id, 0))
    union all
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '收入额'
    from stg_tax as t
    inner join value_links as l on l.record_id = t.record_id and l.source = 'tax'
    inner join window_bounds as w on w.request_id = l.request_id
    where t.run_date = $run_date and t.income_yuan is null
      and t.period_month >= w.window_start and t.period_month < w.window_end
      and not list_contains(w.excluded_income_items, t.income_item)
    union all
    select t.request_id, t.member_id, 'social_insurance', t.record_id, t.is_pending, t.match_weight,
        case when t.category = '待遇' then '待遇金额' else '缴费基数' end
    -- the linked rows (sql/assess/macros.sql, once a run), not the staged table joined to the links again
    from hd_si_rows($run_date) as t
    inner join window_bounds as w on w.request_id = t.request_id
    -- implied by the test below, but on the record's columns alone: the scan keeps only records lacking
    -- a value, so the join meets those, not every contribution and benefit row
    where ((t.category = '待遇' and t.benefit_yuan is null) or (t.category = '缴费' and t.contribution_base_yuan is null))
      and t.period_month >= w.window_start and t.period_month < w.window_end
      and ((t.category = '待遇' and t.benefit_yuan is null
            and not list_contains(w.excluded_income_items, t.scheme))
           or (t.category = '缴费' and t.contribution_base_yuan is null
               and t.scheme in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险')
               -- a month with a confirmed tax wage takes the wage from tax: the base only gives the individual
               -- share, deducted "where known" (policy.md) like tax paid, so an empty base there changes nothing
               -- (a wage of 0, a zero declaration, is no wage figure: figures.sql estimates the month from the base)
               and not exists (select 1 from tax_wage_months as x
                   where x.request_id = t.request_id and x.member_id = t.member_id and x.period_month = t.period_month)))
    union all
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '购置价格'
    from stg_vehicle as t
    inner join value_links as l on l.record_id = t.record_id and l.source = 'vehicle'
    inner join households as h on h.request_id = l.request_id
    where t.run_date = $run_date and t.vehicle_status = '正常' and t.purchase_price_yuan is null
      and h.vehicle_price_limit_yuan > 0 and not list_contains(h.exempt_vehicle_types, t.vehicle_type)
    union all
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '认缴出资额'
    from stg_business_registry as t
    inner join value_links as l on l.record_id = t.record_id and l.source = 'business_registry'
    inner join window_bounds as w on w.request_id = l.request_id
    where t.run_date = $run_date and t.entity_status in ('存续', '在业') and t.subscribed_yuan is null
      and w.business_contribution_limit_yuan > 0  -- a limit of 0: every role is listed, the amount not needed
      and not coalesce(list_contains(w.business_always_review_types, t.entity_type), false)
    union all
    -- an active entity of unknown type below the contribution limit may be one that is always listed
    select l.request_id, l.member_id, l.source, l.record_id, l.is_pending, l.match_weight, '主体类型'
    from stg_business_registry as t
    inner join value_links as l on l.record_id = t.record_id and l.source = 'business_registry'
    inner join window_bounds as w on w.request_id = l.request_id
    where t.run_date = $run_date and t.entity_status in ('存续', '在业') and t.entity_type is null
      and len(w.business_always_review_types) > 0 and w.business_contribution_limit_yuan > 0
      and not coalesce(t.subscribed_yuan >= w.business_contribution_limit_yuan, false)
    union all
    -- a declared relation the registration cannot be checked against (finding_candidates.sql's
    -- relation_mismatch): a checkable member's relation to the head empty or a word not known here,
    -- in the 户 of the applicant (whom the member's relation is translated to through the head: not
    -- where the applicant is an in-law, 其他, whose members' relations are not translated); or the
    -- applicant's own, so that how he stands to the head (and every declared relation of the members
    -- registered with him) cannot be told
    select r.request_id, r.member_id, r.source, r.record_id, false, cast(null as double), '与户主关系'
    from registered as r
    where r.category is null and r.hukou_no not in (select hukou_no from two_heads) and exists (
        select 1 from registered as o
        where o.request_id = r.request_id and o.hukou_no = r.hukou_no
          and ((r.relation not in ('本人', '其他') and o.relation = '本人' and o.category <> '其他')
               or (r.relation = '本人' and o.relation not in ('本人', '其他'))))
    union all
    -- a registration record without 户号: whether the member shares the applicant's 户, and so whether the
    -- registration contradicts his declared relation, cannot be told (the applicant's: of every member) — unless,
    -- shared, it would agree (the applicant heads it, the member's relation to him is the one declared)
    select r.request_id, r.member_id, r.source, r.record_id, false, cast(null as double), '户号'
    from registered as r
    where r.hukou_no is null and exists (
        select 1 from registered as o
        where o.request_id = r.request_id and o.member_id <> r.member_id
          and ((r.relation not in ('本人', '其他') and o.relation = '本人'
                and not coalesce(o.category = '本人' and r.category = r.relation, false))
               or (r.relation = '本人' and o.relation not in ('本人', '其他')
                   and not coalesce(r.category = '本人' and o.category = o.relation, false))))
),

-- a relation to the head that was delivered but is no word or code known here is not "missing": it is named
value_unknown as (
    select n.request_id, n.member_id, n.source, 'VALUE_UNKNOWN', n.record_id, null, null, null, null,
        coalesce('户籍登记的“与户主关系”为“' || any_value(p.relation_to_head) || '”，不是可识别的家庭关系称谓或代码，按未知处理',
                 -- a placeholder delivered (`无`, `-`): the record does not lack the cell, it says there is no number
                 if(bool_and(n.value_zh = '不动产单元号'), '记录的“不动产单元号”为“' || any_value(u.unit_no)
                     || '”，不是单元号，按未知处理'
                     || '；该住宅是否为本户另一套住宅（坐落写法不同）无法判断，住宅套数未知；请向交付部门核实不动产单元号', null),
                 '记录缺少“' || string_agg(distinct n.value_zh, '、' order by n.value_zh) || '”，按未知处理'
                     || case when bool_or(n.value_zh not in ('主体类型', '与户主关系', '户号', '查询日期', '不动产单元号'))
                        then '（不按 0 计）' else '' end
                     || case when bool_or(n.value_zh = '不动产单元号')
                        then '；该住宅是否为本户另一套住宅（坐落写法不同）无法判断，住宅套数未知；请向交付部门核实不动产单元号'
                        else '' end
                     || case when bool_or(n.value_zh = '查询日期')
                        then '；无查询日期，无法确认是本次核对（授权后）的查询结果，未计入，该账户现有金额未知；请向交付部门核实查询日期'
                        else '' end)
    from needed_values as n
    left join stg_public_security as p
        on p.run_date = $run_date and p.record_id = n.record_id and n.value_zh = '与户主关系'
       and hd_remove_ws(p.relation_to_head) <> ''
    left join stg_real_estate as u
        on u.run_date = $run_date and u.record_id = n.record_id and n.value_zh = '不动产单元号'
       and hd_remove_ws(u.unit_no) <> ''
    where not n.is_pending
    group by n.request_id, n.member_id, n.source, n.record_id
),

-- a record waiting for review that lacks a value: confirmed, its amount (area, price …) would be unknown, so
-- whether it creates a finding cannot be said (a vehicle of unknown price is listed by pending_records)
pending_unknown as (
    select n.request_id, n.member_id, n.source, 'UNCONFIRMED_LINK', n.record_id, null, null, max(n.match_weight),
        null, '待人工确认的可能匹配记录，缺少“' || string_agg(distinct n.value_zh, '、' order by n.value_zh)
            || '”；若确认，其数值未知（不按 0 计），本户结论可能改变'
    from needed_values as n
    where n.is_pending and not exists (
        select 1 from pending_records as p
        where p.request_id = n.request_id and p.record_id = n.record_id and p.member_id = n.member_id)
    group by n.request_id, n.member_id, n.source, n.record_id
),

-- amounts delivered that cannot be what they say, each weighed as it reads made a household CLEAR: more tax paid on a
-- tax record than the income it was paid on (the net income of the row below 0, hiding a member's income), and a
-- contribution to an employee scheme on a base of 0 in a month whose wage is estimated from that base (no wage
-- figure, as an empty base: the wage is unknown).  Linked, VALUE_UNKNOWN; waiting for review, UNCONFIRMED_LINK
doubtful_amounts as (
    select l.request_id, l.member_id, l.source, if(l.is_pending, 'UNCONFIRMED_LINK', 'VALUE_UNKNOWN'), l.record_id,
        null, null, if(l.is_pending, l.match_weight, null), null,
        if(l.is_pending, '待人工确认的可能匹配记录：', '') || strftime(t.period_month, '%Y-%m') || ' ' || t.income_item
            || '的“已缴税额” ' || format('{:,.2f}', t.tax_paid_yuan) || ' 元大于“收入额” '
            || format('{:,.2f}', t.income_yuan) || ' 元，数值矛盾，收入按未知处理；请与税务部门核实'
    from stg_tax as t
    inner join value_links as l on l.record_id = t.record_id and l.source = 'tax'
    inner join window_bounds as w on w.request_id = l.request_id
    where t.run_date = $run_date and t.tax_paid_yuan > t.income_yuan
      and t.period_month >= w.window_start and t.period_month < w.window_end
      and not list_contains(w.excluded_income_items, t.income_item)
    union all
    select t.request_id, t.member_id, 'social_insurance', if(t.is_pending, 'UNCONFIRMED_LINK', 'VALUE_UNKNOWN'),
        t.record_id,
        null, null, if(t.is_pending, t.match_weight, null), null,
        if(t.is_pending, '待人工确认的可能匹配记录：', '') || strftime(t.period_month, '%Y-%m') || ' ' || t.scheme
            || '缴费记录的“缴费基数”为 0，该月工资无法估算，按未知处理（不按 0 计）；请与社保部门核实'
    -- the linked rows (sql/assess/macros.sql, once a run), not the staged table joined to the links again
    from hd_si_rows($run_date) as t
    inner join window_bounds as w on w.request_id = t.request_id
    where t.category = '缴费' and t.contribution_base_yuan = 0
      and t.scheme in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险')
      and t.period_month >= w.window_start and t.period_month < w.window_end
      -- a month with a confirmed tax wage takes the wage from tax (as for an empty base, needed_values)
      and not exists (select 1 from tax_wage_months as x
          where x.request_id = t.request_id and x.member_id = t.member_id and x.period_month = t.period_month)
      -- nor from this base where another employee-scheme contribution of the month has a base above 0
      and not exists (select 1 from hd_si_rows($run_date) as o  -- the linked rows (sql/assess/macros.sql)
          where o.request_id = t.request_id and o.member_id = t.member_id
            and not o.is_pending and o.category = '缴费' and o.contribution_base_yuan > 0
            and o.scheme in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险')
            and o.period_month = t.period_month)
    union all
    -- a member whose wages over the window, net of the individual share of his employee-scheme contributions, are
    -- below 0 (figures.sql deducts the share from each month's wage: tax wages under the share of their months, and
    -- not made up by the other months): the wage and the base contradict each other, and the household's income
    -- would be lowered by wages nobody has.  On confirmed links (an unconfirmed one is weighed both ways already)
    select m.request_id, m.member_id, 'tax', 'VALUE_UNKNOWN', m.record_id, null, null, null, null,
        '计算期内工资（计税工资及按缴费基数估算的工资）合计 ' || format('{:,.2f}', m.wage_yuan) || ' 元，扣除按缴费基数计算的个人缴费 '
            || format('{:,.2f}', m.share_yuan) || ' 元后为负数，税务的收入额与社保的缴费基数矛盾，工资按未知处理；'
            || '请与税务、社保部门核实'
    from (
        select request_id, member_id, min(tax_record_id) as record_id,
            sum(coalesce(tax_wage_yuan, base_yuan, 0)) as wage_yuan,
            sum(share_yuan) filter (where coalesce(tax_wage_yuan, base_yuan) is not null) as share_yuan
        from (
            select t.request_id, t.member_id, t.period_month,
                sum(t.income_yuan) filter (where t.source = 'tax') as tax_wage_yuan,
                min(t.record_id) filter (where t.source = 'tax') as tax_record_id,
                max(t.base_yuan) filter (where t.source = 'social_insurance' and t.base_yuan > 0) as base_yuan,
                -- one share a scheme's month, however many rows report it: the least base's (figures.sql; the rate is the
                -- household's, one a scheme) — aggregates, not a window sorting every linked row by member and month
                list_sum([min(t.share_yuan) filter (where t.scheme = '企业职工基本养老保险'),
                          min(t.share_yuan) filter (where t.scheme = '机关事业单位养老保险'),
                          min(t.share_yuan) filter (where t.scheme = '失业保险')]) as share_yuan
            -- each confirmed link of a counted record, read off the linked rows (sql/assess/macros.sql: one row per link,
            -- the links' own request and member), not the records joined to every confirmed link of the run again.  As
            -- that join gave them: a wage record counted (`is_kept`) for any member counts for each member confirmed
            -- linked to it, and a contribution's share is the least of those its confirmed links' households give
            from (
                -- (of one withholder's rows of a month saying different wages the least: sql/assess/macros.sql)
                select 'tax' as source, x.request_id, x.member_id, x.record_id, x.period_month, x.income_yuan,
                    cast(null as double) as base_yuan, cast(null as double) as share_yuan, cast(null as varchar) as scheme
                from hd_tax_rows($run_date) as x
                where x.is_confirmed and not x.is_pending and x.income_item = '工资薪金所得' and x.income_yuan > 0
                  and (x.is_kept or x.record_id in (
                      select k.record_id from hd_tax_rows($run_date) as k
                      where k.is_kept and not k.is_pending and k.income_item = '工资薪金所得' and k.income_yuan > 0))
                union all
                select 'social_insurance', s.request_id, s.member_id, s.record_id, s.period_month, null,
                    s.contribution_base_yuan, r.share_yuan, s.scheme
                from hd_si_rows($run_date) as s
                inner join (
                    select s.record_id, min(s.contribution_base_yuan * case s.scheme
                        when '企业职工基本养老保险' then h.si_rate_enterprise
                        when '机关事业单位养老保险' then h.si_rate_public
                        else h.si_rate_unemployment end) as share_yuan
                    from hd_si_rows($run_date) as s
                    inner join households as h on h.request_id = s.request_id
                    where s.is_confirmed and not s.is_pending and s.category = '缴费'
                      and s.scheme in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险')
                    group by s.record_id
                ) as r on r.record_id = s.record_id
                where s.is_confirmed and not s.is_pending and s.category = '缴费'
                  and s.scheme in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险')
            ) as t
            inner join window_bounds as w on w.request_id = t.request_id
            where t.period_month >= w.window_start and t.period_month < w.window_end
            group by all
        )
        group by all
        having bool_or(tax_wage_yuan < share_yuan)
    ) as m
    where m.wage_yuan < m.share_yuan
    union all
    -- a shareholder of a company subscribing 0 (company law: a shareholder subscribes capital; an export's 0 for a
    -- value not recorded) in a company whose registered capital could hold a subscription at or above the limit
    select l.request_id, l.member_id, l.source, if(l.is_pending, 'UNCONFIRMED_LINK', 'VALUE_UNKNOWN'), l.record_id,
        null, null, if(l.is_pending, l.match_weight, null), null,
        if(l.is_pending, '待人工确认的可能匹配记录：', '') || coalesce(t.entity_name, '') || '（' || t.entity_type
            || '）股东的“认缴出资额”为 0，股东须认缴出资，数值不合理，按未知处理（不按 0 计）；请与市场监管部门核实'
    from stg_business_registry as t
    inner join value_links as l on l.record_id = t.record_id and l.source = 'business_registry'
    inner join window_bounds as w on w.request_id = l.request_id
    where t.run_date = $run_date and t.entity_status in ('存续', '在业') and t.role = '股东'
      and t.entity_type in ('有限责任公司', '股份有限公司') and t.subscribed_yuan = 0
      and w.business_contribution_limit_yuan > 0
      and not coalesce(t.registered_capital_yuan < w.business_contribution_limit_yuan, false)
      and not list_contains(w.business_always_review_types, t.entity_type)
),

-- a car whose purchase price is under 1,000 yuan (stg_vehicle.json warns of it: 可能按万元填写) is no price a car is
-- bought for: 12 is 12 万元 with its unit left off, 0 a price never recorded.  Compared with the limit as it reads, the
-- car was under it; it is not weighed: linked, VALUE_UNKNOWN; waiting for review, UNCONFIRMED_LINK (confirmed, the
-- car's price would be unknown).  A limit of 0 needs no price; a price over the limit is a finding already
doubtful_prices as (
    select l.request_id, l.member_id, l.source, if(l.is_pending, 'UNCONFIRMED_LINK', 'VALUE_UNKNOWN'), l.record_id,
        null, null, if(l.is_pending, l.match_weight, null), null,
        if(l.is_pending, '待人工确认的可能匹配记录：', '')
            || t.vehicle_type || coalesce(' ' || t.plate_no, '') || '的“购置价格”为 '
            || format('{:,.2f}', t.purchase_price_yuan) || ' 元，不足 1,000 元，数值不合理（可能按万元填写），'
            || '未与限额比较，按未知处理；请与车管部门核实'
    from stg_vehicle as t
    inner join value_links as l on l.record_id = t.record_id and l.source = 'vehicle'
    inner join households as h on h.request_id = l.request_id
    where t.run_date = $run_date and t.vehicle_status = '正常' and t.purchase_price_yuan < 1000
      and t.vehicle_type in ('小型轿车', '小型普通客车', '轻型货车', '重型货车')
      and h.vehicle_price_limit_yuan > 0 and t.purchase_price_yuan <= h.vehicle_price_limit_yuan
      and not list_contains(h.exempt_vehicle_types, t.vehicle_type)
),

-- the answers of the linked records and, apart (`is_pending`), of those waiting for review.  One account (a bank
-- account, a securities account, a policy) answered twice for one 查询日期 with two different values (a correction
-- beside the original; sources.md: one row per account): which is right is unknown; figures.sql counts the smaller,
-- never the sum
answers as (
    select request_id, member_id, 'bank' as source, is_pending, match_weight, record_id, balance_yuan as amount_yuan,
        '余额' as value_zh, account_key as account, query_date
    from hd_bank_rows($run_date)
    union all
    select l.request_id, l.member_id, l.source, l.is_pending, l.match_weight, t.record_id,
        hd_securities_yuan(t.market_value_yuan, t.cash_balance_yuan), '持仓市值与资金余额',
        coalesce(t.securities_account, t.record_id), t.query_date
    from stg_securities as t inner join value_links as l on l.record_id = t.record_id and l.source = 'securities'
    where t.run_date = $run_date
    union all
    select l.request_id, l.member_id, l.source, l.is_pending, l.match_weight, t.record_id, t.cash_value_yuan, '现金价值',
        coalesce(t.policy_no, t.record_id), t.query_date
    from stg_insurance as t inner join value_links as l on l.record_id = t.record_id and l.source = 'insurance'
    where t.run_date = $run_date and t.policy_status = '有效'
),

-- per account of the linked answers its latest 查询日期 and, per 查询日期, the least and greatest amount and whether one
-- was empty: groupings of the answers, where windows over them sorted every answer by its account (as the windows'
-- partitions, NULL keys are equal: `is not distinct from` below)
answered_accounts as (
    select request_id, member_id, source, account, max(query_date) as latest_date
    from answers where not is_pending
    group by all
),

answered_dates as (
    select request_id, member_id, source, account, query_date, min(amount_yuan) as lo, max(amount_yuan) as hi,
        bool_or(amount_yuan is null) as has_empty
    from answers where not is_pending
    group by all
),

-- the date each member's answers are weighed against (hd_authorization_bound: the later of the 授权日期 and the 委托日期)
signed_on as (
    select request_id, id_norm as member_id, hd_authorization_bound(min(authorization_date), min(request_date))
        as authorization_date, min(authorization_date) as signed_date, min(request_date) as request_date,
        min(authorization_date) is null as is_signed_date_unknown
    from stg_requests where run_date = $run_date and id_norm is not null group by all
),

-- an account whose latest answer was queried (查询日期) more than a month before the member signed the authorization
-- (授权日期, hd_predates_authorization), or before the request (委托日期, hd_authorization_bound): no query of this
-- request (先授权后核对; results serve the request they were made for), an old balance; figures.sql does not count it,
-- and what the account holds now is unknown
stale_answers as (
    select a.request_id, a.member_id, a.source, 'VALUE_UNKNOWN', a.record_id, null, null, null, null,
        hd_stale_basis_zh(a.query_date, m.signed_date, m.request_date)
            || if(m.is_signed_date_unknown, ' 一个月以上，无法确认是授权后本次核对的查询结果（', ' 一个月以上，不是本次核对的查询结果（')
            || a.value_zh || ' ' || coalesce(format('{:,.2f}', a.amount_yuan) || ' 元', '空') || '），未计入，该账户现有'
            || a.value_zh || '未知；请' || if(m.is_signed_date_unknown, '委托机关补正授权日期，或', '')
            || if(m.signed_date is null or hd_predates_authorization(a.query_date, m.signed_date), '在授权后重新查询',
                  '为本次委托重新查询')
    from answers as a
    inner join answered_accounts as l
        on l.request_id is not distinct from a.request_id and l.member_id is not distinct from a.member_id
       and l.source is not distinct from a.source and l.account is not distinct from a.account
       and l.latest_date = a.query_date
    inner join signed_on as m on m.request_id = a.request_id and m.member_id = a.member_id
    where not a.is_pending and hd_predates_authorization(a.query_date, m.authorization_date)
),

-- a record waiting for review whose answer is such an old one: confirmed, it would not be counted and what the account
-- holds now would be unknown — unless a linked answer of the account queried later stands (it supersedes the record
-- either way).  Listed by pending_records where, confirmed, it creates a finding already
pending_stale as (
    select a.request_id, a.member_id, a.source, 'UNCONFIRMED_LINK', a.record_id, null, null, max(a.match_weight), null,
        '待人工确认的可能匹配记录：' || any_value(hd_stale_basis_zh(a.query_date, m.signed_date, m.request_date)
            || ' 一个月以上（' || a.value_zh || ' ' || coalesce(format('{:,.2f}', a.amount_yuan) || ' 元', '空')
            || '）；若确认，不是本次核对的查询结果，该账户现有' || a.value_zh || '未知，本户结论可能改变')
    from answers as a
    inner join signed_on as m on m.request_id = a.request_id and m.member_id = a.member_id
    where a.is_pending and hd_predates_authorization(a.query_date, m.authorization_date)
      and not exists (select 1 from answers as n
          where not n.is_pending and n.request_id = a.request_id and n.member_id = a.member_id
            and n.source = a.source and n.account = a.account and n.query_date > a.query_date)
      and not exists (select 1 from pending_records as p
          where p.request_id = a.request_id and p.record_id = a.record_id and p.member_id = a.member_id)
    group by a.request_id, a.member_id, a.source, a.record_id
),

-- one month of one income delivered on rows saying different amounts (a correction delivered beside the original),
-- where the month is paid or declared once: one withholder's rows of one person, income item and month (所属期; the
-- withholder declares one a month), or one scheme's benefit (待遇) of one month (a scheme pays once a month).  Which is
-- right is unknown: figures.sql counts the least (sql/assess/macros.sql), never the sum.  Each source gives its rows
-- in one shape (`item`: the income item or the scheme; `answers_zh`: what the rows say), listed alike below
contradicted_months as (
    select request_id, member_id, 'tax' as source, is_pending, record_id, is_kept, period_month, income_item as item,
        '（扣缴义务人' || coalesce('“' || withholder || '”', '未填写') || '）交付了 ' || n_answers
            || ' 种不同的数额（收入额 ' || coalesce(format('{:,.2f}', income_min_yuan), '空')
            || case when income_max_yuan > income_min_yuan then ' 至 ' || format('{:,.2f}', income_max_yuan) else '' end
            || ' 元，已缴税额 ' || coalesce(format('{:,.2f}', tax_paid_min_yuan), '空')
            || case when tax_paid_max_yuan > tax_paid_min_yuan
                then ' 至 ' || format('{:,.2f}', tax_paid_max_yuan) else '' end
            || ' 元），同一扣缴义务人每月只申报一次' as answers_zh,
        '税务部门' as department_zh
    from hd_tax_rows($run_date)
    where n_answers > 1
    union all
    select request_id, member_id, 'social_insurance', is_pending, record_id, is_kept, period_month, scheme,
        '待遇交付了 ' || n_answers || ' 种不同的金额（' || format('{:,.2f}', benefit_min_yuan) || ' 至 '
            || format('{:,.2f}', benefit_max_yuan) || ' 元），同一险种每月只发放一次',
        '社保部门'
    from hd_benefit_rows($run_date)
    where n_answers > 1
),

-- the rows of such a month in the income window, of an income that counts.  Linked, VALUE_UNKNOWN; waiting for
-- review, UNCONFIRMED_LINK
conflicting_months as (
    select t.request_id, t.member_id, t.source, if(t.is_pending, 'UNCONFIRMED_LINK', 'VALUE_UNKNOWN'), t.record_id,
        null, null, if(t.is_pending, l.match_weight, null), null,
        if(t.is_pending, '待人工确认的可能匹配记录：', '') || strftime(t.period_month, '%Y-%m') || ' ' || t.item
            || t.answers_zh || '，以哪条为准未知，'
            || case when t.is_kept then '本条按较小者计入' else '本条未计入（按较小者计入）' end
            || '，不合计；请与' || t.department_zh || '核实'
    from contradicted_months as t
    inner join window_bounds as w on w.request_id = t.request_id
    left join value_links as l
        on l.record_id = t.record_id and l.source = t.source and l.request_id = t.request_id
       and l.member_id = t.member_id and l.is_pending
    where t.period_month >= w.window_start and t.period_month < w.window_end
      and not list_contains(w.excluded_income_items, t.item)
),

-- months missing inside a benefit's run (待遇, a counted scheme): a scheme pays a pension or an unemployment benefit
-- monthly (sources.md: one row per person, scheme and month), so a month of the window without a row between two
-- months the member's benefit of that scheme was delivered for is a month not delivered, not a month unpaid (absence of
-- evidence is not evidence): its benefit is unknown, never 0 — figures.sql adds nothing for it, and a pension of 900
-- delivered for 10 of 12 months was averaged to 750 under a standard of 800 (test_contract_assess8 AU02).  Months
-- before the first or after the last delivered one are no hole (a benefit starts and ends).  The latest row is cited
benefit_holes as (
    select request_id, member_id, 'social_insurance', 'VALUE_UNKNOWN', last_record_id, null, null, null, null,
        scheme || '待遇在计算期内 ' || strftime(first_month, '%Y-%m') || ' 至 ' || strftime(last_month, '%Y-%m')
            || ' 按月发放，其中 ' || array_to_string(list_transform(missing, lambda m: strftime(m, '%Y-%m')), '、')
            || ' 共 ' || len(missing) || ' 个月无记录，该月待遇未知，未计入（不按 0 计）；请向社保部门核实'
    from (
        select request_id, member_id, scheme, first_month, last_month, last_record_id,
            list_filter(list_transform(generate_series(first_month::timestamp, last_month::timestamp, interval 1 month),
                                       lambda m: m::date), lambda m: not list_contains(months, m)) as missing
        from (
            select b.request_id, b.member_id, b.scheme, min(b.period_month) as first_month,
                max(b.period_month) as last_month, arg_max(b.record_id, (b.period_month, b.record_id)) as last_record_id,
                list(distinct b.period_month) as months
            from hd_benefit_rows($run_date) as b
            inner join window_bounds as w on w.request_id = b.request_id
            where not b.is_pending and b.period_month >= w.window_start and b.period_month < w.window_end
              and not list_contains(w.excluded_income_items, b.scheme)
            group by all
        )
    )
    where len(missing) > 0
),

-- a policy one answer (保单号 and 查询日期, the policy's latest linked answer) gives both in force (有效) and ended
-- (终止): which is right is unknown; figures.sql counts the smaller, ended, nothing — the in-force row is listed
-- (test_contract_assess8 AU05: its cash value had been counted, a finding on a contradicted status)
conflicting_policies as (
    select l.request_id, l.member_id, 'insurance', 'VALUE_UNKNOWN', t.record_id, null, null, null, null,
        '同一保单在同一查询日期 ' || strftime(t.query_date, '%Y-%m-%d')
            || ' 交付了“有效”和“终止”两种保单状态，以哪个为准未知，按较小者计：现金价值 '
            || coalesce(format('{:,.2f}', t.cash_value_yuan) || ' 元', '空') || '未计入；请向保险公司核实'
    from stg_insurance as t
    inner join value_links as l on l.record_id = t.record_id and l.source = 'insurance' and not l.is_pending
    inner join signed_on as m on m.request_id = l.request_id and m.member_id = l.member_id
    where t.run_date = $run_date and t.policy_status = '有效' and t.query_date is not null
      and not hd_predates_authorization(t.query_date, m.authorization_date)
      and exists (select 1 from stg_insurance as o
          inner join value_links as ol on ol.record_id = o.record_id and ol.source = 'insurance' and not ol.is_pending
          where o.run_date = $run_date and ol.request_id = l.request_id and ol.member_id = l.member_id
            and o.policy_no = t.policy_no and o.query_date = t.query_date and o.policy_status = '终止')
      and not exists (select 1 from stg_insurance as n
          inner join value_links as nl on nl.record_id = n.record_id and nl.source = 'insurance' and not nl.is_pending
          where n.run_date = $run_date and nl.request_id = l.request_id and nl.member_id = l.member_id
            and n.policy_no = t.policy_no and n.query_date > t.query_date)
),

-- a vehicle whose rows contradict each other on whether it is a finding (正常 beside 注销, a price over the limit
-- beside one under it): no finding is made of it (finding_candidates.sql), the row that would make one is listed
conflicting_vehicles as (
    select t.request_id, t.member_id, 'vehicle', if(t.is_pending, 'UNCONFIRMED_LINK', 'VALUE_UNKNOWN'), t.record_id,
        null, null, if(t.is_pending, l.match_weight, null), if(t.is_pending, 'VEHICLE', null),
        if(t.is_pending, '待人工确认的可能匹配记录：', '') || '同一车辆（号牌 ' || coalesce(t.plate_no, '空')
            || coalesce('，初次登记日期 ' || strftime(t.first_registration_date, '%Y-%m-%d'), '') || '）交付了 '
            || t.n_rows || ' 条不一致的记录（' || t.answers_zh || '），以哪条为准未知，未认定为情形；请与车管部门核实'
    from hd_vehicle_rows($run_date) as t
    left join value_links as l
        on l.record_id = t.record_id and l.source = 'vehicle' and l.request_id = t.request_id
       and l.member_id = t.member_id and l.is_pending
    where t.is_contradicted and t.is_over
),

-- an entity the member's registry rows give an active and an ended 登记状态: no BUSINESS_ROLE finding is made of it
-- (finding_candidates.sql), its active rows are listed
conflicting_entities as (
    select t.request_id, t.member_id, 'business_registry', if(t.is_pending, 'UNCONFIRMED_LINK', 'VALUE_UNKNOWN'),
        t.record_id, null, null, if(t.is_pending, l.match_weight, null), if(t.is_pending, 'BUSINESS_ROLE', null),
        if(t.is_pending, '待人工确认的可能匹配记录：', '') || coalesce(t.entity_name, '') || '（统一社会信用代码 '
            || t.credit_code || '）的记录交付了不同的登记状态（' || t.statuses_zh
            || '），一个主体只有一个登记状态，以哪条为准未知，未认定为情形；请与市场监管部门核实'
    from hd_entity_conflicts($run_date) as t
    left join value_links as l
        on l.record_id = t.record_id and l.source = 'business_registry' and l.request_id = t.request_id
       and l.member_id = t.member_id and l.is_pending
    where t.entity_status in ('存续', '在业')
),

conflicting_balances as (
    select request_id, member_id, source, 'VALUE_UNKNOWN', record_id, null, null, null, null,
        printf('同一账户同一查询日期交付了不同的%s（%.2f 元至 %.2f 元），以哪个为准未知，按较小者计入；请向交付部门核实',
               value_zh, lo, hi)
    from (select a.*, d.lo, d.hi from answers as a
          inner join answered_dates as d
              on d.request_id is not distinct from a.request_id and d.member_id is not distinct from a.member_id
             and d.source is not distinct from a.source and d.account is not distinct from a.account
             and d.query_date = a.query_date and d.lo < d.hi
          where not a.is_pending)
    where query_date is not null  -- undated: each listed as lacking its 查询日期 (needed_values)
    union all
    -- an answer beside an empty one of the same account and 查询日期: the account holds this or an unknown amount
    -- that may be less (an empty answer is no 0): the balance is unknown, this one not counted (hd_bank_rows;
    -- test_contract_assess9 AV03); the empty one is listed as lacking its value (needed_values)
    select request_id, member_id, source, 'VALUE_UNKNOWN', record_id, null, null, null, null,
        printf('同一账户同一查询日期另有%s为空的答复，该账户的%s以哪个为准未知（空值不按 0 计，可能更小），本条 %s 元未计入；'
               || '请向交付部门核实', value_zh, value_zh, format('{:,.2f}', amount_yuan))
    from (select a.* from answers as a
          inner join answered_dates as d
              on d.request_id is not distinct from a.request_id and d.member_id is not distinct from a.member_id
             and d.source is not distinct from a.source and d.account is not distinct from a.account
             and d.query_date = a.query_date and d.has_empty
          inner join answered_accounts as l
              on l.request_id is not distinct from a.request_id and l.member_id is not distinct from a.member_id
             and l.source is not distinct from a.source and l.account is not distinct from a.account
             and l.latest_date = a.query_date
          where not a.is_pending)
    where amount_yuan is not null and query_date is not null
    union all
    -- an answer whose 账户类型 was left empty, counted as the number's one typed account (hd_bank_rows): whether it is
    -- that account or another (whose balance would count besides) is not known
    select request_id, member_id, 'bank', 'VALUE_UNKNOWN', record_id, null, null, null, null,
        '记录的“账户类型”为空，同一机构同一账号另有“' || type_key || '”账户的答复，按同一账户计（余额只计一次）；'
            || '是否为另一账户未知，请向银行核实'
    from hd_bank_rows($run_date)
    where is_type_assumed and not is_pending
    union all
    select request_id, member_id, 'bank', 'VALUE_UNKNOWN', record_id, null, null, null, null,
        '记录的“账户类型”为空，同一机构同一账号另有“' || types_zh || '”账户的答复，是否为其中之一未知，余额 '
            || coalesce(format('{:,.2f}', balance_yuan) || ' 元', '空') || '未计入；请向银行核实'
    from hd_bank_rows($run_date)
    where is_type_ambiguous and not is_pending
),

gaps as (
    select * from source_gaps
    union all select * from short_sources
    union all select * from hole_sources
    union all select * from lone_ends
    union all select * from no_authorization
    union all select * from unconfirmed_findings
    union all select * from pending_records
    union all select * from pending_figures
    union all select * from rejected_figures
    union all select * from pending_registration
    union all select * from rejected_registration
    union all select * from pending_ended
    union all select * from quarantined
    union all select * from quarantined_requests
    union all select * from value_unknown
    union all select * from conflicting_balances
    union all select * from conflicting_months
    union all select * from benefit_holes
    union all select * from conflicting_policies
    union all select * from conflicting_vehicles
    union all select * from conflicting_entities
    union all select * from stale_answers
    union all select * from pending_stale
    union all select * from doubtful_prices
    union all select * from doubtful_amounts
    union all select * from pending_unknown
    union all select * from inconsistent_requests
    union all select * from shared_ids
    union all select * from no_policy
    union all select * from no_applicant
),

final as (
    select $run_date as run_date, g.request_id, g.member_id, g.source, g.code, g.record_id,
        coalesce(g.file_name, r.file_name) as file_name, coalesce(g.row_no, r.row_no) as row_no,
        g.match_weight, g.related_code, g.reason_zh
    from gaps as g
    left join (select record_id, file_name, row_no from source_records where run_date = $run_date) as r
        on r.record_id = g.record_id
)

select * from final
