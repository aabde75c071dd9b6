"""Keys, pseudonyms, column encryption (hedui.privacy.keys) and table protection (hedui.privacy.protect)."""

from __future__ import annotations

import base64
import json
import os
import stat

import duckdb
import pyarrow as pa
import pytest

from hedui.audit.log import AuditLog
from hedui.errors import ConfigError
from hedui.privacy.keys import (
    ENV_DATA_KEY,
    ENV_KEYS_CONN_ID,
    ENV_PSEUDONYM_KEY,
    DecryptionError,
    Keys,
    install_local_keys,
    load_keys,
    new_key,
)
from hedui.privacy.protect import (
    ProtectError,
    protect_parquet,
    protect_source,
    protect_table,
    protect_working_tables,
    reveal,
)

ID_A = "36010219900307123X"
ID_B = "360102198512250018"


def make_keys(seed: int = 1, cipher: str = "aes-gcm") -> Keys:
    return Keys(bytes([seed]) * 32, bytes([seed + 100]) * 32, cipher=cipher)


@pytest.fixture
def no_key_env(monkeypatch):
    for k in (ENV_PSEUDONYM_KEY, ENV_DATA_KEY, ENV_KEYS_CONN_ID, "HEDUI_CIPHER"):
        monkeypatch.delenv(k, raising=False)
    return monkeypatch


def test_pseudonym_is_deterministic_prefixed_and_keyed():
    k = make_keys()
    p = k.pseudonym(ID_A)
    assert p == k.pseudonym(ID_A) and p.startswith("p1:") and len(p) == 3 + 32
    assert ID_A not in p and p != k.pseudonym(ID_B)
    assert make_keys(2).pseudonym(ID_A) != p
    assert k.pseudonym(p) == p  # idempotent: a pseudonym is left alone
    assert k.pseudonym(None) is None


def test_vectorized_pseudonyms_equal_the_scalar_ones_and_accept_arrow_arrays():
    k = make_keys()
    values = [ID_A, None, ID_B]
    assert k.pseudonyms(values) == [k.pseudonym(v) for v in values]
    assert k.pseudonyms(pa.array(values)) == k.pseudonyms(values)


@pytest.mark.parametrize("cipher", ["aes-gcm", "sm4-gcm"])
def test_encrypt_decrypt_round_trip_with_a_fresh_nonce_each_time(cipher):
    k = make_keys(cipher=cipher)
    t1, t2 = k.encrypt("6222021234567890123"), k.encrypt("6222021234567890123")
    assert t1 != t2 and t1[:3] in ("a1:", "s1:") and "6222021234567890123" not in t1
    assert k.decrypt(t1) == k.decrypt(t2) == "6222021234567890123"
    assert k.encrypt(None) is None and k.decrypt(None) is None
    assert k.encrypt(t1) == t1  # already a token
    assert k.decrypt_many(k.encrypt_many(["身份证", None, ID_A])) == ["身份证", None, ID_A]


@pytest.mark.parametrize("cipher", ["aes-gcm", "sm4-gcm"])
def test_a_changed_token_or_another_key_is_detected(cipher):
    k = make_keys(cipher=cipher)
    token = k.encrypt(ID_A)
    raw = bytearray(base64.b64decode(token[3:]))
    raw[14] ^= 1
    with pytest.raises(DecryptionError, match="篡改"):
        k.decrypt(token[:3] + base64.b64encode(bytes(raw)).decode())
    with pytest.raises(DecryptionError):
        make_keys(7, cipher=cipher).decrypt(token)
    with pytest.raises(DecryptionError):
        k.decrypt("a1:not base64!")


def test_keys_never_show_in_repr():
    k = make_keys()
    assert "hidden" in repr(k) and base64.b64encode(k.data_key).decode() not in repr(k)


def test_a_missing_key_is_a_config_error_naming_the_variable_and_how_to_make_one(no_key_env):
    with pytest.raises(ConfigError) as exc:
        load_keys()
    assert ENV_PSEUDONYM_KEY in str(exc.value) and "secrets.token_bytes(32)" in str(exc.value)
    no_key_env.setenv(ENV_PSEUDONYM_KEY, new_key())
    with pytest.raises(ConfigError, match=ENV_DATA_KEY):
        load_keys()


