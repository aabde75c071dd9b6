-- The assess SQL as it read before session 34's assesslin cuts, as replacements of the current text's blocks
-- (tests/test_contract_assesslin.py applies them: the reference the current text must agree with).
-- @@ macros.sql
-- @@ current
),

-- the keys answered by two rows or more (few): a grouping that counts and carries nothing else, not one carrying
-- every row's record id, amounts and withholder through its aggregates to read a key of one row (nearly every one)
-- off them
doubled as (
    select request_id, member_id, is_pending, income_item, period_month, withholder_key
    from linked
    group by all
    having count(*) > 1
),

-- the rows of a key answered twice or more, and what their answers are
multi as (
    select t.*
    from linked as t
    semi join doubled as k
        on k.request_id = t.request_id and k.member_id = t.member_id and k.is_pending = t.is_pending
       and k.income_item is not distinct from t.income_item and k.period_month is not distinct from t.period_month
       and k.withholder_key is not distinct from t.withholder_key
-- @@ before
),

-- a key answered by one row (nearly every one): that row, read off its group's aggregates (a group's aggregates over
-- one row are its values), not joined back
keys as (
    select request_id, member_id, is_pending, income_item, period_month, withholder_key, count(*) as n_rows,
        bool_and(is_confirmed) as is_confirmed, min(record_id) as record_id, min(income_yuan) as income_yuan,
        min(tax_paid_yuan) as tax_paid_yuan, min(withholder) as withholder
    from linked
    group by all
),

-- the rows of a key answered twice or more (few), and what their answers are
multi as (
    select t.*
    from linked as t
    semi join keys as k
        on k.n_rows > 1 and k.request_id = t.request_id and k.member_id = t.member_id and k.is_pending = t.is_pending
       and k.income_item is not distinct from t.income_item and k.period_month is not distinct from t.period_month
       and k.withholder_key is not distinct from t.withholder_key
-- @@ end
-- @@ macros.sql
-- @@ current
),

-- a key of one row is that row as it is (its aggregates over one row would be its values; NULL keys group together); a
-- key of two rows of no request or member id is neither (as before: `multi` joins on the ids' equality)
final as (
    select request_id, member_id, is_confirmed, is_pending, record_id, income_item, period_month, income_yuan,
-- @@ before
),

final as (
    select request_id, member_id, is_confirmed, is_pending, record_id, income_item, period_month, income_yuan,
-- @@ end
-- @@ macros.sql
-- @@ current
        record_id as kept_record_id, true as is_kept, income_yuan as income_min_yuan, income_yuan as income_max_yuan,
        tax_paid_yuan as tax_paid_min_yuan, tax_paid_yuan as tax_paid_max_yuan
    from linked as t
    anti join doubled as k
        on k.request_id is not distinct from t.request_id and k.member_id is not distinct from t.member_id
       and k.is_pending = t.is_pending
       and k.income_item is not distinct from t.income_item and k.period_month is not distinct from t.period_month
       and k.withholder_key is not distinct from t.withholder_key
    union all
    select t.*, a.n_answers, a.kept_record_id, t.record_id = a.kept_record_id as is_kept,
-- @@ before
        record_id as kept_record_id, true as is_kept, income_yuan as income_min_yuan, income_yuan as income_max_yuan,
        tax_paid_yuan as tax_paid_min_yuan, tax_paid_yuan as tax_paid_max_yuan
    from keys
    where n_rows = 1
    union all
    select t.*, a.n_answers, a.kept_record_id, t.record_id = a.kept_record_id as is_kept,
-- @@ end
-- @@ macros.sql
-- @@ current
),

-- the months of two such rows or more (few), counted without carrying every row's record id through an aggregate; a
-- month of one row (nearly every one) is that row as it is.  Only months of two rows or more are grouped again with
-- the struct arg_min (each cost ≈ 0.16 CPU-s at tenth over every month)
keys as (
    select request_id, member_id, period_month, count(*) as n_rows, bool_or(not is_pending) as is_counted,
        bool_or(is_confirmed and not is_pending) as is_confirmed_wage
    from contributions
    group by request_id, member_id, period_month
    having count(*) > 1
),

-- @@ before
),

