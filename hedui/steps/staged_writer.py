"""The staged Parquet files' writer: a file written table by table, moved in place on commit."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 1_000_000
#: columns with (nearly) one value per row: written without a dictionary (the writer would build one
#: per column chunk only to drop it; without: less CPU and smaller files, the same values)
UNIQUE_COLUMNS = frozenset({"record_id", "row_no", "file_row_number"})


class StagedWriter:
    """A Parquet file written table by table to ``<out>.tmp`` and moved in place on commit; small
    tables are gathered into row groups of :data:`ROW_GROUP_ROWS` (readers work per row group).

    No Arrow schema is stored in the file: readers get each column's type from its Parquet type,
    so the lineage columns (dictionary-encoded, :data:`hedui.steps.ingest.LINEAGE_COLUMNS`) read back as the
    plain strings they are (every other staged type — string, int32, double, date32 — reads back
    as written)."""

    def __init__(self, out: Path, schema: pa.Schema, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self.out, self.row_group_rows = out, row_group_rows
        self.tmp = out.with_name(out.name + ".tmp")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.rows = 0
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.writer = pq.ParquetWriter(str(self.tmp), schema, compression="zstd", compression_level=1,
                                       write_statistics=False, store_schema=False,
                                       use_dictionary=[n for n in schema.names if n not in UNIQUE_COLUMNS])

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.pending.append(table)
            self.pending_rows += table.num_rows
            self.rows += table.num_rows
            if self.pending_rows >= self.row_group_rows:
                self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.concat_tables(self.pending), row_group_size=self.row_group_rows)
            self.pending, self.pending_rows = [], 0

    def commit(self) -> None:
        self._flush()
        self.writer.close()
        self.tmp.replace(self.out)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)
