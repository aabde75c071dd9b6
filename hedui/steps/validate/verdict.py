"""The source-level verdict on a delivery: rows per file and the shares the suite tolerates.

Every delivered data row ends either staged or quarantined; quarantined rows
include exact duplicates of a staged row (harmless: the first copy is
staged) and rows that could not be read.  :class:`FileCounts` holds the
numbers for one file, counted the same way as the run summary and
``reconciliation.csv``: ``delivered = staged + quarantined``, with
``duplicates`` a part of ``quarantined``.  :func:`threshold_reasons` judges
each file against the suite's ``meta.hedui.thresholds``:

* ``max_unreadable_share`` — rows the connector could not read (undecodable
  bytes, a wrong number of fields) over the rows delivered;
* ``max_quarantined_share`` — rows quarantined for any reason but being a
  duplicate, over the rows delivered.

* ``min_bad_rows`` — a file fails on a share only from this many bad rows on:
  a few quarantined records in a small file are weighed member by member
  (``RECORD_QUARANTINED`` holds exactly the households they may name), the
  shares catch a delivery that is broken as a whole.

A file over either share makes the source ``failed``; the Chinese reason
names the file, the numbers and the cause, e.g.
``tax_202611.csv：1,100 行中 550 行无法解码（50%），超过允许的 1%``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

#: quarantine rules in words, for the reasons and the Data Docs notes
RULE_ZH = {
    "read_error": "无法读取",
    "incomplete_file": "文件不完整",
    "duplicate": "重复",
    "bad_date": "日期无法识别",
    "bad_month": "月份无法识别",
    "bad_amount": "金额无法识别",
    "bad_number": "数值无法识别",
    "negative_balance": "余额为负",
    "scientific_account": "账号被转成科学计数法",
    "bad_id": "身份证号无法确定",
    "expect_column_values_to_not_be_null": "必填项为空",
    "expect_column_values_to_be_in_set": "取值不在允许范围",
    "expect_column_values_to_be_between": "数值或日期超出合理范围",
    "expect_column_values_to_match_regex": "格式不正确",
    "expect_column_values_to_be_unique": "重复的编号",
    "expect_column_pair_values_a_to_be_greater_than_b": "日期先后矛盾",
}
#: a read_error reason of a line with undecodable bytes (connectors/textfile.py) contains this
UNDECODABLE_MARK = "解码"


@dataclass
class FileCounts:
    """Rows of one delivered file: ``delivered = staged + quarantined`` (duplicates among the quarantined)."""

    file_name: str
    delivered: int = 0
    quarantined: int = 0
    duplicates: int = 0
    unreadable: int = 0
    undecodable: int = 0
    incomplete: bool = False
    by_rule: Counter = field(default_factory=Counter)

    @property
    def staged(self) -> int:
        return self.delivered - self.quarantined

    @property
    def short_name(self) -> str:
        return self.file_name.rsplit("/", 1)[-1]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["by_rule"] = dict(self.by_rule)
        d["staged"] = self.staged
        return d


def totals(files: Iterable[FileCounts]) -> dict[str, int]:
    """The source's rows: delivered, duplicates, quarantined (duplicates included) and staged."""
    files = list(files)
    delivered = sum(f.delivered for f in files)
    quarantined = sum(f.quarantined for f in files)
    return {"delivered": delivered, "duplicates": sum(f.duplicates for f in files),
            "quarantined": quarantined, "staged": delivered - quarantined}


def counts_zh(counts: dict[str, int]) -> str:
    """``交付 80 行：入库 40 行，隔离 40 行（其中重复 40 行）`` — the wording used everywhere."""
    dup = f"（其中重复 {counts['duplicates']:,} 行）" if counts.get("duplicates") else ""
    return (f"交付 {counts['delivered']:,} 行：入库 {counts['staged']:,} 行，"
            f"隔离 {counts['quarantined']:,} 行{dup}")


