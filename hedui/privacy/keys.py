"""Keys, keyed pseudonyms and column encryption.

Two 32-byte keys protect personal data in the working database:

- the **pseudonym key** turns a normalized ID number into a keyed pseudonym
  (HMAC-SM3, truncated to 128 bits, written ``p1:<32 hex>``).  The same ID and
  key always give the same pseudonym, so SQL joins on ``id_norm`` keep working;
  without the key nobody can recompute it from a guessed ID;
- the **data key** encrypts raw ID numbers and account numbers (AES-256-GCM,
  or SM4-GCM with ``HEDUI_CIPHER=sm4-gcm``) with a random nonce per value; the
  token is ``a1:`` / ``s1:`` + base64(nonce ‖ ciphertext ‖ tag).  Decrypting
  detects any change to a token.

Keys come from the environment (``HEDUI_PSEUDONYM_KEY``, ``HEDUI_DATA_KEY``,
base64) or, when those are unset, from the Airflow connection named by
``HEDUI_KEYS_CONN_ID`` (password = pseudonym key, extra ``{"data_key": ...}``);
never from the repository, logs or reports.  Call :func:`load_keys` when a run
starts: a missing or short key is a :class:`~hedui.errors.ConfigError` there,
not a crash in the middle of a run.

DuckDB cannot compute an HMAC: the helpers here take the *distinct* values of
a column (a list or an Arrow array) and return the results in the same order,
for the caller to join back in SQL (see :mod:`hedui.privacy.protect`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hedui.errors import ConfigError, HeduiError

ENV_PSEUDONYM_KEY = "HEDUI_PSEUDONYM_KEY"
ENV_DATA_KEY = "HEDUI_DATA_KEY"
ENV_KEYS_CONN_ID = "HEDUI_KEYS_CONN_ID"
ENV_CIPHER = "HEDUI_CIPHER"
KEY_BYTES = 32
PSEUDONYM_PREFIX = "p1:"
CIPHERS = {"aes-gcm": "a", "sm4-gcm": "s"}
TOKEN_PREFIXES = ("a1:", "s1:")
GENERATE_HINT = ('python -c "import secrets,base64;'
                 'print(base64.b64encode(secrets.token_bytes(32)).decode())"')
FINGERPRINT_LABEL = b"hedui key fingerprint v1: "
_NONCE = 12
_TAG = 16


class DecryptionError(HeduiError):
    """A token is malformed, was changed, or was made with another key."""


def _key_error(variable: str, problem_zh: str, problem_en: str) -> ConfigError:
    return ConfigError(
        f"密钥 {variable} {problem_zh}。请设置环境变量 {variable}（32 字节随机数的 base64），"
        f"或设置 {ENV_KEYS_CONN_ID} 指向保存密钥的 Airflow 连接。生成一个：{GENERATE_HINT}"
        f"（key {variable} {problem_en}: set it to the base64 of 32 random bytes, "
        f"or set {ENV_KEYS_CONN_ID} to an Airflow connection holding the keys）"
    )


def _decode_key(variable: str, text: str | None) -> bytes:
    if text is None or not str(text).strip():
        raise _key_error(variable, "未设置", "is not set")
    s = "".join(str(text).split())
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), altchars=b"-_" if ("-" in s or "_" in s) else None,
                               validate=True)
    except (binascii.Error, ValueError):
        raise _key_error(variable, "不是有效的 base64", "is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise _key_error(variable, f"长度为 {len(raw)} 字节，应为 {KEY_BYTES} 字节",
                         f"has {len(raw)} bytes instead of {KEY_BYTES}")
    return raw


@dataclass(frozen=True, repr=False)
class Keys:
    """The pseudonym key and the data key (32 bytes each); `cipher` is used for new tokens.

    Raises ConfigError when a key is not 32 bytes or the cipher is unknown.
    """

    pseudonym_key: bytes
    data_key: bytes
    cipher: str = "aes-gcm"
    _hmac: crypto_hmac.HMAC = field(init=False, compare=False)
    _aes: AESGCM = field(init=False, compare=False)
    _sm4_key: bytes = field(init=False, compare=False)

    def __post_init__(self) -> None:
        for name, key in ((ENV_PSEUDONYM_KEY, self.pseudonym_key), (ENV_DATA_KEY, self.data_key)):
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise _key_error(name, f"长度应为 {KEY_BYTES} 字节", f"must be {KEY_BYTES} bytes")
        if self.cipher not in CIPHERS:
            raise ConfigError(f"{ENV_CIPHER}={self.cipher!r} 无效：可选 {', '.join(CIPHERS)}")
        object.__setattr__(self, "_hmac", crypto_hmac.HMAC(self.pseudonym_key, hashes.SM3()))
        object.__setattr__(self, "_aes", AESGCM(self.data_key))
        sm4 = HKDF(algorithm=hashes.SM3(), length=16, salt=None, info=b"hedui sm4-gcm data key").derive(self.data_key)
        object.__setattr__(self, "_sm4_key", sm4)

    def __repr__(self) -> str:  # never show key material in a log or traceback
        return f"Keys(cipher={self.cipher!r}, pseudonym_key=<hidden>, data_key=<hidden>)"

    # -- pseudonyms ---------------------------------------------------------------

    def pseudonym(self, id_norm: str | None) -> str | None:
        """`p1:` + the first 128 bits of HMAC-SM3(pseudonym key, id_norm) in hex; None stays None.

        A value that already is a pseudonym is returned unchanged (idempotent).
        """
        if id_norm is None:
            return None
        if id_norm.startswith(PSEUDONYM_PREFIX):
            return id_norm
        h = self._hmac.copy()
        h.update(id_norm.encode("utf-8"))
        return PSEUDONYM_PREFIX + h.finalize()[:16].hex()

    def pseudonyms(self, values: Iterable[str | None]) -> list[str | None]:
        """`pseudonym` of each value (a list or an Arrow array of distinct values), in order."""
        prefix = PSEUDONYM_PREFIX
        vals = _pylist(values)
        digests = self.pseudonym_digests(vals)
        return [v if d is None else prefix + d.hex() for v, d in zip(vals, digests, strict=True)]

    def pseudonym_digests(self, values: Iterable[str | None]) -> list[bytes | None]:
        """The 16 bytes behind each value's pseudonym (None for None and for a pseudonym already).

        For set-based callers that format in SQL: ``'p1:' || lower(hex(digest))``.
        """
        copy = self._hmac.copy
        out: list[bytes | None] = []
        append = out.append
        for v in _plain_bytes(values, (PSEUDONYM_PREFIX,)):
            if v is None:
                append(None)
                continue
            h = copy()
            h.update(v)
            append(h.finalize()[:16])
        return out

    # -- encryption ---------------------------------------------------------------

    @property
    def token_prefix(self) -> str:
        """``a1:`` (AES-256-GCM) or ``s1:`` (SM4-GCM): what this key's tokens start with."""
        return CIPHERS[self.cipher] + "1:"

    def encrypt(self, value: str | None) -> str | None:
        """Encrypt a value to a token (`a1:`/`s1:` + base64); None stays None, a token stays as is."""
        return self.encrypt_many([value])[0]

    def encrypt_many(self, values: Iterable[str | None]) -> list[str | None]:
        """`encrypt` of each value, in order (a fresh random nonce per value)."""
        vals = _pylist(values)
        b64, prefix = base64.b64encode, self.token_prefix
        return [v if r is None else prefix + b64(r).decode("ascii")
                for v, r in zip(vals, self.encrypt_raw_many(vals), strict=True)]

    def encrypt_raw_many(self, values: Iterable[str | None]) -> list[bytes | None]:
        """nonce ‖ ciphertext ‖ tag of each value (None for None and for a token already).

        For set-based callers that format in SQL: ``token_prefix || to_base64(raw)``.
        """
        vals = _plain_bytes(values, TOKEN_PREFIXES)
        pool = secrets.token_bytes(_NONCE * len(vals))
        nonces = [pool[i:i + _NONCE] for i in range(0, len(pool), _NONCE)]  # a fresh random nonce per value
        if self.cipher == "aes-gcm":
            enc = self._aes.encrypt
            return [None if v is None else n + enc(n, v, None) for n, v in zip(nonces, vals, strict=True)]
        out: list[bytes | None] = []
        for n, v in zip(nonces, vals, strict=True):
            if v is None:
                out.append(None)
                continue
            e = Cipher(algorithms.SM4(self._sm4_key), modes.GCM(n)).encryptor()
            ct = e.update(v) + e.finalize()
            out.append(n + ct + e.tag)
        return out

    def decrypt(self, token: str | None) -> str | None:
        """The value of a token; None stays None.

        Raises DecryptionError when the token is malformed, changed, or made with another key.
        Callers that show the value to a person must log it (`protect.reveal` does).
        """
        if token is None:
            return None
        prefix, _, body = token.partition(":")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptionError("密文格式错误（不是 base64）") from None
        if len(raw) < _NONCE + _TAG:
            raise DecryptionError("密文过短")
        n, ct = raw[:_NONCE], raw[_NONCE:]
        try:
            if prefix == "a1":
                plain = self._aes.decrypt(n, ct, None)
            elif prefix == "s1":
                d = Cipher(algorithms.SM4(self._sm4_key), modes.GCM(n, ct[-_TAG:])).decryptor()
                plain = d.update(ct[:-_TAG]) + d.finalize()
            else:
                raise DecryptionError(f"未知的密文版本 {prefix!r}（应为 a1 或 s1）")
        except InvalidTag:
            raise DecryptionError("密文校验失败：数据被篡改，或密钥与加密时不同") from None
        return plain.decode("utf-8")

    # -- derived keys and fingerprints -----------------------------------------------

    def derived_key(self, purpose: str) -> bytes:
        """A 32-byte key for `purpose` (e.g. the audit log's head anchor), derived from the pseudonym key."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=f"hedui derived key: {purpose}".encode()).derive(self.pseudonym_key)

    def fingerprint(self) -> dict[str, str]:
        """Keyed fingerprints of both keys: HMAC-SHA256 of a fixed label under each key (first 128 bits, hex).

        They tell whether two runs used the same keys and reveal nothing about the keys.
        """
        out = {}
        for name, key in (("pseudonym_key", self.pseudonym_key), ("data_key", self.data_key)):
            h = crypto_hmac.HMAC(key, hashes.SHA256())
            h.update(FINGERPRINT_LABEL + name.encode())
            out[name] = h.finalize()[:16].hex()
        return out

    def decrypt_many(self, tokens: Iterable[str | None]) -> list[str | None]:
        """`decrypt` of each token, in order.  Raises DecryptionError on the first bad one."""
        if hasattr(tokens, "to_pylist"):
            return self.decrypt_array(tokens).to_pylist()
        return [self.decrypt(t) for t in tokens]

    def decrypt_array(self, tokens, *, plain_stands: bool = False):
        """`decrypt_many` of `tokens` (a list or an Arrow string array) as an Arrow string array.

        `plain_stands`: a value that is not a token (no `a1:`/`s1:`) stands for itself instead of being an
        error (the link step's delivered IDs of a database filled before protection).  When every value is
        an `a1:` token or null, the tokens' bytes are taken from Arrow and base64-decoded and decrypted in one
        loop with no `str` made per token (≈ 0.6 µs a token less); any failure there (or any other batch) is
        decided value by value by `decrypt`, so the answer and the first error are `decrypt`'s.
        """
        import pyarrow as pa  # only a batch's caller needs Arrow
        import pyarrow.compute as pc

        arr = _string_array(tokens)
        if len(arr) and pc.all(pc.starts_with(arr, "a1:")).as_py() is not False:  # nulls aside
            try:
                return _aes_batch(self._aes.decrypt, arr)
            except Exception:  # noqa: BLE001 — the value-by-value path below raises the right error
                pass
        return pa.array([t if t is None or (plain_stands and not t.startswith(TOKEN_PREFIXES))
                         else self.decrypt(t) for t in arr.to_pylist()], pa.string())


def is_pseudonym(value: str | None) -> bool:
    return value is not None and value.startswith(PSEUDONYM_PREFIX)


def is_token(value: str | None) -> bool:
    return value is not None and value.startswith(TOKEN_PREFIXES)


def _pylist(values) -> list:
    if hasattr(values, "to_pylist"):  # pyarrow Array / ChunkedArray
        return values.to_pylist()
    return list(values)


def _string_array(values):
    """`values` (a list, or an Arrow string, large string or chunked array) as one Arrow string array."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if not isinstance(values, pa.Array):
        return pa.array(list(values), pa.string())
    return values if pa.types.is_string(values.type) else values.cast(pa.string())


def _aes_batch(decrypt, arr):
    """The plain values of an Arrow string array of `a1:` tokens and nulls (`decrypt`: AESGCM's).  Raises on
    any token `Keys.decrypt` would not accept (not base64 in strict mode, short, changed, not UTF-8), for the
    caller to find the error value by value."""
    import pyarrow as pa

    a2b = binascii.a2b_base64
    binary = arr.cast(pa.binary())
    valid = binary.drop_null()
    plain = pa.array([decrypt(raw[:_NONCE], raw[_NONCE:], None)
                      for raw in (a2b(t[3:], strict_mode=True) for t in valid.to_pylist())],
                     pa.binary()).cast(pa.string())  # the cast checks UTF-8 as bytes.decode does
    if len(valid) == len(arr):
        return plain
    import numpy as np

    index = np.cumsum(binary.is_valid().to_numpy(zero_copy_only=False)) - 1
    return plain.take(pa.array(index, mask=binary.is_null().to_numpy(zero_copy_only=False)))


def _plain_bytes(values, prefixes: tuple[str, ...]) -> list[bytes | None]:
    """Each value's UTF-8 bytes, None for None and for a value starting with one of ``prefixes`` (protected
    already).  An Arrow string array is turned so in C++ (its bytes as they are, the prefixes tested by
    ``starts_with``): no ``str`` made and encoded per value (≈ 0.25 µs of a pseudonym's or token's ≈ 1.3)."""
    if not hasattr(values, "to_pylist"):
        return [None if v is None or v.startswith(prefixes) else v.encode("utf-8") for v in values]
    import pyarrow as pa  # only an Arrow array's caller has it loaded
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array) and (pa.types.is_string(values.type)
                                         or pa.types.is_large_string(values.type)):
        done = None
        for p in prefixes:
            hit = pc.starts_with(values, p)
            done = hit if done is None else pc.or_(done, hit)
        if done is not None and pc.any(done).as_py():
            values = pc.if_else(done, pa.scalar(None, values.type), values)
        return values.cast(pa.binary() if pa.types.is_string(values.type) else pa.large_binary()).to_pylist()
    return [None if v is None or v.startswith(prefixes) else v.encode("utf-8") for v in _pylist(values)]


