-- figures: per run and household, the income, asset and housing figures the outcome weighed.
select * from figures
order by run_date, request_id
