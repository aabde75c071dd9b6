"""Validation of staged rows with the GX suites (hedui.steps.validate.check)."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from hedui.errors import ConfigError
from hedui.steps.validate.check import load_suite, maps_dir, suites_dir, validate_source
from hedui.steps.validate.reasons import mask_value

RUN_DATE = "2026-11-28"
SOURCES = [
    "public_security", "civil_affairs", "tax", "social_insurance", "housing_fund", "real_estate",
    "business_registry", "vehicle", "bank", "securities", "insurance", "requests",
]
# Columns a staged table has besides the canonical columns of its map (docs/internals.md).
STAGED_EXTRAS = {
    "id_norm", "id_status", "name_norm", "run_date", "source", "delivery_date", "file_name", "row_no", "record_id",
}
ID = "360102199001011234"
CLEAN_BY_TYPE = {
    "text": "甲", "name": "张三", "id": ID, "date": dt.date(2020, 5, 1), "month": dt.date(2020, 5, 1),
    "amount": 1000.0, "number": 88.5, "region": "360102", "account": "6222000011112222",
}


def make_id(n: int) -> str:
    """A valid 18-character ID number (GB 11643 check character), distinct for each n."""
    body = f"36010219900101{n % 1000:03d}"
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
    return body + "10X98765432"[total % 11]


def map_columns(source: str) -> list[dict]:
    return yaml.safe_load((maps_dir() / f"{source}.yaml").read_text(encoding="utf-8"))["columns"]


def clean_row(source: str) -> dict:
    """A staged row that every rule of the source's suite accepts."""
    row = {c["column"]: c["values"][0] if c["type"] == "enum" else CLEAN_BY_TYPE[c["type"]]
           for c in map_columns(source)}
    row.update(id_norm=ID, id_status="valid", name_norm=row.get("name"))
    return row


def write_staged(path: Path, source: str, rows: list[dict]) -> Path:
    """Rows (overrides of a clean row, one dict each) as a staged Parquet file with the contract's types."""
    cols = map_columns(source)
    file_name = f"{source}/20261128/{source}_1.csv"
    full = []
    for i, overrides in enumerate(rows):
        row = clean_row(source)
        # Distinct people and business keys, so that the uniqueness thresholds stay quiet.
        row.update({c["column"]: make_id(i) for c in cols if c["type"] == "id"}, id_norm=make_id(i))
        for c in cols:
            if c["type"] in ("text", "account") and c["column"] not in overrides:
                row[c["column"]] = f"{row[c['column']]}{i}"
        row.update(overrides)
        row.update(run_date=RUN_DATE, source=source, delivery_date="20261128", file_name=file_name,
                   row_no=i + 2, record_id=f"{source}:{file_name}:{i + 2}")
        full.append(row)
    types = {"date": pa.date32(), "month": pa.date32(), "amount": pa.float64(), "number": pa.float64()}
    fields = [pa.field(c["column"], types.get(c["type"], pa.string())) for c in cols]
    fields += [pa.field(n, pa.string()) for n in ("id_norm", "id_status", "name_norm", "run_date", "source",
                                                  "delivery_date", "file_name")]
    fields += [pa.field("row_no", pa.int32()), pa.field("record_id", pa.string())]
    schema = pa.schema(fields)
    table = pa.table({f.name: pa.array([r.get(f.name) for r in full], f.type) for f in schema}, schema=schema)
    pq.write_table(table, path)
    return path


def run(tmp_path: Path, source: str, rows: list[dict], **kwargs):
    staged = write_staged(tmp_path / f"{source}.parquet", source, rows)
    result = validate_source(source, staged, RUN_DATE, tmp_path / "passed" / f"{source}.parquet",
                             tmp_path / "quarantine" / f"{source}.parquet", **kwargs)
    quarantine = pq.read_table(result.quarantine_out).to_pylist()
    return result, quarantine


