"""Contract tests of session 35's loadlink: `Keys.decrypt_array`, the batch decryption the link step's plain IDs
go through (`_plain_table`), is `Keys.decrypt` value by value — the same values, nulls in place, and the same
first error — on hostile and random tokens, whatever form the batch comes in."""

from __future__ import annotations

import base64
import random

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hedui.privacy.keys import DecryptionError, Keys
from hedui.steps.link import _plain_table

KEYS = Keys(bytes(range(32)), bytes(range(32, 64)))
OTHER = Keys(bytes(range(32)), bytes(range(64, 96)))
SM4 = Keys(bytes(range(32)), bytes(range(32, 64)), cipher="sm4-gcm")

PLAINS = ["110101199003077777", "11010119900307777X", "110101900307777", "360702********1234", "", " ", "\x00",
          "王平", "１１０１０１１９９００３０７７７７", "𠀀𠀁", "a1", "s1-y", "p1:abc", "x" * 400, "\t\n"]


def _want(keys: Keys, tokens: list[str | None], plain_stands: bool = False) -> list[str | None]:
    return [t if t is None or (plain_stands and not t.startswith(("a1:", "s1:"))) else keys.decrypt(t)
            for t in tokens]


def _forms(values: list[str | None]):
    """The same values as a list, a string array, a large string array, a chunked array and a sliced array."""
    yield values
    yield pa.array(values, pa.string())
    yield pa.array(values, pa.large_string())
    half = len(values) // 2
    yield pa.chunked_array([pa.array(values[:half], pa.string()), pa.array(values[half:], pa.string())])
    yield pa.array(["pad"] + values + ["pad"], pa.string()).slice(1, len(values))


def _random_values(rnd: random.Random, n: int) -> list[str]:
    alphabet = "0123456789X*王平 \x00𠀀ａ"
    return [rnd.choice(PLAINS) if rnd.random() < 0.2 else
            "".join(rnd.choice(alphabet) for _ in range(rnd.choice((0, 1, 15, 17, 18, 19, 40))))
            for _ in range(n)]


@pytest.mark.parametrize("keys", [KEYS, SM4], ids=["aes", "sm4"])
def test_CR01_a_batch_is_decrypt_value_by_value(keys):
    """CR01: every value, nulls in place, in every form of batch, for both ciphers; `decrypt_many` the same."""
    rnd = random.Random(35)
    values = PLAINS + _random_values(rnd, 1500)
    tokens = keys.encrypt_many(values)
    tokens = [None if rnd.random() < 0.05 else t for t in tokens] + [None]
    want = _want(keys, tokens)
    for given in _forms(tokens):
        got = keys.decrypt_array(given)
        assert got.type == pa.string() and got.to_pylist() == want
        assert keys.decrypt_many(given) == want
    assert keys.decrypt_array([None, None]).to_pylist() == [None, None]
    assert keys.decrypt_array([]).to_pylist() == []
    assert keys.decrypt_array(pa.chunked_array([], pa.string())).to_pylist() == []


def test_CR02_the_first_bad_token_raises_as_decrypt():
    """CR02: a batch with a bad token raises decrypt's error for the first bad one in order (a token changed,
    made with another key, cut short, with a non-base64 or non-ASCII character, padding inside, an unknown
    prefix, a plain value) — the fast loop never answers what `decrypt` refuses."""
    good = KEYS.encrypt("110101199003077777")
    body = good[3:]
    raw = base64.b64decode(body)
    bad = {
        "changed": "a1:" + base64.b64encode(raw[:-1] + bytes([raw[-1] ^ 1])).decode(),
        "other key": OTHER.encrypt("110101199003077777"),
        "short": "a1:" + base64.b64encode(raw[:27]).decode(),
        "tiny": "a1:" + base64.b64encode(raw[:5]).decode(),
        "empty": "a1:",
        "space": "a1:" + body[:8] + " " + body[8:],
        "newline": "a1:" + body + "\n",
        "non-ascii": "a1:" + body[:8] + "王" + body[9:],
        "full-width": "a1:" + body[:8] + "Ａ" + body[9:],
        "padding inside": "a1:" + body[:8] + "==" + body[8:],
        "no padding": "a1:" + body.rstrip("="),
        "url-safe": "a1:" + body.replace("+", "-").replace("/", "_") + ("" if "+" in body or "/" in body else "-"),
        "sm4 prefix on aes": "s1:" + body,
        "unknown prefix": "b1:" + body,
        "plain": "110101199003077777",
    }
    for name, token in bad.items():
        with pytest.raises(DecryptionError) as want:
            KEYS.decrypt(token)
        for tokens in ([good, token, good], [token], [None, good, token, bad["changed"]]):
            with pytest.raises(DecryptionError) as got:
                KEYS.decrypt_array(tokens)
            first = next(t for t in tokens if t is not None and t != good)
            with pytest.raises(DecryptionError) as first_err:
                KEYS.decrypt(first)
            assert str(got.value) == str(first_err.value), name
        assert str(want.value)


