"""Protect personal columns of a table in the working DuckDB, set-based and in place.

`protect_table` turns, in one table:

- each ID column (``id_norm``, ``member_id``…) into its keyed pseudonym
  (``p1:…``), so every SQL join on it keeps working unchanged;
- ``id_masked`` (added): first 6 + ``********`` + last 4 of the normalized ID,
  or of the raw ID as delivered when it could not be normalized;
- each raw ID column (``id_number``) into its encryption (``a1:…``);
- each account column (``account_no``, ``securities_account``, ``policy_no``)
  into its encryption, with ``<column>_masked`` (added): ``****`` + last 4.

Only values not yet protected are touched (pseudonyms and tokens carry their
prefix), so calling it twice on a table is a no-op the second time.  Each
column's *distinct* unprotected values go to Python once (HMAC / AES-GCM), the
results come back as an Arrow table and one UPDATE … FROM joins them in.

`StreamProtector` does the same to the staged rows while staging writes them
(`hedui.steps.ingest.stage_source`, one pass, no file rewritten for it): the
protected rows go to ``staged_pre/<source>.protected.parquet`` beside the plain
columns GX reads, and `passed_rows` then only leaves out the rows GX
quarantined (a hard link when there are none).  `protect_parquet` does the same
to a whole staged Parquet file (a staged file without its protected twin).  So
the rows `load` writes are already protected and no step updates 40 M rows in
place; `protect_working_tables` then only finds nothing left to do.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hedui.errors import HeduiError
from hedui.privacy.keys import PSEUDONYM_PREFIX, TOKEN_PREFIXES, Keys, load_keys
from hedui.privacy.vectorized import mask_accounts, mask_ids, positions, pseudonym_strings

log = logging.getLogger(__name__)


class ProtectError(HeduiError):
    """A table or column to protect does not exist."""


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    try:
        rel = con.sql(f"describe {table}")
    except duckdb.CatalogException:
        raise ProtectError(f"要保护的表 {table} 不存在") from None
    return {r[0]: r[1] for r in rel.fetchall()}


def _unprotected_filter(column: str, prefixes: Sequence[str]) -> str:
    c = _q(column)
    return f"{c} is not null and not (" + " or ".join(f"starts_with({c}, '{p}')" for p in prefixes) + ")"


_WS = r"[\t\n\x0B\f\r \x{0085}\x{00A0}\x{00AD}\x{061C}\x{1680}\x{180E}\x{2000}-\x{200F}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{206F}\x{3000}\x{FEFF}]"


# The SQL twins of hedui.privacy.masking.mask_id / mask_account (as hd_mask_id / hd_mask_account in sql/macros.sql,
# inlined so that protect_table works on any connection).
def _mask_id_sql(x: str) -> str:
    v = f"trim({x})"
    return (f"case when {x} is null then null when length({v}) <= 10 then repeat('*', length({v})) "
            f"else left({v}, 6) || repeat('*', length({v}) - 10) || right({v}, 4) end")


def _mask_account_sql(x: str) -> str:
    v = f"regexp_replace({x}, '{_WS}+', '', 'g')"
    return f"case when {x} is null then null when length({v}) > 4 then '****' || right({v}, 4) else '****' end"


def _distinct(con, table: str, column: str, prefixes: Sequence[str]) -> pa.Array:
    rel = con.sql(f"select distinct {_q(column)} as v from {table} where {_unprotected_filter(column, prefixes)}")
    return rel.to_arrow_table().column(0).combine_chunks()


def _apply(con, table: str, column: str, values: pa.Array, new_values: list, sets: dict[str, str]) -> int:
    """UPDATE `table` joining (v = old value, p = new value); return the rows changed.

    The SET expressions see the old row as `t` and the mapping as `m`.
    """
    mapping = pa.table({"v": values, "p": pa.array(new_values, type=pa.string())})
    name = f"_hd_protect_{column}"
    con.register(name, mapping)
    try:
        assignments = ", ".join(f"{_q(col)} = {expr}" for col, expr in sets.items())
        rel = con.sql(f"update {table} as t set {assignments} from {name} as m where t.{_q(column)} = m.v")
        return int(rel.fetchall()[0][0]) if rel is not None else 0
    finally:
        con.unregister(name)


def protect_table(con: duckdb.DuckDBPyConnection, table: str, *, keys: Keys,
                  id_columns: Sequence[str] = ("id_norm",), raw_id_columns: Sequence[str] = ("id_number",),
                  account_columns: Sequence[str] = (), masked_id_column: str | None = "id_masked") -> dict:
    """Pseudonymize, encrypt and mask the personal columns of `table` in place; return counts.

    `masked_id_column` (default ``id_masked``; None for none) is filled from the
    first ID column before it is pseudonymized, else from the first raw ID
    column.  Run it inside the caller's transaction for atomicity.  Returns
    ``{"table", "rows", "<column>": values changed…, "seconds", "rows_per_s"}``.

    Raises ProtectError when the table or a named column does not exist.
    """
    started = time.perf_counter()
    cols = _columns(con, table)
    for c in (*id_columns, *raw_id_columns, *account_columns):
        if c not in cols:
            raise ProtectError(f"表 {table} 没有要保护的列 {c}")
    added = []
    if masked_id_column and masked_id_column not in cols:
        added.append(masked_id_column)
    added += [f"{c}_masked" for c in account_columns if f"{c}_masked" not in cols]
    for c in added:
        con.sql(f"alter table {table} add column {_q(c)} varchar")
    out: dict = {"table": table}
    mcol = _q(masked_id_column) if masked_id_column else None

    plan = []  # (column, prefixes of already protected values, transform, SET expressions)
    for i, c in enumerate(id_columns):
        sets = {c: "m.p"}
        if mcol and i == 0:
            sets[masked_id_column] = f"coalesce(t.{mcol}, {_mask_id_sql('t.' + _q(c))})"
        plan.append((c, (PSEUDONYM_PREFIX,), keys.pseudonyms, sets))
    for i, c in enumerate(raw_id_columns):
        sets = {c: "m.p"}
        if mcol and i == 0:
            sets[masked_id_column] = f"coalesce(t.{mcol}, {_mask_id_sql('t.' + _q(c))})"
        plan.append((c, TOKEN_PREFIXES, keys.encrypt_many, sets))
    for c in account_columns:
        plan.append((c, TOKEN_PREFIXES, keys.encrypt_many, {c: "m.p", f"{c}_masked": _mask_account_sql("t." + _q(c))}))

    for c, prefixes, transform, sets in plan:  # one column at a time: its distinct values only in memory
        values = _distinct(con, table, c, prefixes)
        out[c] = _apply(con, table, c, values, transform(values), sets) if len(values) else 0

    seconds = time.perf_counter() - started
    out["rows"] = con.sql(f"select count(*) from {table}").fetchall()[0][0]
    out["seconds"] = round(seconds, 3)
    out["rows_per_s"] = round(out["rows"] / seconds) if seconds > 0 else None
    log.info("protected %s: %s", table, {k: v for k, v in out.items() if k != "table"})
    return out


def protect_parquet(src: Path, out: Path, *, keys: Keys, id_columns: Sequence[str] = ("id_norm",),
                    raw_id_columns: Sequence[str] = ("id_number",), account_columns: Sequence[str] = (),
                    masked_id_column: str | None = "id_masked", drop_rows: Sequence[int] = (),
                    threads: int = 1, memory_limit: str = "1GB", temp_directory: Path | None = None) -> dict:
    """Write `src` to `out` with its personal columns protected as `protect_table` would (set-based).

    Each column's distinct values are transformed once in Python; one DuckDB
    ``COPY`` joins them back and streams the rows to `out` (zstd Parquet),
    leaving out the rows at the 0-based positions `drop_rows` (rows validation
    quarantined).  `out` is replaced atomically.  Returns
    ``{"rows", "<column>": distinct values transformed…, "seconds"}``.

    Raises ProtectError when a named column is missing from `src`.
    """
    started = time.perf_counter()
    out = Path(out)
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit,
                                 **({"temp_directory": str(temp_directory)} if temp_directory else {})})
    try:
        con.sql("set preserve_insertion_order = true")
        source = "read_parquet('" + str(src).replace("'", "''") + "'"
        cols = {r[0]: r[1] for r in con.sql(f"describe select * from {source})").fetchall()}
        source += ", file_row_number = true)" if len(drop_rows) else ")"
        for c in (*id_columns, *raw_id_columns, *account_columns):
            if c not in cols:
                raise ProtectError(f"文件 {Path(src).name} 没有要保护的列 {c}")
        counts: dict = {}
        joins, replace, added = [], {}, {}
        # Python computes only the bytes (HMAC / AES-GCM, per distinct value); DuckDB formats them
        plan = ([(c, (PSEUDONYM_PREFIX,), keys.pseudonym_digests, f"'{PSEUDONYM_PREFIX}' || lower(hex({{}}))")
                 for c in id_columns]
                + [(c, TOKEN_PREFIXES, keys.encrypt_raw_many, f"'{keys.token_prefix}' || to_base64({{}})")
                   for c in (*raw_id_columns, *account_columns)])
        for i, (c, prefixes, transform, fmt) in enumerate(plan):
            values = con.sql(f"select distinct {_q(c)} as v from {source} "
                             f"where {_unprotected_filter(c, prefixes)}").to_arrow_table().column(0).combine_chunks()
            counts[c] = len(values)
            name = f"_hd_m{i}"
            con.register(name, pa.table({"v": values, "p": pa.array(transform(values), type=pa.binary())}))
            joins.append(f"left join {name} on {name}.v = s.{_q(c)}")
            replace[c] = f"coalesce({fmt.format(name + '.p')}, s.{_q(c)})"
        if masked_id_column and masked_id_column not in cols:
            firsts = [f"s.{_q(c)}" for c in (*id_columns[:1], *raw_id_columns[:1])]
            if firsts:
                added[masked_id_column] = "coalesce(" + ", ".join(_mask_id_sql(c) for c in firsts) + ")"
        for c in account_columns:
            if f"{c}_masked" not in cols:
                added[f"{c}_masked"] = _mask_account_sql(f"s.{_q(c)}")
        where = ""
        if len(drop_rows):
            con.register("_hd_drop", pa.table({"n": pa.array(drop_rows, type=pa.int64())}))
            where = "where s.file_row_number not in (select n from _hd_drop)"
        select = ", ".join([f"{replace[n]} as {_q(n)}" if n in replace else f"s.{_q(n)}" for n in cols]
                           + [f"{expr} as {_q(n)}" for n, expr in added.items()])
        tmp = out.with_name(out.name + ".tmp")
        tmp.unlink(missing_ok=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            con.sql(f"copy (select {select} from {source} as s {' '.join(joins)} {where}) to "
                    f"'{str(tmp).replace(chr(39), chr(39) * 2)}' (format parquet, compression zstd, "
                    "compression_level 1)")
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        counts["rows"] = con.sql(f"select count(*) from read_parquet('{str(out).replace(chr(39), chr(39) * 2)}')"
                                 ).fetchall()[0][0]
    finally:
        con.close()
    counts["seconds"] = round(time.perf_counter() - started, 3)
    log.info("protected %s: %s", Path(src).name, counts)
    return counts


PROTECTED_SUFFIX = ".protected.parquet"
#: row groups of the protected staged rows: DuckDB's own size, so that `load` reads a file in parallel
#: (a small source in one 1 M-row group left one of the two threads idle: load +8 s at province size)
PROTECTED_ROW_GROUP_ROWS = 122_880
#: schema metadata of a protected twin: the distinct values each column had protected (JSON)
COUNTS_KEY = b"hedui.protected"


def protected_twin(staged: Path) -> Path:
    """Where staging writes the protected rows of the plain staged file `staged`."""
    staged = Path(staged)
    return staged.with_name(staged.name.removesuffix(".parquet") + PROTECTED_SUFFIX)


class StreamProtector:
    """Protects staged rows table by table as staging writes them, as `protect_parquet` would.

    Each column keeps a map of the distinct values seen so far (one pseudonym or
    token per distinct value of the column for the whole file, as GX's
    uniqueness checks and `protect_parquet` want); only a batch's *new* distinct
    values go to the crypto, the masks (SQL twins of the masking functions) are
    computed per distinct value of a table, each table is mapped with Arrow's
    dictionary encoding and ``take``.  `plain_columns` (None: all) are the
    columns the plain staged file keeps for validation; the protected rows go to
    `out` (see `protected_twin`).
    """

    row_group_rows = PROTECTED_ROW_GROUP_ROWS

    def __init__(self, keys: Keys, out: Path, *, plain_columns=None, id_columns: Sequence[str] = ("id_norm",),
                 raw_id_columns: Sequence[str] = ("id_number",), account_columns: Sequence[str] = (),
                 masked_id_column: str | None = "id_masked") -> None:
        self.keys, self.out = keys, Path(out)
        self.plain_columns = None if plain_columns is None else set(plain_columns)
        self.plan = ([(c, keys.pseudonym_digests, f"'{PSEUDONYM_PREFIX}' || lower(hex({{}}))") for c in id_columns]
                     + [(c, keys.encrypt_raw_many, f"'{keys.token_prefix}' || to_base64({{}})")
                        for c in (*raw_id_columns, *account_columns)])
        self.masked_id_column = masked_id_column
        self.id_firsts = [*id_columns[:1], *raw_id_columns[:1]]
        self.account_columns = tuple(account_columns)
        self.counts = {c: 0 for c, _, _ in self.plan}
        self._maps: dict[str, tuple[pa.Array, pa.Array]] = {}
        self._added: list[str] = []
        self._con: duckdb.DuckDBPyConnection | None = None

    def schema(self, schema: pa.Schema) -> pa.Schema:
        """The protected rows' schema for staged rows of `schema`.  Raises ProtectError for a missing column."""
        for c, _, _ in self.plan:
            if c not in schema.names:
                raise ProtectError(f"{self.out.name}: 没有要保护的列 {c}")
        self._added = ([self.masked_id_column] if self.masked_id_column and self.id_firsts
                       and self.masked_id_column not in schema.names else [])
        self._added += [f"{c}_masked" for c in self.account_columns if f"{c}_masked" not in schema.names]
        fields = [pa.field(f.name, pa.string()) if f.name in self.counts else f for f in schema]
        return pa.schema(fields + [pa.field(n, pa.string()) for n in self._added])

    def metadata(self) -> dict[bytes, bytes]:
        """The file metadata that keeps `counts` (the distinct values each column had protected)."""
        return {COUNTS_KEY: json.dumps(self.counts).encode()}

    def _sql(self, sql: str, table: pa.Table) -> pa.Table:
        if self._con is None:
            self._con = duckdb.connect(config={"threads": 1})
        self._con.register("_hd_t", table)
        try:
            return self._con.sql(sql).to_arrow_table()
        finally:
            self._con.unregister("_hd_t")

    def _masked(self, mask, values: pa.Array) -> pa.Array:
        """`mask` (`_mask_id_sql` or `_mask_account_sql`) of each value: numpy for plain ASCII values, else SQL."""
        fast = {_mask_id_sql: mask_ids, _mask_account_sql: mask_accounts}[mask](values)
        return fast if fast is not None else self._sql(f"select {mask('v')} from _hd_t", pa.table({"v": values})
                                                       ).column(0).combine_chunks()

    def _map(self, column: str, transform, fmt: str, array, mask=None) -> tuple[pa.Array, pa.Array | None]:
        """`array` (an Arrow string array, or one dictionary-encoded) protected by the column's map (new
        distinct values added to it), and — with `mask` (the SQL twin of a masking function, of a column
        name) — its masked plain values, computed once per distinct value of the array.

        The map is two Arrow arrays (values, protected values): a table's distinct values are looked up
        in C++ (``index_in``), only the new ones go to Python (the crypto) and are appended.  Masks are
        not kept in it (a province-size source has millions of distinct IDs: memory of the workers).
        """
        if pa.types.is_dictionary(array.type):  # its dictionary may repeat values or hold a null: made unique
            unique = pc.dictionary_encode(array.dictionary)
            enc = pa.DictionaryArray.from_arrays(pc.take(unique.indices, array.indices), unique.dictionary)
        else:
            enc = pc.dictionary_encode(array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array)
        values = enc.dictionary
        known, done = self._maps.get(column, (pa.array([], pa.string()), pa.array([], pa.string())))
        where = positions(values, known)
        missing = where < 0
        new = values.filter(pa.array(missing))
        if len(new):  # Python computes the bytes (HMAC / AES-GCM), DuckDB formats them (as protect_parquet)
            raw = transform(new)
            self.counts[column] += len(raw) - raw.count(None)
            formatted = pseudonym_strings(PSEUDONYM_PREFIX, raw) if fmt.startswith(f"'{PSEUDONYM_PREFIX}'") else None
            if formatted is None:  # tokens (base64 of varying lengths), or a null / a pseudonym already among them
                formatted = self._sql(f"select coalesce({fmt.format('p')}, v) from _hd_t",
                                      pa.table({"v": new, "p": pa.array(raw, pa.binary())})).column(0).combine_chunks()
            where[missing] = np.arange(len(known), len(known) + len(new))
            known, done = pa.concat_arrays([known, new.cast(pa.string())]), pa.concat_arrays([done, formatted])
            self._maps[column] = (known, done)
        masked = None
        if mask:
            masked = pc.take(self._masked(mask, values), enc.indices)
        return pc.take(done, pc.take(pa.array(where), enc.indices)), masked

    def __call__(self, table: pa.Table, encoded: dict | None = None) -> pa.Table:
        """`table` (staged rows) with its personal columns protected and the masked columns added.

        `encoded` may give some of those columns already dictionary-encoded (the same values: staging
        has its IDs so), which saves encoding them again."""
        masks_of = {}  # column → the SQL twin of its masking function (the masked columns of the plain values)
        id_masked = self.masked_id_column in self._added
        if id_masked:  # the other ID columns' masks only fill its gaps: computed there alone (below)
            masks_of[self.id_firsts[0]] = _mask_id_sql
        masks_of.update((c, _mask_account_sql) for c in self.account_columns if f"{c}_masked" in self._added)
        masks, plain = {}, {}
        for c, transform, fmt in self.plan:
            plain[c] = column = encoded[c] if encoded and c in encoded else table.column(c)
            protected, masks[c] = self._map(c, transform, fmt, column, masks_of.get(c))
            table = table.set_column(table.schema.get_field_index(c), c, protected)
        for name in self._added:
            if name == self.masked_id_column:
                column = masks[self.id_firsts[0]]
                for c in self.id_firsts[1:]:  # coalesce(mask(first), mask(next)…): each only on the rows still null
                    if pc.any(gaps := pc.is_null(column)).as_py():
                        masked = self._masked(_mask_id_sql, pc.cast(plain[c].filter(gaps), pa.string()))  # those rows
                        column = pc.replace_with_mask(column, gaps, masked)
            else:
                column = masks[name.removesuffix("_masked")]
            table = table.append_column(pa.field(name, pa.string()), column)
        return table

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def staging_protector(source: str, plain: Path, plain_columns, keys: Keys | None = None) -> StreamProtector:
    """The `StreamProtector` of a source's staging pass: the plain staged file `plain` keeps
    `plain_columns`, the protected rows go to its `protected_twin`; `keys` default to `load_keys()`."""
    return StreamProtector(keys or load_keys(), protected_twin(plain), plain_columns=plain_columns,
                           **source_columns(source))


