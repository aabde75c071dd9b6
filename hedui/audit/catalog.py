"""The auditor database's catalog, in Chinese: what each table and column holds.

`publish_audit_db` writes it as the tables ``catalog`` (table_name, description)
and ``catalog_columns`` (table_name, column_name, data_type, description), and
as DuckDB comments (``COMMENT ON``), so ``select * from catalog`` and
``duckdb_columns()`` both answer an auditor in Chinese.  A column not listed
here is described from its name's pattern (``*_yuan`` 金额, ``is_*`` 是否…).
"""

from __future__ import annotations

TABLES_ZH = {
    "runs": "核对批次：每批一行，含代码版本、政策版本、开始/结束/发布时间、输入与结论数量、发布时审计日志的末条记录",
    "input_files": "交付文件：每批每个交付文件的 SHA-256、格式、编码、标记行数与实际行数",
    "source_status": "数据来源状态：每批每个部门的数据为 通过/未交付/不完整/未通过，附原因",
    "reconciliation": "对账：每批每个文件 交付行数 = 入库行数 + 隔离行数",
    "households": "家庭：每批每个委托的救助项目、地区与所适用的政策版本及参数",
    "members": "家庭成员（已脱敏）：假名、证件号前6后4、姓名（张*）、关系与授权书",
    "figures": "家庭指标：收入、金融资产、住房等据以判断的数值",
    "outcomes": "核对结论：每批每户 未发现超出政策规定情形(CLEAR)/发现情形(FINDINGS)/信息不完整(INCOMPLETE) 及情形代码",
    "findings": "核对情形：每条情形及其证据出处（部门、交付日期、文件、行号、匹配方式与权重），说明中姓名已脱敏",
    "evidence": "证据：关联到成员的每条部门记录（报告可引用的事实）：部门、交付日期、文件、行号、匹配方式与权重",
    "quarantine_counts": "隔离统计：每批每个部门、文件、规则、列被隔离的行数（只有计数，不含数值）",
    "previous_verification": "上次核对：每户的上一次核对批次与结论（复核比对用）",
    "changes": "变动：与上次核对相比新增或消失的事实",
    "query_ledger": "查询台账：每批每个被查询的已授权成员一行：委托、用途、授权书、成员假名、所查询的部门（列表）、时间、批次",
    "audit_anchors": "审计日志锚点：每批发布时审计日志末条记录的序号与哈希，hedui audit verify 据此核对",
    "review_queue": "复核队列：提交人工复核的每个概率匹配对及其权重、判定区间与最新决定",
    "review_decisions": "复核决定：工作人员对概率匹配的每项决定（后来的决定取代之前的：is_superseded；不含个人信息列，成员为假名，文字已脱敏）",
    "outcome_history": "结论沿革：每批每户发布过的每个结论（重跑、迟到数据补入、复核决定后的新结论取代旧结论，旧结论保留：is_current）",
    "access_log": "审计日志：批次运行、报告生成、导出、复核决定、查看明文、清除、密钥轮换等，逐条哈希链接",
    "access_log_check": "审计日志校验：发布本库时对审计日志的校验结果",
    "catalog": "目录：每张表的说明",
    "publication": "发布记录：每张表的定义摘要与最近一次发布（按批次增量或整库重建）",
    "catalog_columns": "目录：每张表每一列的说明",
}

