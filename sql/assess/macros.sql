-- Table macros of the assessment, over the run's staged and linked tables (created by hedui.steps.assess
-- before the models, once those tables exist: DuckDB binds a table macro's body when it is created).  Tables are
-- named with their schema (main.links): a model's CTE of the same name (its run's slice of links) would stand in.

-- The unit a real-estate row is of (one row per co-owner: co-owners' rows of one flat are one unit): its 不动产单元号 as
-- hd_key reads it (a space, a hyphen or a full-width digit is no other unit).  A number with no digit in it (`-`, `/`,
-- `——`, `无`, `不详`) is no number: the unit is its 坐落 (co-owners' rows of one flat carry one), else its row.  Read
-- as null such a unit fell out of the household's count (test_contract_assess11 AX03); read as a key, two flats both
-- numbered `无` were one.  `hd_unit_numbered`: whether the row's number is one (evidence_gaps.sql lists the others
-- where the count decides a finding)
create or replace temp macro hd_unit_numbered(unit_no) as coalesce(regexp_matches(hd_key(unit_no), '[0-9]'), false);

create or replace temp macro hd_unit_key(unit_no, location, record_id) as
    case when hd_unit_numbered(unit_no) then hd_key(unit_no)
         else '坐落:' || coalesce(hd_key(location), record_id) end;

-- The run's links of a source (`src`; null: of every source) and, apart (`is_pending`, never confirmed), its records
-- waiting for staff review as possible links (pending_links): what the figures, the findings and the facts weigh, the
-- pending ones as what confirming them would change.  One definition for every model and macro that reads them; a
-- filter of its caller on a source or a record reaches both table scans (a table macro is inlined).
create or replace temp macro hd_member_links(rd, src := null) as table
    select source, record_id, request_id, member_id, method, match_weight, is_confirmed, false as is_pending
    from main.links where run_date = rd and (src is null or source = src)
    union all
    select source, record_id, request_id, member_id, method, match_weight, false, true
    from main.pending_links where run_date = rd and (src is null or source = src);

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

linked_rows as materialized (
    select l.request_id, l.member_id, l.is_confirmed, l.is_pending, t.record_id, t.income_item, t.period_month,
        t.income_yuan, t.tax_paid_yuan, t.withholder
    from main.stg_tax as t
    inner join hd_member_links(rd, 'tax') as l on l.record_id = t.record_id
    where t.run_date = rd
),

-- each withholder's key once (≈ 3 k withholders on 110 k linked rows at tenth), not hd_key's regexes once per row
linked as (
    select r.*, k.withholder_key
    from linked_rows as r
    left join (select withholder, hd_key(withholder) as withholder_key
               from (select distinct withholder from linked_rows)) as k on k.withholder = r.withholder
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
),

answers as (
    select request_id, member_id, is_pending, income_item, period_month, withholder_key,
        -- count(distinct) as a list's distinct values: the same count (nulls, -0.0 and NaN alike), ≈ 2 × cheaper
        -- (DuckDB plans a distinct aggregate as a second grouping joined back)
        len(list_distinct(list((income_yuan, tax_paid_yuan)))) as n_answers,
        arg_min(record_id, (income_yuan is null, coalesce(income_yuan, 0) - coalesce(tax_paid_yuan, 0), record_id))
            as kept_record_id,
        min(income_yuan) as income_min_yuan, max(income_yuan) as income_max_yuan,
        min(tax_paid_yuan) as tax_paid_min_yuan, max(tax_paid_yuan) as tax_paid_max_yuan
    from multi
    group by all
),

-- a key of one row is that row as it is (its aggregates over one row would be its values; NULL keys group together); a
-- key of two rows of no request or member id is neither (as before: `multi` joins on the ids' equality)
final as (
    select request_id, member_id, is_confirmed, is_pending, record_id, income_item, period_month, income_yuan,
        tax_paid_yuan, withholder, withholder_key, len(list_distinct([(income_yuan, tax_paid_yuan)])) as n_answers,
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
        a.income_min_yuan, a.income_max_yuan, a.tax_paid_min_yuan, a.tax_paid_max_yuan
    from multi as t
    inner join answers as a
        on a.request_id = t.request_id and a.member_id = t.member_id and a.is_pending = t.is_pending
       and a.income_item is not distinct from t.income_item and a.period_month is not distinct from t.period_month
       and a.withholder_key is not distinct from t.withholder_key
)

select * from final;

-- The social-insurance rows linked to a member (`is_pending`: waiting for review), with the columns the models read:
-- the staged table (the run's largest) joined to the run's links once a run (assess.MATERIALIZED), not in each model
create or replace temp macro hd_si_rows(rd) as table
    select l.request_id, l.member_id, l.is_confirmed, l.is_pending, s.record_id, s.scheme, s.category, s.period_month,
        s.contribution_base_yuan, s.benefit_yuan, s.employer, l.match_weight
    from main.stg_social_insurance as s
    inner join hd_member_links(rd, 'social_insurance') as l on l.record_id = s.record_id
    where s.run_date = rd;

-- Per member and month of the linked social-insurance rows: the one employee-scheme contribution row a month's wage is
-- estimated from (figures.sql, figure_lineage.sql; the pensions of employees and civil servants, and unemployment
-- insurance: each paid on the wage): the row of the highest base, then of the least scheme, then of the least
-- record id, among the linked rows and apart among those waiting for review and among the confirmed ones.  Every
-- month (figures.sql reads its window's); computed once a run (assess.MATERIALIZED), where each model grouped the
-- rows with its own struct arg_min.  figures.sql orders the bases as it sums them (hd_exact, 6 decimals);
-- figure_lineage.sql as delivered (`lineage_wage_record_id`): two bases alike to 6 decimals and no further are
-- ordered apart there, as before this macro
create or replace temp macro hd_wage_months(rd) as table
with

contributions as (
    select request_id, member_id, period_month, is_pending, is_confirmed, record_id, scheme,
        hd_exact(contribution_base_yuan) as base, contribution_base_yuan as raw_base
    from hd_si_rows(rd)
    where category = '缴费' and scheme in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险')
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

multi as (
    select request_id, member_id, period_month,
        arg_min(record_id, (base is null, -coalesce(base, 0), scheme, record_id)) filter (where not is_pending)
            as wage_record_id,
        arg_min(record_id, (base is null, -coalesce(base, 0), scheme, record_id)) filter (where is_pending)
            as pending_wage_record_id,
        -- the same over the confirmed records alone (the income as it is if every unconfirmed link is rejected)
        arg_min(record_id, (base is null, -coalesce(base, 0), scheme, record_id)) filter (
            where is_confirmed and not is_pending) as confirmed_wage_record_id,
        arg_min(record_id, (raw_base is null, -coalesce(raw_base, 0), scheme, record_id)) filter (where not is_pending)
            as lineage_wage_record_id
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
    m.pending_wage_record_id, m.confirmed_wage_record_id, m.lineage_wage_record_id
from keys as k
inner join multi as m
    on m.request_id is not distinct from k.request_id and m.member_id is not distinct from k.member_id
   and m.period_month is not distinct from k.period_month;

-- The social-insurance benefit rows (类别 待遇) linked to a member, each with whether it counts.  A scheme pays a person
-- one benefit a month: two rows of one scheme's month (a correction beside the original, or the month reported again
-- under another unit name) are one payment.  Alike, it counts once (summed, a pension of 700 counted 1,400); with
-- different amounts, which is right is unknown: the least counts and evidence_gaps.sql lists the contradiction
-- (`n_answers` > 1).  A row without 待遇金额 last (it is VALUE_UNKNOWN on its own).
create or replace temp macro hd_benefit_rows(rd) as table
with

-- read twice (doubled, and the rows themselves) off hd_si_rows, a table of the run's linked rows in a run
-- (assess.MATERIALIZED): scanned twice, not copied into a CTE's buffer first (400 k rows at tenth)
linked as not materialized (
    select request_id, member_id, is_confirmed, is_pending, record_id, scheme, period_month, benefit_yuan
    from hd_si_rows(rd)
    where category = '待遇'
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

answers as (
    select request_id, member_id, is_pending, scheme, period_month,
        len(list_distinct(list(benefit_yuan))) as n_answers,  -- count(distinct), cheaper (hd_tax_rows)
        arg_min(record_id, (benefit_yuan is null, coalesce(benefit_yuan, 0), record_id)) as kept_record_id,
        min(benefit_yuan) as benefit_min_yuan, max(benefit_yuan) as benefit_max_yuan
    from multi
    group by all
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
    from multi as t
    inner join answers as a
        on a.request_id = t.request_id and a.member_id = t.member_id and a.is_pending = t.is_pending
       and a.scheme is not distinct from t.scheme and a.period_month is not distinct from t.period_month
)

select * from final;

-- The vehicle rows linked to a member, each with whether it is a finding by itself (`is_over`: 正常, not exempt, over
-- the price limit or any under a limit of 0) and whether its vehicle's rows contradict each other on it.  A vehicle
-- (号牌号码 and 初次登记日期: a plate kept for the next car is another vehicle) is one row (sources.md); two rows of
-- it of which one is a finding and the other not (正常 beside 注销, 200,000 beside 9,000 yuan: a correction delivered
-- beside the original) leave it unknown which is right: a finding would rest on a contradicted value, so none is
-- made of it (finding_candidates.sql) and evidence_gaps.sql lists the rows (`is_contradicted`).
create or replace temp macro hd_vehicle_rows(rd) as table
with

linked as (
    select l.request_id, l.member_id, l.is_pending, v.record_id, v.plate_no, v.vehicle_type, v.vehicle_status,
        v.purchase_price_yuan, v.first_registration_date,
        -- without a plate or a first registration date which rows are one vehicle is not known: each its own
        coalesce(hd_key(v.plate_no) || ':' || v.first_registration_date, v.record_id) as vehicle_key,
        coalesce(v.vehicle_status = '正常' and not list_contains(h.exempt_vehicle_types, v.vehicle_type)
                 and (h.vehicle_price_limit_yuan = 0 or v.purchase_price_yuan > h.vehicle_price_limit_yuan), false)
            as is_over
    from main.stg_vehicle as v
    inner join hd_member_links(rd, 'vehicle') as l on l.record_id = v.record_id
    inner join main.household_policy as h on h.request_id = l.request_id and h.run_date = rd  -- (households' limits)
    where v.run_date = rd
),

vehicles as (
    select request_id, member_id, is_pending, vehicle_key,
        bool_or(is_over) and not bool_and(is_over) as is_contradicted,
        count(*) as n_rows,
        string_agg(coalesce(vehicle_type, '类型空') || '，' || coalesce(vehicle_status, '状态空') || '，购置价格 '
                   || coalesce(format('{:,.0f}', purchase_price_yuan) || ' 元', '空'), '；' order by record_id)
            as answers_zh
    from linked
    group by all
),

final as (
    select t.*, c.is_contradicted, c.n_rows, c.answers_zh
    from linked as t
    inner join vehicles as c
        on c.request_id = t.request_id and c.member_id = t.member_id and c.is_pending = t.is_pending
       and c.vehicle_key = t.vehicle_key
)

select * from final;

-- The business-registry rows linked to a member whose entity (统一社会信用代码) the member's rows give two states of,
-- active (存续/在业) beside ended (注销/吊销): an entity has one 登记状态, so which is right is unknown, and a
-- BUSINESS_ROLE finding would rest on a contradicted value: none is made of its active rows (finding_candidates.sql),
-- and evidence_gaps.sql lists them.  (Two roles of one person in one entity are two rows, not a contradiction.)
create or replace temp macro hd_entity_conflicts(rd) as table
with

linked as (
    select l.request_id, l.member_id, l.is_pending, b.record_id, b.credit_code, b.entity_name, b.entity_status
    from main.stg_business_registry as b
    inner join hd_member_links(rd, 'business_registry') as l on l.record_id = b.record_id
    where b.run_date = rd and hd_key(b.credit_code) is not null
),

entities as (
    select request_id, member_id, is_pending, hd_key(credit_code) as entity_key,
        string_agg(distinct entity_status, '、' order by entity_status) as statuses_zh
    from linked
    group by all
    having bool_or(entity_status in ('存续', '在业')) and bool_or(entity_status in ('注销', '吊销'))
),

final as (
    select t.*, e.statuses_zh
    from linked as t
    inner join entities as e
        on e.request_id = t.request_id and e.member_id = t.member_id and e.is_pending = t.is_pending
       and e.entity_key = hd_key(t.credit_code)
)

select * from final;

-- The bank rows linked to a member (`is_pending`: waiting for review), each with the account it answers for
-- (`account_key`) and whether it counts.  An account is its institution (机构名称 as hd_key reads a name: a space, a
-- full-width space or another case is no other bank), its number (as staged, hd_account) and its type (账户类型: a 活期
-- and a 定期 under one number are two accounts).  An answer with its 账户类型 left empty is an answer of the number's
-- typed account where the member's typed answers of the number give one type (`is_type_assumed`, listed by
-- evidence_gaps.sql: whether it is that account or another is not known); where they give none, the number's untyped
-- answers are one account; where they give two (`is_type_ambiguous`), it may be either or a third: not counted, listed.
-- Of one account the latest answer (查询日期) counts.  One account answered twice for one 查询日期 (sources.md: one row
-- per account) is one balance: alike, it counts once (summed, 15,000 under two spellings of a bank made 30,000); with
-- two balances which is right is unknown and the smaller counts; with one balance empty the account's balance is
-- unknown (an empty answer is no 0, and may be the smaller): the empty one is kept (it adds nothing, listed as lacking
-- its 余额) and the other is not counted (test_contract_assess9 AV02, AV03).  `kept_record_id`, `kept_confirmed_id`:
-- the answer's row that counts among the linked rows, among the confirmed ones (as if every unconfirmed link were
-- rejected); `kept_pending_id` among the rows waiting for review.
create or replace temp macro hd_bank_rows(rd) as table
with

linked_rows as materialized (
    select l.request_id, l.member_id, l.is_confirmed, l.is_pending, l.match_weight, b.record_id, b.institution,
        b.account_no, b.account_type, b.balance_yuan, b.query_date
    from main.stg_bank as b
    inner join hd_member_links(rd, 'bank') as l on l.record_id = b.record_id
    where b.run_date = rd
),

-- each institution's key once (a few dozen banks), not hd_key's regexes once per linked row (as hd_tax_rows)
linked as (
    select r.*, coalesce(k.institution_key, r.record_id) as institution_key
    from linked_rows as r
    left join (select institution, hd_key(institution) as institution_key
               from (select distinct institution from linked_rows)) as k on k.institution = r.institution
),

-- a number's types, and its answers' kept rows: aggregates of the group joined back, not windows over every linked bank
-- row (those cost 20 CPU-s at province for 517,508 rows; these 4)
numbers as (
    select request_id, member_id, institution_key, account_no,
        min(account_type) as lo_type, max(account_type) as hi_type,
        string_agg(distinct account_type, '、' order by account_type) as types_zh
    from linked
    group by request_id, member_id, institution_key, account_no
),

typed as (
    -- beside two types of the number (活期 and 定期): whether it is one of them (counted already) or a third is not known —
    -- not counted (the smaller), listed
    select linked.*,
        coalesce(account_type, if(n.lo_type = n.hi_type, n.lo_type, null)) as type_key,
        coalesce(account_type is null and n.lo_type = n.hi_type, false) as is_type_assumed,
        coalesce(account_type is null and n.lo_type <> n.hi_type, false) as is_type_ambiguous,
        n.types_zh
    from linked
    inner join numbers as n
        on n.request_id = linked.request_id and n.member_id = linked.member_id
       and n.institution_key = linked.institution_key and n.account_no is not distinct from linked.account_no
),

keyed as (
    select *, institution_key || ':' || coalesce(account_no, '') || ':' || coalesce(type_key, '') as account_key
    from typed
),

answers as (
    select request_id, member_id, account_key, query_date,
        arg_min(record_id, (balance_yuan is not null, balance_yuan, record_id)) filter (where not is_pending)
            as kept_record_id,
        arg_min(balance_yuan, (balance_yuan is not null, balance_yuan, record_id)) filter (where not is_pending)
            as kept_balance_yuan,
        arg_min(record_id, (balance_yuan is not null, balance_yuan, record_id)) filter (
            where is_confirmed and not is_pending) as kept_confirmed_id,
        arg_min(record_id, (balance_yuan is not null, balance_yuan, record_id)) filter (where is_pending)
            as kept_pending_id,
        count(*) filter (where not is_pending) as n_answer_rows,
        bool_or(balance_yuan is null) filter (where not is_pending) as has_empty_answer
    from keyed
    group by request_id, member_id, account_key, query_date
),

final as (
    select keyed.*, a.kept_record_id, a.kept_balance_yuan, a.kept_confirmed_id, a.kept_pending_id, a.n_answer_rows,
        a.has_empty_answer
    from keyed
    inner join answers as a
        on a.request_id = keyed.request_id and a.member_id = keyed.member_id and a.account_key = keyed.account_key
       and a.query_date is not distinct from keyed.query_date
)

select * from final;

-- Each relation to the head delivered in the run's registration rows (a few dozen words and codes) with its category
-- (hd_relation_category): joined to the linked rows (evidence_gaps.sql's `registered`, finding_candidates.sql's
-- `relation_category`), the macro's folding and regexes run once a word, not once a linked row (117 k at tenth).
-- A NULL relation has no row here: joined `left`, its category is NULL, as hd_relation_category(NULL) is
create or replace temp macro hd_relation_categories(rd) as table
    select relation_to_head, hd_relation_category(relation_to_head) as category
    from (select distinct relation_to_head from main.stg_public_security where run_date = rd and relation_to_head is not null);

-- The 户 (by 户号 however written, hd_key) with two heads (a head who died or moved out, and the one after him; one who
-- left and was made head again): its relations may be to either head, so none of its pairs contradicts a declaration
-- (finding_candidates.sql) and a relation there that cannot be read changes nothing (evidence_gaps.sql).  Every 户 of
-- the delivery, each caller asking of its own: the relation read once a run, not once a model.  Cheap tests first, each
-- giving hd_relation_category's and hd_key's own answer (0.55 → 0.12 CPU-s at tenth, 313 k rows, no 户 of two heads):
-- a relation written as one of 本人's words is one; one with none of their characters (户, 本, 0 or its full-width
-- form: folding and removing whitespace make no other character one of them) is none; only the rest is read.  A
-- 户号 of digits and capitals alone is its own key.  Only the keys of two head rows or more are counted distinct
-- (count(distinct) over every head row was most of the cost, planned as a second grouping joined back)
create or replace temp macro hd_two_heads(rd) as table
with

heads as materialized (
    select case when regexp_full_match(hukou_no, '[0-9A-Z]+') then hukou_no else hd_key(hukou_no) end as hukou_key,
        coalesce(id_norm, record_id) as person
    from main.stg_public_security
    where run_date = rd
      and case when relation_to_head in ('户主', '本人', '01', '02') then true
               when not (contains(relation_to_head, '户') or contains(relation_to_head, '本')
                         or contains(relation_to_head, '0') or contains(relation_to_head, '０')) then false
               else hd_relation_category(relation_to_head) = '本人' end
),

-- a key of two persons has two rows or more
doubled as (
    select hukou_key from heads group by all having hukou_key is not null and count(*) > 1
)

select hukou_key
from heads
semi join doubled using (hukou_key)
group by all
having count(distinct person) > 1;

-- whether the staged tax and social-insurance rows are the departments' whole deliveries, whose own rows show where a
-- small one ends or has months missing (evidence_gaps.sql): an urgent verification's slice of one household's rows
-- shows nothing of the kind (hedui.steps.assess redefines it false there)
create or replace temp macro hd_whole_delivery() as true;
