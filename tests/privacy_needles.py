"""A strict personal-data scanner for tests: every form an ID or account number may be written in.

`needles(inbox)` collects every ID number and bank / securities account / policy number a delivered
inbox holds (raw Parquet of a run, by the source maps' column types) in a canonical form: 18-character
IDs upper-case, their legacy 15-digit form, accounts without separators.  `Scanner.scan(paths)` reads
text the way `hedui.privacy.scan` does (text, DuckDB, Parquet, PDF, XLSX) but first folds full-width
characters, upper-cases, and joins digit groups split by spaces, full-width spaces or hyphens, so
`３６０１０２…`, `360102 19900101 123x` and `'360102…` are all found.  Hits are `file:where`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from hedui.privacy.scan import _text_lines

_JOIN = re.compile(r"(?<=[0-9A-Z])[ \u3000\u00a0\t\-_]+(?=[0-9A-Z])")
#: a long number printed as a float (`3.6042920030104723E+17`): 12+ significant digits of an ID or account
_SCI = re.compile(r"[0-9]\.[0-9]{11,}E\+?1[0-9]")


def canonical(text: str) -> str:
    """Full-width folded, upper-case, digit groups joined: the text a needle is looked for in."""
    return _JOIN.sub("", unicodedata.normalize("NFKC", text).upper())


def needles_of(run_dir: Path) -> tuple[set[str], set[str]]:
    """(IDs, accounts) of every raw Parquet of a run folder, canonical."""
    import pyarrow.parquet as pq

    from connectors import load_map
    from matching.idnum import clean_id, normalize_id, to_legacy15

    ids, accounts = set(), set()
    for raw in sorted((run_dir / "raw").glob("*.parquet")):
        smap = load_map(raw.stem)
        table = pq.read_table(raw)
        for c in smap.columns:
            if c.type not in ("id", "account") or c.column not in table.column_names:
                continue
            for v in table.column(c.column).to_pylist():
                if not v:
                    continue
                if c.type == "id":
                    norm, _ = normalize_id(v)
                    cleaned = clean_id(v).upper()
                    for x in (norm, cleaned):
                        if x and re.fullmatch(r"[0-9]{17}[0-9X]|[0-9]{15}", x):
                            ids.add(x)
                            if len(x) == 18 and (legacy := to_legacy15(x)):
                                ids.add(legacy)
                else:
                    a = canonical(v).replace(" ", "")
                    a = re.sub(r"[^0-9A-Z]", "", a)
                    if len(a) >= 8:
                        accounts.add(a)
    return ids, accounts


class Scanner:
    def __init__(self, values: Iterable[str]):
        self.values = {v for v in values if len(v) >= 8}
        self.lengths = sorted({len(v) for v in self.values})
        self._long = re.compile(f"[0-9A-Z]{{{self.lengths[0]},}}")  # the tokens a needle fits in

    def hit(self, text: str) -> str | None:
        text = canonical(text)
        if m := _SCI.search(text):
            return m.group(0)
        for tok in self._long.findall(text):
            for n in self.lengths:
                for i in range(len(tok) - n + 1):
                    if tok[i:i + n] in self.values:
                        return tok[i:i + n]
        return None

    def scan(self, paths: Iterable[Path | str], skip=()) -> list[str]:
        """`file:where → value` for each hit in `paths` (files, or folders walked)."""
        hits = []
        files: list[Path] = []
        for p in map(Path, paths):
            files += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p] if p.is_file() else []
        for f in files:
            if f.name.endswith((".lock", ".wal", ".tmp", ".gif", ".png", ".ico", ".otf", ".woff2")) or any(
                    s in f.parts for s in skip):
                continue
            for where, text in _text_lines(f):
                if (v := self.hit(str(text))) is not None:
                    hits.append(f"{f}:{where} → {v}")
        return hits

    def scan_text(self, name: str, text: str) -> list[str]:
        return [f"{name}:{n} → {v}" for n, line in enumerate(text.splitlines(), 1)
                if (v := self.hit(line)) is not None]


def requested_names(run_dir: Path) -> set[str]:
    """Every name of the request list as delivered (quarantined rows too), trimmed, of 2+ characters."""
    import pyarrow.parquet as pq

    from connectors import load_map

    smap = load_map("requests")
    table = pq.read_table(run_dir / "raw" / "requests.parquet")
    col = smap.first_of_type("name").column
    return {v.strip() for v in table.column(col).to_pylist() if v and len(v.strip()) >= 2}


def names_in_database(path: Path, names: set[str]) -> list[str]:
    """`table.column → name` for each full name in a text column of a DuckDB file (the auditors' must hold none)."""
    import duckdb

    hits = []
    con = duckdb.connect(str(path), read_only=True)
    try:
        for schema, table, column in con.sql("select schema_name, table_name, column_name from duckdb_columns() "
                                             "where data_type = 'VARCHAR' and not internal").fetchall():
            for (v,) in con.sql(f'select distinct "{column}" from "{schema}"."{table}" '
                                f'where "{column}" is not null').fetchall():
                hits += [f"{path}:{table}.{column} → {n}" for n in names if n in v]
    finally:
        con.close()
    return hits