COLUMNS_ZH = {
    "run_date": "核对批次日期（YYYYMMDD）",
    "run_id": "批次编号",
    "request_id": "委托编号",
    "source": "数据来源部门代码",
    "source_zh": "数据来源部门名称",
    "record_id": "记录编号（部门交付记录的唯一编号）",
    "member_pseudonym": "成员假名（身份证号的带密钥假名，不可反推）",
    "member_record_id": "成员在申请数据中的记录编号",
    "file_name": "交付文件名",
    "file": "交付文件名",
    "row_no": "文件中的行号",
    "delivery_date": "交付日期",
    "method": "匹配方式（精确证件号 / 概率匹配）",
    "match_weight": "匹配权重（对数似然比，越大越可信；不是证件号）",
    "match_probability": "匹配概率",
    "is_confirmed": "是否已确认（精确匹配或人工确认）",
    "detail_zh": "说明（姓名已脱敏为 张*）",
    "code": "情形代码",
    "outcome": "核对结论",
    "findings": "情形代码列表",
    "code_version": "代码版本",
    "policy_versions": "所用政策版本",
    "policy_files": "政策文件及其 SHA-256",
    "started_at": "批次开始时间",
    "finished_at": "批次结束时间",
    "published_at": "审计库发布时间",
    "published_by": "发布人",
    "n_input_files": "交付文件数",
    "n_input_rows": "交付行数",
    "n_households": "户数",
    "n_clear": "结论为 CLEAR 的户数",
    "n_findings": "结论为 FINDINGS 的户数",
    "n_incomplete": "结论为 INCOMPLETE 的户数",
    "audit_log_seq": "发布时审计日志末条记录序号",
    "audit_log_hash": "发布时审计日志末条记录哈希",
    "sha256": "文件的 SHA-256",
    "format": "文件格式",
    "encoding": "文件编码",
    "marker_count": ".ok 标记文件中申报的行数",
    "rows_delivered": "交付行数",
    "rows_staged": "入库行数",
    "rows_quarantined": "隔离行数",
    "is_complete": "文件是否完整",
    "problems_zh": "文件问题说明",
    "status": "状态",
    "reasons_zh": "原因说明",
    "program": "救助项目",
    "region_code": "行政区划代码",
    "urban_rural": "城乡类别",
    "request_date": "委托日期",
    "n_members": "成员数",
    "n_authorized": "已签授权书的成员数",
    "policy_id": "政策版本编号",
    "policy_demonstration": "是否为演示用政策参数",
    "policy_source_zh": "政策依据",
    "policy_unknown_zh": "未确定适用政策版本的原因（动态复核未写明救助项目，而政策按救助项目区分版本）",
    "id_masked": "身份证号（脱敏：前6位 + 后4位）",
    "name_masked": "姓名（脱敏：张*）",
    "relation": "与申请人关系",
    "id_status": "证件号校验状态",
    "is_authorized": "是否已签授权书",
    "authorization_no": "授权书编号",
    "authorization_date": "授权日期",
    "window_start": "收入计算期开始",
    "window_end": "收入计算期结束",
    "rule": "校验规则",
    "column_name": "列名",
    "n_rows": "行数",
    "reason_example_zh": "原因示例（已脱敏）",
    "previous_run_date": "上次核对批次日期",
    "previous_request_id": "上次委托编号",
    "is_same_request": "是否同一委托",
    "previous_outcome": "上次结论",
    "previous_findings": "上次情形代码",
    "kinds_not_compared": "未与上次比较的事实类别（本次或上次相关部门数据缺失或未通过校验）",
    "members_not_compared": "未与上次比较的成员（委托名单行号：本次或上次无授权书或无可用身份证号）",
    "kinds_held": "未与上次比较的成员事实类别（委托名单行号与类别：本次或上次有关于该成员的记录被隔离）",
    "change": "变动（新增 / 消失）",
    "kind": "事实类别",
    "fact_key": "事实标识（已脱敏）",
    "purpose": "查询用途（救助项目）",
    "source_status": "该部门数据状态",
    "sources": "所查询的部门代码列表（各部门数据状态见 source_status 表）",
    "digest": "表定义摘要（SQL、列与类型、假名密钥指纹的 SHA-256）",
    "mode": "发布方式（incremental 按批次增量 / full 整库重建）",
    "queried_at": "查询时间",
    "seq": "审计日志序号",
    "hash": "哈希（SHA-256）",
    "prev_hash": "前一条记录的哈希",
    "anchored_at": "锚定时间",
    "decision_key": "决定键（匹配对的带密钥假名）",
    "decision": "决定（确认 / 否决 / 暂缓）",
    "reviewer": "审核人",
    "decided_at": "决定时间",
    "reason": "理由（已脱敏）",
    "band": "判定区间",
    "time": "时间",
    "actor": "操作人",
    "action": "操作",
    "subject": "对象（已脱敏）",
    "details": "详情（JSON，已脱敏）",
    "checked_at": "校验时间",
    "n_entries": "记录条数",
    "n_problems": "问题条数",
    "first_problem_zh": "第一个问题",
    "table_name": "表名",
    "description": "说明",
    "data_type": "数据类型",
    "figure_item": "该记录计入的家庭指标项目（收入、金融资产等）",
    "period_month": "所属月份",
    "count_housing_fund_balance": "政策参数：公积金余额是否计入金融资产",
    "exempt_vehicle_types": "政策参数：不计入的车辆类型",
    "business_always_review_types": "政策参数：一律提示核实的市场主体类型",
    "excluded_income_items": "政策参数：不计入收入的项目",
    "version": "版本号（1 为首次发布）",
    "superseded_at": "被取代的时间（为空：现行）",
    "is_current": "是否为现行结论",
    "is_superseded": "是否已被后来的决定取代",
}

