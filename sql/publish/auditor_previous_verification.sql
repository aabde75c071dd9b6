-- previous_verification: per run and household, the household's previous verification and its outcome.
select * from previous_verification
order by run_date, request_id
