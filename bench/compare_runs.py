"""Compare two copies of a run's per-source files: equal tables, protected tokens decrypted first.

    python -m bench.compare_runs OLD_WORKDIR NEW_WORKDIR [SOURCE …]

Each Parquet file under ``runs/<date>/`` of OLD (staged_pre, its protected twins, staged,
quarantine_stage, quarantine_gx, quarantine_ids) is compared with NEW's: same column names, types
and rows in order; GX's saved results too (less GX's ids and times).  Tokens (AES-GCM, a fresh nonce each run) are compared decrypted.  With
``--db`` the working databases' ``stg_*`` and quarantine tables are compared too (EXCEPT ALL both
ways, tokens decrypted).  Prints one line per file and exits 1 when any differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DATE = "20261128"
KINDS = ("staged_pre", "staged", "quarantine_stage", "quarantine_gx", "quarantine_ids")


def _plain(table: pa.Table, keys) -> pa.Table:
    """`table` with every token column decrypted."""
    from hedui.privacy.keys import TOKEN_PREFIXES

    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            continue
        sample = pc.drop_null(col)
        if len(sample) and any(str(v).startswith(TOKEN_PREFIXES) for v in sample.slice(0, 50).to_pylist()):
            enc = pc.dictionary_encode(col.combine_chunks())
            plain = pa.array(keys.decrypt_many(enc.dictionary.to_pylist()), pa.string())
            table = table.set_column(i, name, pc.take(plain, enc.indices))
    return table


def compare(old: Path, new: Path, sources: list[str]) -> bool:
    from hedui.privacy.keys import load_keys

    keys = load_keys()
    ok = True
    for kind in KINDS:
        for f in sorted((old / "runs" / DATE / kind).glob("*.parquet")):
            if sources and not any(f.name.startswith(s + ".") for s in sources):
                continue
            g = new / "runs" / DATE / kind / f.name
            if not g.is_file():
                print(f"MISSING {kind}/{f.name}")
                ok = False
                continue
            a, b = pq.read_table(f), pq.read_table(g)
            if a.schema.names != b.schema.names or [t.type for t in a.schema] != [t.type for t in b.schema]:
                print(f"SCHEMA {kind}/{f.name}: {a.schema} != {b.schema}")
                ok = False
                continue
            same = a.equals(b) or _plain(a, keys).equals(_plain(b, keys))
            print(f"{'same' if same else 'DIFF'} {kind}/{f.name} ({a.num_rows} rows)")
            ok &= same
    return ok


def _without_ids(value):
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in ("id", "run_id", "validation_id", "validation_time")}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def compare_gx(old: Path, new: Path, sources: list[str]) -> bool:
    """GX's saved results (``reports/<date>/datadocs/_results``), equal less GX's ids and times."""
    import json

    ok = True
    for f in sorted((old / "reports" / DATE / "datadocs" / "_results").glob("stg_*.json")):
        if sources and f.stem.removeprefix("stg_") not in sources:
            continue
        g = new / "reports" / DATE / "datadocs" / "_results" / f.name
        same = g.is_file() and _without_ids(json.loads(f.read_text(encoding="utf-8"))) == _without_ids(
            json.loads(g.read_text(encoding="utf-8")))
        print(f"{'same' if same else 'DIFF'} GX result {f.name}")
        ok &= same
    return ok


def compare_db(old: Path, new: Path) -> bool:
    import duckdb

    con = duckdb.connect()
    con.execute(f"attach '{old / 'hedui.duckdb'}' as o (read_only)")
    con.execute(f"attach '{new / 'hedui.duckdb'}' as n (read_only)")
    tables = [r[0] for r in con.sql("select table_name from duckdb_tables() where database_name = 'o' "
                                    "order by 1").fetchall()]
    ok = True
    for t in tables:
        a = con.sql(f"select * from o.{t}").arrow()
        a = a.read_all() if hasattr(a, "read_all") else a
        try:
            b = con.sql(f"select * from n.{t}").arrow()
            b = b.read_all() if hasattr(b, "read_all") else b
        except duckdb.Error as e:
            print(f"MISSING table {t}: {e}")
            ok = False
            continue
        cols_a = [(f.name, str(f.type)) for f in a.schema]
        cols_b = [(f.name, str(f.type)) for f in b.schema]
        if cols_a != cols_b:
            print(f"SCHEMA table {t}: {cols_a} != {cols_b}")
            ok = False
            continue
        from hedui.privacy.keys import load_keys

        keys = load_keys()
        a, b = _plain(a, keys), _plain(b, keys)
        con.register("_a", a)
        con.register("_b", b)
        d = con.sql("select (select count(*) from (select * from _a except all select * from _b)) "
                    "+ (select count(*) from (select * from _b except all select * from _a))").fetchall()[0][0]
        print(f"{'same' if d == 0 else 'DIFF'} table {t} ({a.num_rows} rows)")
        ok &= d == 0
    return ok


def main(argv: list[str]) -> int:
    db = "--db" in argv
    argv = [a for a in argv if a != "--db"]
    old, new, *sources = argv
    ok = compare(Path(old), Path(new), sources)
    ok &= compare_gx(Path(old), Path(new), sources)
    if db:
        ok &= compare_db(Path(old), Path(new))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
