"""Generic probabilistic record linkage (Fellegi–Sunter) in DuckDB.

The public surface::

    LinkSpec.from_yaml(path) / LinkSpec.from_dict(d)   the settings (docs/linkage.md)
    link_tables(con, left, right, spec, out_table)     link two DuckDB tables → LinkResult
    waterfall(row)                                     the parts of a pair's match weight
    cli_link(left_path, right_path, spec_path, out)    CSV/Parquet in, pairs out
    name_keys(names)                                   Chinese name keys (normalized, pinyin, surname)
"""

from matching.linkage.exceptions import BlockingError, InputError, LinkageError, SpecError
from matching.linkage.linker import LinkModel, LinkResult, cli_link, link_tables
from matching.linkage.names import name_keys, normalize_name
from matching.linkage.predict import waterfall
from matching.linkage.spec import LinkSpec

__all__ = [
    "BlockingError",
    "InputError",
    "LinkModel",
    "LinkResult",
    "LinkSpec",
    "LinkageError",
    "SpecError",
    "cli_link",
    "link_tables",
    "name_keys",
    "normalize_name",
    "waterfall",
]
