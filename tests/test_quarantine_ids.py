"""Identity lines of quarantined rows (hedui.steps.validate.quarantine_ids): the ID kept only encrypted and masked."""

from __future__ import annotations

import base64

import pyarrow as pa
import pyarrow.parquet as pq

from hedui.privacy.keys import load_keys
from hedui.steps.validate.quarantine_ids import identify_quarantine

ID = "11010519491231002X"


def _keys():
    return load_keys({"HEDUI_PSEUDONYM_KEY": base64.b64encode(b"p" * 32).decode(),
                      "HEDUI_DATA_KEY": base64.b64encode(b"d" * 32).decode()})


def test_each_quarantined_row_but_duplicates_gets_its_encrypted_id_mask_and_name(tmp_path):
    raw = tmp_path / "raw.parquet"
    pq.write_table(pa.table({
        "name": ["张 三", "李四", "王五"], "id_number": [f" {ID.lower()} ", "", "110105194912310046"],
        "balance_yuan": ["8O0", "1", "x"], "delivery_date": ["20261128"] * 3, "file_name": ["b.csv"] * 3,
        "row_no": pa.array([2, 3, 4], pa.int32()),
    }), raw)
    q = tmp_path / "q.parquet"
    pq.write_table(pa.table({
        "file_name": ["b.csv", "b.csv", "b.csv", "b.csv"], "row_no": pa.array([2, 2, 3, 4], pa.int32()),
        "rule": ["bad_amount", "negative_balance", "bad_amount", "duplicate"],
        "reason_zh": ["余额无法识别", "余额为负", "余额无法识别", "与第3行重复"],
    }), q)
    out = tmp_path / "ids.parquet"
    keys = _keys()
    assert identify_quarantine(raw, [q, tmp_path / "absent.parquet"], "bank", "20261128", out, keys) == 2
    rows = pq.read_table(out).to_pylist()
    first, second = rows
    assert (first["row_no"], first["delivery_date"], first["name_norm"]) == (2, "20261128", "张三")
    assert first["id_number"].startswith("a1:") and keys.decrypt(first["id_number"]) == ID
    assert first["id_masked"] == "110105********002X"
    assert first["rules"] == "bad_amount;negative_balance" and "余额为负" in first["reason_zh"]
    assert (second["row_no"], second["id_number"], second["id_masked"]) == (3, None, None)
    assert ID not in out.read_bytes().decode("latin-1")


def test_a_quarantined_row_of_the_request_list_names_its_household(tmp_path):
    raw = tmp_path / "raw.parquet"
    pq.write_table(pa.table({
        "request_id": [" WT1 ", "WT2"], "name": ["何华华", "李四"], "id_number": ["3.60783E+17", ID],
        "delivery_date": ["20261128"] * 2, "file_name": ["r.csv"] * 2, "row_no": pa.array([2, 3], pa.int32()),
    }), raw)
    q = tmp_path / "q.parquet"
    pq.write_table(pa.table({"file_name": ["r.csv"], "row_no": pa.array([2], pa.int32()), "rule": ["id_status"],
                             "reason_zh": ["委托成员必须有有效的身份证号码"]}), q)
    out = tmp_path / "ids.parquet"
    assert identify_quarantine(raw, [q], "requests", "20261128", out, _keys()) == 1
    (row,) = pq.read_table(out).to_pylist()
    assert (row["request_id"], row["row_no"], row["name_norm"]) == ("WT1", 2, "何华华")


def test_other_sources_name_no_household(tmp_path):
    raw = tmp_path / "raw.parquet"
    pq.write_table(pa.table({"name": ["张三"], "id_number": [ID], "balance_yuan": ["x"], "delivery_date": ["20261128"],
                             "file_name": ["b.csv"], "row_no": pa.array([2], pa.int32())}), raw)
    q = tmp_path / "q.parquet"
    pq.write_table(pa.table({"file_name": ["b.csv"], "row_no": pa.array([2], pa.int32()), "rule": ["bad_amount"],
                             "reason_zh": ["余额无法识别"]}), q)
    out = tmp_path / "ids.parquet"
    assert identify_quarantine(raw, [q], "bank", "20261128", out, _keys()) == 1
    assert pq.read_table(out).column("request_id").to_pylist() == [None]