def passed_rows(staged: Path, bad_positions, out: Path, **protect_kwargs) -> dict:
    """`out` := the protected rows of the plain staged file `staged` less those at `bad_positions`.

    From the protected twin staging wrote (`protected_twin`; a hard link when no row
    is left out, else the twin's rows less those), or — without a twin of as many rows —
    `protect_parquet(staged, out, drop_rows=bad_positions, **protect_kwargs)`.
    Returns ``{"rows", "<column>": distinct values protected…}``.
    """
    twin = protected_twin(staged)
    if not twin.is_file() or (Path(staged).is_file()  # none: GX was fed by the staging pass, the twin is all
                              and pq.ParquetFile(twin).metadata.num_rows != pq.ParquetFile(staged).metadata.num_rows):
        return protect_parquet(staged, out, drop_rows=list(bad_positions), **protect_kwargs)
    started = time.perf_counter()
    parquet = pq.ParquetFile(twin)
    counts = json.loads((parquet.metadata.metadata or {}).get(COUNTS_KEY, b"{}"))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    bad = np.unique(np.asarray(bad_positions, dtype=np.int64))
    try:
        if len(bad) == 0:
            try:
                os.link(twin, tmp)  # the twin is never modified in place: a hard link is a copy
            except OSError:
                shutil.copyfile(twin, tmp)
        else:
            with pq.ParquetWriter(tmp, parquet.schema_arrow, compression="zstd", compression_level=1,
                                  write_statistics=False) as writer:
                offset = 0
                for batch in parquet.iter_batches(batch_size=1_000_000):
                    lo, hi = np.searchsorted(bad, [offset, offset + batch.num_rows])
                    keep = np.ones(batch.num_rows, dtype=bool)
                    keep[bad[lo:hi] - offset] = False
                    writer.write_table(pa.Table.from_batches([batch]).filter(pa.array(keep)),
                                       row_group_size=PROTECTED_ROW_GROUP_ROWS)
                    offset += batch.num_rows
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    counts["rows"] = parquet.metadata.num_rows - len(bad)
    counts["seconds"] = round(time.perf_counter() - started, 3)
    log.info("protected %s: %s", Path(staged).name, counts)
    return counts


