"""Protection in the staging pass (hedui.privacy.protect.StreamProtector, passed_rows): the same
rows as protect_parquet, and no staged file rewritten after GX."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hedui.privacy.keys import Keys
from hedui.privacy.protect import (
    StreamProtector,
    passed_rows,
    protect_parquet,
    protected_twin,
    source_columns,
)

ID_A = "36010219900307123X"
ID_B = "360102198512250018"


def make_keys(cipher: str = "aes-gcm") -> Keys:
    return Keys(bytes([5]) * 32, bytes([105]) * 32, cipher=cipher)


ROWS = pa.table({
    "record_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
    "id_norm": [ID_A, ID_B, None, "p1:" + "0" * 32, ID_A, ID_B],
    "id_number": [f" {ID_A.lower()} ", ID_B, "3.60102E+17", "a1:kept", f" {ID_A.lower()} ", None],
    "account_no": ["6222 0212 3456 7890", None, "12", "6222021234567890", "6222 0212 3456 7890", "88"],
})


def _protect_in_batches(keys: Keys, out, batches=((0, 2), (2, 3), (5, 1))) -> dict:
    p = StreamProtector(keys, out, account_columns=("account_no",))
    schema = p.schema(ROWS.schema)
    with pq.ParquetWriter(out, schema) as w:
        for start, n in batches:
            w.write_table(p(ROWS.slice(start, n)))
        w.add_key_value_metadata(p.metadata())
    p.close()
    return p.counts


@pytest.mark.parametrize("cipher", ["aes-gcm", "sm4-gcm"])
def test_stream_protector_in_batches_writes_what_protect_parquet_would(tmp_path, cipher):
    k = make_keys(cipher)
    src, want, got = tmp_path / "staged.parquet", tmp_path / "want.parquet", tmp_path / "got.parquet"
    pq.write_table(ROWS, src)
    want_counts = protect_parquet(src, want, keys=k, account_columns=("account_no",))
    counts = _protect_in_batches(k, got)
    a, b = pq.read_table(want), pq.read_table(got)
    assert a.schema.names == b.schema.names
    for name in a.schema.names:
        if name in ("id_number", "account_no"):  # random nonces: the same values once decrypted
            assert [v if v is None or v == "a1:kept" else k.decrypt(v) for v in a[name].to_pylist()] == \
                   [v if v is None or v == "a1:kept" else k.decrypt(v) for v in b[name].to_pylist()]
        else:
            assert a[name].to_pylist() == b[name].to_pylist(), name
    # one token per distinct value, across batches (GX's uniqueness checks see equal values as equal)
    tokens = b["id_number"].to_pylist()
    assert tokens[0] == tokens[4] and tokens[0].startswith(k.token_prefix) and tokens[3] == "a1:kept"
    assert b["account_no"][0] == b["account_no"][4]
    assert counts == {c: want_counts[c] for c in ("id_norm", "id_number", "account_no")}
    assert json.loads(pq.ParquetFile(got).metadata.metadata[b"hedui.protected"]) == counts
    assert ID_A not in json.dumps(b.to_pylist()) and ID_B not in json.dumps(b.select(["id_number", "id_norm"]).to_pylist())


def test_passed_rows_links_the_twin_or_leaves_out_what_gx_quarantined(tmp_path):
    k = make_keys()
    plain = tmp_path / "staged_pre.parquet"
    pq.write_table(ROWS.select(["record_id"]), plain)
    twin = protected_twin(plain)
    assert twin.name == "staged_pre.protected.parquet"
    _protect_in_batches(k, twin)
    out = tmp_path / "staged" / "bank.parquet"
    counts = passed_rows(plain, [], out, keys=k, account_columns=("account_no",))
    assert os.stat(out).st_ino == os.stat(twin).st_ino  # no rewrite when GX quarantined nothing
    assert counts["rows"] == 6 and counts["id_norm"] == 2
    counts = passed_rows(plain, [4, 1], out, keys=k, account_columns=("account_no",))
    assert pq.read_table(out)["record_id"].to_pylist() == ["r1", "r3", "r4", "r6"] and counts["rows"] == 4
    assert os.stat(out).st_ino != os.stat(twin).st_ino and pq.read_table(twin).num_rows == 6


def test_passed_rows_without_a_twin_protects_the_staged_file(tmp_path):
    k = make_keys()
    plain = tmp_path / "staged_pre.parquet"
    pq.write_table(ROWS, plain)
    pq.write_table(ROWS.slice(0, 2), protected_twin(plain))  # a stale twin (other rows): not used
    out = tmp_path / "out.parquet"
    counts = passed_rows(plain, [1], out, keys=k, account_columns=("account_no",))
    rows = pq.read_table(out).to_pylist()
    assert counts["rows"] == 5 and rows[0]["id_norm"] == k.pseudonym(ID_A) and rows[0]["id_masked"] == "360102********123X"


def test_the_pipeline_stages_once_and_gx_reads_only_its_columns(world_run):
    from hedui.steps.validate.check import read_columns

    ctx, _ = world_run
    for source in ("bank", "social_insurance", "requests"):
        plain = ctx.path("staged_pre", source)
        staged = ctx.path("staged", source)
        # issue 16 (GX fed by the staging pass): the run writes no plain staged file, GX takes the staged
        # rows' read_columns as staging produces them (tests/test_contract_gxstream.py checks the chunks)
        assert not plain.exists()
        assert read_columns(source) <= set(pq.read_schema(protected_twin(plain)).names) | {"id_masked"}
        gx = json.loads(ctx.path("status", source, "json").read_text(encoding="utf-8"))["validation"]
        twin = protected_twin(plain)
        if gx["rows_quarantined"] == 0:  # the protected rows staging wrote, not a rewrite
            assert os.stat(staged).st_ino == os.stat(twin).st_ino
        assert pq.ParquetFile(staged).metadata.num_rows == gx["rows_passed"]
        cols = source_columns(source)
        table = pq.read_table(staged, columns=["id_norm", *cols["raw_id_columns"], *cols["account_columns"]])
        for name in table.column_names:
            values = [v for v in table[name].to_pylist() if v is not None]
            prefix = ("p1:",) if name == "id_norm" else ("a1:", "s1:")
            assert values and all(v.startswith(prefix) for v in values), (source, name)
        assert gx["protected"]["id_norm"] > 0