def test_CR03_an_authentic_token_of_bytes_not_utf8_raises_as_decrypt():
    """CR03: a token that authenticates but whose plain bytes are not UTF-8 (no `encrypt` makes one) raises
    `decrypt`'s UnicodeDecodeError, not a value."""
    for plain in (b"\xff", b"\xed\xa0\x80", b"\xc0\x80", b"ok\xf4\x90\x80\x80"):
        nonce = bytes(12)
        token = "a1:" + base64.b64encode(nonce + AESGCM(KEYS.data_key).encrypt(nonce, plain, None)).decode()
        with pytest.raises(UnicodeDecodeError):
            KEYS.decrypt(token)
        with pytest.raises(UnicodeDecodeError):
            KEYS.decrypt_array([KEYS.encrypt("1"), token])


def test_CR04_plain_values_stand_for_themselves_where_asked():
    """CR04: `plain_stands`: a value without a token's prefix is its own plain value (anywhere in the batch, with
    tokens of both ciphers); without it, such a value is decrypt's error."""
    rnd = random.Random(4)
    values = PLAINS + _random_values(rnd, 300)
    tokens = [v if rnd.random() < 0.3 and not v.startswith(("a1:", "s1:"))
              else (SM4 if rnd.random() < 0.1 else KEYS).encrypt(v) for v in values] + [None]
    want = [t if t is None or not t.startswith(("a1:", "s1:")) else
            (KEYS if t.startswith("a1:") else SM4).decrypt(t) for t in tokens]
    for given in _forms(tokens):
        assert KEYS.decrypt_array(given, plain_stands=True).to_pylist() == want
    with pytest.raises(DecryptionError):
        KEYS.decrypt_array(tokens)


def _plain_table_old(tokens: list[str | None], keys) -> pa.Table:
    """The link step's `_plain_table` before session 35: `decrypt` per token, a non-token standing for itself."""
    from hedui.steps.link_ids import _normalized_arrays

    plain = pa.array([keys.decrypt(t) if t is not None and t.startswith(("a1:", "s1:")) else t for t in tokens],
                     pa.string())
    norm, status, mask = _normalized_arrays(plain)
    return pa.table({"token": pa.array(tokens, pa.string()), "plain": plain, "norm": norm, "status": status,
                     "mask": mask})


def test_CR05_the_link_steps_plain_table_is_the_per_token_one():
    """CR05: `_plain_table` over tokens of IDs, masks and hostile values (as a list or an Arrow array, with plain
    values among them) is the per-token table; with no token at all it needs no keys."""
    rnd = random.Random(5)
    ids = [f"{rnd.randint(110000, 659999)}{rnd.randint(1900, 2030)}{rnd.randint(0, 13):02d}{rnd.randint(0, 32):02d}"
           f"{rnd.randint(0, 999):03d}{rnd.choice('0123456789Xx')}" for _ in range(2000)]
    values = ids + PLAINS + _random_values(rnd, 300)
    tokens = KEYS.encrypt_many(values) + [None]
    for toks in (tokens, tokens[:500] + values[:50] + tokens[500:]):
        want = _plain_table_old(toks, KEYS)
        assert _plain_table(toks, KEYS).equals(want)
        assert _plain_table(pa.array(toks, pa.string()), KEYS).equals(want)
    plain_only = values[:100] + [None]
    assert _plain_table(plain_only, None).equals(_plain_table_old(plain_only, None))
    assert _plain_table([], KEYS).num_rows == 0