-- a month of one such row (nearly every one): that row, read off its group's aggregates (a group's aggregates over
-- one row are its values); only months of two rows or more are grouped again with the struct arg_min (each cost
-- ≈ 0.16 CPU-s at tenth over every month)
keys as (
    select request_id, member_id, period_month, count(*) as n_rows, bool_or(not is_pending) as is_counted,
        bool_or(is_confirmed and not is_pending) as is_confirmed_wage, min(record_id) as record_id,
        bool_and(is_pending) as is_pending, bool_and(is_confirmed) as is_confirmed
    from contributions
    group by request_id, member_id, period_month
),

-- @@ end
-- @@ macros.sql
-- @@ current
    from contributions as c
    semi join keys as k
        on k.request_id is not distinct from c.request_id
       and k.member_id is not distinct from c.member_id and k.period_month is not distinct from c.period_month
    group by request_id, member_id, period_month
)

select request_id, member_id, period_month, not is_pending as is_counted,
    is_confirmed and not is_pending as is_confirmed_wage,
    if(is_pending, null, record_id) as wage_record_id, if(is_pending, record_id, null) as pending_wage_record_id,
    if(is_confirmed and not is_pending, record_id, null) as confirmed_wage_record_id,
    if(is_pending, null, record_id) as lineage_wage_record_id
from contributions as c
anti join keys as k
    on k.request_id is not distinct from c.request_id and k.member_id is not distinct from c.member_id
   and k.period_month is not distinct from c.period_month
union all
select k.request_id, k.member_id, k.period_month, k.is_counted, k.is_confirmed_wage, m.wage_record_id,
-- @@ before
    from contributions as c
    semi join keys as k
        on k.n_rows > 1 and k.request_id is not distinct from c.request_id
       and k.member_id is not distinct from c.member_id and k.period_month is not distinct from c.period_month
    group by request_id, member_id, period_month
)

select request_id, member_id, period_month, is_counted, is_confirmed_wage,
    if(is_pending, null, record_id) as wage_record_id, if(is_pending, record_id, null) as pending_wage_record_id,
    if(is_confirmed and not is_pending, record_id, null) as confirmed_wage_record_id,
    if(is_pending, null, record_id) as lineage_wage_record_id
from keys
where n_rows = 1
union all
select k.request_id, k.member_id, k.period_month, k.is_counted, k.is_confirmed_wage, m.wage_record_id,
-- @@ end
-- @@ macros.sql
-- @@ current
inner join multi as m
    on m.request_id is not distinct from k.request_id and m.member_id is not distinct from k.member_id
   and m.period_month is not distinct from k.period_month;

-- The social-insurance benefit rows (类别 待遇) linked to a member, each with whether it counts.  A scheme pays a person
-- @@ before
inner join multi as m
    on m.request_id is not distinct from k.request_id and m.member_id is not distinct from k.member_id
   and m.period_month is not distinct from k.period_month
where k.n_rows > 1;

-- The social-insurance benefit rows (类别 待遇) linked to a member, each with whether it counts.  A scheme pays a person
-- @@ end
-- @@ macros.sql
-- @@ current
with

-- read twice (doubled, and the rows themselves) off hd_si_rows, a table of the run's linked rows in a run
-- (assess.MATERIALIZED): scanned twice, not copied into a CTE's buffer first (400 k rows at tenth)
linked as not materialized (
    select request_id, member_id, is_confirmed, is_pending, record_id, scheme, period_month, benefit_yuan
-- @@ before
with

-- read twice (keys, multi) off hd_si_rows, a table of the run's linked rows in a run (assess.MATERIALIZED): scanned
-- twice, not copied into a CTE's buffer first (400 k rows at tenth)
linked as not materialized (
    select request_id, member_id, is_confirmed, is_pending, record_id, scheme, period_month, benefit_yuan
-- @@ end
-- @@ macros.sql
-- @@ current
),

-- the scheme's months answered twice or more (few): a grouping that counts and keeps nothing else, not one that
-- carries every row's record id and amounts through its aggregates to read a month of one row (nearly every one) off
-- them (0.29 -> 0.16 CPU-s at tenth)
doubled as (
    select request_id, member_id, is_pending, scheme, period_month
    from linked
    group by all
    having count(*) > 1
),

-- the rows of such a month, and what their answers are
multi as (
    select t.*
    from linked as t
    semi join doubled as k
        on k.request_id = t.request_id and k.member_id = t.member_id and k.is_pending = t.is_pending
       and k.scheme is not distinct from t.scheme and k.period_month is not distinct from t.period_month
),
-- @@ before
),

