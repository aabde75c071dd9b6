"""A delivery re-written the way someone outside the project would write it with pandas (sources.md allows
`.csv` comma or tab separated, `.xlsx`, `.parquet`; GB18030, UTF-8, UTF-8 with BOM): every data file read
as text and written again in another allowed format, numbers as numbers where pandas would make them so.
The rows (合计 and repeated rows included) and the markers stay as they were, so the verification must not
change: tests/test_format_invariance.py.

Read with pandas, not with hedui's connectors, so the copy does not inherit hedui's own reading.
"""

from __future__ import annotations

import re
import shutil
import zlib
from pathlib import Path

import pandas as pd

# the next format for each: every file changes its format, encoding or separator
NEXT = {".csv": ".xlsx", ".xlsx": ".parquet", ".parquet": ".csv"}
_PLAIN_NUMBER = re.compile(r"-?(0|[1-9][0-9]{0,13})(\.[0-9]+)?")
_DATE = re.compile(r"[12][0-9]{3}-[01][0-9]-[0-3][0-9]( 00:00:00)?")  # pandas shows a date cell so


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first = text.split("\n", 1)[0]
    sep = "\t" if first.count("\t") > first.count(",") else ","
    from io import StringIO

    return pd.read_csv(StringIO(text), sep=sep, dtype=str, keep_default_na=False)


def _read_xlsx(path: Path, headers: set[str]) -> pd.DataFrame:
    grid = pd.read_excel(path, header=None, dtype=str, keep_default_na=False)
    for i, row in grid.iterrows():  # a title row may stand above the header
        if len(headers & {str(v).strip() for v in row}) >= 3:
            df = grid.iloc[i + 1:].copy()
            df.columns = [str(v) for v in row]
            return df.reset_index(drop=True)
    raise AssertionError(f"no header row in {path}")


def _data_files(inbox: Path, headers: dict[str, list[str]]):
    """(path, path relative to `inbox`, its rows as text) of every data file of `inbox`, read with pandas."""
    for path in sorted(inbox.rglob("*")):
        rel = path.relative_to(inbox)
        if path.is_dir() or path.suffix == ".ok" or len(rel.parts) != 3:
            continue
        if path.suffix == ".csv":
            df = _read_csv(path)
        elif path.suffix == ".xlsx":
            df = _read_xlsx(path, set(headers[rel.parts[0]]))
        else:
            df = pd.read_parquet(path).astype(object).where(lambda d: d.notna(), "").astype(str)
        yield path, rel, df


def _typed(df: pd.DataFrame, *, dates: bool) -> pd.DataFrame:
    """Columns whose every non-empty value is a plain number become numbers (empty = NaN), as pandas would
    make them after `to_numeric`; ID-like columns (15 digits or more) stay text.  With `dates`, columns of
    ISO dates become timestamps."""
    out = df.copy()
    for col in out.columns:
        values = out[col].astype(str).str.strip()
        filled = values[values != ""]
        if filled.empty:
            continue
        if filled.map(lambda v: bool(_PLAIN_NUMBER.fullmatch(v))).all():
            out[col] = pd.to_numeric(values.where(values != ""), errors="raise")
        elif dates and filled.map(lambda v: bool(_DATE.fullmatch(v))).all():
            out[col] = pd.to_datetime(values.str.slice(0, 10).where(values != ""), format="%Y-%m-%d")
    return out


