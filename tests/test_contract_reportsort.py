"""Report step CPU (session 31): a page worker sorts the members' record rows by integer keys (the member's and
the file's ranks, made in the export) and orders by the rows' HTML only the rows whose keys tie (a record
linked twice to one member), with the same order as sorting by the texts."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
from conftest import RUN_DATE

from hedui.steps.report import pages, sqlhtml

HEADS = {0: ("<t0 n=", ">"), 2: ("<t2 n=", ">")}

#: (hh, member_id, grp, src_ord, file_name, row_no, html); several rows tie on every key but the HTML
ROWS = [
    (1, "B", 0, 0, "f2.csv", 3, "<tr>b-f2-3</tr>"),
    (1, "A", 2, 3, "f1.csv", 7, "<tr>w 0.91</tr>"),
    (1, "A", 0, 0, "f1.csv", 5, "<tr>z exact</tr>"),  # a record linked twice (and thrice) to member A
    (1, "A", 0, 0, "f1.csv", 5, "<tr>a 概率 0.95</tr>"),
    (1, "A", 0, 0, "f1.csv", 5, "<tr>m 0.80</tr>"),
    (1, "A", 0, 0, "f0.csv", 9, "<tr>a-f0-9</tr>"),
    (1, "A", 0, 1, "f1.csv", 1, "<tr>src1</tr>"),
    (2, "A", 0, 0, None, 4, "<tr>null file y</tr>"),  # NULL file name: after every file, as DuckDB orders it
    (2, "A", 0, 0, None, 4, "<tr>null file x</tr>"),
    (2, "A", 0, 0, "f9.csv", None, "<tr>null row 2</tr>"),  # NULL row number: ties with the other NULL
    (2, "A", 0, 0, "f9.csv", None, "<tr>null row 1</tr>"),
    (2, "A", 0, 0, "f9.csv", 8, "<tr>row 8</tr>"),
    (2, "C", 2, 2, "f1.csv", 2, "<tr>c</tr>"),
]


def _selects(con, rows) -> list[str]:
    """The worker's selects over a table of `rows`, with `_m` and `_f` ranked as the export ranks them."""
    con.execute("create or replace table rec (hh bigint, member_id varchar, grp int, src_ord int, file_name varchar, "
                "row_no bigint, html varchar)")
    con.executemany("insert into rec values (?, ?, ?, ?, ?, ?, ?)", rows)
    return [f"select r.hh, r.member_id, r.grp, r.src_ord, coalesce(m._m, {sqlhtml.RANK_LAST}) as _m, "
            f"coalesce(f._f, {sqlhtml.RANK_LAST}) as _f, r.row_no, r.html from rec r "
            "left join (select member_id, dense_rank() over (order by member_id) as _m from "
            "           (select distinct member_id from rec where member_id is not null)) m using (member_id) "
            "left join (select src_ord, file_name, dense_rank() over (partition by src_ord order by file_name) as _f "
            "           from (select distinct src_ord, file_name from rec where file_name is not null)) f "
            "  using (src_ord, file_name)"]


def _expected(con) -> dict:
    """The tables as the step made them before (session 30): every row sorted by its texts, HTML last."""
    rows = con.sql("select hh, member_id, grp, html from rec "
                   "order by hh, member_id, grp, src_ord, file_name, row_no, html").fetchall()
    out: dict = {}
    for hh, member, grp, html in rows:
        out.setdefault((hh, member), []).append((grp, html))
    result = {}
    for key, items in out.items():
        text, i = b"", 0
        while i < len(items):
            j = i
            while j < len(items) and items[j][0] == items[i][0]:
                j += 1
            pre, post = HEADS[items[i][0]]
            text += (pre + str(j - i) + post + "".join(h for _, h in items[i:j]) + "\n</table>\n").encode()
            i = j
        result[key] = (text, len(items))
    return result


def test_BS01_tied_rows_come_in_the_order_of_their_html():
    """A record linked twice to one member ties on household, member, group, source, file and row: its rows
    are ordered by their HTML's bytes, as the text sort did (rows given in reverse HTML order here, so that the
    sort by the integer keys alone leaves them out of order); NULL files and rows as DuckDB orders them."""
    con = duckdb.connect()
    got = sqlhtml._member_records(con, _selects(con, ROWS), HEADS)
    assert got == _expected(con)
    tables = got[(1, "A")][0].decode()
    assert tables.index("a 概率") < tables.index("m 0.80") < tables.index("z exact")
    two = got[(2, "A")][0].decode()
    assert two.index("row 8") < two.index("null row 1") < two.index("null row 2") < two.index("null file x") \
        < two.index("null file y")


def test_BS02_many_households_and_ties_sort_as_the_texts_did():
    """Random rows (members, files, sources and ties) give the same tables as the sort by the texts."""
    rng = np.random.default_rng(31)
    rows = []
    for _ in range(3000):
        hh = int(rng.integers(1, 40))
        src = int(rng.integers(0, 4))
        rows.append((hh, f"M{int(rng.integers(0, 5)):02d}", 0 if src < 2 else 2, src,
                     None if rng.random() < 0.05 else f"file_{int(rng.integers(0, 4))}.csv",
                     None if rng.random() < 0.05 else int(rng.integers(0, 6)),
                     f"<tr>{int(rng.integers(0, 10**6))}</tr>"))
    con = duckdb.connect()
    assert sqlhtml._member_records(con, _selects(con, rows), HEADS) == _expected(con)


def test_BS03_ties_by_html_reorders_only_the_tied_runs():
    html = [b"<a>", b"<z2>", b"<z1>", b"<b>", b"<y>", b"<x>", b"<c>"]
    offsets = np.cumsum([0] + [len(h) for h in html])
    tie = np.array([False, True, False, False, True, False])  # rows 1-2 tie, rows 4-5 tie
    out = bytes(sqlhtml._ties_by_html(memoryview(b"".join(html)), offsets, tie))
    assert out == b"<a><z1><z2><b><x><y><c>"


def test_BS04_the_export_ranks_members_and_files_in_their_texts_order(world_run, tmp_path):
    """The records parts carry `_m` and `_f` in the order of the member IDs and file names they stand for."""
    ctx, _ = world_run
    db = tmp_path / "copy.duckdb"
    shutil.copy(ctx.database, db)
    con = duckdb.connect(str(db))
    parts = tmp_path / "parts"
    parts.mkdir()
    _, records = pages._export_parts(con, RUN_DATE, parts, 5, None)
    assert records
    got = con.sql(f"select member_id, _m, row_no, _f from read_parquet('{parts}/records_*/*/*.parquet')").fetchall()
    assert got and all(m != sqlhtml.RANK_LAST for _, m, _, _ in got)
    members = sorted({(member, m) for member, m, _, _ in got})
    assert [m for _, m in members] == sorted(m for _, m in members)  # member IDs' order is their ranks' order
    assert len({m for _, m in members}) == len(members)
    for part in sorted(parts.glob("records_*")):  # each source's file ranks: dense, from 1
        ranks = sorted({r[0] for r in con.sql(f"select distinct _f from read_parquet('{part}/*/*.parquet')").fetchall()})
        assert ranks == list(range(1, len(ranks) + 1))
    con.close()