def test_a_short_or_garbled_key_is_a_config_error(no_key_env):
    no_key_env.setenv(ENV_PSEUDONYM_KEY, base64.b64encode(b"short").decode())
    no_key_env.setenv(ENV_DATA_KEY, new_key())
    with pytest.raises(ConfigError, match="32 字节"):
        load_keys()
    no_key_env.setenv(ENV_PSEUDONYM_KEY, "not*base64")
    with pytest.raises(ConfigError, match="base64"):
        load_keys()


def test_keys_load_from_the_environment(no_key_env):
    p, d = new_key(), new_key()
    no_key_env.setenv(ENV_PSEUDONYM_KEY, p)
    no_key_env.setenv(ENV_DATA_KEY, d)
    k = load_keys()
    assert k.pseudonym_key == base64.b64decode(p) and k.data_key == base64.b64decode(d)


def test_keys_load_from_an_airflow_connection(no_key_env):
    p, d = new_key(), new_key()
    no_key_env.setenv(ENV_KEYS_CONN_ID, "hedui_keys")
    no_key_env.setenv("AIRFLOW_CONN_HEDUI_KEYS", json.dumps(
        {"conn_type": "generic", "password": p, "extra": {"data_key": d}}))
    k = load_keys()
    assert k.pseudonym_key == base64.b64decode(p) and k.data_key == base64.b64decode(d)


def test_a_missing_airflow_connection_is_a_config_error(no_key_env):
    no_key_env.setenv(ENV_KEYS_CONN_ID, "hedui_no_such_connection")
    with pytest.raises(ConfigError, match="hedui_no_such_connection"):
        load_keys()


