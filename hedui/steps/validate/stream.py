"""GX fed by the staging pass: `stage_writer`, the plain-writer hook of `stage_source`.

`StreamValidation` (in `hedui.steps.validate.check`: the body of `validate_source`) validates a
source's staged rows one chunk at a time (`chunk`) and, after the last one, runs the suite's row-count check, writes the passed rows and the quarantine and
saves GX's merged result (`finish`).  `validate_source` feeds it the chunks of the staged file;
`hedui.pipeline.ingest_and_validate` feeds it the staged rows as staging produces them
(`stage_writer`: the plain-writer hook of `hedui.steps.ingest.stage_source`), so no plain staged file
is written and read back.  Either way GX sees the same chunks with the same types: a column's
type as the staged file reads back (lineage columns plain strings), the few-valued text columns
dictionary-encoded as `read_dictionary` gives them.

The row-count check (`expected_rows`: the rows the `.ok` markers announce less those staging
quarantined, known only after staging) runs once, after the last chunk, on a frame of as many
rows as the chunks held (no columns: it counts rows); GX's merged result sums the chunks' counts
the same way.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hedui.steps.validate.check import CHUNK_ROWS, StreamValidation


def stage_writer(stream: StreamValidation):
    """The plain-writer hook of `stage_source` (``plain=``, in place of a `StagedWriter`): the staged
    rows go to `stream` (GX) in chunks, nothing is written."""
    return lambda out, schema: _Chunker(stream, schema)


def read_back(schema: pa.Schema) -> pa.Schema:
    """The types a staged file written from rows of `schema` reads back with (it stores no Arrow schema:
    dictionary-encoded columns read back as their values' type; see `StagedWriter`)."""
    return pa.schema([pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema])


class _Chunker:
    """Gathers staged tables into GX's chunks of `chunk_rows` rows, typed as the file reads them back
    (`read_back`, the few-valued text columns dictionary-encoded as `read_dictionary` gives them).
    A chunk is the staged tables' own Arrow chunks, sliced, not copied into one block (session 33:
    ≈ −0.28 CPU-s per M rows, BENCHMARKS.md); a dictionary-encoded column has one dictionary
    over its chunks (tests/test_contract_gxchunk.py).

    The dictionaries hold the same values for the rows; which unused values they hold besides may
    differ (a file's dictionary is its row group's, or the lineage ENUM's as staging wrote it; a
    streamed text column's is the chunk's): unused categories of a pandas Categorical, which GX's
    results do not show (compared in tests/test_contract_gxstream.py and at tenth size)."""

    def __init__(self, stream: StreamValidation, schema: pa.Schema) -> None:
        self.stream = stream
        plain = read_back(schema)
        stream.start(plain)
        self.columns = stream.read_columns
        categorical = set(stream.categorical)
        self.schema = pa.schema([pa.field(n, pa.dictionary(pa.int32(), pa.string())) if n in categorical
                                 else plain.field(n) for n in self.columns])
        self.pending: list[pa.Table] = []
        self.pending_rows = self.rows = 0

    def _typed(self, table: pa.Table) -> pa.Table:
        arrays = []
        for field in self.schema:
            col = table.column(field.name)
            if pa.types.is_dictionary(col.type) and pa.types.is_dictionary(field.type):
                col = pc.cast(col, field.type)  # the lineage ENUM's dictionary, as the file's writer wrote it
            elif pa.types.is_dictionary(col.type):
                col = pc.cast(col, col.type.value_type)
            elif pa.types.is_dictionary(field.type):
                col = pc.dictionary_encode(col)  # one dictionary for all the column's chunks
            arrays.append(col)
        return pa.table(arrays, schema=self.schema)

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        self.pending.append(table.select(self.columns))
        self.pending_rows += table.num_rows
        self.rows += table.num_rows
        size = self.stream.chunk_rows
        while self.pending_rows >= size:
            gathered = pa.concat_tables(self.pending)
            # the staged tables' chunks as they are, sliced (no copy into one block: GX's frame holds Arrow
            # text as chunked arrays, and pandas copies the other columns into one block each anyway)
            chunk, rest = self._typed(gathered.slice(0, size)), gathered.slice(size)
            self.pending, self.pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
            del gathered  # only the chunk's slices and the rest hold the staged tables while GX runs
            self.stream.chunk(chunk)

    def commit(self) -> None:
        if self.pending or not self.rows:  # an empty delivery: one empty chunk (GX still runs)
            gathered = pa.concat_tables(self.pending) if self.pending else self.schema.empty_table()
            self.stream.chunk(self._typed(gathered))
            self.pending, self.pending_rows = [], 0

    def abort(self) -> None:
        self.pending, self.pending_rows = [], 0


__all__ = ["CHUNK_ROWS", "StreamValidation", "read_back", "stage_writer"]
