"""The ID parse of ``sql/staging/ids.sql`` in numpy for its fast path: the IDs that are 18 ASCII
characters, 17 digits and a digit or ``X`` (``regexp_full_match(v, '[0-9]{17}[0-9X]')``), nearly
all of a delivery's.  For them ids.sql's answer is the cleaned ID itself, kind 18, and a status
from the birth date (characters 7–14 a real date, year in [1800, 2100): ``hd_id_birth_ok``) and the
ISO 7064 MOD 11-2 check character (``hd_id_check``): 'malformed', 'bad_check' or 'valid'; ``id_norm``
is the ID when valid, else NULL.  Every other value (a null, another length, a space, a 15-digit
ID …) still goes to ids.sql (`hedui.steps.ingest._IdParser`).

Why: public security and bank deliveries hold about one distinct ID per row, and ids.sql's integer
check (17 divisions and remainders per ID) and date parse were ≈ 0.45 CPU-s per 300,000 IDs; these
array operations are ≈ 0.05.  tests/test_contract_psbank.py (BH01) pins them to ids.sql.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
#: id_status codes of the fast path, as indices into this array
STATUSES = pa.array(["valid", "bad_check", "malformed"], pa.string())


def fast_ids(values: pa.Array) -> tuple[np.ndarray, pa.Array, pa.Array] | None:
    """(positions of the fast-path values in ``values``, their id_norm, their id_status), or None when
    ``values`` (a string array) has none."""
    if not pa.types.is_string(values.type) or len(values) == 0:
        return None
    _, offsets_buf, data_buf = values.buffers()
    if data_buf is None:
        return None
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[values.offset:values.offset + len(values) + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8)
    valid = np.ones(len(values), bool) if values.null_count == 0 else \
        pc.is_valid(values).to_numpy(zero_copy_only=False)
    candidates = np.flatnonzero(valid & (np.diff(offsets) == 18))
    if not len(candidates):
        return None
    chars = data[offsets[candidates][:, None] + np.arange(18)]  # one row of 18 bytes per candidate
    digits = chars[:, :17].astype(np.int64) - ord("0")
    last = chars[:, 17]
    fast = ((digits >= 0) & (digits <= 9)).all(axis=1) & (((last >= ord("0")) & (last <= ord("9"))) | (last == ord("X")))
    where, digits, last = candidates[fast], digits[fast], last[fast]
    if not len(where):
        return None
    year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS[np.clip(month, 0, 12)] - ((month == 2) & ~leap)
    birth_ok = (year >= 1800) & (year <= 2099) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    check_ok = _CHECK[(digits @ _WEIGHTS) % 11] == last
    code = np.where(~birth_ok, 2, np.where(check_ok, 0, 1))
    status = pc.take(STATUSES, pa.array(code))
    ids = values.take(pa.array(where))
    norm = pc.if_else(pa.array(code == 0), ids, pa.scalar(None, pa.string()))
    return where, norm, status
