-- Household figures of policy.md: monthly per-capita income over the policy
-- window, financial assets per capita, residential units and area.
-- Only records linked to an authorized member count (links).  Records waiting in the
-- review queue (`pending_links`) are counted apart, in the `*_if_confirmed_*` figures only:
-- what the figures would be if staff confirmed them (evidence_gaps.sql compares the two).
-- Per-capita amounts keep 6 decimals (reports show 2): a limit is crossed by what the figure is, not
-- by its rounding (57,600.01 yuan over 3 people is 19,200.0033, over a limit of 19,200).
-- An empty amount is unknown, never zero: it adds nothing to a sum, and the record is
-- listed as VALUE_UNKNOWN (evidence_gaps.sql).
-- Amounts are summed as exact decimals (hd_exact: the staged double to 8 decimals) and the sums
-- given back as doubles: a sum of doubles depends on the order DuckDB's threads add the rows in,
-- so a re-run could move a rounded per-capita figure by a cent and re-issue an unchanged report.
-- The run's slices of tables (`not materialized`) are read where used, not copied first: each use's filters
-- (a source's links) reach the table scan, and no copy of every link of the run is made.
with

households as not materialized (
    select * from households where run_date = $run_date
),

run_month as (
    select date_trunc('month', strptime($run_date, '%Y%m%d'))::date as first_day
),

links as not materialized (
    select * from hd_member_links($run_date)  -- and, apart (`is_pending`), the pending (sql/assess/macros.sql)
),

-- each household's income window, with the policy values its tax and social-insurance rows are weighed by: one join
-- a linked row, not one to the window and another to the household
window_bounds as (
    select
        h.request_id, h.excluded_income_items, h.si_rate_enterprise, h.si_rate_public, h.si_rate_unemployment,
        (r.first_day - to_months(h.income_window_months))::date as window_start,
        r.first_day as window_end
    from households as h cross join run_month as r
),

tax as (
    select t.request_id, t.member_id, t.is_confirmed, t.is_pending, t.income_item, t.period_month,
        hd_exact(t.income_yuan) as income_yuan,
        hd_exact(hd_tax_deducted(t.tax_paid_yuan, t.income_yuan)) as tax_paid_yuan  -- never above the income
    -- the linked rows (and those waiting for review); of one withholder's rows of one item and month saying
    -- different amounts, the least only (sql/assess/macros.sql)
    from hd_tax_rows($run_date) as t
    inner join window_bounds as w on w.request_id = t.request_id
    where t.is_kept
      and t.period_month >= w.window_start and t.period_month < w.window_end
      and not list_contains(w.excluded_income_items, t.income_item)
),

si as (
    select s.request_id, s.member_id, s.record_id, s.is_confirmed, s.is_pending, s.scheme, s.category, s.period_month,
        hd_exact(s.contribution_base_yuan) as contribution_base_yuan, hd_exact(s.benefit_yuan) as benefit_yuan,
        case s.scheme
            when '企业职工基本养老保险' then w.si_rate_enterprise
            when '机关事业单位养老保险' then w.si_rate_public
            when '失业保险' then w.si_rate_unemployment
            else 0
        end as individual_rate,
        -- one benefit a scheme's month: of two rows of it the least only (sql/assess/macros.sql)
        b.record_id is null as is_benefit_counted
    from hd_si_rows($run_date) as s  -- the linked rows and those waiting for review (sql/assess/macros.sql)
    inner join window_bounds as w on w.request_id = s.request_id
    -- the rows not counted alone (few: a join against every benefit row cost more than the rest of the CTE)
    left join (select * from hd_benefit_rows($run_date) where not is_kept) as b
        on b.record_id = s.record_id and b.request_id = s.request_id and b.member_id = s.member_id
       and b.is_pending = s.is_pending
    where s.period_month >= w.window_start and s.period_month < w.window_end
),

-- wages per member and month (policy.md: from tax records, else from the contribution base as an
-- estimate): a month with a tax wage replaces that month's base estimate, in every figure when the tax
-- record counts (not waiting for review), in the if-confirmed figure only when it waits; the other
-- months of the member keep their estimate (a tax wage of one month says nothing of the others).  A wage row of
-- 0 yuan (a zero declaration) is no wage figure: beside a contribution on a wage base the month keeps its estimate,
-- and the individual share is deducted from that, never from nothing (the income went below 0)
tax_wage_months as (
    select request_id, member_id, period_month, bool_or(not is_pending) as is_counted,
        bool_or(is_confirmed and not is_pending) as is_confirmed_wage
    from tax where income_item = '工资薪金所得' and income_yuan is distinct from 0
    group by request_id, member_id, period_month
),

-- months with a contribution to an employee scheme (the pensions of employees and civil servants, and
-- unemployment insurance: each paid on the wage): a wage (estimated from its base) is counted for them.
-- The residents' pension (城乡居民) is paid on a level the person chooses, never on a wage.
-- One wage a month, estimated from the highest base of the month's employee schemes (a pension and an
-- unemployment contribution on one wage are one wage, not two): the row of the highest base, then of the
-- least scheme, then of the least record id, among the linked rows and apart among those waiting for review
-- (once a run, figure_lineage.sql reads it too)
wage_base_months as not materialized (
    select * from hd_wage_months($run_date)  -- (sql/assess/macros.sql)
),

