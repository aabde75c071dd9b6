-- households: per run and request, the program, region and the policy version applied with its parameters.
select * from households
order by run_date, request_id
