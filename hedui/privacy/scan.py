"""Find full ID numbers and account numbers in outputs: the check behind "masked in everything a person reads".

`scan_for_personal_data(paths, ids, accounts)` walks files and folders —
text (HTML, CSV, JSON, logs), DuckDB, Parquet, PDF (through `pdftotext`) and
XLSX — and returns where a full value appears.  The end-to-end test calls it on
every output and log of a full run.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

_TOKEN = re.compile(r"[0-9A-Za-z]+")


class _Needles:
    def __init__(self, values: Iterable[str]):
        self.values = {v.strip().upper() for v in values if v and len(v.strip()) >= 6}
        self.lengths = sorted({len(v) for v in self.values})

    def hit(self, text: str) -> bool:
        for tok in _TOKEN.findall(text):
            t = tok.upper()
            if len(t) < self.lengths[0]:
                continue
            if t in self.values:
                return True
            for n in self.lengths:
                if n < len(t) and any(t[i:i + n] in self.values for i in range(len(t) - n + 1)):
                    return True
        return False


def _text_lines(path: Path) -> Iterator[tuple[object, str]]:
    suffix = path.suffix.lower()
    if suffix in (".duckdb", ".db"):
        con = duckdb.connect(str(path), read_only=True)
        try:
            for schema, table, column in con.sql(
                    "select schema_name, table_name, column_name from duckdb_columns() "
                    "where data_type = 'VARCHAR' and not internal").fetchall():
                rel = con.sql(f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null')
                for (v,) in rel.fetchall():
                    yield f"{table}.{column}", v
        finally:
            con.close()
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        t = pq.read_table(path)
        for name in t.column_names:
            if pa.types.is_string(t.schema.field(name).type) or pa.types.is_large_string(t.schema.field(name).type):
                for v in t.column(name).unique().to_pylist():
                    if v is not None:
                        yield name, v
    elif suffix == ".pdf":
        out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout
        yield from enumerate(out.decode("utf-8", "replace").splitlines(), 1)
    elif suffix in (".xlsx", ".zip"):
        import zipfile

        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                for n, line in enumerate(z.read(name).decode("utf-8", "replace").splitlines(), 1):
                    yield f"{name}:{n}", line
    else:
        with open(path, encoding="utf-8", errors="replace") as fh:
            yield from enumerate(fh, 1)


def scan_for_personal_data(paths: Iterable[Path | str], ids: Iterable[str],
                           accounts: Iterable[str] = ()) -> list[tuple[str, object]]:
    """Where a full ID number or account number appears in `paths` (files, or folders walked).

    Text files (HTML, CSV, JSON, logs…) are read line by line and hits are
    (file, line number); DuckDB files by VARCHAR column, (file, "table.column");
    Parquet by string column; PDFs through `pdftotext`; XLSX by its XML parts.
    Matching ignores case and finds a value inside a longer token.  Values
    shorter than 6 characters are ignored.  Returns an empty list when clean.
    """
    needles = _Needles([*ids, *accounts])
    hits: list[tuple[str, object]] = []
    if not needles.values:
        return hits
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p] if p.is_file() else []
    for f in files:
        if f.name.endswith((".lock", ".wal", ".tmp")):
            continue
        for where, text in _text_lines(f):
            if needles.hit(str(text)):
                hits.append((str(f), where))
    return hits
