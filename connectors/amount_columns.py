"""Second columns of one value: an amount's parts (``活期余额`` and ``定期余额`` beside or instead of ``余额``) and its value in a
foreign currency (``余额（美元）``, ``外币余额`` beside ``余额``), read per batch by :class:`connectors.raw.RawWriter`.

- **parts** (:attr:`connectors.maps.HeaderMatch.parts`): where the amount's own cell is empty (or its column is not
  delivered), its value is the sum of its parts when every part is given (written as yuan: ``30100.0元``); a part left
  empty leaves it unknown (empty is never zero).  Where the amount is given it is the total: a row whose amount is
  below the sum of the parts given gets a read error (quarantine): which is the account's value is not known, and the
  smaller must never be taken.  An unreadable part is a read error too.
- **foreign** (:attr:`connectors.maps.HeaderMatch.foreign_at`): beside the yuan column of the same meaning, a row
  whose foreign cell holds a value other than zero (or an unreadable one) gets a read error: a balance in dollars
  cannot be weighed in yuan, and the yuan column alone would undercount it.  Empty, ``0`` and the words for none
  (``无``, ``-``…) are no foreign value.  (Without the yuan column the amount is simply not delivered: unknown.)

- **periods** (:attr:`connectors.maps.HeaderMatch.periods`): a month given as its period's two ends (``所属期起``,
  ``所属期止``), where the month's own cell is empty or not delivered, is read as one period ``起至止`` (staging's
  ``hd_month``: the month both ends fall in, else none: quarantined).  One end empty: unknown.

Amounts are parsed here as staging parses them (``hd_amount``: width folded, whitespace, a leading ``¥``/``人民币``/``RMB``,
an accountant's negative,
thousands separators, a trailing unit that wins over the header's), vectorized in polars.
"""

from __future__ import annotations

import polars as pl

from connectors.maps import HeaderMatch, SourceMap

#: a cell that says there is no value (as hd_none in sql/macros.sql, whitespace removed, upper-case)
NONE_WORDS = ["无", "暂无", "空", "-", "－", "—", "——", "--", "―", "/", "／", "\\", "N/A", "NA", "NULL"]
_UNITS = "万元人民币|万人民币|万元|万|元人民币|元|人民币|RMB|CNY"
_UNIT = rf"^(.*?)({_UNITS})?$"
#: after the number as a cheque or a receipt writes it (25000元整, 1,234.00元（人民币）, 12(万元)): as
#: matching.normalize.AMOUNT_TAILS (connectors do not import matching; test_contract_traps26 AY10 holds them equal)
AMOUNT_TAILS = (("^(.*[0-9.)元万币整BY])。$", "${1}"), ("^([^。]*[0-9])。([0-9][^。]*)$", "${1}.${2}"),
                (f"^(.*[0-9.](?:{_UNITS}))整$", "${1}"), (r"^(.*[0-9.](?:万元|万|元))\((?:人民币|RMB|CNY)\)$", "${1}"),
                (r"^(.*[0-9.])\((?:人民币|RMB|CNY|人民币元|元人民币)\)$", "${1}元"),
                (r"^(.*[0-9.])\((万元人民币|万人民币|万元|万|元)\)$", "${1}${2}"))
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,2})?$"
_THOUSANDS = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$"


def _text(col: str) -> pl.Expr:
    """A cell folded (NFKC), without whitespace, the traditional 萬 as 万; null when empty."""
    t = pl.col(col).cast(pl.String).str.normalize("NFKC").str.replace_all(r"[\s\u00a0\u3000\ufeff\u200b]+", "")
    t = t.str.replace_all("萬", "万").str.replace_all("幣", "币")
    return pl.when(t == "").then(None).otherwise(t)


def _none(col: str) -> pl.Expr:
    """The cell is empty or a word for none."""
    t = _text(col)
    return t.is_null() | t.str.to_uppercase().is_in(NONE_WORDS)


def _yuan(col: str, scale: float) -> pl.Expr:
    """The cell as yuan (the column's ``scale`` unless the cell names its unit); null when empty or unreadable."""
    # as matching.normalize.amount_text: a currency mark (RMB/CNY too) before it dropped, an accountant's negative
    # ((1,234.00), 1234-) as a minus sign (test_contract_traps25 TT01/TT02)
    t = _text(col).str.to_uppercase()
    for tail, to in AMOUNT_TAILS:  # 25000元整, 1,234.00元（人民币） (test_contract_traps26 AY01)
        t = t.str.replace(tail, to)
    t = t.str.replace(r"^([+-]?\(?)(¥|人民币|RMB|CNY)", "${1}")
    t = t.str.replace(rf"^\(([0-9.,]+({_UNITS})?)\)({_UNITS})?$", "-${1}${3}")
    t = t.str.replace(rf"^([0-9][0-9.,]*)-({_UNITS})?$", "-${1}${2}")
    number, unit = t.str.extract(_UNIT, 1), t.str.extract(_UNIT, 2)
    number = pl.when(number.str.contains(_THOUSANDS)).then(number.str.replace_all(",", "")).otherwise(number)
    value = pl.when(number.str.contains(_NUMBER)).then(number.cast(pl.Float64, strict=False))
    factor = pl.when(unit.str.starts_with("万")).then(10000.0).when(unit.is_not_null() & (unit != "")).then(1.0)
    return value * factor.otherwise(scale)