def rewrite(inbox: Path, out: Path, headers: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Copy `inbox` to `out` with every data file in its next format; the (old, new) names."""
    shutil.rmtree(out, ignore_errors=True)
    changed = []
    for path, rel, df in _data_files(inbox, headers):
        target = out / rel.with_suffix(NEXT[path.suffix])
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix == ".xlsx":
            _typed(df, dates=False).to_excel(target, index=False)
        elif target.suffix == ".parquet":
            _typed(df, dates=True).to_parquet(target, index=False)
        else:  # GB18030, tab separated: the most common encoding, the other separator
            df.to_csv(target, sep="\t", index=False, encoding="gb18030")
        marker = path.with_name(path.name + ".ok")
        if marker.exists():
            shutil.copyfile(marker, target.with_name(target.name + ".ok"))
        changed.append((str(rel), str(target.relative_to(out))))
    return changed


def _is_summary(row: pd.Series) -> bool:
    return str(row.iloc[0]).strip().replace(" ", "").replace("\u3000", "") == "合计"


def reshuffle(inbox: Path, out: Path, headers: dict[str, list[str]], seed: int = 7) -> int:
    """Copy `inbox` to `out` as another department's tools would write the same rows: columns in another
    order, rows in another order, each file split in two files with their own markers, comma-separated
    UTF-8 with a BOM.  A 合计 row stays a last row (of the second part).  The number of files written."""
    shutil.rmtree(out, ignore_errors=True)
    written = 0
    for path, rel, df in _data_files(inbox, headers):
        summary = df[df.apply(_is_summary, axis=1)]
        data = df.drop(summary.index).sample(frac=1, random_state=seed)
        summary = summary[list(reversed(df.columns))].copy()
        summary[df.columns[0]] = ""  # its 合计 moves to the first cell, where sources.md puts it
        summary[df.columns[-1]] = "合计"
        data = data[list(reversed(df.columns))]
        half = len(data) // 2
        for k, part in enumerate((data.iloc[:half], pd.concat([data.iloc[half:], summary]))):
            target = out / rel.parent / f"{path.stem}_part{k + 1}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            part.to_csv(target, index=False, encoding="utf-8-sig")
            target.with_name(target.name + ".ok").write_text(str(len(part) - (len(summary) if k else 0)))
            written += 1
    return written


ID_COLUMNS = {"身份证号", "公民身份号码", "纳税人识别号", "证件号码", "人员证件号", "投保人证件号"}
NAME_COLUMNS = {"姓名", "户名", "权利人", "所有人", "人员姓名", "投保人"}
DATE_COLUMNS = {"出生日期", "变动日期", "死亡日期", "火化日期", "登记日期", "成立日期", "初次登记日期", "查询日期",
                "截至日期", "授权日期", "委托日期"}
MONTH_COLUMNS = {"所属期", "月份"}
YUAN_COLUMNS = {"收入额", "已缴税额", "缴费基数", "待遇金额", "月缴存基数", "月缴存额", "账户余额", "余额", "持仓市值",
                "资金余额", "现金价值", "购置价格"}
_FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
_ID18 = re.compile(r"[1-9][0-9]{5}(19[0-9]{2})[0-9]{7}[0-9X]")
_YMD = re.compile(r"([12][0-9]{3})-?([01][0-9])-?([0-3][0-9])")
_YM = re.compile(r"([12][0-9]{3})([01][0-9])")
_YUAN = re.compile(r"[1-9][0-9]{3,8}\.[0-9]{2}")


def _id_forms(v: str, k: int) -> str:
    forms = [v.lower(), v.translate(_FULL_WIDTH), "'" + v, f" {v[:6]} {v[6:14]} {v[14:]} "]
    if _ID18.fullmatch(v) and v[-1] != "X":  # the legacy 15-digit form of the same person (born 19xx)
        forms.append(v[:6] + v[8:17])
    return forms[k % len(forms)]


def _value_forms(col: str, v: str, k: int) -> str:
    """`v` written another way sources.md allows, when it is in the plain form; else `v` as it is."""
    if col in ID_COLUMNS and re.fullmatch(r"[0-9]{17}[0-9X]", v):
        return _id_forms(v, k)
    if col in NAME_COLUMNS and len(v) >= 2 and not v.isascii():
        return [f" {v}", f"{v[0]} {v[1:]}", f"{v}\u3000"][k % 3]
    if col in DATE_COLUMNS and (m := _YMD.fullmatch(v)):
        y, mo, d = m.group(1), int(m.group(2)), int(m.group(3))
        return [f"{y}年{mo}月{d}日", f"{y}/{mo}/{d}"][k % 2]
    if col in MONTH_COLUMNS and (m := _YM.fullmatch(v)):
        return f"{m.group(1)}-{m.group(2)}"
    if col in YUAN_COLUMNS and _YUAN.fullmatch(v):
        whole, cents = v.split(".")
        return [f"{int(whole):,}.{cents}", f"{v}元", f"{whole[:-4] or '0'}.{whole[-4:].rjust(4, '0')}{cents}万",
                f"{int(whole):,}.{cents}元"][k % 4]
    return v


def revalue(inbox: Path, out: Path, headers: dict[str, list[str]]) -> int:
    """Copy `inbox` to `out` as comma-separated UTF-8 (BOM) CSV, every plain ID, name, date, month and yuan
    amount written in one of the other forms sources.md says arrive ("Values as they come"): `x`, full-width
    digits, a leading apostrophe, spaces, the legacy 15-digit ID; spaced names; `YYYY年M月D日`, `YYYY/M/D`;
    `YYYY-MM`; thousands separators, `元`, `万`.  The number of values changed."""
    shutil.rmtree(out, ignore_errors=True)
    changed = 0
    for path, rel, df in _data_files(inbox, headers):
        summary = df.apply(_is_summary, axis=1)
        # the form follows from the row's content, so a row delivered twice is still twice the same row
        keys = [zlib.crc32("\x1f".join(map(str, row)).encode()) for row in df.itertuples(index=False)]
        for j, col in enumerate(df.columns):
            new = [v if s else _value_forms(col, v, k + j)
                   for k, v, s in zip(keys, df[col], summary, strict=True)]
            changed += sum(a != b for a, b in zip(new, df[col], strict=True))
            df[col] = new
        target = out / rel.with_suffix(".csv")
        target.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(target, index=False, encoding="utf-8-sig")
        shutil.copyfile(path.with_name(path.name + ".ok"), target.with_name(target.name + ".ok"))
    return changed


def _wan(v: str) -> str:
    """A plain yuan amount as the same amount in 万元, exactly (the decimal point moved four places)."""
    neg, v = (v[0] == "-", v.lstrip("-"))
    whole, _, frac = v.partition(".")
    digits = whole.rjust(5, "0") + frac
    text = (digits[:-4 - len(frac)].lstrip("0") or "0") + "." + digits[-4 - len(frac):]
    text = text.rstrip("0").rstrip(".")
    return ("-" if neg else "") + text


def in_wan_with_titles(inbox: Path, out: Path, headers: dict[str, list[str]]) -> int:
    """Copy `inbox` to `out` as workbooks with a title row above the header, every yuan column's header
    saying 万元 (`余额（万元）`) and its plain amounts written in 万元 (`12000.5` → `1.20005`): the same
    amounts by sources.md's rule that the header's unit scales a column.  The number of amounts changed."""
    shutil.rmtree(out, ignore_errors=True)
    changed = 0
    for path, rel, df in _data_files(inbox, headers):
        summary = df.apply(_is_summary, axis=1)
        names = []
        for col in df.columns:
            bare = re.sub(r"[（(].*[)）]$", "", col).strip()
            if bare in YUAN_COLUMNS:
                # a number without a unit of its own (thousands separators dropped) is written in 万元; a cell
                # with its own unit (`1,234.50元`, `3.2万`) keeps it: the cell's unit wins over the header's
                plain = df[col].map(lambda v: bool(re.fullmatch(r"-?[0-9]{1,3}(,[0-9]{3})*(\.[0-9]+)?|-?[0-9]+(\.[0-9]+)?",
                                                                v)))
                df[col] = [_wan(v.replace(",", "")) if p and not s else v
                           for v, p, s in zip(df[col], plain, summary, strict=True)]
                changed += int((plain & ~summary).sum())
                names.append(f"{bare}（万元）")
            else:
                names.append(col)
        df.columns = names
        target = out / rel.with_suffix(".xlsx")
        target.parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(target) as xw:
            pd.DataFrame([[f"{rel.parts[0]} 数据（截至 {rel.parts[1]}）"]]).to_excel(xw, index=False, header=False)
            df.to_excel(xw, index=False, startrow=2)
        shutil.copyfile(path.with_name(path.name + ".ok"), target.with_name(target.name + ".ok"))
    return changed
