"""The request of an urgent verification (救急难): one household's rows as an agency writes them (the
``requests_*.csv`` format), read, checked, written as a delivery of requests into the scratch inbox, and — once
staged and validated — refused with the reasons when not one row of it passed (nothing could be verified)."""

from __future__ import annotations

import csv
from pathlib import Path

from hedui.errors import HeduiError

REQUEST_HEADERS = ["委托编号", "业务类型", "姓名", "身份证号", "与申请人关系", "区划代码", "城乡类别",
                   "授权书编号", "授权日期", "委托日期"]
#: one household's request rows (at most 50) take a few KiB
REQUEST_FILE_MAX = 1 << 20


class VerifyError(HeduiError):
    """The urgent request cannot be verified as given (what to do is in the message)."""

def read_request_file(path: str | Path) -> list[dict]:
    """The rows of a requests file (``requests_*.csv`` format, UTF-8 or GB18030) as dicts of text."""
    path = Path(path)
    if not path.is_file():
        raise VerifyError(f"委托文件 {path} 不存在：请检查路径")
    size = path.stat().st_size
    if size > REQUEST_FILE_MAX:  # one household: never read whole a file that big (a 4 GB one filled the memory)
        raise VerifyError(f"委托文件 {path.name} 有 {size:,} 字节，超过一户委托的上限 {REQUEST_FILE_MAX:,} 字节："
                          "急难核对一次只核对一户，请只放入该户成员的行")
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise VerifyError(f"委托文件 {path.name} 的编码无法识别：请另存为UTF-8或GB18030编码的CSV")
    sample = text[:4096]
    sep = "\t" if sample.count("\t") > sample.count(",") else ","
    try:
        rows = list(csv.DictReader(text.splitlines(), delimiter=sep))
    except csv.Error as exc:  # a field over the csv module's limit (128 KiB), a stray NUL…
        raise VerifyError(f"委托文件 {path.name} 不是可读的CSV（{exc}）：请按 requests_*.csv 的格式每位成员一行") from None
    return [{k.strip(): (v or "").strip() for k, v in r.items() if k} for r in rows
            if any((v or "").strip() for v in r.values())]


def check_rows(rows: list[dict]) -> str:
    """The request id of `rows` (one household), or a VerifyError saying what is wrong."""
    if not rows:
        raise VerifyError("委托中没有成员行：请提供该户每位成员一行（表头同 requests_*.csv）")
    if len(rows) > 50:
        raise VerifyError(f"委托有{len(rows)}行，超过一户的上限50行：急难核对一次只核对一户")
    missing = [h for h in ("委托编号", "姓名", "身份证号", "与申请人关系") if h not in rows[0]]
    if missing:
        raise VerifyError(f"委托缺少列：{'、'.join(missing)}；表头应为：{'、'.join(REQUEST_HEADERS)}")
    ids = {str(r.get("委托编号") or "").strip() for r in rows}
    # the id as it is used: trimmed (a tab or line break after it, from a form or a trigger's JSON, is no part of it)
    if bad := [n for n, r in enumerate(rows, 1)
               if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in str(r.get("委托编号") or "").strip())]:
        raise VerifyError(f"第 {bad[0]} 位成员的委托编号含有换行或控制字符（终端会照其执行）：请按原委托更正后重新提交")
    if len(ids) != 1 or "" in ids:
        raise VerifyError("急难核对一次只核对一户：所有行的委托编号应相同且不为空"
                          f"（现有：{'、'.join(sorted(i or '（空）' for i in ids))}）")
    return ids.pop()


def write_request_delivery(folder: Path, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    headers = list(dict.fromkeys(REQUEST_HEADERS + [k for r in rows for k in r]))
    path = folder / "requests_urgent.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows([str(r.get(h) or "") for h in headers] for r in rows)
    (folder / (path.name + ".ok")).write_text(str(len(rows)), encoding="utf-8")


def refuse_unverifiable(request_id: str, staged: Path, quarantined: list[Path]) -> None:
    """VerifyError naming each row and its reason when not one row of the request was staged (every one
    quarantined: an empty or invalid 身份证号, a 区划代码 no policy covers…): nothing could be verified, and the
    steps after went on to stop at a report page never written ("找不到文件或目录"), exit 1, the reason lost."""
    import duckdb

    from hedui.privacy.masking import mask_text

    def q(path: Path) -> str:
        return "'" + str(path).replace("'", "''") + "'"

    if staged.exists() and duckdb.sql(f"select count(*) from read_parquet({q(staged)})").fetchall()[0][0]:
        return
    found = [p for p in quarantined if p.exists()]
    rows = duckdb.sql(" union all ".join(f"select row_no, reason_zh from read_parquet({q(p)})" for p in found)
                      + " order by row_no").fetchall() if found else []
    reasons = list(dict.fromkeys(f"第 {n} 行：{reason}" for n, reason in rows))
    raise VerifyError(mask_text(f"委托 {request_id} 的成员行均未通过校验，无法核对（该户按“核对信息不完整，需人工复核”处理）："
                                + ("；".join(reasons[:10]) or "原因未记录") + "。请更正委托文件后重新提交"))