-- a member contributes to a scheme once a month: two rows of one scheme's month (a correction beside the original,
-- a second unit reporting him) are one contribution, one share deducted — the smaller (the row of the least base,
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

share_months as (
    select request_id, member_id, period_month, scheme,
        if(is_pending, null, record_id) as share_record_id,
        if(is_pending, record_id, null) as pending_share_record_id,
        record_id as share_record_id_if_confirmed,
        if(is_confirmed and not is_pending, record_id, null) as confirmed_share_record_id
    from si
    anti join share_keys as k
        on k.request_id is not distinct from si.request_id and k.member_id is not distinct from si.member_id
       and k.period_month is not distinct from si.period_month and k.scheme is not distinct from si.scheme
    where category = '缴费'
    union all
    select request_id, member_id, period_month, scheme,
        arg_min(record_id, (contribution_base_yuan is null, coalesce(contribution_base_yuan, 0), record_id))
            filter (where not is_pending) as share_record_id,
        arg_min(record_id, (contribution_base_yuan is null, coalesce(contribution_base_yuan, 0), record_id))
            filter (where is_pending) as pending_share_record_id,
        arg_min(record_id, (contribution_base_yuan is null, coalesce(contribution_base_yuan, 0), record_id))
            as share_record_id_if_confirmed,
        arg_min(record_id, (contribution_base_yuan is null, coalesce(contribution_base_yuan, 0), record_id))
            filter (where is_confirmed and not is_pending) as confirmed_share_record_id
    from si
    semi join share_keys as k
        on k.request_id is not distinct from si.request_id
       and k.member_id is not distinct from si.member_id and k.period_month is not distinct from si.period_month
       and k.scheme is not distinct from si.scheme
    where category = '缴费'
    group by request_id, member_id, period_month, scheme
),

-- the individual's SI share is deducted from a wage: only for a month in which a wage of the member
-- counts (taxed, or estimated from a pension base), never from income that is not there.  Only a contribution (缴费)
-- is looked up in the month's wage, tax-wage and share rows: a benefit (待遇, three rows of four at tenth) is no
-- month's wage or share row (those are contribution rows, and a record is one row of one category), so its flags are
-- false, and `income` reads nothing else of it but its amount
si_rows as (
    select si.*,
        -- the month's one wage row (wage_base_months)
        coalesce(si.record_id = if(si.is_pending, p.pending_wage_record_id, p.wage_record_id), false)
            as is_wage_base,
        coalesce(si.record_id = p.confirmed_wage_record_id, false) as is_confirmed_wage_base,
        coalesce(m.is_confirmed_wage, false) as has_confirmed_tax_wage,
        coalesce(m.is_confirmed_wage, false) or coalesce(p.is_confirmed_wage, false) as has_confirmed_wage,
        coalesce(m.is_counted, false) as has_counted_tax_wage,
        m.member_id is not null as has_any_tax_wage,
        coalesce(m.is_counted, false) or coalesce(p.is_counted, false) as has_counted_wage,
        m.member_id is not null or p.member_id is not null as has_any_wage,
        coalesce(si.record_id = if(si.is_pending, r.pending_share_record_id, r.share_record_id), false)
            as is_share_row,
        coalesce(si.record_id = r.share_record_id_if_confirmed, false) as is_share_row_if_confirmed,
        coalesce(si.record_id = r.confirmed_share_record_id, false) as is_share_row_if_rejected
    from si
    left join tax_wage_months as m
        on m.request_id = si.request_id and m.member_id = si.member_id and m.period_month = si.period_month
    left join wage_base_months as p
        on p.request_id = si.request_id and p.member_id = si.member_id and p.period_month = si.period_month
    left join share_months as r
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

-- per member (the share is capped at his own wages: income_members)
income as (
    select request_id, member_id, is_confirmed, is_pending, sum(income_yuan) as income_yuan,
        sum(coalesce(tax_paid_yuan, 0)) as tax_paid_yuan,
        0.0 as benefit_yuan, 0.0 as wage_estimate_yuan, 0.0 as si_individual_yuan,
        0.0 as wage_estimate_if_confirmed_yuan, 0.0 as si_individual_if_confirmed_yuan,
        0.0 as wage_estimate_if_rejected_yuan, 0.0 as si_individual_if_rejected_yuan,
        -- the tax wages net of their tax: what a share can be deducted from (income_members)
        coalesce(sum(income_yuan) filter (where income_item = '工资薪金所得'), 0)
            - coalesce(sum(tax_paid_yuan) filter (where income_item = '工资薪金所得'), 0) as tax_wage_net_yuan
    from tax group by request_id, member_id, is_confirmed, is_pending
    union all
    select si.request_id, si.member_id, si.is_confirmed, si.is_pending, 0, 0,
        sum(si.benefit_yuan) filter (
            where si.category = '待遇' and si.is_benefit_counted
              and not list_contains(h.excluded_income_items, si.scheme)),
        sum(si.contribution_base_yuan) filter (where si.is_wage_base and not si.has_counted_tax_wage),
        sum(hd_exact(si.contribution_base_yuan * si.individual_rate)) filter (
            where si.category = '缴费' and si.has_counted_wage and si.is_share_row),
        sum(si.contribution_base_yuan) filter (where si.is_wage_base and not si.has_any_tax_wage),
        sum(hd_exact(si.contribution_base_yuan * si.individual_rate)) filter (
            where si.category = '缴费' and si.has_any_wage and si.is_share_row_if_confirmed),
        sum(si.contribution_base_yuan) filter (where si.is_confirmed_wage_base and not si.has_confirmed_tax_wage),
        sum(hd_exact(si.contribution_base_yuan * si.individual_rate)) filter (
            where si.category = '缴费' and si.is_confirmed and not si.is_pending and si.has_confirmed_wage
              and si.is_share_row_if_rejected),
        0
    from si_rows as si
    inner join households as h on h.request_id = si.request_id
    group by si.request_id, si.member_id, si.is_confirmed, si.is_pending
),

-- each member's income over the window, as counted (links, not those waiting for review), if every record waiting
-- for review were confirmed, and on confirmed links alone (as if every unconfirmed one were rejected: a month's wage
-- estimate comes back where only an unconfirmed tax wage replaced it).  The individual share is deducted from a wage
-- (si_rows), never from income that is not there: over the window at most the member's wages (tax wages less their
-- tax, and wages estimated from a base).  A tax wage of 100 a month on a base of 5,000 (a share of 400) is a
-- contradiction evidence_gaps.sql lists (doubtful_amounts); deducted whole, the member's wages came to -300 a month
-- and took it off his pension and the other members' wages, hiding a finding standing on them
-- (test_contract_assess9 AV01).  Whichever of the two values is right, the wage net of its share is not below 0
income_members as (
    select request_id, member_id,
        coalesce(sum(income_yuan) filter (where not is_pending), 0) as taxed_income_yuan,
        coalesce(sum(tax_paid_yuan) filter (where not is_pending), 0) as tax_paid_yuan,
        coalesce(sum(benefit_yuan) filter (where not is_pending), 0) as benefit_yuan,
        coalesce(sum(wage_estimate_yuan) filter (where not is_pending), 0) as wage_estimate_yuan,
        least(coalesce(sum(si_individual_yuan) filter (where not is_pending), 0), greatest(coalesce(sum(
            tax_wage_net_yuan + coalesce(wage_estimate_yuan, 0)) filter (where not is_pending), 0), 0))
            as si_individual_yuan,
        coalesce(sum(coalesce(income_yuan, 0) - coalesce(tax_paid_yuan, 0) + coalesce(benefit_yuan, 0)
            + coalesce(wage_estimate_if_confirmed_yuan, 0)), 0)
            - least(coalesce(sum(si_individual_if_confirmed_yuan), 0), greatest(coalesce(sum(
                tax_wage_net_yuan + coalesce(wage_estimate_if_confirmed_yuan, 0)), 0), 0)) as net_if_confirmed_yuan,
        coalesce(sum(coalesce(income_yuan, 0) - coalesce(tax_paid_yuan, 0) + coalesce(benefit_yuan, 0)
            + coalesce(wage_estimate_if_rejected_yuan, 0)) filter (where is_confirmed and not is_pending), 0)
            - least(coalesce(sum(si_individual_if_rejected_yuan) filter (where is_confirmed and not is_pending), 0),
                    greatest(coalesce(sum(tax_wage_net_yuan + coalesce(wage_estimate_if_rejected_yuan, 0)) filter (
                        where is_confirmed and not is_pending), 0), 0)) as net_confirmed_yuan
    from income group by request_id, member_id
),

income_total as (
    select request_id, sum(taxed_income_yuan) as taxed_income_yuan, sum(tax_paid_yuan) as tax_paid_yuan,
        sum(benefit_yuan) as benefit_yuan, sum(wage_estimate_yuan) as wage_estimate_yuan,
        sum(si_individual_yuan) as si_individual_yuan, sum(net_confirmed_yuan) as net_confirmed_yuan,
        sum(net_if_confirmed_yuan) as net_if_confirmed_yuan
    from income_members group by request_id
),

-- the date each member signed the authorization (授权日期; of two rows of one member the earlier), or the request date
-- (委托日期) where later (hd_authorization_bound).  An answer of a bank, a securities registry or an insurer queried
-- (查询日期) more than a month before it (hd_predates_authorization) was no query of this request (先授权后核对; results
-- serve the request they were made for and nothing else): an old balance, not the member's now.  It is not counted,
-- and evidence_gaps.sql lists it (VALUE_UNKNOWN) where no later answer of the account was delivered.  Nor is an answer
-- of no 查询日期 (hd_not_this_query): that it answers this request's query cannot be shown; it is listed as lacking it
authorized_on as (
    select request_id, id_norm as member_id, hd_authorization_bound(min(authorization_date), min(request_date))
        as authorization_date
    from stg_requests where run_date = $run_date and id_norm is not null
    group by all
),

-- one account of a member (bank account and its type, securities account, insurance policy) answered twice
-- (a bank queried on two days) is one account: an answer older than a later linked answer of it is not
-- counted, never the sum of both (figure_lineage.sql marks it).  Answers of one day all count (undated: none),
-- as do two holders' coinciding numbers and a 活期 and a 定期 under one number; a copy waiting for review
-- of an account already linked adds nothing.  Two different balances (values) of one account (policy) and 查询日期
-- (a corrected answer delivered beside the original; sources.md: one row per account) are one account of unknown
-- balance: the smaller counts, never the sum, and evidence_gaps.sql lists the pair as VALUE_UNKNOWN.  A bank's
-- account, its answers and which of them counts: hd_bank_rows (sql/assess/macros.sql).
-- per bank account its latest linked 查询日期, whether a linked answer is there, and its latest confirmed one: a
-- grouping joined back, not windows sorting every answer by its account (NULL keys equal, as a window's partition)
bank_latest as (
    select request_id, member_id, account_key,
        max(query_date) filter (where not is_pending) as latest_date,
        bool_or(not is_pending) as has_linked,
        max(query_date) filter (where is_confirmed and not is_pending) as latest_confirmed_date
    from hd_bank_rows($run_date)
    group by all
),

bank_accounts as (
    select b.request_id, b.is_confirmed, b.is_pending, hd_exact(b.balance_yuan) as amount_yuan,
        -- the latest linked answer of the account counts (an older one is superseded), and of one answer's rows the one
        -- hd_bank_rows keeps; over the confirmed links alone, as if every unconfirmed one were rejected, the latest
        -- confirmed answer does
        not coalesce(b.query_date < bl.latest_date, false)
            and not (b.is_pending and bl.has_linked)
            and b.record_id = if(b.is_pending, b.kept_pending_id, b.kept_record_id) and not b.is_type_ambiguous
            and not hd_not_this_query(b.query_date, au.authorization_date) as is_counted,
        b.is_confirmed and not b.is_pending and not hd_not_this_query(b.query_date, au.authorization_date)
            and not coalesce(b.query_date < bl.latest_confirmed_date, false)
            and b.record_id = b.kept_confirmed_id and not b.is_type_ambiguous as is_counted_if_rejected
    from hd_bank_rows($run_date) as b
    inner join bank_latest as bl
        on bl.request_id is not distinct from b.request_id and bl.member_id is not distinct from b.member_id
       and bl.account_key is not distinct from b.account_key
    left join authorized_on as au on au.request_id = b.request_id and au.member_id = b.member_id
),

securities_accounts as (
    select l.request_id, l.is_confirmed, l.is_pending,
        case when s.market_value_yuan is not null or s.cash_balance_yuan is not null  -- both empty: unknown
            then hd_exact(coalesce(s.market_value_yuan, 0)) + hd_exact(coalesce(s.cash_balance_yuan, 0)) end
            as amount_yuan,
        -- the latest linked answer of the account counts (an older one is superseded); over the confirmed links
        -- alone, as if every unconfirmed one were rejected, the latest confirmed answer does
        not coalesce(s.query_date < max(s.query_date) filter (where not l.is_pending) over account, false)
            and not (l.is_pending and bool_or(not l.is_pending) over account)
            and not coalesce(hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan) > min(
                hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan)) filter (where not l.is_pending)
                over answer, false)
            -- an empty answer (both values) beside this one of the same day: the account's holding unknown (AV03)
            and not coalesce(hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan) is not null and bool_or(
                hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan) is null) filter (where not l.is_pending)
                over answer, false)
            and not hd_not_this_query(s.query_date, au.authorization_date) as is_counted,
        l.is_confirmed and not l.is_pending and not hd_not_this_query(s.query_date, au.authorization_date)
            and not coalesce(s.query_date < max(s.query_date) filter (
            where l.is_confirmed and not l.is_pending) over account, false)
            and not coalesce(hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan) > min(
                hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan)) filter (
                where l.is_confirmed and not l.is_pending)
                over answer, false)
            and not coalesce(hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan) is not null and bool_or(
                hd_securities_yuan(s.market_value_yuan, s.cash_balance_yuan) is null) filter (
                where l.is_confirmed and not l.is_pending) over answer, false) as is_counted_if_rejected
    from stg_securities as s inner join links as l on l.record_id = s.record_id and l.source = 'securities'
    left join authorized_on as au on au.request_id = l.request_id and au.member_id = l.member_id
    where s.run_date = $run_date
    window account as (partition by l.request_id, l.member_id, coalesce(s.securities_account, s.record_id)),
        answer as (partition by l.request_id, l.member_id, coalesce(s.securities_account, s.record_id), s.query_date)
),

