"""Session 32 (stagews): ``hd_strip_ws`` behind a code-point guard instead of a ``regexp_matches`` guard.

Pinned: the macro gives what the whitespace class stripped from both ends gives (the regexp_replace the old
macro ran, and ``matching.normalize``'s ``_WS_EDGES`` in Python) for every code point at the start, the end,
alone, doubled, beside ASCII, CJK or a zero-width joiner, and for hostile cells (tabs, U+3000, NBSP, U+2028,
a BOM, mixed, whitespace only, empty, NULL); a delivery with such cells stages the same rows and quarantine as
with the macro before; the ENUM lookup set-up shared by ``month_lookups`` and ``id_lookups``.
"""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest

from connectors import load_map
from hedui.steps import stage_db
from hedui.steps.ingest import stage_source
from hedui.steps.stage_db import load_macros
from matching.normalize import _WS_EDGES
from tests.test_contract_sistage import RUN, base, si_raw

#: the whitespace class of sql/macros.sql, as the macro before this session wrote it
_CLASS = (r"[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}"
          r"\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]")
#: hd_strip_ws before session 32 (a regexp_matches guard, then the regexp_replace)
OLD_MACRO = (f"create or replace temp macro hd_strip_ws(x) as case when not regexp_matches(x, '^{_CLASS}|{_CLASS}$') "
             f"then x else regexp_replace(x, '^{_CLASS}+|{_CLASS}+$', '', 'g') end;\n\n")

HOSTILE = ["", " ", "   ", "\t", "\t\t x \t", "\u3000", "\u3000\u3000", "\u00a0", "\u2028", "\u2029",
           " \u3000\t\u00a0\u2028 ", "张三\u3000", "\u3000张三", "\u00a0张三\u00a0", "张 三", "张\u3000三",
           "\ufeff110105194912310021", "110105194912310021\t", " 11010519491231002X ", "a\u200d", "\u200da",
           "李四（曾用名李三）\u3000", "ＡＢＣ\u3000", "\u0085x", "x\u0085", "x\u00ad", "\u061cx", "x\u180e",
           "\u206fz", "z\u2066", "\u205fz", "某某公司\u200b", "\u200b", "\u202f某\u202f", "中", "A", "~", "\u0084",
           "\u0086x", "x\u3001", "\ufefe", "\uff5e\u3000", "\U00020000 ", " \U00020000", "é", "e\u0301", "\n",
           "a\r\n", "\x0b\x0cb"]


def _python_strip(x: str | None) -> str | None:
    return None if x is None else _WS_EDGES.sub("", x)


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    load_macros(c, "select hd_strip_ws(x)")
    c.execute(OLD_MACRO.replace("hd_strip_ws(x)", "hd_strip_ws_old(x)"))
    yield c
    c.close()


def test_BV01_every_code_point_at_either_end_strips_as_the_regular_expression(con):
    """All of Unicode (less surrogates) alone, doubled, at the start or end beside ASCII, CJK or a zero-width
    joiner: the same as the old macro's regexp_replace; the rows the guard passes as they are are most of them."""
    (total, differ, guarded), = con.sql(f"""
        with cp as (select chr(i::integer) as c from range(1, 1114112) t(i) where i not between 55296 and 57343),
        cells as (select c as x from cp union all select 'a' || c from cp union all select c || 'a' from cp
                  union all select '中' || c from cp union all select c || '中' from cp union all select c || c from cp
                  union all select c || chr(8205) from cp union all select chr(12288) || c || ' ' from cp)
        select count(*), count(*) filter (where hd_strip_ws(x) is distinct from
                                                regexp_replace(x, '^{_CLASS}+|{_CLASS}+$', '', 'g')),
               count(*) filter (where hd_strip_ws(x) = x)
        from cells""").fetchall()
    assert total == 8 * 1_112_063 and differ == 0
    assert guarded > 4_000_000


def test_BV02_hostile_cells_strip_as_python_and_as_the_macro_before(con):
    got = con.execute("select unnest($v) as x, hd_strip_ws(x), hd_strip_ws_old(x)",
                      {"v": [*HOSTILE, None]}).fetchall()
    assert len(got) == len(HOSTILE) + 1
    for x, new, old in got:
        assert new == old == _python_strip(x), repr(x)
    assert dict((x, new) for x, new, _ in got)["\t\t x \t"] == "x"
    assert dict((x, new) for x, new, _ in got)["a\u200d"] == "a"  # a joiner is a last character of its own
    assert dict((x, new) for x, new, _ in got)[" \u3000\t\u00a0\u2028 "] == ""


def _stage(raw, out, con):
    out.mkdir()
    counts = stage_source(raw, load_map("social_insurance"), RUN, out / "s.parquet", out / "q.parquet", con,
                          manifest=None, threads=1)
    return counts, pq.read_table(out / "s.parquet"), pq.read_table(out / "q.parquet")