def test_local_keys_are_generated_once_private_and_exported(tmp_path, no_key_env):
    path = tmp_path / "home" / "hedui_keys.json"
    first = install_local_keys(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.environ[ENV_PSEUDONYM_KEY] == first[ENV_PSEUDONYM_KEY]
    load_keys()  # valid
    no_key_env.delenv(ENV_PSEUDONYM_KEY)
    no_key_env.delenv(ENV_DATA_KEY)
    assert install_local_keys(path) == first  # same keys on the next start
    no_key_env.setenv(ENV_DATA_KEY, "deployment-key")
    assert install_local_keys(path)[ENV_DATA_KEY] == "deployment-key"  # the environment wins


# -- protect_table ---------------------------------------------------------------------------


@pytest.fixture
def con():
    c = duckdb.connect()
    c.sql(f"""create table stg_bank as select * from (values
        ('{ID_A}', ' {ID_A.lower()} ', '6222 0212 3456 7890', 1),
        ('{ID_A}', '{ID_A}', '6222021234567890999', 2),
        (null, '3.60102E+17', '88', 3),
        (null, null, null, 4)
    ) t(id_norm, id_number, account_no, row_no)""")
    c.sql(f"""create table stg_requests as select * from (values
        ('{ID_A}', '{ID_A}', 'WT1'), ('{ID_B}', '{ID_B}', 'WT1')
    ) t(id_norm, id_number, request_id)""")
    yield c
    c.close()


def _all_text(con, table: str) -> str:
    return json.dumps(con.sql(f"select * from {table}").fetchall(), ensure_ascii=False, default=str)


def test_protect_table_leaves_no_plaintext_and_adds_masked_columns(con):
    k = make_keys()
    out = protect_table(con, "stg_bank", keys=k, account_columns=("account_no",))
    assert out["rows"] == 4 and out["id_norm"] == 2
    text = _all_text(con, "stg_bank")
    for plain in (ID_A, ID_A.lower(), "6222 0212 3456 7890", "6222021234567890999", "3.60102E+17"):
        assert plain not in text
    rows = con.sql("select id_norm, id_number, account_no, id_masked, account_no_masked from stg_bank "
                   "order by row_no").fetchall()
    assert rows[0][0] == k.pseudonym(ID_A) and rows[0][3] == "360102********123X"
    assert rows[0][4] == "****7890" and rows[2][4] == "****"
    assert rows[2][0] is None and rows[2][3] == "3.6010*E+17"  # masked from the raw value
    assert rows[3] == (None, None, None, None, None)
    assert k.decrypt(rows[0][1]) == f" {ID_A.lower()} " and k.decrypt(rows[1][2]) == "6222021234567890999"


def test_joins_on_id_norm_still_match_across_protected_tables(con):
    join = "select count(*) from stg_bank b join stg_requests r on r.id_norm = b.id_norm"
    before = con.sql(join).fetchall()
    k = make_keys()
    protect_table(con, "stg_bank", keys=k, account_columns=("account_no",))
    protect_table(con, "stg_requests", keys=k)
    assert con.sql(join).fetchall() == before == [(2,)]


def test_protect_table_twice_changes_nothing_the_second_time(con):
    k = make_keys()
    protect_table(con, "stg_bank", keys=k, account_columns=("account_no",))
    first = con.sql("select * from stg_bank order by row_no").fetchall()
    again = protect_table(con, "stg_bank", keys=k, account_columns=("account_no",))
    assert again["id_norm"] == again["id_number"] == again["account_no"] == 0
    assert con.sql("select * from stg_bank order by row_no").fetchall() == first


def test_protect_table_names_a_missing_table_or_column(con):
    with pytest.raises(ProtectError, match="no_such"):
        protect_table(con, "no_such", keys=make_keys())
    with pytest.raises(ProtectError, match="policy_no"):
        protect_table(con, "stg_bank", keys=make_keys(), account_columns=("policy_no",))


def test_protect_source_takes_the_columns_from_the_header_map(con):
    out = protect_source(con, "bank", make_keys())
    assert {"id_norm", "id_number", "account_no"} <= set(out)
    assert "account_no_masked" in [r[0] for r in con.sql("describe stg_bank").fetchall()]


def test_protect_working_tables_covers_staged_tables_and_derived_member_ids(con):
    con.sql(f"create table links as select 'stg_bank:1' as record_id, 'WT1' as request_id, '{ID_A}' as member_id")
    join = ("select count(*) from links l join stg_bank b on b.id_norm = l.member_id "
            "join stg_requests r on r.id_norm = l.member_id")
    before = con.sql(join).fetchall()
    out = protect_working_tables(con, make_keys(), ["bank", "requests", "tax"])
    assert set(out) == {"stg_bank", "stg_requests", "links"}  # no stg_tax here: skipped
    assert con.sql(join).fetchall() == before == [(2,)]
    assert ID_A not in _all_text(con, "links")


def test_reveal_writes_an_unmasked_view_entry_before_decrypting(tmp_path):
    k = make_keys()
    audit_log = AuditLog(tmp_path / "audit.jsonl")
    assert reveal(k.encrypt(ID_A), keys=k, log_=audit_log, actor="staff:wang", subject="WT1 p1:abc",
                  purpose="出具核对报告原件") == ID_A
    (entry,) = audit_log.entries()
    assert entry["action"] == "unmasked_view" and entry["actor"] == "staff:wang"
    assert ID_A not in audit_log.path.read_text(encoding="utf-8")


@pytest.mark.parametrize("cipher", ["aes-gcm", "sm4-gcm"])
def test_protect_parquet_writes_what_protect_table_would_less_the_dropped_rows(tmp_path, cipher):
    import pyarrow.parquet as pq

    k = make_keys(3, cipher=cipher)
    src, out = tmp_path / "staged.parquet", tmp_path / "protected.parquet"
    pq.write_table(pa.table({
        "record_id": ["r1", "r2", "r3", "r4"],
        "id_norm": [ID_A, ID_A, None, "p1:" + "0" * 32],
        "id_number": [f" {ID_A.lower()} ", "bad", None, "a1:kept"],
        "account_no": ["6222 0212 3456 7890", None, "12", "6222021234567890"],
    }), src)
    counts = protect_parquet(src, out, keys=k, account_columns=("account_no",), drop_rows=[1])
    rows = pq.read_table(out).to_pylist()
    assert counts["rows"] == 3 and [r["record_id"] for r in rows] == ["r1", "r3", "r4"]
    assert rows[0]["id_norm"] == k.pseudonym(ID_A) and rows[1]["id_norm"] is None
    assert rows[2]["id_norm"] == "p1:" + "0" * 32 and rows[2]["id_number"] == "a1:kept"  # protected already
    assert rows[0]["id_number"].startswith(k.token_prefix) and k.decrypt(rows[0]["id_number"]) == f" {ID_A.lower()} "
    assert k.decrypt(rows[0]["account_no"]) == "6222 0212 3456 7890" and k.decrypt(rows[1]["account_no"]) == "12"
    assert rows[0]["id_masked"] == "360102********123X" and rows[0]["account_no_masked"] == "****7890"
    assert rows[1]["account_no_masked"] == "****" and rows[1]["id_masked"] is None
    with pytest.raises(ProtectError):
        protect_parquet(src, out, keys=k, account_columns=("no_such_column",))
