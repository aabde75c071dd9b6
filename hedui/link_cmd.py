"""`hedui link` (a developer tool): its errors in Chinese like the rest of the CLI.

The linker (`matching.linkage`) is a library and speaks English; what it refuses is said here in Chinese,
naming the file and what to do, with the linker's own words kept in brackets for the developer.
"""

from __future__ import annotations

from pathlib import Path

from hedui.errors import InputError

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".parquet", ".pq")
OUT_SUFFIXES = (".csv", ".parquet", ".pq")


def _check_paths(left: str, right: str, spec: str, out: str) -> None:
    for what, p in (("左表", left), ("右表", right)):
        path = Path(p)
        if not path.is_file():
            raise InputError(f"{what}文件 {p} 不存在或不是文件：请检查路径")
        if path.suffix.lower() not in TABLE_SUFFIXES:
            raise InputError(f"{what}文件 {p} 的格式无法识别：请用 .csv 或 .parquet 文件")
    if not Path(spec).is_file():
        raise InputError(f"匹配规则文件 {spec} 不存在或不是文件：请检查 --spec 的路径（写法见 docs/linkage.md）")
    out_path = Path(out)
    if out_path.suffix.lower() not in OUT_SUFFIXES:
        raise InputError(f"输出文件 {out} 的扩展名应为 .csv 或 .parquet（--out）")
    if not out_path.parent.is_dir():
        raise InputError(f"输出文件 {out} 所在的目录不存在：请先创建该目录，或换一个 --out 路径")
    if out_path.is_dir():
        raise InputError(f"输出文件 {out} 是一个目录：请给出文件名，如 {Path(out) / 'pairs.csv'}")
    for what, p in (("左表", left), ("右表", right), ("匹配规则", spec)):
        if out_path.resolve() == Path(p).resolve():  # `--out left.csv` (or a link to it) wrote the pairs over it
            raise InputError(f"输出文件 {out} 就是{what}文件 {p}：匹配结果会覆盖输入，未写入任何文件；请换一个 --out 路径")


def run_link(left: str, right: str, spec: str, out: str):
    """Link as `matching.linkage.cli_link` does; every refusal an InputError in Chinese (exit 2)."""
    import duckdb

    from matching.linkage import cli_link
    from matching.linkage.exceptions import BlockingError, SpecError
    from matching.linkage.exceptions import InputError as LinkInput

    _check_paths(left, right, spec, out)
    try:
        result = cli_link(left, right, spec, out)
        if Path(out).suffix.lower() == ".csv":
            _neutralize_csv(Path(out))
        return result
    except SpecError as exc:
        raise InputError(f"匹配规则文件 {spec} 有误（{exc}）：请对照 docs/linkage.md 修改后重试") from None
    except BlockingError as exc:
        raise InputError(f"分块规则产生的候选对过多（{exc}）：请在匹配规则文件 {spec} 中收紧 blocking_rules") from None
    except LinkInput as exc:
        raise InputError(f"输入表无法按匹配规则 {spec} 使用（{exc}）：请检查 {left}、{right} 的列名与内容，"
                         "或修改匹配规则中的列名") from None
    except duckdb.Error as exc:
        raise InputError(f"匹配未完成（{type(exc).__name__}：{str(exc)[:200]}）：请检查输入文件 {left}、{right} "
                         f"与输出路径 {out}") from None


def _neutralize_csv(path: Path) -> None:
    """The pairs CSV as a spreadsheet may open it: a record id from an input table (`=HYPERLINK(…)`, `＋1`, `@SUM`)
    is written by DuckDB as it was, and Excel/WPS ran it as a formula; its cells go through `safe_csv` (plain
    numbers — weights, probabilities — stay as they are)."""
    import csv
    import os

    from hedui import safe_csv

    tmp = path.with_name(path.name + ".tmp")
    with open(path, encoding="utf-8", newline="") as src, open(tmp, "w", encoding="utf-8", newline="") as dst:
        safe_csv.writer(dst, lineterminator="\n").writerows(csv.reader(src))  # as DuckDB wrote it
    os.replace(tmp, path)