insurance_policies as (
    select l.request_id, l.is_confirmed, l.is_pending, i.policy_status, hd_exact(i.cash_value_yuan) as amount_yuan,
        -- the latest linked answer of the account counts (an older one is superseded); over the confirmed links
        -- alone, as if every unconfirmed one were rejected, the latest confirmed answer does
        not coalesce(i.query_date < max(i.query_date) filter (where not l.is_pending) over account, false)
            and not (l.is_pending and bool_or(not l.is_pending) over account)
            and not coalesce(i.cash_value_yuan > min(i.cash_value_yuan) filter (
                where not l.is_pending and i.policy_status = '有效') over answer, false)
            -- a policy one answer gives in force (有效) and ended (终止): which is right is unknown, and the smaller,
            -- ended, counts nothing (evidence_gaps.sql lists it; test_contract_assess8 AU05)
            and not coalesce(bool_or(i.policy_status = '终止') filter (where not l.is_pending) over answer, false)
            -- an in-force answer of an empty cash value beside this one of the same day: the value unknown (AV03)
            and not coalesce(i.cash_value_yuan is not null and bool_or(i.cash_value_yuan is null) filter (
                where not l.is_pending and i.policy_status = '有效') over answer, false)
            and not hd_not_this_query(i.query_date, au.authorization_date) as is_counted,
        l.is_confirmed and not l.is_pending and not hd_not_this_query(i.query_date, au.authorization_date)
            and not coalesce(i.query_date < max(i.query_date) filter (
            where l.is_confirmed and not l.is_pending) over account, false)
            and not coalesce(i.cash_value_yuan > min(i.cash_value_yuan) filter (
                where l.is_confirmed and not l.is_pending and i.policy_status = '有效') over answer, false)
            and not coalesce(bool_or(i.policy_status = '终止') filter (
                where l.is_confirmed and not l.is_pending) over answer, false)
            and not coalesce(i.cash_value_yuan is not null and bool_or(i.cash_value_yuan is null) filter (
                where l.is_confirmed and not l.is_pending and i.policy_status = '有效') over answer, false)
            as is_counted_if_rejected
    from stg_insurance as i inner join links as l on l.record_id = i.record_id and l.source = 'insurance'
    left join authorized_on as au on au.request_id = l.request_id and au.member_id = l.member_id
    where i.run_date = $run_date
    window account as (partition by l.request_id, l.member_id, coalesce(i.policy_no, i.record_id)),
        answer as (partition by l.request_id, l.member_id, coalesce(i.policy_no, i.record_id), i.query_date)
),