-- a scheme's month answered by one row (nearly every one): that row, read off its group's aggregates (a group's
-- aggregates over one row are its values), not joined back
keys as (
    select request_id, member_id, is_pending, scheme, period_month, count(*) as n_rows, min(record_id) as record_id,
        bool_and(is_confirmed) as is_confirmed, min(benefit_yuan) as benefit_yuan
    from linked
    group by all
),

-- the rows of a scheme's month answered twice or more (few), and what their answers are
multi as (
    select t.*
    from linked as t
    semi join keys as k
        on k.n_rows > 1 and k.request_id = t.request_id and k.member_id = t.member_id and k.is_pending = t.is_pending
       and k.scheme is not distinct from t.scheme and k.period_month is not distinct from t.period_month
),
-- @@ end
-- @@ macros.sql
-- @@ current
),

-- a month of one row is that row as it is (its aggregates over one row would be its values; NULL keys group together);
-- a month of two rows of no request or member id is neither (as before: `multi` joins on the ids' equality)
final as (
    select request_id, member_id, is_confirmed, is_pending, record_id, scheme, period_month, benefit_yuan,
        len(list_distinct([benefit_yuan])) as n_answers, true as is_kept, benefit_yuan as benefit_min_yuan,
        benefit_yuan as benefit_max_yuan
    from linked as t
    anti join doubled as k
        on k.request_id is not distinct from t.request_id and k.member_id is not distinct from t.member_id
       and k.is_pending = t.is_pending
       and k.scheme is not distinct from t.scheme and k.period_month is not distinct from t.period_month
    union all
    select t.*, a.n_answers, t.record_id = a.kept_record_id as is_kept, a.benefit_min_yuan, a.benefit_max_yuan
-- @@ before
),

final as (
    select request_id, member_id, is_confirmed, is_pending, record_id, scheme, period_month, benefit_yuan,
        len(list_distinct([benefit_yuan])) as n_answers, true as is_kept, benefit_yuan as benefit_min_yuan,
        benefit_yuan as benefit_max_yuan
    from keys
    where n_rows = 1
    union all
    select t.*, a.n_answers, t.record_id = a.kept_record_id as is_kept, a.benefit_min_yuan, a.benefit_max_yuan
-- @@ end
-- @@ figures.sql
-- @@ current
),

-- each household's income window, with the policy values its tax and social-insurance rows are weighed by: one join
-- a linked row, not one to the window and another to the household
window_bounds as (
    select
        h.request_id, h.excluded_income_items, h.si_rate_enterprise, h.si_rate_public, h.si_rate_unemployment,
        (r.first_day - to_months(h.income_window_months))::date as window_start,
        r.first_day as window_end
-- @@ before
),

window_bounds as (
    select
        h.request_id,
        (r.first_day - to_months(h.income_window_months))::date as window_start,
        r.first_day as window_end
-- @@ end
-- @@ figures.sql
-- @@ current
    from hd_tax_rows($run_date) as t
    inner join window_bounds as w on w.request_id = t.request_id
    where t.is_kept
      and t.period_month >= w.window_start and t.period_month < w.window_end
      and not list_contains(w.excluded_income_items, t.income_item)
),

-- @@ before
    from hd_tax_rows($run_date) as t
    inner join window_bounds as w on w.request_id = t.request_id
    inner join households as h on h.request_id = t.request_id
    where t.is_kept
      and t.period_month >= w.window_start and t.period_month < w.window_end
      and not list_contains(h.excluded_income_items, t.income_item)
),

-- @@ end
-- @@ figures.sql
-- @@ current
        hd_exact(s.contribution_base_yuan) as contribution_base_yuan, hd_exact(s.benefit_yuan) as benefit_yuan,
        case s.scheme
            when '企业职工基本养老保险' then w.si_rate_enterprise
            when '机关事业单位养老保险' then w.si_rate_public
            when '失业保险' then w.si_rate_unemployment
            else 0
        end as individual_rate,
-- @@ before
        hd_exact(s.contribution_base_yuan) as contribution_base_yuan, hd_exact(s.benefit_yuan) as benefit_yuan,
        case s.scheme
            when '企业职工基本养老保险' then h.si_rate_enterprise
            when '机关事业单位养老保险' then h.si_rate_public
            when '失业保险' then h.si_rate_unemployment
            else 0
        end as individual_rate,