def test_an_enum_value_outside_the_map_is_quarantined_with_a_chinese_reason(tmp_path):
    result, quarantine = run(tmp_path, "vehicle", [{}, {"vehicle_status": "报废车"}, {}])
    assert result.rows_quarantined == 1
    [line] = quarantine
    assert line["reason_zh"] == '"车辆状态"值"报废车"不在允许范围（正常/注销/报废/查封）内'
    assert line["column_name"] == "vehicle_status"
    assert line["value_masked"] == "报废车"
    assert line["rule"] == "expect_column_values_to_be_in_set"
    assert (line["source"], line["file_name"], line["row_no"]) == ("vehicle", "vehicle/20261128/vehicle_1.csv", 3)


def test_a_request_member_without_a_valid_id_is_quarantined_with_the_id_masked(tmp_path):
    result, quarantine = run(tmp_path, "requests", [
        {}, {"id_number": "360102199001011235", "id_norm": None, "id_status": "bad_check"},
    ])
    assert result.rows_quarantined == 1
    [line] = quarantine
    assert line["column_name"] == "id_number"
    assert line["value_masked"] == "360102********1235"
    assert line["reason_zh"] == '"身份证号"校验位错误，委托成员必须有有效的身份证号码'
    assert "360102199001011235" not in json.dumps(quarantine, default=str)


def test_a_bad_id_in_a_department_source_is_soft_and_stays_staged(tmp_path):
    rows = [{}] * 19 + [{"id_number": "3.60102E+17", "id_norm": None, "id_status": "scientific"}]
    result, quarantine = run(tmp_path, "vehicle", rows)
    assert (result.rows_passed, result.rows_quarantined, result.status) == (20, 0, "passed")


def test_a_date_in_the_future_is_quarantined(tmp_path):
    result, quarantine = run(tmp_path, "tax", [{}, {"period_month": dt.date(2027, 1, 1)}])
    [line] = quarantine
    assert line["column_name"] == "period_month"
    assert line["value_masked"] == "2027-01"
    assert line["reason_zh"] == '"所属期"值"2027-01"晚于核对日期 2026-11-28，日期不能在未来'


def test_empty_amounts_and_dates_are_unknown_not_errors(tmp_path):
    result, quarantine = run(tmp_path, "housing_fund", [{}, {"balance_yuan": None, "as_of_date": None}, {}])
    assert (result.rows_passed, quarantine) == (3, [])


def test_a_date_beyond_what_pandas_holds_is_still_caught(tmp_path):
    _, quarantine = run(tmp_path, "real_estate", [{}, {"registration_date": dt.date(9999, 12, 31)}])
    assert [q["reason_zh"] for q in quarantine] == ['"登记日期"值"9999-12-31"晚于核对日期 2026-11-28，日期不能在未来']


def test_a_negative_balance_is_quarantined(tmp_path):
    result, quarantine = run(tmp_path, "bank", [{}, {"balance_yuan": -250.0}, {}])
    [line] = quarantine
    assert line["reason_zh"] == '"余额"值"-250"为负数，不能为负'
    assert line["row_no"] == 3


def test_an_amount_above_its_plausible_bound_is_quarantined(tmp_path):
    _, quarantine = run(tmp_path, "vehicle", [{"purchase_price_yuan": 8e8}])
    assert [q["reason_zh"] for q in quarantine] == ['"购置价格"值"800000000"超过合理上限 50000000']


def test_a_row_failing_several_rules_counts_once_and_counts_add_up(tmp_path):
    rows = [{}, {"vehicle_status": "报废车", "purchase_price_yuan": -1.0, "first_registration_date": dt.date(2030, 1, 1)},
            {}, {"vehicle_type": None}]
    result, quarantine = run(tmp_path, "vehicle", rows)
    passed = pq.read_table(result.passed_out)
    assert result.rows_in == 4
    assert (result.rows_passed, result.rows_quarantined, result.quarantine_lines) == (2, 2, 4)
    assert passed.num_rows + result.rows_quarantined == result.rows_in
    assert passed.schema == pq.read_schema(tmp_path / "vehicle.parquet")
    assert sorted({q["row_no"] for q in quarantine}) == [3, 5]
    assert {q["reason_zh"] for q in quarantine if q["row_no"] == 5} == {'"车辆类型"为空，此项必填'}


