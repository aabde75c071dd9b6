-- Table macros of the assessment, over the run's staged and linked tables (created by hedui.steps.assess
-- before the models, once those tables exist: DuckDB binds a table macro's body when it is created).  Tables are
-- named with their schema (main.links): a model's CTE of the same name (its run's slice of links) would stand in.

-- The tax rows linked to a member (`is_pending`: waiting for review), each with whether it counts.  A withholding
-- agent (扣缴义务人) declares one row per person, income item and month (所属期); two rows of one such key with
-- different amounts are a correction delivered beside the original (or a wrong one beside the right one): which is
-- right is unknown, and summing them counts one income twice.  The row of the least net income (收入额 less 已缴税额;
-- a row without 收入额 last, it is VALUE_UNKNOWN on its own) counts, the others do not, and evidence_gaps.sql lists
-- the contradiction (`n_answers` > 1).  Two withholders in one month (two employers) are two incomes: both count.
-- Rows of one key alike in their amounts (a name spelled two ways) are one answer, counted once.
-- Aggregates of the key's group, not windows sorting every linked tax row.
create or replace temp macro hd_tax_rows(rd) as table
with

linked as (
    select l.request_id, l.member_id, l.is_confirmed, l.is_pending, t.record_id, t.income_item, t.period_month,
        t.income_yuan, t.tax_paid_yuan, t.withholder, hd_key(t.withholder) as withholder_key
    from main.stg_tax as t
    inner join (
        select source, record_id, request_id, member_id, is_confirmed, false as is_pending
        from main.links where run_date = rd
        union all
        select source, record_id, request_id, member_id, false, true
        from main.pending_links where run_date = rd
    ) as l on l.record_id = t.record_id and l.source = 'tax'
    where t.run_date = rd
),

answers as (
    select request_id, member_id, is_pending, income_item, period_month, withholder_key,
        count(*) as n_rows,
        count(distinct (income_yuan, tax_paid_yuan)) as n_answers,
        arg_min(record_id, (income_yuan is null, coalesce(income_yuan, 0) - coalesce(tax_paid_yuan, 0), record_id))
            as kept_record_id,
        min(income_yuan) as income_min_yuan, max(income_yuan) as income_max_yuan,
        min(tax_paid_yuan) as tax_paid_min_yuan, max(tax_paid_yuan) as tax_paid_max_yuan
    from linked
    group by all
),

final as (
    select t.*, a.n_answers, a.kept_record_id, a.n_rows = 1 or t.record_id = a.kept_record_id as is_kept,
        a.income_min_yuan, a.income_max_yuan, a.tax_paid_min_yuan, a.tax_paid_max_yuan
    from linked as t
    inner join answers as a
        on a.request_id = t.request_id and a.member_id = t.member_id and a.is_pending = t.is_pending
       and a.income_item is not distinct from t.income_item and a.period_month is not distinct from t.period_month
       and a.withholder_key is not distinct from t.withholder_key
)

select * from final;

-- The social-insurance benefit rows (类别 待遇) linked to a member, each with whether it counts.  A scheme pays a person
-- one benefit a month: two rows of one scheme's month (a correction beside the original, or the month reported again
-- under another unit name) are one payment.  Alike, it counts once (summed, a pension of 700 counted 1,400); with
-- different amounts, which is right is unknown: the least counts and evidence_gaps.sql lists the contradiction
-- (`n_answers` > 1).  A row without 待遇金额 last (it is VALUE_UNKNOWN on its own).
create or replace temp macro hd_benefit_rows(rd) as table
with

linked as (
    select l.request_id, l.member_id, l.is_confirmed, l.is_pending, s.record_id, s.scheme, s.period_month,
        s.benefit_yuan
    from main.stg_social_insurance as s
    inner join (
        select source, record_id, request_id, member_id, is_confirmed, false as is_pending
        from main.links where run_date = rd
        union all
        select source, record_id, request_id, member_id, false, true
        from main.pending_links where run_date = rd
    ) as l on l.record_id = s.record_id and l.source = 'social_insurance'
    where s.run_date = rd and s.category = '待遇'
),

answers as (
    select request_id, member_id, is_pending, scheme, period_month,
        count(*) as n_rows,
        count(distinct benefit_yuan) as n_answers,
        arg_min(record_id, (benefit_yuan is null, coalesce(benefit_yuan, 0), record_id)) as kept_record_id,
        min(benefit_yuan) as benefit_min_yuan, max(benefit_yuan) as benefit_max_yuan
    from linked
    group by all
),

final as (
    select t.*, a.n_answers, a.n_rows = 1 or t.record_id = a.kept_record_id as is_kept,
        a.benefit_min_yuan, a.benefit_max_yuan
    from linked as t
    inner join answers as a
        on a.request_id = t.request_id and a.member_id = t.member_id and a.is_pending = t.is_pending
       and a.scheme is not distinct from t.scheme and a.period_month is not distinct from t.period_month
)

select * from final;
