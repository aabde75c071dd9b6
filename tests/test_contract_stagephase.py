"""The staging protector's crypto fed bytes by Arrow, and its pseudonyms' hex by ``bytes.hex``: the same
pseudonyms and tokens as the per-value ``str`` loops before (session 34, BENCHMARKS.md "stagephase")."""

from __future__ import annotations

import os
import random

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from hedui.privacy import keys as keys_module
from hedui.privacy.keys import Keys
from hedui.privacy.protect import StreamProtector
from hedui.privacy.vectorized import pseudonym_strings

#: cells a delivery may hold: protected already (either prefix, or the prefix alone), empty, spaces, CJK,
#: astral characters, a NUL, the prefixes' look-alikes (upper case, full-width colon, inside a value)
HOSTILE = ["110101199001011234", "11010119900101123x", "", " ", "　110101199001011234", "p1:", "p1:abc", "P1:abc",
           "p1：abc", "a1:", "a1:tok", "s1:tok", "A1:tok", "xa1:tok", " p1:abc", "陈雨一", "𠀀𪚥", "\x00", "x\x00y",
           "p", "a1", "s1:", "ｐ1:abc", "6222 0212 3456 7890", "3.60102E+17", None]


def make_keys(cipher: str = "aes-gcm") -> Keys:
    return Keys(bytes([7]) * 32, bytes([77]) * 32, cipher=cipher)


def _old_digest(k: Keys, v: str | None) -> bytes | None:
    """The loop before: a str per value, its own prefix test, encoded to UTF-8."""
    if v is None or v.startswith("p1:"):
        return None
    h = crypto_hmac.HMAC(k.pseudonym_key, hashes.SM3())
    h.update(v.encode("utf-8"))
    return h.finalize()[:16]


def _values() -> list[str | None]:
    rnd = random.Random(34)
    pool = [chr(c) for c in (*range(0x20, 0x7F), 0x3000, 0x4E00, 0x9FA5, 0xFF10, 0x1F600)]
    return HOSTILE + ["".join(rnd.choice(pool) for _ in range(rnd.randint(0, 24))) for _ in range(3000)]


def _arrays(values: list[str | None]):
    """The same values as a list, a string array, a large string array, a chunked and a sliced array."""
    arr = pa.array(["pad", *values, "pad"], pa.string()).slice(1, len(values))
    return {"list": values, "string": pa.array(values, pa.string()), "large": pa.array(values, pa.large_string()),
            "chunked": pa.chunked_array([arr.slice(0, 5), arr.slice(5)]), "sliced": arr}


def test_CG01_pseudonym_digests_equal_the_per_value_loop_on_hostile_values():
    k = make_keys()
    values = _values()
    want = [_old_digest(k, v) for v in values]
    for kind, array in _arrays(values).items():
        assert k.pseudonym_digests(array) == want, kind
    assert k.pseudonym_digests(pa.array([], pa.string())) == []
    assert k.pseudonym_digests(pa.array([None, None], pa.string())) == [None, None]
    assert k.pseudonyms(pa.array(values)) == [v if d is None else "p1:" + d.hex() for v, d in zip(values, want, strict=True)]


@pytest.mark.parametrize("cipher", ["aes-gcm", "sm4-gcm"])
def test_CG02_tokens_decrypt_to_each_value_and_skip_tokens_and_nulls(cipher):
    k = make_keys(cipher)
    values = _values()
    for kind, array in _arrays(values).items():
        raw = k.encrypt_raw_many(array)
        assert len(raw) == len(values), kind
        for v, r in zip(values, raw, strict=True):
            if v is None or v.startswith(("a1:", "s1:")):
                assert r is None, (kind, v)
            else:
                assert k.decrypt(k.token_prefix + keys_module.base64.b64encode(r).decode()) == v, (kind, v)
        nonces = [r[:12] for r in raw if r is not None]
        assert len(set(nonces)) == len(nonces)  # a fresh nonce per value
    assert k.encrypt_many(values) is not None


def test_CG03_plain_bytes_of_arrow_and_of_python_agree():
    values = _values()
    for prefixes in (("p1:",), ("a1:", "s1:")):
        want = [None if v is None or v.startswith(prefixes) else v.encode("utf-8") for v in values]
        for kind, array in _arrays(values).items():
            assert keys_module._plain_bytes(array, prefixes) == want, (kind, prefixes)


def test_CG04_pseudonym_hex_equals_per_digest_hex():
    rnd = random.Random(5)
    digests = [bytes(rnd.randrange(256) for _ in range(16)) for _ in range(2000)] + [b"\x00" * 16, b"\xff" * 16]
    got = pseudonym_strings("p1:", digests)
    assert got.to_pylist() == ["p1:" + d.hex() for d in digests]
    assert pseudonym_strings("p1:", [digests[0], None]) is None
    assert pseudonym_strings("p1:", [digests[0], b"\x01" * 15]) is None
    assert pseudonym_strings("p1:", []) is None
    assert pseudonym_strings("q:", [os.urandom(32)]).to_pylist()[0].startswith("q:")


def test_CG05_stream_protector_on_hostile_rows_as_the_per_value_functions(tmp_path):
    k = make_keys()
    values = _values()
    table = pa.table({"id_norm": values, "id_number": list(reversed(values)), "account_no": values})
    p = StreamProtector(k, tmp_path / "x.parquet", account_columns=("account_no",))
    p.schema(table.schema)
    out = pa.concat_tables([p(table.slice(0, 1000)), p(table.slice(1000))])
    p.close()
    assert out.column("id_norm").to_pylist() == [v if v is None or v.startswith("p1:") else k.pseudonym(v)
                                                 for v in values]
    for column, plain in (("id_number", list(reversed(values))), ("account_no", values)):
        for v, t in zip(plain, out.column(column).to_pylist(), strict=True):
            assert t == v if v is None or v.startswith(("a1:", "s1:")) else k.decrypt(t) == v
    distinct = {v for v in values if v is not None}
    assert p.counts == {"id_norm": len({v for v in distinct if not v.startswith("p1:")}),
                        "id_number": len({v for v in distinct if not v.startswith(("a1:", "s1:"))}),
                        "account_no": len({v for v in distinct if not v.startswith(("a1:", "s1:"))})}