def test_a_record_with_neither_usable_id_nor_name_is_quarantined(tmp_path):
    _, quarantine = run(tmp_path, "bank", [{}] * 30 + [{"id_status": "missing", "id_number": None, "id_norm": None,
                                                        "name": None}])
    assert [q["reason_zh"] for q in quarantine] == ['没有可用的证件号码，"户名"也为空，无法关联到人']


def test_too_many_quarantined_rows_fail_the_source(tmp_path):
    result, _ = run(tmp_path, "bank", [{}] * 9 + [{"account_type": "信用卡"}])
    assert result.status == "failed"
    assert result.reasons_zh == ["被隔离的记录占 10%（1/10 行），超过允许的 2%"]


def test_too_many_unusable_ids_fail_the_source_but_the_rows_stay(tmp_path):
    bad = {"id_status": "malformed", "id_norm": None, "id_number": "36010219900101"}
    result, _ = run(tmp_path, "vehicle", [{}] * 40 + [bad] * 10)
    assert result.status == "failed"
    assert result.rows_passed == 50
    assert result.reasons_zh == [
        "无法使用的证件号码（校验位错误、格式错误、科学计数法、缺失）占 20%（10/50 行），超过允许的 10%"
    ]
    # the same share of fewer rows than the suite's min_bad_rows (5): weighed record by record
    (tmp_path / "few").mkdir()
    result, _ = run(tmp_path / "few", "vehicle", [{}] * 8 + [bad] * 2)
    assert (result.status, result.reasons_zh, result.rows_passed) == ("passed", [], 10)


def test_a_row_count_other_than_the_markers_fails_the_source(tmp_path):
    result, _ = run(tmp_path, "insurance", [{}, {}], expected_rows=3)
    assert result.status == "failed"
    assert result.reasons_zh[0].endswith("：应为 3 行，实际 2 行")


def test_an_empty_department_delivery_passes_with_a_warning_but_an_empty_registration_fails(tmp_path):
    # a complete delivery of no rows says "no records of these persons" (nobody holds securities); only
    # the household registration, which holds everyone, cannot answer with nothing
    result, quarantine = run(tmp_path, "securities", [])
    assert (result.rows_in, result.status, quarantine) == (0, "passed", [])
    assert len(result.warnings_zh) == 1 and result.warnings_zh[0].startswith("交付为空"), result.warnings_zh
    result, _ = run(tmp_path, "public_security", [])
    assert (result.rows_in, result.status) == (0, "failed")
    assert result.reasons_zh == ["交付为空：实际 0 行"]


def test_chunking_gives_the_same_result_as_one_chunk(tmp_path):
    rows = [{"vehicle_status": "报废车"} if i % 7 == 3 else {"purchase_price_yuan": -1.0} if i % 11 == 5 else {}
            for i in range(40)]
    rows += [{"id_status": "bad_check", "id_norm": None}] * 3
    staged = write_staged(tmp_path / "vehicle.parquet", "vehicle", rows)
    results = {}
    for chunk_rows in (500_000, 6):
        out = tmp_path / str(chunk_rows)
        results[chunk_rows] = validate_source("vehicle", staged, RUN_DATE, out / "passed.parquet",
                                              out / "quarantine.parquet", chunk_rows=chunk_rows)
    one, many = results[500_000], results[6]
    assert (one.chunks, many.chunks) == (1, 8)
    assert pq.read_table(one.passed_out).equals(pq.read_table(many.passed_out))
    assert pq.read_table(one.quarantine_out).equals(pq.read_table(many.quarantine_out))
    assert (one.status, one.reasons_zh, one.rows_quarantined) == (many.status, many.reasons_zh, many.rows_quarantined)
    assert [(o.rule, o.unexpected_count, o.success) for o in one.expectations] == [
        (o.rule, o.unexpected_count, o.success) for o in many.expectations
    ]


