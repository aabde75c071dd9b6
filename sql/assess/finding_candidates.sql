-- Substantive findings of policy.md, one row per (household, code, evidence record),
-- weighed over the links and, apart (`is_pending`), over the records waiting for review
-- (pending_links): a pending row is a finding that confirming the record would create.
-- findings.sql keeps the rows that are not pending; evidence_gaps.sql turns the pending
-- ones into UNCONFIRMED_LINK gaps.  Wording states facts (发现以下情形), never a decision.
-- The run's slices of tables (`not materialized`) are read where used, not copied first: each use's filters
-- (a source's links) reach the table scan, and no copy of every link of the run is made.
with

households as not materialized (
    select * from households where run_date = $run_date
),

figures as not materialized (
    select * from figures where run_date = $run_date
),

links as not materialized (
    select * from hd_member_links($run_date)  -- and, apart (`is_pending`), the pending (sql/assess/macros.sql)
),

members as not materialized (
    select request_id, id_norm as member_id, name, name_norm, relation, record_id,
        nullif(trim(authorization_no), '') is not null as is_authorized
    from stg_requests where run_date = $run_date
),

source_status as not materialized (
    select * from source_status where run_date = $run_date
),

ps_delivered as (
    select count(*) > 0 as ok from source_status
    where source = 'public_security' and status = 'passed'
),

-- the registration files a member was looked for in: "not found" rests on an absence, so it cites what was
-- searched (source, delivery date, file, rows) as every fact cites its origin
ps_searched as (
    select string_agg('公安 户籍，交付日期 ' || split_part(file_name, '/', 2) || '，文件 ' || file_name
                      || '（共 ' || rows_delivered || ' 行）', '；' order by file_name) as files_zh
    from delivered_files where run_date = $run_date and source = 'public_security'
),

-- a member's registrations in force (正常), as of a moment not before an ending one of his: the 户 he is registered
-- in now.  On a confirmed link it undoes a 迁出/注销 elsewhere; on a link nobody confirmed (or one waiting for
-- review) it could, so the ending is no finding on its own confirmed evidence (evidence_gaps.sql lists the record)
registered_now as (
    select nl.request_id, nl.member_id, n.change_date, nl.is_confirmed and not nl.is_pending as is_confirmed
    from stg_public_security as n
    inner join links as nl on nl.record_id = n.record_id and nl.source = 'public_security'
    where n.run_date = $run_date and n.person_status = '正常'
),

reg_ended as (
    select l.request_id, 'MEMBER_REGISTRATION_ENDED' as code, l.member_id, l.source, l.record_id,
        '户籍人员状态为“' || p.person_status || '”'
            || coalesce('（变动日期 ' || strftime(p.change_date, '%Y-%m-%d') || '）', '') as detail_zh,
        l.is_confirmed and (p.person_status = '死亡' or not exists (
            select 1 from registered_now as n
            where n.request_id = l.request_id and n.member_id = l.member_id and not n.is_confirmed
              and (n.change_date is null or p.change_date is null or n.change_date >= p.change_date))) as is_confirmed,
        l.method, l.match_weight, l.is_pending
    from stg_public_security as p inner join links as l on l.record_id = p.record_id and l.source = 'public_security'
    where p.run_date = $run_date and p.person_status in ('死亡', '迁出', '注销')
      -- moved (迁出) or cancelled at one address while registered (正常) at another: not ended
      and (p.person_status = '死亡' or not exists (
          select 1 from registered_now as n
          where n.request_id = l.request_id and n.member_id = l.member_id and n.is_confirmed
            and (n.change_date is null or p.change_date is null or n.change_date >= p.change_date)))
    union all
    select l.request_id, 'MEMBER_REGISTRATION_ENDED', l.member_id, l.source, l.record_id,
        '殡葬记录：' || coalesce('死亡日期 ' || strftime(c.death_date, '%Y-%m-%d'), '')
            || coalesce('，火化日期 ' || strftime(c.cremation_date, '%Y-%m-%d'), '')
            || coalesce('，' || c.funeral_home, ''),
        l.is_confirmed, l.method, l.match_weight, l.is_pending
    from stg_civil_affairs as c inner join links as l on l.record_id = c.record_id and l.source = 'civil_affairs'
    where c.run_date = $run_date
),

ps_linked as (
    select l.request_id, l.member_id, l.method, l.is_confirmed, l.is_pending, p.*
    from stg_public_security as p inner join links as l on l.record_id = p.record_id and l.source = 'public_security'
    where p.run_date = $run_date
),

not_registered as (
    select m.request_id, 'MEMBER_REGISTRATION_MISMATCH' as code, m.member_id, 'requests' as source,
        m.record_id, '申报成员“' || m.name || '”在公安户籍数据中未查到'
            || coalesce('（已查询：' || ps_searched.files_zh || '）', '') as detail_zh,
        -- a registration record waiting for review as the member's could undo it: not confirmed then
        not exists (
            select 1 from ps_linked as p
            where p.request_id = m.request_id and p.member_id = m.member_id and p.is_pending
        ) as is_confirmed,
        'exact_id' as method, cast(null as double) as match_weight, false as is_pending
    from members as m
    cross join ps_delivered
    cross join ps_searched
    where ps_delivered.ok and m.is_authorized and m.member_id is not null
      and not exists (
          select 1 from ps_linked as p
          where p.request_id = m.request_id and p.member_id = m.member_id and not p.is_pending
      )
      -- a registration row naming him was quarantined: he is not "not found", his row is unknown
      -- (RECORD_QUARANTINED, evidence_gaps.sql)
      and not exists (
          select 1 from quarantine_links as q
          where q.run_date = $run_date and q.source = 'public_security'
            and q.request_id = m.request_id and q.member_id = m.member_id
      )
    union all
    -- registered only on links nobody confirmed: were they rejected, he would be "not found" (a finding), so the
    -- outcome rests on them; pending (method `if_rejected`) like a figure under its limit only with such records:
    -- evidence_gaps.sql lists those registration records as UNCONFIRMED_LINK
    select m.request_id, 'MEMBER_REGISTRATION_MISMATCH', m.member_id, 'requests', m.record_id,
        '若概率匹配、尚未经人工确认的户籍记录经核实不属于该成员，申报成员“' || m.name || '”在公安户籍数据中未查到',
        false, 'if_rejected', cast(null as double), true
    from members as m
    cross join ps_delivered
    where ps_delivered.ok and m.is_authorized and m.member_id is not null
      and exists (
          select 1 from ps_linked as p
          where p.request_id = m.request_id and p.member_id = m.member_id and not p.is_pending
      )
      and not exists (
          select 1 from ps_linked as p
          where p.request_id = m.request_id and p.member_id = m.member_id and not p.is_pending and p.is_confirmed
      )
      and not exists (
          select 1 from quarantine_links as q
          where q.run_date = $run_date and q.source = 'public_security'
            and q.request_id = m.request_id and q.member_id = m.member_id
      )
),

-- the member's ID is registered under another name (the agency typed one digit wrong and hit another person's valid
-- ID, or copied a relative's): the declared person (name and ID) is not in the registration, and what the exact ID
-- links may be another person's.  Names are compared only where both are plain Chinese characters (with a middle
-- dot or not: 阿依古丽买买提 is 阿依古丽·买买提); one with `*`, pinyin or Latin letters could be the same name
-- spelt otherwise, and no registration record linked to the member may carry his name
registered_as_another as (
    select p.request_id, 'MEMBER_REGISTRATION_MISMATCH' as code, p.member_id, p.source, p.record_id,
        '申报成员“' || m.name || '”的身份证号在公安户籍数据中登记的姓名为“' || hd_mask_name(p.name)
            || '”，与申报姓名不一致：请委托机关核实该成员的身份证号' as detail_zh,
        true as is_confirmed, p.method, cast(null as double) as match_weight, false as is_pending
    from (select * from ps_linked where method = 'exact_id' and not is_pending) as p
    inner join (select *, replace(name_norm, '·', '') as plain from members
                where is_authorized and member_id is not null) as m
        on m.request_id = p.request_id and m.member_id = p.member_id
    where regexp_full_match(m.plain, '[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{20000}-\x{3134F}]+')
      and regexp_full_match(replace(p.name_norm, '·', ''), '[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{20000}-\x{3134F}]+')
      and replace(p.name_norm, '·', '') <> m.plain
      and not exists (
          select 1 from ps_linked as o
          where o.request_id = p.request_id and o.member_id = p.member_id
            and replace(o.name_norm, '·', '') = m.plain)
    qualify row_number() over (partition by p.request_id, p.member_id order by p.record_id) = 1
),

