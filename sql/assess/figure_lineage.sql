-- Lineage of the household figures: every linked record an income or financial-asset
-- figure reads, with its amount and whether it counts.  A figure-based finding cites
-- these rows (reports, auditor evidence), not the figure alone:
--   is_in_window  the row's month lies in the income window (income rows only)
--   is_excluded   the item is not counted (exclusion_zh says why: the policy's excluded
--                 items, a contribution base superseded by taxed wages, a lapsed policy …)
--   is_counted    the row's amount is in the figure (of one account answered on two days, the later answer only)
-- The run's slices of tables (`not materialized`) are read where used, not copied first: each use's filters
-- (a source's links) reach the table scan, and no copy of every link of the run is made.
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

-- the linked tax rows, read once (the month's wages below and the lineage rows both read them): a second scan of
-- the staged table would be joined to the links again (where the macros are not materialized)
-- (of one withholder's rows of one item and month saying different amounts the least counts: sql/assess/macros.sql)
tax_rows as materialized (
    select request_id, member_id, 'tax' as source, record_id, income_item, period_month, income_yuan,
        hd_tax_deducted(tax_paid_yuan, income_yuan) as tax_paid_yuan, is_kept  -- as deducted (figures.sql)
    from hd_tax_rows($run_date) where not is_pending
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

-- per member and month: whether a tax wage is there (then the month's contribution base is no wage estimate)
tax_wage_months as (
    select distinct t.request_id, t.member_id, t.period_month
    from tax_rows as t
    inner join households as w on w.request_id = t.request_id
    where t.income_item = '工资薪金所得' and t.income_yuan is distinct from 0  -- a zero declaration: no wage
      and t.period_month >= w.window_start and t.period_month < w.window_end
),

-- and the one employee-scheme contribution row a wage is estimated from (figures.sql): the highest base (as
-- delivered), then the least scheme, then the least record id (hd_wage_months, sql/assess/macros.sql: once a run)
wage_months as not materialized (
    select request_id, member_id, period_month, lineage_wage_record_id as wage_record_id
    from hd_wage_months($run_date)
    where lineage_wage_record_id is not null
),

income_rows as (
    select t.request_id, 'INCOME_OVER_STANDARD' as figure_code, t.member_id, t.source, t.record_id,
        t.income_item as item, t.period_month, t.income_yuan as amount_yuan, t.tax_paid_yuan,
        t.period_month >= h.window_start and t.period_month < h.window_end as is_in_window,
        list_contains(h.excluded_income_items, t.income_item) or not t.is_kept as is_excluded,
        case when list_contains(h.excluded_income_items, t.income_item) then '按政策不计入'
             when not t.is_kept
                 then '同一扣缴义务人同一所属期同一所得项目另有数额不同的记录，以哪行为准未知，按较小者计入' end
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
        on m.request_id = s.request_id and m.member_id = s.member_id and m.period_month = s.period_month
    left join tax_wage_months as x
        on x.request_id = s.request_id and x.member_id = s.member_id and x.period_month = s.period_month
),

-- the date each member signed the authorization and the request date: an answer queried a month before the later
-- (hd_authorization_bound) is not counted (figures.sql)
authorized_on as (
    select request_id, id_norm as member_id, hd_authorization_bound(min(authorization_date), min(request_date))
        as authorization_date, min(authorization_date) as signed_date, min(request_date) as request_date
    from stg_requests where run_date = $run_date and id_norm is not null
    group by all
),

-- per bank account (of the answers not waiting for review) its latest 查询日期: a grouping joined back, not a window
-- sorting every answer by its account (NULL keys equal, as a window's partition)
bank_latest as (
    select request_id, member_id, account_key, max(query_date) as latest_date
    from hd_bank_rows($run_date)
    where not is_pending
    group by all
),

asset_rows as (
    -- (an account, its answers and which of them counts: hd_bank_rows, sql/assess/macros.sql)
    select b.request_id, 'FINANCIAL_ASSETS_OVER_LIMIT' as figure_code, b.member_id, 'bank' as source, b.record_id,
        '银行' || coalesce(b.account_type, '') || '余额' as item, cast(null as date) as period_month,
        b.balance_yuan as amount_yuan, cast(null as double) as tax_paid_yuan, true as is_in_window,
        coalesce(b.query_date < bl.latest_date, false) or b.record_id <> b.kept_record_id
            or b.is_type_ambiguous or hd_not_this_query(b.query_date, au.authorization_date) as is_excluded,
        case when b.query_date < bl.latest_date then '同一账户另有更新的查询结果，以最新一次为准'
             when hd_predates_authorization(b.query_date, au.authorization_date)
                 then hd_stale_exclusion_zh(b.query_date, au.signed_date, au.request_date)
             when b.query_date is null then '无查询日期，无法确认是本次核对（授权后）的查询结果，不计入'
             when b.is_type_ambiguous then '账户类型为空，同一账号另有' || b.types_zh || '账户，是否为其中之一未知，不计入'
             when b.record_id <> b.kept_record_id and b.has_empty_answer
                 then '同一账户同一查询日期另有余额为空的答复，余额以哪个为准未知（空值不按 0 计），不计入'
             when b.record_id <> b.kept_record_id and b.balance_yuan > b.kept_balance_yuan
                 then '同一账户同一查询日期另有不同余额，以哪个为准未知，按较小者计入'
             when b.record_id <> b.kept_record_id then '同一账户同一查询日期的相同答复，只计一次' end as exclusion_zh
    from hd_bank_rows($run_date) as b
    inner join bank_latest as bl
        on bl.request_id is not distinct from b.request_id and bl.member_id is not distinct from b.member_id
       and bl.account_key is not distinct from b.account_key
    left join authorized_on as au on au.request_id = b.request_id and au.member_id = b.member_id
    where not b.is_pending
    union all
    select l.request_id, 'FINANCIAL_ASSETS_OVER_LIMIT', l.member_id, l.source, l.record_id, '证券持仓市值+资金余额',
        null, hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan),
        null, true, coalesce(s.query_date < max(s.query_date) over account
                             or hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan)
                                 > min(hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan)) over answer, false)
            or coalesce(hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan) is not null
                        and bool_or(hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan) is null) over answer,
                        false)
            or hd_not_this_query(s.query_date, au.authorization_date),
        case when s.query_date < max(s.query_date) over account then '同一账户另有更新的查询结果，以最新一次为准'
             when hd_predates_authorization(s.query_date, au.authorization_date)
                 then hd_stale_exclusion_zh(s.query_date, au.signed_date, au.request_date)
             when s.query_date is null then '无查询日期，无法确认是本次核对（授权后）的查询结果，不计入'
             when hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan) is not null
                 and bool_or(hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan) is null) over answer
                 then '同一账户同一查询日期另有数值为空的答复，以哪个为准未知（空值不按 0 计），不计入'
             when hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan)
                 > min(hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan)) over answer
                 then '同一账户同一查询日期另有不同数值，以哪个为准未知，按较小者计入' end
    from stg_securities as s inner join links as l on l.record_id = s.record_id and l.source = 'securities'
    left join authorized_on as au on au.request_id = l.request_id and au.member_id = l.member_id
    where s.run_date = $run_date
    window account as (partition by l.request_id, l.member_id, coalesce(s.securities_account, s.record_id)),
        answer as (partition by l.request_id, l.member_id, coalesce(s.securities_account, s.record_id), s.query_date)
    union all
    select l.request_id, 'FINANCIAL_ASSETS_OVER_LIMIT', l.member_id, l.source, l.record_id,
        '保险现金价值（' || coalesce(i.policy_status, '') || '）', null, i.cash_value_yuan, null, true,
        coalesce(i.policy_status <> '有效', true) or coalesce(i.query_date < max(i.query_date) over account
            or i.cash_value_yuan > min(i.cash_value_yuan) filter (where i.policy_status = '有效') over answer, false)
            or bool_or(i.policy_status = '终止') over answer
            or coalesce(i.cash_value_yuan is not null
                        and bool_or(i.cash_value_yuan is null) filter (where i.policy_status = '有效') over answer, false)
            or hd_not_this_query(i.query_date, au.authorization_date),
        case when i.query_date < max(i.query_date) over account then '同一保单另有更新的查询结果，以最新一次为准'
             when hd_predates_authorization(i.query_date, au.authorization_date)
                 then hd_stale_exclusion_zh(i.query_date, au.signed_date, au.request_date)
             when coalesce(i.policy_status <> '有效', true) then '保单非有效，不计入'
             when bool_or(i.policy_status = '终止') over answer
                 then '同一保单同一查询日期另有“终止”的答复，保单状态以哪个为准未知，按较小者（终止）不计入'
             when i.query_date is null then '无查询日期，无法确认是本次核对（授权后）的查询结果，不计入'
             when i.cash_value_yuan is not null
                 and bool_or(i.cash_value_yuan is null) filter (where i.policy_status = '有效') over answer
                 then '同一保单同一查询日期另有现金价值为空的答复，以哪个为准未知（空值不按 0 计），不计入'
             when i.cash_value_yuan > min(i.cash_value_yuan) filter (where i.policy_status = '有效') over answer
                 then '同一保单同一查询日期另有不同现金价值，以哪个为准未知，按较小者计入' end
    from stg_insurance as i inner join links as l on l.record_id = i.record_id and l.source = 'insurance'
    left join authorized_on as au on au.request_id = l.request_id and au.member_id = l.member_id
    where i.run_date = $run_date
    window account as (partition by l.request_id, l.member_id, coalesce(i.policy_no, i.record_id)),
        answer as (partition by l.request_id, l.member_id, coalesce(i.policy_no, i.record_id), i.query_date)
    union all
    select l.request_id, 'FINANCIAL_ASSETS_OVER_LIMIT', l.member_id, l.source, l.record_id, '住房公积金余额',
        null, f.balance_yuan, null, true, not h.count_housing_fund_balance or f.account_status = '销户',
        case when not h.count_housing_fund_balance then '按政策不计入'
             when f.account_status = '销户' then '账户已销户，不计入' end
    from stg_housing_fund as f
    inner join links as l on l.record_id = f.record_id and l.source = 'housing_fund'
    inner join households as h on h.request_id = l.request_id
    where f.run_date = $run_date
),

final as (
    select $run_date as run_date, r.*,
        r.is_in_window and not r.is_excluded and r.amount_yuan is not null as is_counted
    from (select * from income_rows union all select * from asset_rows) as r
)

select * from final