def source_columns(source: str) -> dict[str, tuple[str, ...]]:
    """The personal columns of a staged source, from its header map: ``raw_id_columns``, ``account_columns``."""
    from connectors import load_map

    smap = load_map(source)
    return {
        "raw_id_columns": tuple(c.column for c in smap.columns if c.type == "id"),
        "account_columns": tuple(c.column for c in smap.columns if c.type == "account"),
    }


def protect_source(con: duckdb.DuckDBPyConnection, source: str, keys: Keys) -> dict:
    """`protect_table` on `stg_<source>` with the ID and account columns its header map declares."""
    return protect_table(con, f"stg_{source}", keys=keys, id_columns=("id_norm",), **source_columns(source))


# Derived tables that carry a member's normalized ID (pseudonymized with the same key, so joins still match).
MEMBER_ID_TABLES: dict[str, tuple[str, ...]] = {
    "links": ("member_id",),
    "review_queue": ("member_id",),
    "findings": ("member_id",),
    "facts": ("applicant_id", "member_id"),
    "changes": ("member_id",),
    "quarantine_links": ("member_id",),
    "evidence_gaps": ("member_id",),
    "evidence_completeness": ("member_id",),
}


def protect_working_tables(con: duckdb.DuckDBPyConnection, keys: Keys, sources: Sequence[str]) -> dict:
    """Protect every `stg_<source>` of `sources` and the member ids of the derived tables that exist.

    Idempotent: only values not yet protected change, so it also migrates a
    working database filled before protection existed.  Run it inside the
    caller's transaction.  Returns {table: protect_table counts}.
    Raises ProtectError when a staged table lacks a column its header map declares.
    """
    out = {}
    for source in sources:
        if _exists(con, f"stg_{source}"):
            out[f"stg_{source}"] = protect_source(con, source, keys)
    for table, columns in MEMBER_ID_TABLES.items():
        if _exists(con, table):
            out[table] = protect_table(con, table, keys=keys, id_columns=columns, raw_id_columns=(),
                                       masked_id_column=None)
    return out


def _exists(con, table: str) -> bool:
    return bool(con.sql("select count(*) from duckdb_tables() where table_name = ? and not temporary",
                        params=[table]).fetchall()[0][0])


def reveal(token: str, *, keys: Keys, log_: object, actor: str, subject: str, purpose: str) -> str:
    """Decrypt one value for a person allowed by law to see it, writing an `unmasked_view` entry first.

    `log_` is an :class:`hedui.audit.auditor.AuditLog`.  The entry names the actor, the
    subject (e.g. a request id and member pseudonym, never the value) and the purpose.
    Raises DecryptionError when the token is bad (the attempt stays logged).
    """
    log_.append(actor=actor, action="unmasked_view", subject=subject, details={"purpose": purpose})
    return keys.decrypt(token)
