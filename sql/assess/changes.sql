-- What changed since each household's previous verification (facts added or gone).
with

previous as (
    select * from previous_verification where run_date = $run_date
),

now_facts as (
    select * from facts where run_date = $run_date
),

then_facts as (
    select p.request_id as current_request_id, f.*
    from previous as p
    inner join facts as f on f.run_date = p.previous_run_date and f.request_id = p.previous_request_id
),

added as (
    select n.request_id, 'added' as change, n.kind, n.member_id, n.fact_key, n.detail_zh
    from now_facts as n
    inner join previous as p on p.request_id = n.request_id
    anti join then_facts as t
        on t.current_request_id = n.request_id and t.kind = n.kind
       and t.fact_key = n.fact_key and t.member_id = n.member_id
),

removed as (
    select t.current_request_id as request_id, 'removed' as change, t.kind, t.member_id, t.fact_key, t.detail_zh
    from then_facts as t
    anti join now_facts as n
        on n.request_id = t.current_request_id and n.kind = t.kind
       and n.fact_key = t.fact_key and n.member_id = t.member_id
),

final as (
    select $run_date as run_date, * from added
    union all
    select $run_date, * from removed
)

select * from final
