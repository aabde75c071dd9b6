-- outcomes: per run and household, CLEAR / FINDINGS / INCOMPLETE and the finding codes.
select run_date, request_id, outcome, findings
from outcomes
order by run_date, request_id