def test_BV03_a_delivery_of_hostile_cells_stages_as_with_the_macro_before(tmp_path, monkeypatch):
    rows = [base(name=f"张{chr(19968 + i)}" + h, employer=h + "某公司" + h, id_number=h + base()["id_number"] + h)
            for i, h in enumerate(HOSTILE)]
    rows += [base(name=h or None, employer=h or None) for h in HOSTILE]
    raw = si_raw(rows, tmp_path / "raw.parquet")
    new = _stage(raw, tmp_path / "new", duckdb.connect())
    statements, uses = stage_db._macro_statements()
    monkeypatch.setattr(stage_db, "_macro_statements", lambda: ({**statements, "hd_strip_ws": OLD_MACRO}, uses))
    old = _stage(raw, tmp_path / "old", duckdb.connect())
    assert new[0].by_rule == old[0].by_rule and new[0].by_rule.get("duplicate", 0) > 0, new[0].by_rule
    assert (new[0].staged_rows, new[0].quarantined_rows) == (old[0].staged_rows, old[0].quarantined_rows)
    assert new[1].equals(old[1]) and new[2].equals(old[2])
    staged = new[1].sort_by("row_no")
    employers = {r: e for r, e in zip(staged.column("row_no").to_pylist(), staged.column("employer").to_pylist(),
                                      strict=True)}
    for no, r in enumerate(rows, start=2):
        if no in employers:
            assert employers[no] == (_python_strip(r["employer"]) or None), repr(r["employer"])
    assert sum(e == "某公司" for e in employers.values()) >= 10 and new[0].staged_rows >= 30


def test_BV04_no_strip_macro_call_per_row_is_a_regexp_matches_guard():
    """The macro's body has no regexp_matches (which DuckDB runs per row, never per dictionary entry)."""
    statements, _ = stage_db._macro_statements()
    body = statements["hd_strip_ws"]
    assert "regexp_matches" not in body and "unicode(x)" in body and "regexp_replace" in body



def test_BV05_month_and_id_lookups_share_one_enum_lookup(tmp_path, monkeypatch):
    """``staging_checks.enum_lookup`` (duplicates tool D3): a value per cell at its ENUM code, NULL for NULL; no type
    left when refused; ``month_lookups`` and ``dupkeys.id_lookups`` both make their lookups with it."""
    from hedui.steps import dupkeys, staging_checks

    c = duckdb.connect()
    cells = pq.read_table(si_raw([base(employer=e) for e in ("b", "a", "c")], tmp_path / "r.parquet"),
                          columns=["employer"]).rename_columns(["v"])
    sql = staging_checks.enum_lookup(c, "_hd_bv05", cells, "select v, upper(v) || v as value from _hd_lookup_cells",
                                     lambda t: True, lambda v: "'" + v + "'", "varchar")
    got = c.sql(f"select v, {sql.format(col='v')} from (values ('a'), ('c'), ('b'), (null)) t(v)").fetchall()
    assert got == [("a", "Aa"), ("c", "Cc"), ("b", "Bb"), (None, None)]
    c.execute("drop type _hd_bv05")
    assert staging_checks.enum_lookup(c, "_hd_bv05", cells, "select v, v as value from _hd_lookup_cells",
                                      lambda t: False, str, "varchar") is None
    assert c.sql("select count(*) from duckdb_types() where type_name = '_hd_bv05'").fetchall() == [(0,)]
    calls = []
    real = staging_checks.enum_lookup

    def spy(*a, **k):
        calls.append(a[1])
        return real(*a, **k)

    monkeypatch.setattr(staging_checks, "enum_lookup", spy)
    monkeypatch.setattr(dupkeys, "enum_lookup", spy)
    monkeypatch.setattr(dupkeys, "ID_SAMPLE_MIN", 1)
    raw = si_raw([base(id_number="代理人 110105"), base(period_month="202511")], tmp_path / "m.parquet")
    load_macros(c)
    assert list(staging_checks.month_lookups(c, raw, load_map("social_insurance"))) == ["period_month"]
    assert list(dupkeys.id_lookups(c, raw, load_map("social_insurance"))) == ["id_number"]
    assert calls == ["_hd_month_0", "_hd_idc_0"]
    c.close()


def test_BV06_the_pre_filters_id_glob_is_regexp_full_match_of_the_id_shape():
    """``dupkeys._ID18`` (a GLOB pattern, run per dictionary entry) says what ``regexp_full_match(x,
    '[0-9]{17}[0-9Xx]')`` says, for every code point at the end, the start or inside an ID-like cell."""
    from hedui.steps.dupkeys import _ID18

    c = duckdb.connect()
    (total, differ, fast), = c.sql(f"""
        with cp as (select chr(i::integer) as c from range(1, 1114112) t(i) where i not between 55296 and 57343),
        base as (select * from (values ('11010519491231002'), ('1101051949123100'), ('110105194912310021')) b(s)),
        cells as (select s || c as x from base, cp union all select c || s from base, cp
                  union all select substr(s, 1, 8) || c || substr(s, 9) from base, cp union all select c from cp
                  union all select x from (values (''), (null), ('11010519491231002*'), ('11010519491231002?'),
                                                  ('110105194912310021\n'), (' 110105194912310021')) v(x))
        select count(*), count(*) filter (where (x glob '{_ID18}') is distinct from
                                                regexp_full_match(x, '[0-9]{{17}}[0-9Xx]')),
               count(*) filter (where x glob '{_ID18}')
        from cells""").fetchall()
    assert total > 10_000_000 and differ == 0 and fast == 32  # 10 digits + X + x, after each 17-digit base
    c.close()