-- @@ end
-- @@ figures.sql
-- @@ current
    from hd_si_rows($run_date) as s  -- the linked rows and those waiting for review (sql/assess/macros.sql)
    inner join window_bounds as w on w.request_id = s.request_id
    -- the rows not counted alone (few: a join against every benefit row cost more than the rest of the CTE)
    left join (select * from hd_benefit_rows($run_date) where not is_kept) as b
-- @@ before
    from hd_si_rows($run_date) as s  -- the linked rows and those waiting for review (sql/assess/macros.sql)
    inner join window_bounds as w on w.request_id = s.request_id
    inner join households as h on h.request_id = s.request_id
    -- the rows not counted alone (few: a join against every benefit row cost more than the rest of the CTE)
    left join (select * from hd_benefit_rows($run_date) where not is_kept) as b
-- @@ end
-- @@ figures.sql
-- @@ current
-- then the least record id), among the linked rows and apart among those waiting for review, among all rows (the
-- figure if confirmed) and among the confirmed ones (if rejected).  Aggregates of the month's group, not windows
-- sorting every linked row by member and month.  A scheme's month of one row (nearly every one) is that row as it is;
-- the months of two rows or more (few) are found by a grouping that counts and carries nothing else, and only they
-- are grouped again with the ordering aggregates (the four arg_min of a struct were the dearest part of the model)
share_keys as (
    select request_id, member_id, period_month, scheme
    from si where category = '缴费'
    group by request_id, member_id, period_month, scheme
    having count(*) > 1
),

-- @@ before
-- then the least record id), among the linked rows and apart among those waiting for review, among all rows (the
-- figure if confirmed) and among the confirmed ones (if rejected).  Aggregates of the month's group, not windows
-- sorting every linked row by member and month.  A scheme's month of one row (nearly every one) is that row, read off
-- its group's aggregates (a group's aggregates over one row are its values); only the months of two rows or more (few)
-- are grouped again with the ordering aggregates (the four arg_min of a struct were the dearest part of the model)
share_keys as (
    select request_id, member_id, period_month, scheme, count(*) as n_rows, min(record_id) as record_id,
        bool_and(is_pending) as is_pending, bool_and(is_confirmed) as is_confirmed
    from si where category = '缴费'
    group by request_id, member_id, period_month, scheme
),

-- @@ end
-- @@ figures.sql
-- @@ current
        record_id as share_record_id_if_confirmed,
        if(is_confirmed and not is_pending, record_id, null) as confirmed_share_record_id
    from si
    anti join share_keys as k
        on k.request_id is not distinct from si.request_id and k.member_id is not distinct from si.member_id
       and k.period_month is not distinct from si.period_month and k.scheme is not distinct from si.scheme
    where category = '缴费'
    union all
    select request_id, member_id, period_month, scheme,
-- @@ before
        record_id as share_record_id_if_confirmed,
        if(is_confirmed and not is_pending, record_id, null) as confirmed_share_record_id
    from share_keys where n_rows = 1
    union all
    select request_id, member_id, period_month, scheme,
-- @@ end
-- @@ figures.sql
-- @@ current
    from si
    semi join share_keys as k
        on k.request_id is not distinct from si.request_id
       and k.member_id is not distinct from si.member_id and k.period_month is not distinct from si.period_month
       and k.scheme is not distinct from si.scheme
-- @@ before
    from si
    semi join share_keys as k
        on k.n_rows > 1 and k.request_id is not distinct from si.request_id
       and k.member_id is not distinct from si.member_id and k.period_month is not distinct from si.period_month
       and k.scheme is not distinct from si.scheme
-- @@ end
-- @@ figures.sql
-- @@ current

-- the individual's SI share is deducted from a wage: only for a month in which a wage of the member
-- counts (taxed, or estimated from a pension base), never from income that is not there.  Only a contribution (缴费)
-- is looked up in the month's wage, tax-wage and share rows: a benefit (待遇, three rows of four at tenth) is no
-- month's wage or share row (those are contribution rows, and a record is one row of one category), so its flags are
-- false, and `income` reads nothing else of it but its amount
si_rows as (
    select si.*,
-- @@ before

-- the individual's SI share is deducted from a wage: only for a month in which a wage of the member
-- counts (taxed, or estimated from a pension base), never from income that is not there
si_rows as (
    select si.*,
-- @@ end
-- @@ figures.sql
-- @@ current
        on r.request_id = si.request_id and r.member_id = si.member_id and r.period_month = si.period_month
       and r.scheme = si.scheme and si.category = '缴费'
    where si.category = '缴费'
    union all
    select si.*, false as is_wage_base, false as is_confirmed_wage_base, false as has_confirmed_tax_wage,
        false as has_confirmed_wage, false as has_counted_tax_wage, false as has_any_tax_wage, false as has_counted_wage,
        false as has_any_wage, false as is_share_row, false as is_share_row_if_confirmed, false as is_share_row_if_rejected
    from si
    where si.category is distinct from '缴费'
),

-- @@ before
        on r.request_id = si.request_id and r.member_id = si.member_id and r.period_month = si.period_month
       and r.scheme = si.scheme and si.category = '缴费'
),

