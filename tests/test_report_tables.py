"""The record tables of household pages: where a member's and a table's rows start (sqlhtml._differs)."""

from __future__ import annotations

import sys

import pyarrow as pa
import pytest


@pytest.mark.parametrize("values", [
    [1, 1, 2, 2, 2, 3, 1],                                     # integers
    ["360102199001011234", "360102199001011234", "36010219900101123X", "360102199001011234"],  # IDs
    ["a", "ab", "ab", "b", "", "", "a"],                       # texts of several lengths
    ["a", None, None, "a", "a", None],                         # NULLs: a NULL equals a NULL
    ["甲乙", "甲乙", "甲丙", "甲丙"],                              # multi-byte texts of one length
    [7],
])
def test_differs_says_where_a_value_changes(values):
    from hedui.steps.report.sqlhtml import _differs

    for column in (pa.array(values), pa.array(values).slice(1) if len(values) > 1 else pa.array(values)):
        expected = [a != b for a, b in zip(column.to_pylist()[1:], column.to_pylist()[:-1], strict=True)]
        assert _differs(column).tolist() == expected


def test_differs_does_not_import_pandas_into_a_worker():
    import subprocess

    code = ("import sys, duckdb; from hedui.steps.report.sqlhtml import _differs; "
            "t = duckdb.connect().sql(\"select * from (values (1, 'ab', 'a'), (2, 'ab', null), (2, 'cd', 'abc')) "
            "as v(i, s, n)\").to_arrow_table(); "
            "[_differs(t.column(c).combine_chunks()) for c in ('i', 's', 'n')]; print('pandas' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