@pytest.mark.parametrize("source", ["vehicle", "social_insurance", "requests"])
def test_column_groups_give_the_same_results_as_one_run(tmp_path, monkeypatch, source):
    """A big chunk is validated column group by column group, each on a frame of its columns:
    quarantine, passed rows, verdict and the saved GX result are those of one run on the whole frame."""
    from hedui.steps.validate import check

    bad = {"vehicle": [{"vehicle_status": "报废车"}, {"purchase_price_yuan": -1.0}],
           "social_insurance": [{"benefit_yuan": -5.0}, {"scheme": "别的保险"}, {"period_month": dt.date(2027, 1, 1)}],
           "requests": [{"id_number": "360102199001011235", "id_norm": None, "id_status": "bad_check"}]}[source]
    rows = [bad[i % len(bad)] if i % 5 == 2 else {} for i in range(30)]
    rows += [{"id_status": "bad_check", "id_norm": None, "name": None}] * 2
    staged = write_staged(tmp_path / f"{source}.parquet", source, rows)
    results, saved = {}, {}
    for grouped_rows in (10**9, 0):  # one run per chunk / one run per column group
        monkeypatch.setattr(check, "GROUPED_ROWS", grouped_rows)
        out = tmp_path / str(grouped_rows)
        results[grouped_rows] = validate_source(source, staged, RUN_DATE, out / "passed.parquet",
                                                out / "quarantine.parquet", out / "docs", expected_rows=len(rows))
        data = json.loads((out / "docs" / "_results" / f"stg_{source}.json").read_text(encoding="utf-8"))
        for r in data["results"]:
            r["expectation_config"].pop("id")
        data["meta"].pop("validation_id")
        saved[grouped_rows] = data
    one, grouped = results[10**9], results[0]
    assert one.rows_quarantined > 0
    assert pq.read_table(one.passed_out).equals(pq.read_table(grouped.passed_out))
    assert pq.read_table(one.quarantine_out).equals(pq.read_table(grouped.quarantine_out))
    assert (one.status, one.reasons_zh, one.expectations) == (grouped.status, grouped.reasons_zh, grouped.expectations)
    assert saved[10**9] == saved[0]


@pytest.mark.parametrize("grouped_rows", [0, 10**9])
def test_a_rule_that_failed_in_a_chunk_runs_alone_in_the_next_with_the_same_results(tmp_path, monkeypatch,
                                                                                  grouped_rows):
    """Rules that found rows in an earlier chunk skip the counting run in later chunks (they would be
    run again for their full result): the saved GX result, quarantine and verdict do not change,
    also for a chunk where the rule finds nothing."""
    from hedui.steps.validate import check

    monkeypatch.setattr(check, "GROUPED_ROWS", grouped_rows)
    # chunks of 6: 报废车 in chunks 1 and 3 (not 2), a bad price in chunk 2 only, bad IDs in the last
    rows = [{"vehicle_status": "报废车"} if i in (1, 3, 14) else {"purchase_price_yuan": -1.0} if i == 8 else {}
            for i in range(20)]
    rows += [{"id_status": "bad_check", "id_norm": None}] * 3
    staged = write_staged(tmp_path / "vehicle.parquet", "vehicle", rows)
    results, saved = {}, {}
    for alone in (False, True):
        monkeypatch.setattr(check, "RUN_FAILED_ALONE", alone)
        out = tmp_path / str(alone)
        results[alone] = validate_source("vehicle", staged, RUN_DATE, out / "passed.parquet",
                                         out / "quarantine.parquet", out / "docs", chunk_rows=6,
                                         expected_rows=len(rows))
        data = json.loads((out / "docs" / "_results" / "stg_vehicle.json").read_text(encoding="utf-8"))
        for r in data["results"]:
            r["expectation_config"].pop("id")
        data["meta"].pop("validation_id")
        saved[alone] = data
    before, after = results[False], results[True]
    assert (before.chunks, before.rows_quarantined) == (4, 4)
    assert pq.read_table(before.passed_out).equals(pq.read_table(after.passed_out))
    assert pq.read_table(before.quarantine_out).equals(pq.read_table(after.quarantine_out))
    assert (before.status, before.reasons_zh, before.expectations) == (after.status, after.reasons_zh,
                                                                       after.expectations)
    assert saved[False] == saved[True]