_PATTERNS = (
    ("_yuan", "金额（元）：", "suffix"),
    ("_m2", "面积（平方米）：", "suffix"),
    ("_zh", "中文说明：", "suffix"),
    ("is_", "是否：", "prefix"),
    ("n_", "数量：", "prefix"),
    ("max_", "上限：", "prefix"),
    ("_limit", "限额：", "suffix"),
    ("_rate", "比率：", "suffix"),
    ("si_rate_", "社保缴费比率：", "prefix"),
    ("_months", "月数：", "suffix"),
    ("_date", "日期：", "suffix"),
    ("_at", "时间：", "suffix"),
)


def column_zh(column: str) -> str:
    """The Chinese description of a column: listed, else from its name's pattern."""
    if column in COLUMNS_ZH:
        return COLUMNS_ZH[column]
    for part, label, where in _PATTERNS:
        if (where == "suffix" and column.endswith(part)) or (where == "prefix" and column.startswith(part)):
            return label + column
    return "字段：" + column


def table_zh(table: str) -> str:
    return TABLES_ZH.get(table, "数据表：" + table)


def write_catalog(con, database: str = "auditor") -> None:
    """Create `catalog` and `catalog_columns` in `database` and comment every table and column."""
    tables = [r[0] for r in con.sql("select table_name from duckdb_tables() where database_name = ? order by 1",
                                    params=[database]).fetchall()]
    tables = sorted(set(tables) | {"catalog", "catalog_columns"})
    columns = con.sql("select table_name, column_name, data_type from duckdb_columns() where database_name = ? "
                      "order by table_name, column_index", params=[database]).fetchall()
    rows = [(t, c, ty, column_zh(c)) for t, c, ty in columns]
    rows += [("catalog", c, "VARCHAR", column_zh(c)) for c in ("table_name", "description")]
    rows += [("catalog_columns", c, "VARCHAR", column_zh(c))
             for c in ("table_name", "column_name", "data_type", "description")]
    # the comments as one script, and everything in one transaction: a statement and a commit per column cost four
    # times the CPU, and an insert per row of `executemany` committed one by one (≈ 0.1 CPU-s at tenth)
    comments = [f"comment on table {database}.{t} is '" + table_zh(t).replace("'", "''") + "'" for t in tables]
    comments += [f'comment on column {database}.{t}."{c}" is \'' + d.replace("'", "''") + "'" for t, c, _, d in rows]
    con.sql("begin transaction")
    try:
        con.sql(f"create table {database}.catalog (table_name varchar, description varchar)")
        con.executemany(f"insert into {database}.catalog values (?, ?)", [(t, table_zh(t)) for t in tables])
        con.sql(f"create table {database}.catalog_columns (table_name varchar, column_name varchar, "
                f"data_type varchar, description varchar)")
        con.executemany(f"insert into {database}.catalog_columns values (?, ?, ?, ?)", rows)
        con.execute(";\n".join(comments))
        con.sql("commit")
    except BaseException:
        con.sql("rollback")
        raise