assets as (
    select request_id, is_pending, is_counted, is_counted_if_rejected, amount_yuan from bank_accounts
    union all
    select request_id, is_pending, is_counted, is_counted_if_rejected, amount_yuan from securities_accounts
    union all
    select request_id, is_pending, is_counted, is_counted_if_rejected, amount_yuan from insurance_policies
    where policy_status = '有效'
    union all
    select l.request_id, l.is_pending, true, l.is_confirmed and not l.is_pending, hd_exact(f.balance_yuan)
    from stg_housing_fund as f
    inner join links as l on l.record_id = f.record_id and l.source = 'housing_fund'
    inner join households as h on h.request_id = l.request_id
    where f.run_date = $run_date and h.count_housing_fund_balance and f.account_status <> '销户'
),

assets_total as (
    select request_id,
        coalesce(sum(amount_yuan) filter (where is_counted and not is_pending), 0) as financial_assets_yuan,
        coalesce(sum(amount_yuan) filter (where is_counted_if_rejected), 0) as financial_assets_confirmed_yuan,
        coalesce(sum(amount_yuan) filter (where is_counted), 0) as financial_assets_if_confirmed_yuan,
        count(*) filter (where amount_yuan is null and is_counted and not is_pending) as n_unknown_amounts
    from assets group by request_id
),