-- the registration's relation to the head in the categories of 与申请人关系 (hd_relation_category);
-- a word not known here contradicts nothing here (null): evidence_gaps.sql lists it as VALUE_UNKNOWN.  The 户
-- is its 户号 however written (` Ｈ00012 ` is H00012): the rows of one 户 are read together.  Read twice below (the
-- member's row, the applicant's): the two regex macros run once a linked row, not once a reading
relation_category as materialized (
    select p.*, c.category as registered_relation, hd_key(p.hukou_no) as hukou_key
    from ps_linked as p
    left join hd_relation_categories($run_date) as c  -- each word's category once (sql/assess/macros.sql)
        on c.relation_to_head = p.relation_to_head
),

-- a 户 with two heads (a head who died or moved out, and the one after him; one who left and was made head again):
-- its relations may be to either head, so none of its pairs contradicts a declaration
two_heads as (
    select hukou_key from hd_two_heads($run_date)  -- (sql/assess/macros.sql)
),

-- a member's relation to the applicant, from both relations to the head of the 户 they share: the applicant
-- need not head it (a son applying in his father's 户: the head is his 父母, the head's wife too).  (applicant
-- to head, member to head) → the declared relations that agree; 其他 agrees with every pair.  In-laws are
-- only 其他 in these categories, so a pair that may be an in-law is given the relation of the blood one too
-- (the head's parents are 父母 to his wife, and his 岳父 to the head: hd_relation_nearest); a pair that could be
-- two different relations (the head's grandparents to his grandparent: a spouse, or the other grandchild side's)
-- is not listed, and contradicts nothing.  The applicant heading the 户 is the identity below (`via_head.applicant = '本人'`).
via_head (applicant, member, agreeing) as (
    values ('配偶', '本人', ['配偶']), ('配偶', '子女', ['子女']), ('配偶', '父母', ['父母']),
           ('配偶', '祖父母', ['祖父母']), ('配偶', '孙子女', ['孙子女']), ('配偶', '兄弟姐妹', ['兄弟姐妹']),
           ('子女', '本人', ['父母']), ('子女', '配偶', ['父母']), ('子女', '子女', ['兄弟姐妹']),
           ('子女', '父母', ['祖父母']), ('子女', '孙子女', ['子女']), ('子女', '兄弟姐妹', []),
           ('父母', '本人', ['子女']), ('父母', '配偶', ['子女']), ('父母', '子女', ['孙子女']),
           ('父母', '父母', ['配偶']), ('父母', '祖父母', ['父母']), ('父母', '兄弟姐妹', ['子女']),
           ('祖父母', '本人', ['孙子女']), ('祖父母', '配偶', ['孙子女']), ('祖父母', '父母', ['子女']),
           ('祖父母', '兄弟姐妹', ['孙子女']),
           ('孙子女', '本人', ['祖父母']), ('孙子女', '配偶', ['祖父母']), ('孙子女', '子女', ['父母']),
           ('孙子女', '孙子女', ['兄弟姐妹']),
           ('兄弟姐妹', '本人', ['兄弟姐妹']), ('兄弟姐妹', '配偶', ['兄弟姐妹']), ('兄弟姐妹', '父母', ['父母']),
           ('兄弟姐妹', '祖父母', ['祖父母']), ('兄弟姐妹', '兄弟姐妹', ['兄弟姐妹']), ('兄弟姐妹', '子女', [])
),

relation_mismatch as (
    select p.request_id, 'MEMBER_REGISTRATION_MISMATCH' as code, p.member_id, p.source, p.record_id,
        '申报关系“' || m.relation || '”，户籍登记为与户主关系“' || p.relation_to_head || '”'
            || case when applicant_reg.registered_relation <> '本人'
                    then '（申请人登记为与户主关系“' || applicant_reg.relation_to_head || '”）' else '' end as detail_zh,
        -- the contradiction rests on both registration records: on a probabilistic one of the applicant's too
        p.is_confirmed and applicant_reg.is_confirmed as is_confirmed, 'exact_id' as method,
        cast(null as double) as match_weight, p.is_pending
    from relation_category as p
    inner join members as m on m.request_id = p.request_id and m.member_id = p.member_id
    inner join relation_category as applicant_reg
        on applicant_reg.request_id = p.request_id and applicant_reg.hukou_key = p.hukou_key
       and not applicant_reg.is_pending
    inner join members as applicant
        on applicant.request_id = applicant_reg.request_id and applicant.member_id = applicant_reg.member_id
       and applicant.relation = '本人'
    left join via_head as v on v.applicant = applicant_reg.registered_relation and v.member = p.registered_relation
    where m.relation <> '本人' and m.relation <> '其他'
      and p.hukou_key not in (select hukou_key from two_heads)
      and case when applicant_reg.registered_relation = '本人'
                    then p.registered_relation <> m.relation
                     and hd_relation_nearest(p.relation_to_head) is distinct from m.relation  -- 岳父: 父母 too
               else not list_contains(v.agreeing, m.relation) end  -- null (not known, no pair) contradicts nothing
),

vehicles as (
    select l.request_id, 'VEHICLE' as code, l.member_id, l.source, l.record_id,
        v.vehicle_type || ' ' || coalesce(v.plate_no, '') || '，状态' || v.vehicle_status
            || coalesce('，购置价格 ' || format('{:,.0f}', v.purchase_price_yuan) || ' 元', '，购置价格未知')
            || '（限额 ' || format('{:,.0f}', h.vehicle_price_limit_yuan) || ' 元）' as detail_zh,
        l.is_confirmed, l.method, l.match_weight, l.is_pending
    from stg_vehicle as v
    inner join links as l on l.record_id = v.record_id and l.source = 'vehicle'
    inner join households as h on h.request_id = l.request_id
    where v.run_date = $run_date
      and v.vehicle_status = '正常'
      and not list_contains(h.exempt_vehicle_types, v.vehicle_type)
      -- a multiple of 0: any non-exempt vehicle, whatever its price; else above the limit.  An unknown
      -- price is not known to be above it: a linked vehicle is VALUE_UNKNOWN (evidence_gaps.sql), not a
      -- finding; one waiting for review could create a finding once confirmed (UNCONFIRMED_LINK)
      and (h.vehicle_price_limit_yuan = 0 or v.purchase_price_yuan > h.vehicle_price_limit_yuan
           or (l.is_pending and v.purchase_price_yuan is null))
      -- nor of a vehicle whose rows contradict each other on it (sql/assess/macros.sql; evidence_gaps.sql lists them)
      and not exists (select 1 from hd_vehicle_rows($run_date) as c
                      where c.record_id = v.record_id and c.request_id = l.request_id and c.member_id = l.member_id
                        and c.is_pending = l.is_pending and c.is_contradicted)
),

-- the residential units a household holds on confirmed links alone: "more units than allowed" stands on its own
-- confirmed evidence only when these are over the limit (an exact link of one flat does not confirm that a
-- second flat, linked by name alone, is the household's).  Its number as the figure reads it (hd_key): a flat whose
-- co-owners' rows write it two ways was two confirmed units (test_contract_assess10 AW04).  A unit without a number
-- (hd_unit_key) may be one of the numbered ones under another 坐落: it is counted only where no unit has a number (the
-- least the household holds), evidence_gaps.sql lists it (test_contract_assess11 AX03)
confirmed_units as (
    select l.request_id,
        greatest(count(distinct hd_key(r.unit_no)) filter (where hd_unit_numbered(r.unit_no)),
                 least(count(*), 1)) as n_units
    from stg_real_estate as r
    inner join links as l on l.record_id = r.record_id and l.source = 'real_estate'
    where r.run_date = $run_date and r.use_type = '住宅' and r.title_status = '现势'
      and l.is_confirmed and not l.is_pending
    group by l.request_id
),

residential_over as (
    select l.request_id, 'RESIDENTIAL_UNITS_OVER_LIMIT' as code, l.member_id, l.source, l.record_id,
        '住宅 ' || coalesce(r.location, '') || '，' || coalesce(r.floor_area_m2::varchar || ' 平方米', '面积未知')
            || '（家庭共 ' || f.n_residential_units || ' 套，上限 ' || f.max_residential_units || ' 套）' as detail_zh,
        l.is_confirmed and coalesce(cu.n_units, 0) > f.max_residential_units as is_confirmed,
        l.method, l.match_weight, l.is_pending
    from stg_real_estate as r
    inner join links as l on l.record_id = r.record_id and l.source = 'real_estate'
    inner join figures as f on f.request_id = l.request_id
    left join confirmed_units as cu on cu.request_id = l.request_id
    where r.run_date = $run_date and r.use_type = '住宅' and r.title_status = '现势'
      and case when l.is_pending then f.n_residential_units_if_confirmed else f.n_residential_units end
          > f.max_residential_units
    -- a jointly owned unit (one row per co-owner) is one finding, cited once
    qualify row_number() over (partition by l.request_id, hd_unit_key(r.unit_no, r.location, r.record_id), l.is_pending
                               order by l.is_confirmed desc, l.record_id) = 1
),

non_residential as (
    select l.request_id, 'NON_RESIDENTIAL_PROPERTY' as code, l.member_id, l.source, l.record_id,
        r.use_type || '用房 ' || coalesce(r.location, '') || '，'
            || coalesce(r.floor_area_m2::varchar || ' 平方米', '面积未知') as detail_zh,
        l.is_confirmed, l.method, l.match_weight, l.is_pending
    from stg_real_estate as r inner join links as l on l.record_id = r.record_id and l.source = 'real_estate'
    where r.run_date = $run_date and r.use_type in ('商业', '办公', '工业') and r.title_status = '现势'
    qualify row_number() over (partition by l.request_id, hd_unit_key(r.unit_no, r.location, r.record_id), l.is_pending
                               order by l.is_confirmed desc, l.record_id) = 1
),

business as (
    select l.request_id, 'BUSINESS_ROLE' as code, l.member_id, l.source, l.record_id,
        b.entity_name || '（' || b.entity_type || '，' || b.entity_status || '）' || b.role
            || coalesce('，注册资本 ' || format('{:,.0f}', b.registered_capital_yuan) || ' 元', '')
            || coalesce('，认缴出资 ' || format('{:,.0f}', b.subscribed_yuan) || ' 元', '') as detail_zh,
        l.is_confirmed, l.method, l.match_weight, l.is_pending
    from stg_business_registry as b
    inner join links as l on l.record_id = b.record_id and l.source = 'business_registry'
    inner join households as h on h.request_id = l.request_id
    where b.run_date = $run_date
      and b.entity_status in ('存续', '在业')
      -- a limit of 0: every role, its contribution known or not (none is below 0: the suite quarantines those)
      and (list_contains(h.business_always_review_types, b.entity_type)
           or b.subscribed_yuan >= h.business_contribution_limit_yuan
           or h.business_contribution_limit_yuan <= 0)
      -- nor of an entity the member's rows give two states of (sql/assess/macros.sql; evidence_gaps.sql lists them)
      and not exists (select 1 from hd_entity_conflicts($run_date) as c
                      where c.record_id = b.record_id and c.request_id = l.request_id and c.member_id = l.member_id
                        and c.is_pending = l.is_pending)
),

-- a per-capita figure is compared as it is, not as rounded to cents: hd_yuan_over shows the cents, or
-- four decimals where the cents alone would hide that the figure is over the limit
income_over as (
    select request_id, 'INCOME_OVER_STANDARD' as code, cast(null as varchar) as member_id,
        cast(null as varchar) as source, cast(null as varchar) as record_id,
        '家庭月人均收入 ' || hd_yuan_over(income_monthly_per_capita_yuan, standard_monthly_yuan) || ' 元，高于保障标准 '
            || format('{:,.0f}', standard_monthly_yuan) || ' 元' as detail_zh,
        income_monthly_per_capita_confirmed_yuan > standard_monthly_yuan as is_confirmed,
        'figure' as method, cast(null as double) as match_weight, false as is_pending
    from figures where income_monthly_per_capita_yuan > standard_monthly_yuan
    union all
    select request_id, 'INCOME_OVER_STANDARD', null, null, null,
        '若确认待核实记录，家庭月人均收入将为 ' || hd_yuan_over(income_monthly_per_capita_if_confirmed_yuan, standard_monthly_yuan)
            || ' 元，高于保障标准 ' || format('{:,.0f}', standard_monthly_yuan) || ' 元',
        false, 'figure', null, true
    from figures
    where income_monthly_per_capita_yuan <= standard_monthly_yuan
      and income_monthly_per_capita_if_confirmed_yuan > standard_monthly_yuan
    union all
    -- under the standard only with records nobody confirmed: an unconfirmed tax wage replaced a month's wage
    -- estimate from a confirmed contribution base; rejected, the income is over it (evidence_gaps.sql lists them)
    select request_id, 'INCOME_OVER_STANDARD', null, null, null,
        '若概率匹配、尚未经人工确认的记录经核实不属于本户，家庭月人均收入将为 '
            || hd_yuan_over(income_monthly_per_capita_confirmed_yuan, standard_monthly_yuan)
            || ' 元，高于保障标准 ' || format('{:,.0f}', standard_monthly_yuan) || ' 元',
        false, 'figure_if_rejected', null, true
    from figures
    where income_monthly_per_capita_yuan <= standard_monthly_yuan
      and income_monthly_per_capita_confirmed_yuan > standard_monthly_yuan
),

assets_over as (
    select request_id, 'FINANCIAL_ASSETS_OVER_LIMIT', null, null, null,
        '家庭人均金融资产 ' || hd_yuan_over(financial_assets_per_capita_yuan, financial_assets_limit_yuan) || ' 元，高于限额 '
            || format('{:,.0f}', financial_assets_limit_yuan) || ' 元',
        financial_assets_per_capita_confirmed_yuan > financial_assets_limit_yuan, 'figure', null, false
    from figures where financial_assets_per_capita_yuan > financial_assets_limit_yuan
    union all
    select request_id, 'FINANCIAL_ASSETS_OVER_LIMIT', null, null, null,
        '若确认待核实记录，家庭人均金融资产将为 ' || hd_yuan_over(financial_assets_per_capita_if_confirmed_yuan, financial_assets_limit_yuan)
            || ' 元，高于限额 ' || format('{:,.0f}', financial_assets_limit_yuan) || ' 元',
        false, 'figure', null, true
    from figures
    where financial_assets_per_capita_yuan <= financial_assets_limit_yuan
      and financial_assets_per_capita_if_confirmed_yuan > financial_assets_limit_yuan
    union all
    -- under the limit only with records nobody confirmed: a later answer of an account on an unconfirmed link
    -- superseded a confirmed one; rejected, the assets are over it (evidence_gaps.sql lists those records)
    select request_id, 'FINANCIAL_ASSETS_OVER_LIMIT', null, null, null,
        '若概率匹配、尚未经人工确认的记录经核实不属于本户，家庭人均金融资产将为 '
            || hd_yuan_over(financial_assets_per_capita_confirmed_yuan, financial_assets_limit_yuan)
            || ' 元，高于限额 ' || format('{:,.0f}', financial_assets_limit_yuan) || ' 元',
        false, 'figure_if_rejected', null, true
    from figures
    where financial_assets_per_capita_yuan <= financial_assets_limit_yuan
      and financial_assets_per_capita_confirmed_yuan > financial_assets_limit_yuan
),

substantive as (
    select * from reg_ended
    union all select * from not_registered
    union all select * from registered_as_another
    union all select * from relation_mismatch
    union all select * from vehicles
    union all select * from residential_over
    union all select * from non_residential
    union all select * from business
    union all select * from income_over
    union all select * from assets_over
),

final as (
    select $run_date as run_date, * from substantive
)

select * from final
