"""The link step's batch ID normalization (`hedui.steps.link._normalized`) answers as `normalize_id` does."""

from __future__ import annotations

import random

from hedui.steps.link import _normalized
from matching.idnum import check_char, normalize_id


def _values(n: int) -> list[str | None]:
    rng = random.Random(16)
    digits = "0123456789"
    out: list[str | None] = [None, "", "3.60102E+17", "11010519491231002X", "110105194912310021",
                             "11010519490229002X", "110105200002290028", "110105190002290023"]
    for _ in range(n):
        year = rng.choice(["1799", "1800", "1900", "2000", "2099", "2100", "0000", "".join(rng.choices(digits, k=4))])
        month = rng.choice(["00", "01", "02", "12", "13", f"{rng.randint(0, 99):02d}"])
        day = rng.choice(["00", "01", "28", "29", "30", "31", "32", f"{rng.randint(0, 99):02d}"])
        body = "".join(rng.choices(digits, k=6)) + year + month + day + "".join(rng.choices(digits, k=3))
        v = body + rng.choice([check_char(body), rng.choice("0123456789X"), "x"])
        out.append(rng.choice([v, v, v, v.lower(), " " + v, v[:15], v[:17], "３" + v[1:]]))
    return out


def test_batch_normalization_equals_normalize_id_value_by_value():
    values = _values(20_000)
    norm, status = _normalized(values)
    want = [normalize_id(v) if v is not None else (None, None) for v in values]
    assert list(zip(norm, status, strict=True)) == want
    assert {"valid", "bad_check", "malformed", "converted_15", "missing", "scientific"} <= set(status)