-- @@ end
-- @@ figure_lineage.sql
-- @@ current
with

-- each household (one row a request) with its income window: one join a lineage row, not one to the household and
-- another to its window
households as (
    select request_id, excluded_income_items, count_housing_fund_balance,
        (date_trunc('month', strptime($run_date, '%Y%m%d'))::date - to_months(income_window_months))::date
            as window_start,
        date_trunc('month', strptime($run_date, '%Y%m%d'))::date as window_end
    from households where run_date = $run_date
),

links as not materialized (
    select * from links where run_date = $run_date
),

-- @@ before
with

households as not materialized (
    select * from households where run_date = $run_date
),

links as not materialized (
    select * from links where run_date = $run_date
),

window_bounds as (
    select h.request_id,
        (date_trunc('month', strptime($run_date, '%Y%m%d'))::date - to_months(h.income_window_months))::date
            as window_start,
        date_trunc('month', strptime($run_date, '%Y%m%d'))::date as window_end
    from households as h
),

-- @@ end
-- @@ figure_lineage.sql
-- @@ current
),

-- the linked social-insurance rows, benefits (待遇) and the rest apart: only a contribution's month is looked up in
-- the month's wage rows below (a benefit's never was: 400 k of 550 k rows at tenth), only a benefit in the rows a
-- scheme's month does not count (hd_benefit_rows).  Each reads the run's linked rows (a temp table in a run), not
-- copied into a CTE's buffer first
benefit_rows as not materialized (
    select s.request_id, s.member_id, 'social_insurance' as source, s.record_id, s.scheme, s.period_month,
        s.benefit_yuan,
        b.record_id is null as is_benefit_counted  -- one benefit a scheme's month (sql/assess/macros.sql)
    from hd_si_rows($run_date) as s  -- the linked rows (sql/assess/macros.sql)
    left join (select * from hd_benefit_rows($run_date) where not is_kept and not is_pending) as b  -- (figures.sql)
        on b.record_id = s.record_id and b.request_id = s.request_id and b.member_id = s.member_id
    where not s.is_pending and s.category = '待遇'
),

contribution_rows as not materialized (
    select request_id, member_id, 'social_insurance' as source, record_id, scheme, period_month,
        contribution_base_yuan
    from hd_si_rows($run_date)
    where not is_pending and category is distinct from '待遇'  -- (an empty category: as a contribution, as before)
),

-- @@ before
),

-- the linked social-insurance rows: read once (the month's wage row is hd_wage_months'), so not copied into a
-- CTE's buffer first (550 k rows at tenth)
si_rows as not materialized (
    select s.request_id, s.member_id, 'social_insurance' as source, s.record_id, s.scheme, s.category, s.period_month,
        s.benefit_yuan, s.contribution_base_yuan,
        b.record_id is null as is_benefit_counted  -- one benefit a scheme's month (sql/assess/macros.sql)
    from hd_si_rows($run_date) as s  -- the linked rows (sql/assess/macros.sql)
    left join (select * from hd_benefit_rows($run_date) where not is_kept and not is_pending) as b  -- (figures.sql)
        on b.record_id = s.record_id and b.request_id = s.request_id and b.member_id = s.member_id
    where not s.is_pending
),

-- @@ end
-- @@ figure_lineage.sql
-- @@ current
    select distinct t.request_id, t.member_id, t.period_month
    from tax_rows as t
    inner join households as w on w.request_id = t.request_id
    where t.income_item = '工资薪金所得' and t.income_yuan is distinct from 0  -- a zero declaration: no wage
      and t.period_month >= w.window_start and t.period_month < w.window_end
-- @@ before
    select distinct t.request_id, t.member_id, t.period_month
    from tax_rows as t
    inner join window_bounds as w on w.request_id = t.request_id
    where t.income_item = '工资薪金所得' and t.income_yuan is distinct from 0  -- a zero declaration: no wage
      and t.period_month >= w.window_start and t.period_month < w.window_end
