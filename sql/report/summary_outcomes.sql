-- Households of a run by outcome, for the run summary.
with

run_outcomes as (
    select outcome from outcomes where run_date = $run_date
),

final as (
    select outcome, count(*) as households from run_outcomes group by outcome order by outcome
)

select * from final