def _add_error(batch: pl.DataFrame, errors: list[pl.Expr]) -> pl.DataFrame:
    if not errors:
        return batch
    message = pl.concat_str(errors, separator="；", ignore_nulls=True)
    message = pl.when(message != "").then(
        pl.format("第{}行{}，该行隔离待查；请部门核对后重新交付", pl.col("_row_no"), message))
    return batch.with_columns(_err=pl.coalesce(pl.col("_err"), message))


def read_second_columns(batch: pl.DataFrame, match: HeaderMatch, smap: SourceMap,
                        sources: dict[str, str]) -> tuple[pl.DataFrame, dict[str, str]]:
    """``(batch with a read error on the rows a part or a foreign column makes unreadable, {column: the positional
    column its value is read from})``: ``sources`` (the twins' columns) updated with the summed parts' columns."""
    if not (match.parts or match.foreign_at or match.periods) or batch.height == 0:
        return batch, sources
    by_column = {c: i for i, c in enumerate(match.columns) if c is not None}
    errors: list[pl.Expr] = []
    sources = dict(sources)
    for column in dict.fromkeys(p[1] for p in match.parts):
        parts = [(f"f{j}", scale, shown) for j, c, scale, shown in match.parts if c == column and f"f{j}" in batch.columns]
        if not parts:
            continue
        names = "、".join(f"“{shown}”" for _, _, shown in parts)
        values = [_yuan(f, scale) for f, scale, _ in parts]
        for (f, _, shown), v in zip(parts, values, strict=True):
            errors.append(pl.when(~_none(f) & v.is_null()).then(
                pl.format("“{}”值“{}”无法识别为金额", pl.lit(shown), pl.col(f))))
        given = pl.sum_horizontal([pl.when(_none(f)).then(None).otherwise(v) for (f, _, _), v in zip(parts, values,
                                                                                                      strict=True)])
        every = pl.all_horizontal([~_none(f) for f, _, _ in parts])
        total = pl.when(every).then(pl.format("{}元", pl.sum_horizontal(values).round(6)))
        own = sources.get(column) or (f"f{by_column[column]}" if column in by_column else None)
        name = f"_parts_{column}"
        if own is None or own not in batch.columns:
            batch = batch.with_columns(total.alias(name))
        else:
            mine = _yuan(own, match.scales.get(column, smap.spec(column).default_scale))
            # a negative total ((25,000.00)) is quarantined by staging as the negative it is, not compared here
            errors.append(pl.when(~_none(own) & (mine >= 0) & (mine + 0.005 < given)).then(pl.format(
                "“{}”值“{}”小于{}之和{}元，无法确定其值", pl.lit(smap.spec(column).header), pl.col(own), pl.lit(names),
                given.round(2))))
            batch = batch.with_columns(pl.when(_none(own)).then(total).otherwise(pl.col(own)).alias(name))
        sources[column] = name
    for j, column, shown in match.foreign_at:
        f = f"f{j}"
        if column not in by_column or f not in batch.columns:
            continue
        errors.append(pl.when(~_none(f) & (_yuan(f, 1.0).is_null() | (_yuan(f, 1.0) != 0))).then(pl.format(
            "“{}”值“{}”以外币计，无法换算为人民币元，“{}”不能代表其全部", pl.lit(shown), pl.col(f),
            pl.lit(smap.spec(column).header))))
    for column in dict.fromkeys(p[1] for p in match.periods):
        starts = [f"f{j}" for j, c, start, _ in match.periods if c == column and start and f"f{j}" in batch.columns]
        ends = [f"f{j}" for j, c, start, _ in match.periods if c == column and not start and f"f{j}" in batch.columns]
        if not (starts and ends):
            continue
        first, last = (pl.coalesce([pl.when(_none(f)).then(None).otherwise(pl.col(f)) for f in fs]) for fs in (starts, ends))
        period = pl.when(first.is_not_null() & last.is_not_null()).then(pl.format("{}至{}", first, last))
        own = sources.get(column) or (f"f{by_column[column]}" if column in by_column else None)
        name = f"_period_{column}"
        if own is None or own not in batch.columns:
            batch = batch.with_columns(period.alias(name))
        else:
            batch = batch.with_columns(pl.when(_none(own)).then(period).otherwise(pl.col(own)).alias(name))
        sources[column] = name
    return _add_error(batch, errors), sources

