"""The delivered IDs the link step compares, in process memory only: decrypted, then normalized as
`matching.idnum.normalize_id` does, with the LIKE pattern of an ID masked as banks deliver it.

`_plain_table` is the link step's (and the urgent path's) one way from ID tokens to plain IDs; the usual value
(18 ASCII characters) is normalized for all rows at once from the Arrow buffer, any other by `normalize_id`.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _plain_table(tokens: list[str] | pa.Array, keys) -> pa.Table:
    """(token, plain, norm, status, mask) for delivered ID tokens (a list or an Arrow string array): decrypted
    (`Keys.decrypt_array`, from the Arrow buffer), then normalized.

    `norm`/`status` are `matching.idnum.normalize_id`, the tested twin of the SQL
    macros `hd_id_norm`/`hd_id_status`: that macro tree costs DuckDB about a second
    of planning per query that uses it, which every urgent verification paid three
    times for a handful of IDs.  A value that is not a token stands for itself.
    """
    from hedui.privacy.keys import TOKEN_PREFIXES, _string_array

    tokens = _string_array(tokens)
    if pc.any(pc.or_(*(pc.starts_with(tokens, p) for p in TOKEN_PREFIXES))).as_py():
        plain = keys.decrypt_array(tokens, plain_stands=True)
    else:  # no token: nothing to decrypt (a database filled before protection; no keys needed)
        plain = tokens
    norm, status, mask = _normalized_arrays(plain)
    return pa.table({"token": tokens, "plain": plain, "norm": norm, "status": status, "mask": mask})


_MASKED = re.compile(r"([0-9]*)\*+([0-9]*X?)")


def _masks(plain: list[str | None], status: list[str | None]) -> list[str | None]:
    """A LIKE pattern of an ID masked as banks deliver it (360702********1234, 3607**********123X): its visible
    characters in place, `_` for each hidden one; None for anything else (and for fewer than 4 visible digits)."""
    from matching.idnum import MALFORMED, clean_id

    out: list[str | None] = [None] * len(plain)
    for i, (p, st) in enumerate(zip(plain, status, strict=True)):
        if st == MALFORMED and p and "*" in p:
            c = clean_id(p)
            if len(c) == 18 and (m := _MASKED.fullmatch(c)) and len(m.group(1)) + len(m.group(2)) >= 4:
                out[i] = m.group(1) + "_" * (18 - len(m.group(1)) - len(m.group(2))) + m.group(2)
    return out


def _normalized(plain: list[str | None]) -> tuple[list[str | None], list[str | None]]:
    """(norm, status) of `matching.idnum.normalize_id` for each value (None: None, None): `_normalized_arrays`."""
    norm, status, _ = _normalized_arrays(pa.array(plain, pa.string()))
    return norm.to_pylist(), status.to_pylist()


def _normalized_arrays(plain: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(norm, status, mask) of the strings `plain`: `matching.idnum.normalize_id` of each (None: None, None) and
    `_masks`.

    The usual value, 18 ASCII characters `[0-9]{17}[0-9X]`, is its own cleaned
    form: its birth date and check character are computed for all of them at
    once with numpy, read from the Arrow buffer (the same rules: years 1800–2099, a real calendar date,
    GB 11643 weights); any other value goes through `normalize_id` (and only such a value, malformed, can be a
    mask).  The results are put together by one `take` (no Python string per usual value).
    """
    from hedui.steps.link_near import _rows18
    from matching.idnum import BAD_CHECK, CHECK_CHARS, MALFORMED, VALID, WEIGHTS, normalize_id

    n = len(plain)
    index, b = _rows18(plain)
    shaped = (((b[:, :17] >= 48) & (b[:, :17] <= 57)).all(1)
              & (((b[:, 17] >= 48) & (b[:, 17] <= 57)) | (b[:, 17] == 88)))
    fast, b = index[shaped], b[shaped]
    d = b[:, :17].astype(np.int64) - 48
    check = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)[(d @ np.array(WEIGHTS)) % 11]
    year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    month, day = d[:, 10] * 10 + d[:, 11], d[:, 12] * 10 + d[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.zeros(100, dtype=np.int64)  # month 00–99: only 01–12 have days
    month_days[1:13] = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    last = month_days[month] + (leap & (month == 2))
    born = (year >= 1800) & (year < 2100) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last)
    # status codes: 0 None, 1 valid, 2 bad check, 3 malformed; a value normalize_id answers is 4 + its place in `slow`
    statuses = [None, VALID, BAD_CHECK, MALFORMED]
    code = np.zeros(n, dtype=np.int64)
    code[fast] = np.where(born, np.where(check == b[:, 17], 1, 2), 3)
    is_fast = np.zeros(n, dtype=bool)
    is_fast[fast] = True
    valid = pc.is_valid(plain).to_numpy(zero_copy_only=False)
    slow = np.flatnonzero(valid & ~is_fast)
    norm_take = np.where(code == 1, np.arange(n), n)  # the value itself, or a null
    norm_take[code == 2] = np.flatnonzero(code == 2)
    slow_norm, slow_mask, mask_take = [None], [None], np.zeros(n, dtype=np.int64)
    if len(slow):
        values = plain.take(pa.array(slow)).to_pylist()
        answers = [normalize_id(v) for v in values]
        status_of = {s: i for i, s in enumerate(statuses)}
        for s in {a[1] for a in answers} - set(status_of):
            status_of[s] = len(statuses)
            statuses.append(s)
        code[slow] = [status_of[a[1]] for a in answers]
        norm_take[slow] = n + 1 + np.arange(len(slow))
        slow_norm += [a[0] for a in answers]
        masks = _masks(values, [a[1] for a in answers])
        slow_mask += masks
        mask_take[slow] = 1 + np.arange(len(slow))
    norm = pa.concat_arrays([plain.cast(pa.string()), pa.array(slow_norm, pa.string())]).take(pa.array(norm_take))
    status = pa.array(statuses, pa.string()).take(pa.array(code))
    mask = pa.array(slow_mask, pa.string()).take(pa.array(mask_take))
    return norm, status, mask