def test_a_rerun_replaces_the_outputs(tmp_path):
    run(tmp_path, "bank", [{"balance_yuan": -1.0}, {}])
    result, quarantine = run(tmp_path, "bank", [{}, {}])
    assert quarantine == []
    assert pq.read_table(result.passed_out).num_rows == 2
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("source", SOURCES)
def test_every_suite_loads_in_gx_and_names_only_columns_of_its_map(source):
    from great_expectations.core.expectation_suite import ExpectationSuite

    from hedui.steps.validate.suites import expectation_columns, gx_context

    suite = load_suite(source)
    assert suite.name == f"stg_{source}"
    allowed = {c["column"] for c in map_columns(source)} | STAGED_EXTRAS
    for exp in suite.expectations:
        assert set(expectation_columns(exp)) <= allowed, exp
    enums = {c["column"] for c in map_columns(source) if c["type"] == "enum"}
    checked = {e["kwargs"]["column"] for e in suite.expectations if e["type"] == "expect_column_values_to_be_in_set"}
    assert enums <= checked
    gx_suite = gx_context().suites.add(ExpectationSuite(
        name=suite.name, expectations=[{k: e[k] for k in ("type", "kwargs", "meta")} for e in suite.expectations]))
    assert len(gx_suite.expectations) == len(suite.expectations)
    assert 0 < suite.thresholds["max_quarantined_share"] < 1


@pytest.mark.parametrize("source", SOURCES)
def test_clean_rows_pass_every_suite(tmp_path, source):
    result, quarantine = run(tmp_path, source, [{}, {}, {}], expected_rows=3)
    assert (result.status, result.reasons_zh, quarantine) == ("passed", [], [])
    assert all(o.success for o in result.expectations)


def test_a_suite_that_quarantines_on_a_table_level_rule_is_refused(tmp_path):
    suite = json.loads((suites_dir() / "stg_public_security.json").read_text(encoding="utf-8"))
    suite["expectations"][0]["meta"]["on_fail"] = "quarantine"
    (tmp_path / "stg_public_security.json").write_text(json.dumps(suite), encoding="utf-8")
    with pytest.raises(ConfigError, match="not row-level"):
        load_suite("public_security", tmp_path)


def test_a_missing_suite_names_the_file_to_add(tmp_path):
    with pytest.raises(ConfigError, match="stg_nowhere.json"):
        load_suite("nowhere", tmp_path)


@pytest.mark.parametrize(("value", "kind", "shown"), [
    ("360102199001011234", "id", "360102********1234"),
    ("6222000011112222", "account", "****2222"),
    ("张三丰", "name", "张**"),
    (-5.0, "amount", "-5"),
    (dt.date(2030, 1, 2), "date", "2030-01-02"),
    (None, "id", ""),
])
def test_values_are_masked_where_personal(value, kind, shown):
    assert mask_value(value, kind) == shown


