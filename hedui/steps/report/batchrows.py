"""A page batch's rows, read from the export's Parquet parts and made Python row objects only as far as needed.

On a re-run most pages are unchanged: their digests (`digests.page_digest`) read each row's `_h` (the hash of
its values, made by DuckDB) and a few keys, so the rows are first made objects of those columns alone
(`BatchRows.rows(lean=True)`), and of every column only for the pages due (`BatchRows.only`)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

from hedui.steps.report import sqlhtml
from hedui.steps.report.sqlhtml import _sql_str

#: a part's rows in their order, each with `_h`, the hash of its values (`digests.page_digest`), made here in
#: DuckDB: hashing the rows in Python (repr) cost as much CPU as rendering them
ROWS_HASHED = ("select * exclude (_ord), md5(cast(row(*columns(* exclude (_ord))) as varchar)) as _h "
               "from p order by _ord")

#: the households' rows, each with `_h` of its values but its place in the export (`_hh`, `_version`)
HOUSEHOLDS_HASHED = ("select *, md5(cast(row(*columns(* exclude (_hh, _version, _earlier))) as varchar)) as _h "
                     "from p")

#: the parts read with ROWS_HASHED, grouped by household (the households' own part aside)
PARTS = ("members", "findings", "changes", "unweighed", "lineage", "decisions")

#: what a page's digest and its row of pages.parquet read of a part's row (`_render_batch`): a part not named
#: here, its `request_id` and `_h`
DIGEST_COLUMNS = {"households": ("request_id", "_hh", "_version", "_earlier", "outcome", "findings", "_h"),
                  "members": ("request_id", "id_norm", "_h")}


def _part(con, parts: Path, name: str, batch: int, sql: str = ROWS_HASHED):
    """A query over table `name`'s rows of one batch (`p`), or None when the batch has none."""
    files = sorted(str(f) for f in parts.glob(f"{name}/batch={batch}/*.parquet"))
    if not files:
        return None
    return con.sql(f"with p as (select * from read_parquet([{', '.join(map(_sql_str, files))}], "
                   f"hive_partitioning = false)) {sql}")


_ROW_CLASSES: dict[tuple[str, ...], type] = {}


def _row_class(names: tuple[str, ...]) -> type:
    """A tuple type whose items are also read by column name (`row.column`, as Jinja reads them)."""
    cls = _ROW_CLASSES.get(names)
    if cls is None:
        from operator import itemgetter

        cls = _ROW_CLASSES[names] = type("Row", (tuple,), {"__slots__": (), **{
            n: property(itemgetter(i)) for i, n in enumerate(names)}})
    return cls


def _table_objects(table, names: tuple[str, ...] | None = None) -> list:
    """An Arrow table's rows (of the columns `names`, default all) as `_row_class` objects."""
    if table is None or not table.num_rows:
        return []
    if names is not None:
        table = table.select(list(names))
    columns = [sqlhtml.day_values(c) if str(c.type) == "date32[day]" else c.to_pylist() for c in table.columns]
    return list(map(_row_class(tuple(table.column_names)), zip(*columns, strict=True)))


def _objects(rel) -> list:
    """A query's rows as objects: Jinja reads `row.column` from an object's attribute at once, while on
    a dict it first fails an attribute lookup (a dict has no such attribute) and then takes the item.

    A row is a tuple whose type names its columns (made from the columns in one pass, with no dict per
    row): about a quarter of the CPU of a SimpleNamespace made from a dict."""
    return [] if rel is None else _table_objects(rel.to_arrow_table())


def _namespaces(rel) -> list[SimpleNamespace]:
    """A query's rows as SimpleNamespace objects (`vars(row)` gives the row as a dict)."""
    if rel is None:
        return []
    return [SimpleNamespace(**row) for row in rel.to_arrow_table().to_pylist()]


def _grouped(rows: list) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for r in rows:
        out[r.request_id].append(r)
    return out


class BatchRows:
    """One batch's households and parts as Arrow tables (None: the batch has no such rows)."""

    def __init__(self, tables: dict):
        self.tables = tables

    @classmethod
    def read(cls, con, parts: Path, batch: int) -> BatchRows:
        def table(rel):
            return None if rel is None else rel.to_arrow_table()

        return cls({"households": table(_part(con, parts, "households", batch, HOUSEHOLDS_HASHED)),
                    **{name: table(_part(con, parts, name, batch)) for name in PARTS}})

    def rows(self, lean: bool) -> tuple[list, dict[str, dict[str, list]]]:
        """(the households' rows, each of PARTS' rows grouped by household), in the parts' order; `lean`:
        of the DIGEST_COLUMNS alone."""
        def names(part: str) -> tuple[str, ...] | None:
            return DIGEST_COLUMNS.get(part, ("request_id", "_h")) if lean else None

        return (_table_objects(self.tables["households"], names("households")),
                {part: _grouped(_table_objects(self.tables[part], names(part))) for part in PARTS})

    def only(self, request_ids: set[str]) -> BatchRows:
        """The rows of these households alone, in their order."""
        import pyarrow as pa

        kept = {}
        for name, table in self.tables.items():
            if table is not None:
                table = table.take(pa.array([i for i, r in enumerate(table.column("request_id").to_pylist())
                                             if r in request_ids], pa.int64()))  # typed: none may be kept
            kept[name] = table
        return BatchRows(kept)