-- @@ end
-- @@ figure_lineage.sql
-- @@ current
    select t.request_id, 'INCOME_OVER_STANDARD' as figure_code, t.member_id, t.source, t.record_id,
        t.income_item as item, t.period_month, t.income_yuan as amount_yuan, t.tax_paid_yuan,
        t.period_month >= h.window_start and t.period_month < h.window_end as is_in_window,
        list_contains(h.excluded_income_items, t.income_item) or not t.is_kept as is_excluded,
        case when list_contains(h.excluded_income_items, t.income_item) then '按政策不计入'
-- @@ before
    select t.request_id, 'INCOME_OVER_STANDARD' as figure_code, t.member_id, t.source, t.record_id,
        t.income_item as item, t.period_month, t.income_yuan as amount_yuan, t.tax_paid_yuan,
        t.period_month >= w.window_start and t.period_month < w.window_end as is_in_window,
        list_contains(h.excluded_income_items, t.income_item) or not t.is_kept as is_excluded,
        case when list_contains(h.excluded_income_items, t.income_item) then '按政策不计入'
-- @@ end
-- @@ figure_lineage.sql
-- @@ current
            as exclusion_zh
    from tax_rows as t
    inner join households as h on h.request_id = t.request_id
    union all
    select s.request_id, 'INCOME_OVER_STANDARD', s.member_id, s.source, s.record_id, s.scheme || '待遇',
        s.period_month, s.benefit_yuan, cast(null as double),
        s.period_month >= h.window_start and s.period_month < h.window_end,
        list_contains(h.excluded_income_items, s.scheme) or not s.is_benefit_counted,
        case
            when list_contains(h.excluded_income_items, s.scheme) then '按政策不计入'
            when not s.is_benefit_counted
                then '同一险种同一月份另有待遇记录（一个月只发放一次），不重复计入；数额不同时按较小者计入'
        end
    from benefit_rows as s
    inner join households as h on h.request_id = s.request_id
    union all
    select s.request_id, 'INCOME_OVER_STANDARD', s.member_id, s.source, s.record_id, s.scheme || '缴费基数（估算工资）',
        s.period_month, s.contribution_base_yuan, cast(null as double),
        s.period_month >= h.window_start and s.period_month < h.window_end,
        s.scheme not in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险')
            or x.member_id is not null or s.record_id <> m.wage_record_id,
        case
            when s.scheme not in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险') then '缴费基数不计为收入'
            when x.member_id is not null then '该月已有计税工资，不按缴费基数估算'
            when s.record_id <> m.wage_record_id then '该月已按另一险种的缴费基数估算工资，不重复计入'
        end
    from contribution_rows as s
    inner join households as h on h.request_id = s.request_id
    left join wage_months as m
-- @@ before
            as exclusion_zh
    from tax_rows as t
    inner join window_bounds as w on w.request_id = t.request_id
    inner join households as h on h.request_id = t.request_id
    union all
    select s.request_id, 'INCOME_OVER_STANDARD', s.member_id, s.source, s.record_id,
        s.scheme || case when s.category = '待遇' then '待遇' else '缴费基数（估算工资）' end,
        s.period_month,
        case when s.category = '待遇' then s.benefit_yuan else s.contribution_base_yuan end,
        cast(null as double),
        s.period_month >= w.window_start and s.period_month < w.window_end,
        case when s.category = '待遇' then list_contains(h.excluded_income_items, s.scheme) or not s.is_benefit_counted
             else s.scheme not in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险')
                 or x.member_id is not null or s.record_id <> m.wage_record_id end,
        case
            when s.category = '待遇' and list_contains(h.excluded_income_items, s.scheme) then '按政策不计入'
            when s.category = '待遇' and not s.is_benefit_counted
                then '同一险种同一月份另有待遇记录（一个月只发放一次），不重复计入；数额不同时按较小者计入'
            when s.category = '待遇' then null
            when s.scheme not in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险') then '缴费基数不计为收入'
            when x.member_id is not null then '该月已有计税工资，不按缴费基数估算'
            when s.record_id <> m.wage_record_id then '该月已按另一险种的缴费基数估算工资，不重复计入'
        end
    from si_rows as s
    inner join window_bounds as w on w.request_id = s.request_id
    inner join households as h on h.request_id = s.request_id
    left join wage_months as m
-- @@ end