-- one row per unit: co-owners' rows of a jointly owned flat count its units and its area once (its number
-- however written, a unit without one by its 坐落: hd_unit_key, sql/assess/macros.sql)
residential_units as (
    select l.request_id, hd_unit_key(r.unit_no, r.location, r.record_id) as unit_key,
        bool_or(not l.is_pending) as is_counted, max(hd_exact(r.floor_area_m2)) as floor_area_m2
    from stg_real_estate as r inner join links as l on l.record_id = r.record_id and l.source = 'real_estate'
    where r.run_date = $run_date and r.use_type = '住宅' and r.title_status = '现势'
    group by all
),

residential as (
    select request_id, count(*) filter (where is_counted) as n_residential_units,
        count(*) as n_residential_units_if_confirmed,
        sum(floor_area_m2) filter (where is_counted) as residential_area_m2
    from residential_units
    group by request_id
),

final as (
    select
        $run_date as run_date,
        h.request_id,
        h.n_members,
        w.window_start,
        w.window_end,
        coalesce(i.taxed_income_yuan, 0) as taxed_income_yuan,
        coalesce(i.tax_paid_yuan, 0) as tax_paid_yuan,
        coalesce(i.benefit_yuan, 0) as benefit_yuan,
        coalesce(i.wage_estimate_yuan, 0) as wage_estimate_yuan,
        coalesce(i.si_individual_yuan, 0) as si_individual_yuan,
        round((coalesce(i.taxed_income_yuan, 0) - coalesce(i.tax_paid_yuan, 0) + coalesce(i.benefit_yuan, 0)
            + coalesce(i.wage_estimate_yuan, 0) - coalesce(i.si_individual_yuan, 0))
            / h.income_window_months / h.n_members, 6) as income_monthly_per_capita_yuan,
        round(coalesce(i.net_confirmed_yuan, 0) / h.income_window_months / h.n_members, 6)
            as income_monthly_per_capita_confirmed_yuan,
        round(coalesce(i.net_if_confirmed_yuan, 0) / h.income_window_months / h.n_members, 6)
            as income_monthly_per_capita_if_confirmed_yuan,
        h.standard_monthly_yuan,
        coalesce(a.financial_assets_yuan, 0) as financial_assets_yuan,
        round(coalesce(a.financial_assets_confirmed_yuan, 0) / h.n_members, 6)
            as financial_assets_per_capita_confirmed_yuan,
        round(coalesce(a.financial_assets_yuan, 0) / h.n_members, 6) as financial_assets_per_capita_yuan,
        round(coalesce(a.financial_assets_if_confirmed_yuan, 0) / h.n_members, 6)
            as financial_assets_per_capita_if_confirmed_yuan,
        coalesce(a.n_unknown_amounts, 0) as n_unknown_amounts,
        h.financial_assets_limit_yuan,
        coalesce(r.n_residential_units, 0) as n_residential_units,
        coalesce(r.n_residential_units_if_confirmed, 0) as n_residential_units_if_confirmed,
        coalesce(r.residential_area_m2, 0) as residential_area_m2,
        round(coalesce(r.residential_area_m2, 0) / h.n_members, 2) as residential_area_per_capita_m2,
        h.max_residential_units
    from households as h
    inner join window_bounds as w on w.request_id = h.request_id
    left join income_total as i on i.request_id = h.request_id
    left join assets_total as a on a.request_id = h.request_id
    left join residential as r on r.request_id = h.request_id
)

select * replace (
    cast(taxed_income_yuan as double) as taxed_income_yuan,
    cast(tax_paid_yuan as double) as tax_paid_yuan,
    cast(benefit_yuan as double) as benefit_yuan,
    cast(wage_estimate_yuan as double) as wage_estimate_yuan,
    cast(si_individual_yuan as double) as si_individual_yuan,
    cast(income_monthly_per_capita_yuan as double) as income_monthly_per_capita_yuan,
    cast(income_monthly_per_capita_confirmed_yuan as double) as income_monthly_per_capita_confirmed_yuan,
    cast(income_monthly_per_capita_if_confirmed_yuan as double) as income_monthly_per_capita_if_confirmed_yuan,
    cast(financial_assets_yuan as double) as financial_assets_yuan,
    cast(financial_assets_per_capita_confirmed_yuan as double) as financial_assets_per_capita_confirmed_yuan,
    cast(financial_assets_per_capita_yuan as double) as financial_assets_per_capita_yuan,
    cast(financial_assets_per_capita_if_confirmed_yuan as double) as financial_assets_per_capita_if_confirmed_yuan,
    cast(residential_area_m2 as double) as residential_area_m2,
    cast(residential_area_per_capita_m2 as double) as residential_area_per_capita_m2
) from final
