-- query_ledger: every lookup of an authorized member's records: request, purpose, authorization, member pseudonym, the sources looked up, time, run.
select * from query_ledger
order by run_date, request_id, member_record_id
