"""Request ids that carry an ID number: masked where they are staged, kept apart by a keyed suffix.

An agency may number its requests by the applicant's ID number (委托编号 ``360102199001011234``) or put
one inside (``WT-360102199001011234``).  A request id is printed on every report, the batch summary,
the alerts and the staff workspace, names the report files and their URLs, and goes to the auditors:
such an id would show a full ID number everywhere (and the auditor publication, which refuses
unmasked IDs, would stop the whole run).  So staging replaces each ID number inside a request id by
its mask (``360102********1234``) and appends ``-`` and 6 hex characters of an HMAC of the whole
delivered id, under a key derived from the pseudonym key:

- distinct delivered ids stay distinct (two applicants of one county share a mask often enough);
- the same delivered id gets the same staged id every run, so a re-check finds its earlier
  verification and a report's versions stay together (until the pseudonym key is rotated: then a
  re-check finds the earlier verification by its applicant, as a 动态复核 under a new id does);
- nothing in it gives the ID back: the hidden digits are a birth date, so a plain hash could be
  reversed by trying every date.

An ID number here is a run of 18 characters (17 digits and a digit or X) with a province code, a
real birth date and the right check character, or a run of 15 digits with a province code and a
real birth date (the legacy form): a request number such as ``WT202611280000001`` is none.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

import pyarrow as pa
import pyarrow.compute as pc

from hedui.privacy.masking import _PROVINCES, mask_id
from hedui.privacy.masking import is_id_number as _is_id

__all__ = ["as_staged", "carries_id", "protect_request_column", "protect_request_ids", "staged_request_id"]

KEY_PURPOSE = "request ids carrying an ID number"
_RUN = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9])")
#: a cheap first test, in Arrow: no run of 15 digits (ASCII or full-width), no ID number
_CANDIDATE = "[0-9\uff10-\uff19]{15}"
#: … and for a plain ASCII value (NFKC leaves it as it is: its runs are `_RUN`'s), a run bounded as
#: `_RUN`'s that starts with a province code (`is_id_number`'s first test): every value `carries_id` holds
#: for matches it (test_contract_stagephase CG08)
_ASCII_CANDIDATE = ("(^|[^0-9])(" + "|".join(f"{p:02d}" for p in sorted(_PROVINCES))
                    + ")([0-9]{15}[0-9Xx]|[0-9]{13})([^0-9]|$)")


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text)  # full-width digits (３６０１…) are digits


def carries_id(text: str | None) -> bool:
    """Whether `text` holds an ID number (see the module's rule; full-width digits count)."""
    return bool(text) and any(_is_id(m.group(0)) for m in _RUN.finditer(_folded(text)))


def staged_request_id(text: str | None, key: bytes) -> str | None:
    """`text` as staged: unchanged, or (full-width folded) with its ID numbers masked and the keyed suffix appended."""
    if not carries_id(text):
        return text
    canon = _RUN.sub(lambda m: m.group(0).upper(), _folded(text))  # one id however its digits and x were written
    masked = _RUN.sub(lambda m: mask_id(m.group(0)) if _is_id(m.group(0)) else m.group(0), canon)
    return masked + "-" + hmac.new(key, canon.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:6]


def protect_request_ids(values: pa.Array | pa.ChunkedArray, keys) -> pa.Array | pa.ChunkedArray:
    """`staged_request_id` of each value (`keys`: the run's `hedui.privacy.keys.Keys`); the same array
    when none carries an ID number (the usual case).  Per distinct value (an agency's request id is on each of
    its members' rows): a value may carry one only if Arrow's regex finds a run of 15 digits in it (ASCII or
    full-width) — and, for a plain ASCII value (NFKC leaves it as it is), a run as `_RUN` takes it that starts
    with a province code (`_ASCII_CANDIDATE`: request numbers such as ``WT202611280000001`` are none); Python
    looks at those alone."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    enc = pc.dictionary_encode(array)
    words = enc.dictionary
    candidates = pc.fill_null(pc.match_substring_regex(words, _CANDIDATE), False)
    if pc.any(candidates).as_py():
        ascii_ = pc.fill_null(pc.string_is_ascii(words), False)
        candidates = pc.and_(candidates, pc.or_(pc.invert(ascii_), pc.fill_null(
            pc.match_substring_regex(words, _ASCII_CANDIDATE), False)))
    if not pc.any(candidates).as_py():
        return values
    key = keys.derived_key(KEY_PURPOSE)
    maybe = words.filter(candidates).to_pylist()
    staged = [staged_request_id(v, key) for v in maybe]
    if staged == maybe:
        return values
    words = pc.replace_with_mask(words, candidates, pa.array(staged, words.type))
    return pc.take(words, enc.indices)


def protect_request_column(table: pa.Table, keys, column: str = "request_id") -> pa.Table:
    """`table` with `column` (if it has one) through `protect_request_ids`."""
    if column not in table.column_names:
        return table
    i = table.schema.get_field_index(column)
    values = table.column(i)
    protected = protect_request_ids(values, keys)
    if protected is values:
        return table
    return table.set_column(i, table.schema.field(i), protected)


def as_staged(text: str) -> str:
    """A request id a person typed (a CLI argument) as staging writes it, the keys loaded only when it
    carries an ID number (then it names the staged id, never echoes the ID)."""
    if not carries_id(text):
        return text
    from hedui.privacy.keys import load_keys

    return staged_request_id(text, load_keys().derived_key(KEY_PURPOSE))