def _from_airflow_connection(conn_id: str) -> tuple[str | None, str | None]:
    """(pseudonym key, data key) from an Airflow connection: password, extra `data_key`."""
    try:
        from airflow.models.connection import Connection

        conn = Connection.get_connection_from_secrets(conn_id)
    except Exception as exc:  # noqa: BLE001 — any lookup failure is a configuration problem
        raise ConfigError(
            f"无法读取 Airflow 连接 {conn_id!r}（由 {ENV_KEYS_CONN_ID} 指定）：{type(exc).__name__}。"
            f"请创建该连接（password = 假名密钥，extra = {{\"data_key\": ...}}），"
            f"或直接设置 {ENV_PSEUDONYM_KEY} 和 {ENV_DATA_KEY}。"
        ) from None
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else json.loads(conn.extra or "{}")
    return conn.password, (extra or {}).get("data_key")


def load_keys(environ: dict[str, str] | None = None) -> Keys:
    """This installation's keys, from the environment or the Airflow connection `HEDUI_KEYS_CONN_ID`.

    Each of `HEDUI_PSEUDONYM_KEY` / `HEDUI_DATA_KEY` set in the environment wins;
    a key left unset is read from the connection when `HEDUI_KEYS_CONN_ID` is set.
    `HEDUI_CIPHER` (`aes-gcm` default, or `sm4-gcm`) picks the cipher for new tokens.

    Raises ConfigError naming the variable to set when a key is missing, not
    base64, or not 32 bytes, or when the connection cannot be read.
    """
    env = os.environ if environ is None else environ
    pkey, dkey = env.get(ENV_PSEUDONYM_KEY), env.get(ENV_DATA_KEY)
    conn_id = env.get(ENV_KEYS_CONN_ID)
    if (not pkey or not dkey) and conn_id:
        cp, cd = _from_airflow_connection(conn_id)
        pkey, dkey = pkey or cp, dkey or cd
    return Keys(_decode_key(ENV_PSEUDONYM_KEY, pkey), _decode_key(ENV_DATA_KEY, dkey),
                cipher=env.get(ENV_CIPHER) or "aes-gcm")


def new_key() -> str:
    """A fresh key: the base64 of 32 random bytes."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def install_local_keys(path: Path | str) -> dict[str, str]:
    """For a developer or demo installation: keys generated once into `path` (mode 0600).

    The file must be git-ignored (`.airflow/` is).  The keys are exported to
    `os.environ` unless a variable is already set (a deployment's own keys win)
    and the variables are returned.  Never use this on a production machine:
    there keys come from the environment or an Airflow connection.
    """
    path = Path(path)
    if path.exists():
        values = json.loads(path.read_text(encoding="utf-8"))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({ENV_PSEUDONYM_KEY: new_key(), ENV_DATA_KEY: new_key()}, fh)
        try:
            os.link(tmp, path)  # atomic; a parallel process that got there first wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        values = json.loads(path.read_text(encoding="utf-8"))
    if not os.environ.get(ENV_KEYS_CONN_ID):
        for k in (ENV_PSEUDONYM_KEY, ENV_DATA_KEY):
            os.environ.setdefault(k, values[k])
    return {k: os.environ[k] for k in (ENV_PSEUDONYM_KEY, ENV_DATA_KEY) if k in os.environ}
