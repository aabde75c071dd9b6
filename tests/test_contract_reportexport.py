"""The report export's records: a citation's head made once per file and delivery date is the one Jinja printed
per record (sqlhtml.ranked_records, `f._cite`)."""

from __future__ import annotations

import duckdb
import pytest

from hedui.steps.report import sqlhtml
from hedui.steps.report.display import _escape, register_text_mask

RUN = "20261128"

#: (record_id, file_name, delivery_date, row_no): hostile names and dates, two dates in one file, a NULL date
#: beside a dated row of its file, a record with no file name, a file of another run
RECORDS = [
    ("r1", 'a&b<1>"x\'.csv', "2026-11-28", 3),
    ("r2", 'a&b<1>"x\'.csv', "2026<11>", 1),
    ("r3", 'a&b<1>"x\'.csv', None, 2),
    ("r4", "\u202eevil.csv", "2026&11", 7),
    ("r5", None, "2026-11-27", 4),
    ("r6", "b.csv", None, 5),
    ("r7", "b.csv", "2026-11-28", 6),
]


@pytest.fixture
def con():
    con = duckdb.connect()
    register_text_mask(con)
    con.execute("create table stg_bank (run_date varchar, record_id varchar, file_name varchar, row_no integer, "
                "delivery_date varchar, institution varchar, account_no_masked varchar, account_type varchar, "
                "balance_yuan double, query_date date)")
    con.executemany("insert into stg_bank values ($1, $2, $3, $4, $5, '银行', '****1234', '活期', 1.5, "
                    "date '2026-11-01')", [(RUN, *r[:2], r[3], r[2]) for r in RECORDS])
    con.execute("insert into stg_bank values ('20261001', 'old', 'a.csv', 1, '2026-10-01', '', '', '', 0, null)")
    con.execute("create table links (run_date varchar, source varchar, request_id varchar, member_id varchar, "
                "record_id varchar, method varchar, match_weight double)")
    con.executemany("insert into links values ($1, 'bank', 'Q1', 'M1', $2, 'exact_id', null)",
                    [(RUN, r[0]) for r in RECORDS])
    con.execute("create temp table _report_batch as select 'Q1' as request_id, 1 as hh, 0 as batch")
    con.execute(sqlhtml.MEMBER_RANKS_SQL, {"run_date": RUN})
    yield con
    con.close()


def _export(con) -> dict[int, tuple[int, str]]:
    from connectors import load_map

    sql = sqlhtml.ranked_records("bank", *sqlhtml._record_sql(con, "bank", load_map("bank")))
    rows = con.execute(sql, {"run_date": RUN}).fetchall()
    assert len(rows) == len(RECORDS)  # one row per record: a file of two dates joins each record once
    return {row_no: (f, html) for _, _, _, _, f, row_no, html in rows}


def test_CC01_each_record_cites_its_own_delivery_date_and_file_escaped(con):
    got = _export(con)
    for _, file_name, date, row_no in RECORDS:
        cite = (f'\n<td class="cite">交付 {_escape(date) if date is not None else "None"}，'
                f'{_escape(file_name) if file_name is not None else "None"} 第 {row_no} 行，身份证号精确匹配</td></tr>\n')
        assert got[row_no][1] is not None and got[row_no][1].endswith(cite), (row_no, got[row_no][1])
    assert "[U+202E]evil.csv" in got[7][1] and "2026&amp;11" in got[7][1]


def test_CC02_file_ranks_stay_dense_in_name_order_whatever_the_dates(con):
    got = _export(con)
    ranks = {row_no: f for row_no, (f, _) in got.items()}
    # files in DuckDB's text order: 'a&b…' < 'b.csv' < '\u202eevil.csv'; no file name ranks last
    assert ranks == {1: 1, 2: 1, 3: 1, 5: 2, 6: 2, 7: 3, 4: sqlhtml.RANK_LAST}
