"""The staged Parquet files' writer: a file written table by table, moved in place on commit."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 1_000_000
#: columns with (nearly) one value per row: written without a dictionary (the writer would build one
#: per column chunk only to drop it; without: less CPU and smaller files, the same values)
UNIQUE_COLUMNS = frozenset({"record_id", "row_no", "file_row_number"})
#: rows of the first table written whose distinct values decide which other string columns are
#: (nearly) unique too (a public security or bank delivery's IDs, names, addresses, account numbers,
#: and their pseudonyms and tokens): a sample, as counting a whole table's distinct values costs
#: as much as the dictionary it would spare
SAMPLE_ROWS = 20_000
#: a sampled column with more distinct values than this share of the sample is written without a dictionary
#: (public security names and addresses too: ≈ 20 % less writer CPU there; social insurance and tax keep theirs)
UNIQUE_SHARE = 0.5


def dictionary_columns(table: pa.Table, exclude=UNIQUE_COLUMNS) -> list[str]:
    """The columns of ``table`` worth a Parquet dictionary: all but ``exclude`` and the plain strings
    with more distinct values than :data:`UNIQUE_SHARE` of its first :data:`SAMPLE_ROWS` rows.  Which encoding a column gets changes the
    file's size and the writer's CPU, never its values: a dictionary that outgrows the writer's page
    limit (1 MB) falls back to plain pages for the rest of the column chunk anyway, so a many-valued
    column paid for hashing a dictionary per row group only to drop it."""
    sample = table.slice(0, SAMPLE_ROWS)
    out = []
    for field in table.schema:
        if field.name in exclude:
            continue
        if (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)) and sample.num_rows >= 1000:
            if pc.count_distinct(sample.column(field.name)).as_py() > UNIQUE_SHARE * sample.num_rows:
                continue
        out.append(field.name)
    return out


class StagedWriter:
    """A Parquet file written table by table to ``<out>.tmp`` and moved in place on commit; small
    tables are gathered into row groups of :data:`ROW_GROUP_ROWS` (readers work per row group).

    No Arrow schema is stored in the file: readers get each column's type from its Parquet type,
    so the lineage columns (dictionary-encoded, :data:`hedui.steps.ingest.LINEAGE_COLUMNS`) read back as the
    plain strings they are (every other staged type — string, int32, double, date32 — reads back
    as written).  The Parquet writer is made at the first flush, its dictionary columns chosen from
    the first rows (:func:`dictionary_columns`)."""

    def __init__(self, out: Path, schema: pa.Schema, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self.out, self.row_group_rows, self.schema = out, row_group_rows, schema
        self.tmp = out.with_name(out.name + ".tmp")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.rows = 0
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._metadata: dict = {}

    def _open(self, first: pa.Table | None) -> pq.ParquetWriter:
        if self._writer is None:
            names = (dictionary_columns(first) if first is not None
                     else [n for n in self.schema.names if n not in UNIQUE_COLUMNS])
            self._writer = pq.ParquetWriter(str(self.tmp), self.schema, compression="zstd", compression_level=1,
                                            write_statistics=False, store_schema=False, use_dictionary=names)
        return self._writer

    def add_key_value_metadata(self, metadata: dict) -> None:
        """Key-value metadata for the file's footer (written on commit)."""
        self._metadata.update(metadata)

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.pending.append(table)
            self.pending_rows += table.num_rows
            self.rows += table.num_rows
            if self.pending_rows >= self.row_group_rows:
                self._flush()

    def _flush(self) -> None:
        if self.pending:
            table = pa.concat_tables(self.pending)
            self._open(table).write_table(table, row_group_size=self.row_group_rows)
            self.pending, self.pending_rows = [], 0

    def commit(self) -> None:
        self._flush()
        writer = self._open(None)
        if self._metadata:
            writer.add_key_value_metadata(self._metadata)
        writer.close()
        self.tmp.replace(self.out)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.tmp.unlink(missing_ok=True)
