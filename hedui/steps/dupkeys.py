"""Staging: what makes two delivered rows the same row (``sql/staging/duplicates.sql``'s slots).

sources.md: "A department may deliver the same row twice" — and a department that does so writes
the copy as it writes anything, so ``12000`` / ``12,000.00`` / ``1.2万``, ``2026-01`` / ``202601``,
an ID with a lowercase ``x`` or a leading apostrophe, or the same row once in a CSV and once in a
workbook of the same delivery, are one row.  Two rows are duplicates when every canonical column
has the same *parsed* value: what staging would stage for it (an amount with its unit applied, to the fen, a
date or month as a date, an enum or region code as staging reads it, text stripped and width-folded,
a name as staged — ``hd_name_norm``, or ``normalize_name`` for a name holding a traditional character
(陳 is 陈: :func:`names_as_staged`) —, an ID as its 18-character form).  Empty equals empty (both
unknown, the same row).

Cost: staging runs over tens of millions of rows, so a pre-filter hashes, on every raw row, values
two duplicates always share (``dup_hash``): the parsed month, amount, number, enum and region (their
macros' fast paths are cheap on the common forms; an amount at scale 1 is ``try_cast``, hd_amount's
own fast path) and the ID's birth date and sequence (the same for its 15- and 18-character forms and
either case of its x, without the check-digit arithmetic).  Names, text, account numbers and dates
are left out of it (their normalization costs more than they tell apart).  Only rows whose hash is
shared with another row are parsed and compared, on the exact values of ``dup_values``.  Tenth world
(11 sources, 4.2 M rows; medians of 3, a loaded machine): the duplicates pass 2.2 → 5.2 CPU-s (tax
0.53 → 1.24, social insurance 0.73 → 2.02; the same rows found duplicate: its copies are exact); the stage
step of tax, social insurance, bank and public security 12.1 → 14.2 CPU-s.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors import SourceMap
from connectors.maps import ColumnSpec
from hedui.steps.staging_checks import enum_lookup
from matching.normalize import WS_CLASS, fold_width, name_sql_exceptions, normalize_name

#: types whose parsed value parsed.sql already holds (column `<name>__v`)
_PARSED = ("amount", "date", "month", "number")
#: the name as staged by ``normalize_name``, for the names where ``hd_name_norm`` may differ (陳 is 陈)
NAME_AS_STAGED = "hd_name_as_staged"


def _names_as_staged(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """:func:`normalize_name` of each value (once per distinct value of the batch): duplicates.sql calls it only
    on the names holding a character of ``name_sql_exceptions``, as ingest's name normalizer does."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    enc = pc.dictionary_encode(values)
    norms = [None if v is None else normalize_name(v) for v in enc.dictionary.to_pylist()]
    return pc.take(pa.array(norms, pa.string()), enc.indices)