@pytest.mark.slow
def test_a_million_vehicle_rows_validate_in_seconds(tmp_path):
    n = 1_000_000
    rng = np.random.default_rng(1)
    status = rng.choice(np.array(["正常", "注销", "报废", "查封"], dtype=object), n)
    status[rng.random(n) < 0.001] = "报废车"
    price = rng.uniform(2e4, 5e5, n)
    price[rng.random(n) < 0.001] = -1.0
    ids = np.char.add("3601021990", np.char.zfill(np.arange(n).astype(str), 8))
    id_status = np.where(rng.random(n) < 0.03, "bad_check", "valid")
    rows = np.arange(2, n + 2)
    file_name = "vehicle/20261128/vehicle_1.csv"
    table = pa.table({
        "plate_no": np.char.add("赣A", np.char.zfill(np.arange(n).astype(str), 6)),
        "plate_type": np.full(n, "小型汽车"),
        "vehicle_type": rng.choice(np.array(["小型轿车", "轻型货车", "普通二轮摩托车"]), n),
        "name": np.full(n, "张三"), "id_number": ids,
        "first_registration_date": pa.array(np.datetime64("1995-01-01") + rng.integers(0, 11000, n), pa.date32()),
        "use_nature": rng.choice(np.array(["非营运", "营运"]), n), "vehicle_status": pa.array(status, pa.string()),
        "purchase_price_yuan": price, "id_norm": pa.array(np.where(id_status == "valid", ids, None), pa.string()),
        "id_status": id_status, "name_norm": np.full(n, "张三"), "run_date": np.full(n, RUN_DATE),
        "source": np.full(n, "vehicle"), "delivery_date": np.full(n, "20261128"), "file_name": np.full(n, file_name),
        "row_no": pa.array(rows, pa.int32()), "record_id": np.char.add(f"vehicle:{file_name}:", rows.astype(str)),
    })
    pq.write_table(table, tmp_path / "vehicle.parquet")
    started = time.perf_counter()
    result = validate_source("vehicle", tmp_path / "vehicle.parquet", RUN_DATE, tmp_path / "p.parquet",
                             tmp_path / "q.parquet", expected_rows=n)
    seconds = time.perf_counter() - started
    assert result.rows_in == n
    assert result.rows_passed + result.rows_quarantined == n
    assert 1500 < result.rows_quarantined < 2500
    assert seconds < 60, f"{seconds:.1f} s for a million rows"


def test_an_implausible_price_is_a_warning_that_neither_quarantines_nor_fails(tmp_path):
    rows = [{}] * 5 + [{"purchase_price_yuan": 12.5}, {"purchase_price_yuan": 12.5, "vehicle_type": "普通二轮摩托车"}]
    result, quarantine = run(tmp_path, "vehicle", rows)
    assert (result.status, result.rows_passed, quarantine) == ("passed", 7, [])
    assert result.warnings_zh == ['汽车的"购置价格"不足 1,000 元，数值不合理（可能按万元填写），请与车管部门核实：1 行']
    [rule] = [o for o in result.expectations if o.on_fail == "report" and "purchase_price_yuan" in o.columns]
    assert (rule.success, rule.unexpected_count) == (False, 1)


def test_a_warning_rule_may_only_report(tmp_path):
    suite = json.loads((suites_dir() / "stg_vehicle.json").read_text(encoding="utf-8"))
    warning = next(e for e in suite["expectations"] if e.get("severity") == "warning")
    warning["meta"]["on_fail"] = "quarantine"
    (tmp_path / "stg_vehicle.json").write_text(json.dumps(suite, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ConfigError, match="warning"):
        load_suite("vehicle", tmp_path)


def test_a_rule_with_a_condition_string_sees_every_column_when_grouped(tmp_path, monkeypatch):
    """A row condition written as a pandas string names its columns in text: the rule runs on the
    whole frame, not on a narrow one missing the condition's column."""
    from hedui.steps.validate import check

    suite = json.loads((check.suites_dir() / "stg_vehicle.json").read_text(encoding="utf-8"))
    for e in suite["expectations"]:
        if e["kwargs"].get("column") == "name" and "row_condition" in e["kwargs"]:
            e["kwargs"]["row_condition"] = 'id_status not in ["valid", "converted_15"]'
            e["kwargs"]["condition_parser"] = "pandas"
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "stg_vehicle.json").write_text(json.dumps(suite, ensure_ascii=False), encoding="utf-8")
    rows = [{}, {"id_status": "bad_check", "id_norm": None, "name": None}, {}]
    staged = write_staged(tmp_path / "vehicle.parquet", "vehicle", rows)
    monkeypatch.setattr(check, "GROUPED_ROWS", 0)
    result = validate_source("vehicle", staged, RUN_DATE, tmp_path / "passed.parquet", tmp_path / "q.parquet",
                             expected_rows=len(rows), suites=suites)
    assert result.rows_quarantined == 1
