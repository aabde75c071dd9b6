"""The verification does not depend on the format a department chose (sources.md: `.csv` comma or tab,
`.xlsx`, `.parquet`; GB18030, UTF-8, UTF-8 with BOM): the 60-household world, every data file re-written by
pandas in another allowed format (tests/outsider_formats.py: CSV → XLSX with numbers as number cells,
XLSX → Parquet with numbers and dates typed, Parquet → tab-separated GB18030 CSV), gives the same
outcomes, findings, figures and row counts as the world as generated; so does the world written by other
tools' habits (columns and rows in another order, every file split in two, UTF-8 with a BOM), and the world
with every plain ID, name, date, month and amount written in another form sources.md says values come in, and
the world as workbooks with a title row whose yuan columns are headed and written in 万元."""

from __future__ import annotations

import duckdb
from conftest import RUN_DATE
from contract_world import HEADERS
from outsider_formats import in_wan_with_titles, reshuffle, revalue, rewrite

QUERIES = {
    "outcomes": "select request_id, outcome, findings from outcomes where run_date = $d order by all",
    "findings": "select request_id, code, coalesce(source, ''), is_confirmed, count(*) from findings "
                "where run_date = $d group by all order by all",
    "figures": "select * exclude (run_date) from figures where run_date = $d order by request_id",
    "links": "select source, method, is_confirmed, count(*) from links where run_date = $d group by all order by all",
    "quarantine": "select source, rule, count(*) from quarantine where run_date = $d group by all order by all",
    "reconciliation": "select source, sum(rows_delivered), sum(rows_staged), sum(rows_quarantined) "
                      "from reconciliation where run_date = $d group by all order by all",
}


def _answers(database) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {name: con.sql(sql, params={"d": RUN_DATE}).fetchall() for name, sql in QUERIES.items()}
    finally:
        con.close()


def _assert_same_verification(inbox, world_run, tmp_path) -> dict:
    """Run `inbox` through the pipeline; every answer of QUERIES equals the generated world's."""
    from hedui.pipeline import RunContext, run

    ctx = RunContext.of(inbox, tmp_path / "work", RUN_DATE)
    run(ctx)
    got, want = _answers(ctx.database), _answers(world_run[0].database)
    assert len(want["outcomes"]) == 60
    for name in QUERIES:
        assert got[name] == want[name], name
    return want


def test_every_file_in_another_allowed_format_gives_the_same_verification(world, world_run, tmp_path):
    changed = rewrite(world, tmp_path / "inbox", HEADERS)
    assert {new.rsplit(".", 1)[1] for _, new in changed} == {"csv", "xlsx", "parquet"}
    assert len(changed) >= 18  # every source, every bank file
    want = _assert_same_verification(tmp_path / "inbox", world_run, tmp_path)
    assert {r[1] for r in want["outcomes"]} == {"CLEAR", "FINDINGS", "INCOMPLETE"}
    assert want["quarantine"], "the world's quarantined rows are part of what must not change"


def test_columns_and_rows_in_another_order_and_files_split_in_two_give_the_same_verification(world, world_run,
                                                                                             tmp_path):
    assert reshuffle(world, tmp_path / "inbox", HEADERS) == 2 * 18  # every file of the world, in two parts
    # a row repeated across the two parts is still the same row delivered twice
    _assert_same_verification(tmp_path / "inbox", world_run, tmp_path)


def test_every_value_in_another_form_the_contract_allows_gives_the_same_verification(world, world_run, tmp_path):
    # IDs (x, full-width, ', spaced, 15 digits), names, dates…
    assert revalue(world, tmp_path / "inbox", HEADERS) > 10_000
    _assert_same_verification(tmp_path / "inbox", world_run, tmp_path)


def test_amounts_in_wan_yuan_under_a_header_saying_so_give_the_same_verification(world, world_run, tmp_path):
    # 余额（万元）: 0.612337, a title row above the header
    assert in_wan_with_titles(world, tmp_path / "inbox", HEADERS) > 1_000
    _assert_same_verification(tmp_path / "inbox", world_run, tmp_path)
