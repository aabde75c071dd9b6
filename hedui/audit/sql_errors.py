"""An auditor's SQL error in Chinese: what was wrong and what to do, with DuckDB's line and caret kept.

`hedui audit` printed "查询失败：Catalog Error: Table with name outcome does not exist! ..." — DuckDB's
English after a Chinese prefix. `explain` turns the errors an auditor makes (a typo, a wrong column, a
write or a file read the read-only database refuses) into one Chinese message; a kind of error it does
not know keeps DuckDB's first line in brackets, after a Chinese lead that says what to do.
"""

from __future__ import annotations

import re

import duckdb

from hedui.audit.log import mask_free_text

_CATALOG = "可用 select * from catalog 查看审计库中的表及其列"

#: (DuckDB message pattern, Chinese message): the first that matches the error's first line wins
_DETAILS: list[tuple[re.Pattern, str]] = [(re.compile(p, re.I), zh) for p, zh in [
    (r'syntax error at or near "(?P<a>.*)"', "在 “{a}” 处有语法错误：请检查拼写、逗号、括号和引号"),
    (r"syntax error at end of input", "语句不完整：请检查是否漏写了表名、条件或右括号"),
    (r"unterminated (quoted )?(identifier|string)", "引号没有闭合：请检查成对的单引号（'文字'）或双引号（\"列名\"）"),
    (r"Table with name (?P<a>\S+) does not exist", "表 {a} 不存在：" + _CATALOG),
    (r"Table Function with name (?P<a>\S+) does not exist", "表函数 {a} 不存在或在审计库中不可用：" + _CATALOG),
    (r"(Scalar |Aggregate )?Function with name (?P<a>\S+) does not exist", "函数 {a} 不存在：请检查函数名的拼写"),
    (r'Referenced column "(?P<a>[^"]*)" not found in FROM clause', "列 “{a}” 不在所查询的表中：" + _CATALOG),
    (r'Referenced column "(?P<a>[^"]*)" was not found because the FROM clause is missing',
     "列 “{a}” 找不到：语句缺少 from 子句（从哪张表查询）"),
    (r'Referenced table "(?P<a>[^"]*)" not found', "语句中引用的表 “{a}” 不存在（可能是别名写错）：" + _CATALOG),
    (r'column "(?P<a>[^"]*)" must appear in the GROUP BY clause',
     "列 “{a}” 既不在 group by 中，也没有聚合：请把它加入 group by，或写成 any_value(\"{a}\")"),
    (r"No function matches the given name and argument types '(?P<a>[^']*)'",
     "函数调用 {a} 的参数类型不对：请用 ::类型 显式转换（如 amount::double）"),
    (r"Could not convert string '(?P<a>.*)' to (?P<b>\w+)", "无法把 '{a}' 转换为 {b} 类型：请检查比较或转换的值"),
    (r"Overflow in", "数值超出范围（溢出）：请先转换为更大的类型再计算（如 ::bigint、::double）"),
    (r"Ambiguous reference to column name \"(?P<a>[^\"]*)\"", "列 “{a}” 在多张表中都有：请写明表名或别名（如 o.{a}）"),
    (r"LIMIT/OFFSET cannot be negative", "limit / offset 不能是负数"),
    (r"Cannot (access|open) (file|directory)|file system operations are disabled|external (access|extensions)"
     r"|Loading external extensions is disabled",
     "审计库不能读写其他文件、不能挂载其他数据库或加载扩展：只能查询审计库自己的表（" + _CATALOG + "）"),
    (r"read-only mode|attached in read-only|read only", "审计库是只读的：不能新建、修改或删除表和数据，只能查询"),
    (r"configuration has been locked|Cannot change configuration", "审计库的设置已锁定，不能更改：请只写查询语句"),
]]

#: the kind of error, by DuckDB's exception class, when no pattern above matches
_KINDS = {
    "ParserException": "语句无法解析：请检查 SQL 的写法",
    "CatalogException": "语句引用的表、视图或函数不存在：" + _CATALOG,
    "BinderException": "语句中的列名、表名或函数参数有误：" + _CATALOG,
    "ConversionException": "值的类型转换失败：请检查比较或转换的值",
    "OutOfRangeException": "数值超出范围：请先转换为更大的类型再计算",
    "PermissionException": "审计库不允许这项操作：只能查询审计库自己的表",
    "InvalidInputException": "语句的输入无效：请检查 SQL 的写法和取值",
    "NotImplementedException": "DuckDB 不支持这种写法：请换一种写法",
}


def _position(text: str) -> str:
    """DuckDB's "LINE n: <sql>" and its caret line, as "位置：第 n 行" and the two lines indented."""
    m = re.search(r"^LINE (\d+): ?(.*)\n( *)(\^+)", text, re.M)
    if not m:
        return ""
    prefix = len(f"LINE {m.group(1)}: ")
    caret = " " * max(0, len(m.group(3)) - prefix) + m.group(4)
    return f"\n位置：第 {m.group(1)} 行\n    {m.group(2)}\n    {caret}"


def explain(exc: duckdb.Error) -> str:
    """A Chinese message for an auditor's failed statement (never a traceback); personal numbers masked."""
    text = str(exc)
    first = re.sub(r"^[A-Za-z ]+Error: ", "", text.split("\n", 1)[0]).strip()
    for pattern, zh in _DETAILS:
        m = pattern.search(first)
        if m:
            message = zh.format(**{k: v for k, v in m.groupdict().items() if v is not None})
            break
    else:
        kind = _KINDS.get(type(exc).__name__, "语句无法执行：请检查 SQL 的写法，或缩小查询范围")
        message = f"{kind}（DuckDB：{first[:200]}）"
    hint = re.search(r'Did you mean "([^"]+)"', text)
    if hint:
        message += f"。是否想用 “{hint.group(1)}”？"
    candidates = re.search(r'Candidate bindings: (.+)', text)
    if candidates and "列" in message:
        message += f"。相近的列：{candidates.group(1).strip()[:200]}"
    return mask_free_text(f"查询失败：{message}{_position(text)}")