@contextlib.contextmanager
def names_as_staged(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """:data:`NAME_AS_STAGED` on ``con`` while duplicates.sql runs: a copy that writes the name in its traditional
    form (陳雨一 for 陈雨一) is the same row, as the staged ``name_norm`` of both is the same."""
    con.create_function(NAME_AS_STAGED, _names_as_staged, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")
    try:
        yield
    finally:
        con.remove_function(NAME_AS_STAGED)


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def enum_sql(spec: ColumnSpec, col: str) -> str:
    """The staged value of enum column ``col``: the contract's word (hd_enum), or the value a synonym of the map
    stands for (``儿媳`` → ``其他``), or the word before a remark in brackets (``正常（在用）``, ``正常(已年检)``: 正常)
    where the remark is a word of the same value or names no other value of the column (``正常（查封）`` says two
    things: test_contract_traps26 AY05), or the word before a full stop closing the cell (``正常。``); any other word
    as delivered, for validation to reject."""
    allowed = f"[{', '.join(_lit(v) for v in spec.values)}]::varchar[]"
    # a synonym is looked up as hd_remove_ws(hd_fold(…)) reads the cell: 存续（在营、开业、在册） as 存续(在营、开业、在册)
    keys = [(re.sub(f"[{WS_CLASS}]+", "", fold_width(k)), v) for k, v in spec.synonyms]
    cases = " ".join(f"when {_lit(k)} then {_lit(v)}" for k, v in keys)

    def word(t: str) -> str:
        return f"case when list_contains({allowed}, {t}) then {t} {f'else case {t} {cases} end ' if cases else ''}end"

    # the words of each value a remark may name (a one-letter code such as vehicle's A/E/K is no word inside a remark)
    named = [(v, v) for v in spec.values] + [(k, v) for k, v in keys if len(k) > 1 and not k.isascii()]
    pairs = "[" + ", ".join(f"{{'w': {_lit(k)}, 'v': {_lit(v)}}}" for k, v in named) + "]"
    remark = (f"list_transform([regexp_extract(hd_remove_ws(hd_fold(v)), '^([^(\\[【]+)[(\\[【]([^()\\[\\]【】]*)"
              f"[)\\]】]$', ['w', 'r'])], lambda g: list_transform([[{word('g.w')}, {word('g.r')}]], lambda m: "
              f"case when m[1] is not null and (m[2] = m[1] or m[2] is null and len(list_filter({pairs}, "
              f"lambda p: p.v <> m[1] and contains(g.r, p.w))) = 0) then m[1] end)[1])[1]")
    synonym = f"case hd_remove_ws(hd_fold(v)) {cases} end, " if cases else ""
    # a full stop closing the cell (正常。, 活期.): the word before it (test_contract_traps27 BC10)
    stop = f"list_transform([regexp_replace(hd_remove_ws(hd_fold(v)), '[.。]$', '')], lambda st: {word('st')})[1]"
    return (f"case when list_contains({allowed}, {col}) then {col} else list_transform([hd_enum({col}, {allowed})], "
            f"lambda v: case when v is null or list_contains({allowed}, v) then v "
            f"when regexp_matches(v, '[.。]$') then coalesce({stop}, v) "
            f"when regexp_matches(v, '[)\\]】）]$') then coalesce({synonym}{remark}, v) "
            f"else coalesce({synonym}v) end)[1] end")


def _parsed(spec: ColumnSpec, months: dict[str, str] | None = None) -> str:
    """The value staging keeps for the column, as compared for duplicates (on a raw row); ``months`` as
    :func:`dup_slots`'s."""
    col = _q(spec.column)
    if months and spec.column in months:
        return months[spec.column].format(col=col)
    if spec.type == "amount":
        return f"hd_amount({col}, {_q(spec.column + '__scale')})"
    if spec.type in ("date", "month", "number"):
        return f"hd_{spec.type}({col})"
    if spec.type == "enum":
        return enum_sql(spec, col)
    if spec.type == "region":
        return f"hd_region({col})"
    if spec.type == "name":  # as staged: hd_name_norm, or normalize_name where the two may differ
        return (f"case when regexp_matches({col}, {_lit('[' + name_sql_exceptions() + ']')}) "
                f"then {NAME_AS_STAGED}({col}) else hd_name_norm({col}) end")
    if spec.type == "account":  # as staged (hd_account): spaces, hyphens, width, an Excel apostrophe are no difference
        return f"hd_account({col})"
    text = f"nullif(hd_fold(hd_strip_ws({col})), '')"
    if spec.none_words:
        words = ", ".join(_lit(w.upper()) for w in spec.none_words)
        return f"case when upper(hd_strip_ws({col})) in ({words}) then null else {text} end"
    return text


def _coarse(spec: ColumnSpec, months: dict[str, str] | None = None, lookups: dict[str, str] | None = None) -> str | None:
    """A value two duplicates always share, cheap to compute on every raw row (the pre-filter), or None
    for a column left out of it (names, text, account numbers and dates: normalizing them costs more than
    they tell apart once the ID, the months, the enums and the amounts are hashed)."""
    col = _q(spec.column)
    if spec.type == "id":  # its birth date and sequence (a legacy 15-digit ID's too): not the case of its x
        # spaces around it (1.5 % of the generated world's IDs) cleaned as hd_id_clean_slow would, without its regexes
        slow = lookups[spec.column].format(col=col) if lookups and spec.column in lookups else _id_slow(col)
        return (f"case when {col} glob '{_ID18}' then substr({col}, 9, 9) "
                f"when trim({col}) glob '{_ID18}' then substr(trim({col}), 9, 9) "
                f"else {slow} end")
    if spec.type == "amount":  # try_cast is hd_amount's own fast path at scale 1 (a plain number)
        scale = _q(spec.column + "__scale")
        return f"round(coalesce(case when {scale} = 1 then try_cast({col} as double) end, hd_amount({col}, {scale})), 2)"
    if spec.type in ("name", "text", "account", "date"):
        return None
    return _parsed(spec, months)


#: an ID's shape on the pre-filter's fast paths
#: (a GLOB pattern: 17 ASCII digits and a digit, X or x, the whole cell — what regexp_full_match of
#: ``[0-9]{17}[0-9Xx]`` says, test_contract_stagews BV06; DuckDB runs glob once per entry of a Parquet dictionary,
#: regexp_full_match per row: social insurance's pre-filter ID 0.32 → 0.15 CPU-s)
_ID18 = "[0-9]" * 17 + "[0-9Xx]"
#: an ID column's slow cells (neither fast path) are looked up once per distinct cell when at most this many
ID_LOOKUP_MAX = 5000
#: … and when the first :data:`ID_SAMPLE_ROWS` rows hold at least this many rows on neither fast path: finding the
#: cells is a scan with two regular expressions per row (≈ 0.1 µs), a slow cell's parse ≈ 60 µs a row (social
#: insurance has none: its scan would cost 0.25 CPU-s for nothing)
ID_SAMPLE_MIN = 100
ID_SAMPLE_ROWS = 100_000
#: the ENUM types of :func:`id_lookups`, ``<prefix><i>`` for the i-th ID column
ID_TYPE = "_hd_idc_"


def _id_slow(col: str) -> str:
    """The pre-filter's value of an ID cell on neither fast path (hd_id_clean_slow's birth date and sequence)."""
    tail = "case when length(c) = 18 then substr(c, 9, 9) when length(c) = 15 then substr(c, 7, 9) else c end"
    return f"list_transform([hd_id_clean_slow({col})], lambda c: {tail})[1]"


def id_lookups(con: duckdb.DuckDBPyConnection, raw_parquet, smap: SourceMap) -> dict[str, str]:
    """ID column → the SQL (of ``{col}``) of the pre-filter's value of its cells on neither fast path (an ID among
    words, with dashes or a label: tax's 14,500 such rows hold 1,331 distinct cells), from a lookup
    (:func:`~hedui.steps.staging_checks.enum_lookup`): ``hd_id_clean_slow`` is run once per distinct such cell of the
    raw file, the cells made the values of a temp ENUM ``_hd_idc_<i>`` (dropped with the source's other types) and a
    row's value is the list element at its cell's code.  Made for the ID columns with 1 to :data:`ID_LOOKUP_MAX` such
    cells and :data:`ID_SAMPLE_MIN` such rows among the first (the others: absent, so ``hd_id_clean_slow`` per
    row); none for a source narrowed by a key without its ID (bank: its IDs' values are computed on the narrowed
    rows alone, and the lookup's two scans cost ≈ 0.08 CPU-s at tenth)."""
    out: dict[str, str] = {}
    if _narrow_types(smap) and "id" not in _narrow_types(smap):  # IDs parsed on the narrowed rows alone (bank)
        return out
    for i, spec in enumerate(s for s in smap.columns if s.type == "id"):
        col, type_name = _q(spec.column), f"{ID_TYPE}{i}"
        con.execute(f"drop type if exists {type_name}")
        slow = "not ({c} glob '%s') and not (trim({c}) glob '%s')"
        (sampled,), = con.sql(f"select count(*) from (select {col} as v from read_parquet($raw) limit {ID_SAMPLE_ROWS}) "
                              f"where {slow.format(c='v') % (_ID18, _ID18)}", params={"raw": str(raw_parquet)}).fetchall()
        if sampled < ID_SAMPLE_MIN:
            continue
        cells = con.sql(f"select distinct {col} as v from read_parquet($raw) where {slow.format(c=col) % (_ID18, _ID18)} "
                        f"limit {ID_LOOKUP_MAX + 1}", params={"raw": str(raw_parquet)}).to_arrow_table()
        if not 0 < cells.num_rows <= ID_LOOKUP_MAX:
            continue

        def accept(parsed: pa.Table) -> bool:  # a text per cell, none for the null cell, none holding a NUL
            values = dict(zip(parsed.column("v").to_pylist(), parsed.column("value").to_pylist(), strict=True))
            return (pa.types.is_string(parsed.schema.field("value").type) and None in values
                    and values[None] is None and not any("\x00" in (c or "") for c in values.values()))

        # one statement: the null cell's value too (none: the lookup gives none for it)
        lookup = enum_lookup(con, type_name, cells, f"select v, {_id_slow('v')} as value from (select v from "
                             f"_hd_lookup_cells union all select null)", accept, _lit, "varchar")
        if lookup is None:
            continue
        # guarded by the cells' own test: whoever evaluates it (DuckDB's common-subexpression optimizer, off while
        # staging, computes an expression that occurs twice on every row), only the ENUM's cells are ever cast
        out[spec.column] = f"case when {slow.format(c='{col}') % (_ID18, _ID18)} then {lookup} end"
    return out


#: dup_candidates.sql's rows when no narrowing applies: every raw row
_ALL_ROWS = "read_parquet($raw_parquet, file_row_number = true)"
#: the column types whose cheap values narrow the rows first (:func:`_narrowed`): the first set a source holds all
#: of — a monthly series by ID and month, an account list (bank) by its account number (an ID and an account: the
#: same rows at tenth, and the ID's slow cells cost more); empty: no narrowing (test_contract_stagesplit and
#: test_contract_bankdup compare the two)
NARROW_TYPES: tuple[tuple[str, ...], ...] = (("id", "month"), ("account",))


def _narrow_types(smap: SourceMap) -> tuple[str, ...]:
    """The first set of :data:`NARROW_TYPES` whose every type is a column of ``smap`` (none: ``()``)."""
    have = {s.type for s in smap.columns}
    return next((t for t in NARROW_TYPES if t and set(t) <= have), ())


def _key_value(spec: ColumnSpec, months: dict[str, str] | None, lookups: dict[str, str] | None) -> str | None:
    """The narrowing key's value of a column: its pre-filter value (:func:`_coarse`), or for an account number
    its staged value (``hd_account``), the cell itself when it is ASCII digits and capital letters alone
    (``hd_account`` leaves such a cell as it is: bank's, insurance's ``P…`` and securities' ``A…`` cells at tenth):
    one regexp_full_match a row (≈ 0.08 µs; ``ltrim`` by the digits 0.4 µs, hd_account itself 0.4 µs)."""
    if spec.type == "account":
        col = _q(spec.column)
        return f"case when regexp_full_match({col}, '[0-9A-Z]+') then {col} else hd_account({col}) end"
    return _coarse(spec, months, lookups)


def _narrowed(smap: SourceMap, months: dict[str, str] | None, lookups: dict[str, str] | None,
              hashed: int) -> dict[str, str]:
    """dup_candidates.sql's ``dup_narrowed`` (CTEs) and ``dup_rows`` (the rows hashed on every value).

    A source with the columns of a set of :data:`NARROW_TYPES` — an ID and a month (a monthly series: social
    insurance, tax), else an account number (bank) — is narrowed first: the rows whose hash of those
    columns' cheap values (``dup_key``; :func:`_key_value`) is shared with another row — two duplicates share every
    such value, so these too —, and only they are hashed on all of ``dup_hash``.  The candidates are the rows that
    share ``dup_hash`` among them: every row that shares all of its values with another is one, as before; only a
    row whose ``dup_hash`` equal to another's is a hash collision may be left out, and duplicates.sql never took
    such a row for a duplicate.  Tenth world: social insurance's key is shared by 15,577 of 2,268,392 rows, tax's by
    17,471 of 1,030,654, bank's by 368 of 260,112; the amounts', enums' and (bank) IDs' values are computed on those
    only (bank's 6,875 IDs on neither fast path, 5,203 distinct — too many for :func:`id_lookups` — were parsed by
    ``hd_id_clean_slow`` per row: ≈ 0.1 CPU-s).  Any other source (no such set, or nothing else hashed): every
    row, as before."""
    types = _narrow_types(smap)
    specs = [s for s in smap.columns if s.type in types]
    # narrowing pays only when dup_hash holds a value outside the key
    if not specs or sum(_coarse(s, months, lookups) is not None for s in specs) >= hashed:
        return {"dup_narrowed": "", "dup_rows": _ALL_ROWS, "dup_key": ""}
    key = ", ".join(k for s in specs if (k := _key_value(s, months, lookups)))
    narrowed = (f"keyed as (\n    select file_row_number, hash({key}) as _dup_key\n"
                f"    from {_ALL_ROWS}\n),\n\n"
                "shared_keys as (\n    select _dup_key\n    from keyed\n    group by _dup_key\n    having count(*) > 1\n),\n\n"
                "narrowed as (\n    select file_row_number as _narrowed_row\n    from keyed\n"
                "    semi join shared_keys on shared_keys._dup_key = keyed._dup_key\n),\n")
    return {"dup_narrowed": narrowed, "dup_key": key,
            "dup_rows": f"{_ALL_ROWS} as delivered\n    semi join narrowed on narrowed._narrowed_row = delivered.file_row_number"}


def dup_slots(smap: SourceMap, months: dict[str, str] | None = None,
              lookups: dict[str, str] | None = None) -> dict[str, str]:
    """``dup_hash`` (the pre-filter's hashed values, on raw rows) and ``dup_values`` (the exact values
    compared, on parsed rows) of duplicates.sql for ``smap``; ``months`` (``hedui.steps.staging_checks.month_lookups``:
    month column → its ``hd_month`` by a per-distinct-cell lookup, ``{col}`` for the cell) in place of ``hd_month``;
    ``lookups`` (:func:`id_lookups`) the IDs' cells on neither fast path parsed so too."""
    hashed, exact = [], []
    for spec in smap.columns:
        col = _q(spec.column)
        if (coarse := _coarse(spec, months, lookups)) is not None:
            hashed.append(coarse)
        if spec.type == "id":
            exact.append(f"coalesce(hd_id_norm({col}), nullif(hd_id_clean({col}), ''))")
        else:
            value = _q(spec.column + "__v") if spec.type in _PARSED else _parsed(spec)
            # an amount to the fen: a workbook's computed cell (666.6700000000001) is the CSV's 666.67
            exact.append(f"round({value}, 2)" if spec.type == "amount" else value)
    return {"dup_hash": ", ".join(hashed) or "0",
            **_narrowed(smap, months, lookups, len(hashed)),
            "dup_values": ",\n        ".join(f"{e} as _dup_{i}" for i, e in enumerate(exact)),
            "dup_partition": ", ".join(f"_dup_{i}" for i in range(len(exact)))}


def rule_only(check: str) -> str:
    """One of parsed.sql's ``value_checks`` (``case when … then {'column_name': …, 'value_masked': …, 'rule': …,
    'reason': …} end``) without its reason: duplicates.sql asks only whether a rule keeps a row out, and binding
    the reasons (the weekday and day-month doubts, hd_date_text …) was ≈ 60 % of its plan."""
    head, key, reason = check.rpartition(", 'reason': ")
    if not key or not reason.endswith("} end"):
        raise ValueError(f"not a value check: {check[:80]}")
    return head + ", 'reason': cast(null as varchar)} end"


#: _hd_dups when no row can be a duplicate (the columns of duplicates.sql's lines)
_NO_DUPS = ("create or replace temp table _hd_dups (run_date varchar, source varchar, file_name varchar, "
            "row_no bigint, column_name varchar, value_masked varchar, rule varchar, reason_zh varchar, "
            "file_row_number bigint)")


def find_duplicates(con: duckdb.DuckDBPyConnection, candidates_sql: str, duplicates_sql: str, params: dict) -> None:
    """Make ``_hd_dups`` (duplicates.sql's lines) on ``con``: first the candidate rows (dup_candidates.sql); when
    there are none, an empty table, and duplicates.sql is neither planned nor run."""
    con.execute(candidates_sql, {k: v for k, v in params.items() if "$" + k in candidates_sql})
    if not con.sql("select 1 from _hd_dup_candidates limit 1").fetchall():
        con.execute(_NO_DUPS)
        return
    con.execute(duplicates_sql, {k: v for k, v in params.items() if "$" + k in duplicates_sql})