def file_counts(manifest: dict, quarantines: Iterable[Path | None]) -> list[FileCounts]:
    """Per delivered file of ``manifest`` (the connector's manifest as a dict), the rows it
    delivered and those the quarantine files (staging's, then validation's) hold, by rule.

    A row with several quarantine lines counts once, under its first line's rule (counted in
    DuckDB: a broken delivery may quarantine millions of rows)."""
    files = {f["file_name"]: FileCounts(f["file_name"], delivered=int(f.get("rows_read") or 0),
                                        incomplete=not f.get("complete", True))
             for f in manifest.get("files", [])}
    paths = [str(p) for p in quarantines if p is not None and Path(p).exists()]
    if paths:
        lines = " union all ".join(
            f"select {k} as k, file_name, row_no, rule, reason_zh from read_parquet(${k + 1})"
            for k in range(len(paths)))
        sql = (f"with lines as ({lines}), "
               "first as (select distinct on (file_name, row_no) * from lines order by file_name, row_no, k), "
               "final as (select file_name, rule, count(*) as n, "
               f"count(*) filter (where contains(reason_zh, ${len(paths) + 1})) as undecodable "
               "from first group by all) select * from final")
        con = duckdb.connect(":memory:", config={"threads": 1})
        try:
            rows = con.execute(sql, [*paths, UNDECODABLE_MARK]).fetchall()
        finally:
            con.close()
        for name, rule, n, undecodable in rows:
            fc = files.setdefault(name, FileCounts(name))
            fc.quarantined += n
            fc.by_rule[rule] += n
            if rule == "duplicate":
                fc.duplicates += n
            elif rule == "read_error":
                fc.unreadable += n
                fc.undecodable += undecodable
    return list(files.values())


def _pct(share: float, digits: int = 1) -> str:
    text = f"{share * 100:.{digits}f}".rstrip("0").removesuffix(".") if digits else f"{share * 100:.0f}"
    return f"{text}%"


def over_limit(share: float, limit: float) -> tuple[str, str]:
    """``share`` and ``limit`` as percentages with as many decimals as it takes for the share to read as more
    than the limit (7 of 349 rows over a 2 % limit: "2.01%", not "2%" over "2%")."""
    for digits in range(1, 5):
        if float(f"{share * 100:.{digits}f}") > float(f"{limit * 100:.{digits}f}"):
            break
    return _pct(share, digits), _pct(limit, digits)


def threshold_reasons(files: Iterable[FileCounts], thresholds: dict) -> list[str]:
    """Chinese reasons, one per file over a share of ``thresholds`` (incomplete files are judged
    by the delivery check instead, and files without rows by the row-count rule)."""
    max_unreadable = thresholds.get("max_unreadable_share")
    max_quarantined = thresholds.get("max_quarantined_share")
    min_bad = thresholds.get("min_bad_rows", 1)
    reasons = []
    for f in files:
        if f.incomplete or f.delivered <= 0:
            continue
        if max_unreadable is not None and f.unreadable >= min_bad and f.unreadable / f.delivered > max_unreadable:
            what = "无法解码" if f.undecodable == f.unreadable else (
                f"无法读取（其中 {f.undecodable:,} 行无法解码）" if f.undecodable else "无法读取（字段数不符或引号不成对）")
            shown, allowed = over_limit(f.unreadable / f.delivered, max_unreadable)
            reasons.append(f"{f.short_name}：{f.delivered:,} 行中 {f.unreadable:,} 行{what}（{shown}），超过允许的 {allowed}")
            continue
        bad = f.quarantined - f.duplicates
        if max_quarantined is not None and bad >= min_bad and bad / f.delivered > max_quarantined:
            causes = "、".join(f"{RULE_ZH.get(rule, rule)} {n:,} 行" for rule, n in f.by_rule.most_common()
                              if rule != "duplicate")
            shown, allowed = over_limit(bad / f.delivered, max_quarantined)
            reasons.append(f"{f.short_name}：{f.delivered:,} 行中 {bad:,} 行被隔离（{shown}），"
                           f"超过允许的 {allowed}；原因：{causes}（逐行原因见隔离表）")
    return reasons
