"""Which records without a usable ID an urgent verification takes from the working database.

The nightly's probabilistic linkage (sql/link/prob_left.sql) weighs every record without a usable ID, and the
blocking rules of hedui/linkage.yaml choose which of them meet a member: the name's pinyin (王小明 and 王晓明), the
surname's pinyin with the birth date or with a wildcard pattern, the given name's pinyin with a wildcard, the first
14 characters of an ID with a wrong check character.  An urgent verification that took only the records of a
member's very name missed the others, and a household the nightly sent to review came out CLEAR.  Taking every one
costs at province size ≈ 740 k rows loaded and linked for a household of three; so the copy keeps the records
whose keys could meet one of the household's members under some rule — a superset of the rules' pairs, computed
on the distinct names and ID tokens of the records at hand:

- the name's pinyin, its surname's pinyin, its given name's pinyin or its syllables in any order (`bag`: Wei Wang
  for 王伟, 买买提·艾力 for 艾力·买买提) is a member's (every name rule joins on one of the four);
- the ID, decrypted and cleaned to 18 characters, has a member's first 14 characters;
- the ID is valid and two characters of a member's swapped (`id_in` holds those keys: prob_left.sql scores them).

`BLOCKING_RULES` are the rules this superset was written for: tests/test_urgent_candidates.py checks that
hedui/linkage.yaml holds no other, so a new rule cannot leave the urgent path behind unnoticed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from functools import lru_cache

import polars as pl
import pyarrow as pa

#: hedui/linkage.yaml's blocking rules, which `Candidates` keeps a superset of
BLOCKING_RULES = (
    "l.name__bag = r.name__bag",
    "substr(l.idno__v, 1, 14) = substr(r.idno__v, 1, 14)",
    "l.birth__v = r.birth__v and l.name__surname_py = r.name__surname_py",
    "l.name__surname_py = r.name__surname_py and l.name__nsyl = r.name__nsyl and l.name__pat is not null "
    "and r.name__py like l.name__pat",
    "l.name__surname_py = r.name__surname_py and l.name__nsyl = r.name__nsyl and r.name__pat is not null "
    "and l.name__py like r.name__pat",
    "l.name__given_py = r.name__given_py and l.name__nsyl = r.name__nsyl and l.name__pat is not null "
    "and r.name__py like l.name__pat",
    "l.name__given_py = r.name__given_py and l.name__nsyl = r.name__nsyl and r.name__pat is not null "
    "and l.name__py like r.name__pat",
)

_KEYS = ("py", "surname_py", "given_py", "bag")


def _name_keys(names: list[str]) -> pl.DataFrame:
    from matching.linkage.names import name_keys_frame

    return name_keys_frame(names).select("raw", *_KEYS)


def _prefixes(tokens: list[str], keys) -> pl.DataFrame:
    """(token, the first 14 characters of its cleaned 18-character ID, else null; the LIKE pattern of an ID masked
    as banks deliver it, else null)."""
    from hedui.steps.link import _plain_table

    if not tokens:
        return pl.DataFrame(schema={"token": pl.String, "prefix": pl.String, "mask": pl.String})
    plain = _plain_table(tokens, keys)
    norm = pl.Series("norm", plain.column("norm").to_pylist(), dtype=pl.String)
    return pl.DataFrame({"token": tokens, "norm": norm, "mask": plain.column("mask").to_pylist()}).select(
        "token", prefix=pl.when(pl.col("norm").str.len_chars() == 18).then(pl.col("norm").str.slice(0, 14)),
        mask="mask")


class Candidates:
    """The household's members' keys (`id_in`: the condition on their ID pseudonyms); `keep` registers the names
    and tokens of a table's records to copy."""

    def __init__(self, con, staged_requests, keys) -> None:
        members = con.execute("select distinct id_norm, name_norm, id_number from read_parquet(?) "
                              "where nullif(trim(authorization_no), '') is not null and id_norm is not null "
                              "order by all", [str(staged_requests)]).fetchall()
        # the members' IDs as quoted literals, not a subquery: DuckDB pushes a literal IN list into the scan
        # (0.7 s instead of 1.3–2.0 s on a 22 M-row table), the scan being most of an urgent verification
        ids = sorted({i for i, _, _ in members} | self._near(members, keys))
        self.id_in = ("id_norm in (" + ", ".join("'" + i.replace("'", "''") + "'" for i in ids) + ")") if ids \
            else "false"
        self.keys = keys
        names = _name_keys(sorted({n for _, n, _ in members if n}))
        self.sets = {k: set(names[k].drop_nulls().to_list()) for k in _KEYS}
        tokens = sorted({t for _, _, t in members if t})
        self.prefixes = set(_prefixes(tokens, keys)["prefix"].drop_nulls().to_list())
        self.ids = _plain_norms(tokens, keys)  # a masked ID (360702********1234) whose visible characters are theirs

    @staticmethod
    def _near(members, keys) -> set[str]:
        """The keys of the IDs a transposition away from a member's (`link_near.near_ids`): the nightly scores
        a record under one (prob_left.sql), so the copy takes it along."""
        from hedui.steps.link import _plain_table
        from hedui.steps.link_near import near_ids

        tokens = sorted({t for _, _, t in members if t})
        if not tokens:
            return set()
        pseudonymized = any(i.startswith("p1:") for i, _, _ in members)
        return {v for v in near_ids(_plain_table(tokens, keys), keys).column("near").to_pylist()
                if v.startswith("p1:") == pseudonymized}

    def keep(self, con, table: str) -> str:
        """Register `_uc_names` and `_uc_tokens` (the values of `table`'s records without a usable ID that could
        meet a member) and return the condition that keeps a row of `table` for the copy."""
        names = [n for (n,) in con.sql(f"select distinct name_norm from {table} where (id_norm is null or "
                                       "id_status = 'converted_15') and name_norm is not null").fetchall()]
        tokens = [t for (t,) in con.sql(f"select distinct id_number from {table} "
                                        "where id_norm is null and id_number is not null").fetchall()]
        kept_names: list[str] = []
        if names:
            keyed = _name_keys(names)
            hit = pl.lit(False)
            for k in _KEYS:
                hit = hit | pl.col(k).is_in(list(self.sets[k])).fill_null(False)
            kept_names = keyed.filter(hit)["raw"].to_list()
        kept_tokens = []
        if tokens and (self.prefixes or self.ids):
            found = _prefixes(tokens, self.keys)
            kept_tokens = found.filter(pl.col("prefix").is_in(list(self.prefixes)))["token"].to_list()
            for token, mask in found.filter(pl.col("mask").is_not_null()).select("token", "mask").iter_rows():
                like = re.compile(mask.replace("_", "."))  # the link step asks about it (link_questions)
                if len(mask.replace("_", "")) >= 8 and any(like.fullmatch(i) for i in self.ids):
                    kept_tokens.append(token)
        con.register("_uc_names", pa.table({"v": pa.array(kept_names, pa.string())}))
        con.register("_uc_tokens", pa.table({"v": pa.array(kept_tokens, pa.string())}))
        # a record under a legacy 15-digit ID that is no member's (the nightly scores it, prob_left.sql): by its name
        return (f"{self.id_in} or name_norm in (select v from _uc_names) "
                "or id_number in (select v from _uc_tokens)")

    @staticmethod
    def release(con) -> None:
        for view in ("_uc_names", "_uc_tokens"):
            con.unregister(view)


@lru_cache(maxsize=1)
def _readings() -> dict[str, str]:
    """Toneless reading → the CJK characters of that (first, or surname) reading, as one string: the inverse of
    `matching.linkage.names._char_pinyin` (the same first reading, its tone marks dropped and ü written v: equal for
    every character of the dictionary, at a tenth of the cost), with `SURNAME_READINGS`."""
    import unicodedata

    from matching.linkage.names import SURNAME_READINGS, _pinyin_dict, is_cjk

    out: dict[str, list[str]] = {}
    for cp, readings in _pinyin_dict().items():
        ch = chr(cp)
        if not is_cjk(ch):
            continue
        py = unicodedata.normalize("NFD", readings.split(",")[0]).replace("u\u0308", "v")
        py = "".join(c for c in py if not unicodedata.combining(c))
        if py.isascii() and py.isalpha():
            out.setdefault(py, []).append(ch)
    for ch, py in SURNAME_READINGS.items():
        out.setdefault(py, []).append(ch)
    return {k: "".join(sorted(set(v))) for k, v in out.items()}


def _chars_of(syllables: set[str]) -> str:
    """A regex character class's inside: the characters read as one of `syllables`."""
    chars = "".join(_readings().get(s, "") for s in sorted(syllables))
    return re.escape("".join(sorted(set(chars)))) if chars else ""


def _one_edit(ids: set[str]) -> set[str]:
    """The valid IDs one substitution or one swap of neighbours away from each of `ids` (linkage's `one_edit` level
    of the ID): whose ID a record with a mistyped ID could as well be."""
    from matching.idnum import normalize_id

    out = set()
    for pid in ids:
        for i in range(18):
            for c in "0123456789X" if i == 17 else "0123456789":
                out.add(pid[:i] + c + pid[i + 1:])
            if i < 17:
                out.add(pid[:i] + pid[i + 1] + pid[i] + pid[i + 2:])
    return {v for v in out - ids if normalize_id(v)[1] == "valid"}


def competitors(con, candidates: Candidates, staged: list[str], today: str) -> str | None:
    """The query of the competing candidates (None: none): the authorized members of the working database's latest
    requests (on or before `today`), of other IDs than the household's, whom the nightly's linkage could rank against
    the household's members for the same record — a record as likely theirs waits for a person, and the urgent
    answer is the nightly's (`hedui.steps.link_questions.competitors_table`).  `con`: the working database;
    `staged`: the scratch run's staged files.

    A record links on its own only on a name that agrees (the same pinyin, or a `*` the name fits) or a similar name
    with an ID one edit away (`hedui.steps.link`), and a runner-up counts within 10 bits of it; so a competitor has
    a name of the syllables of a household member's (王伟 and 汪伟), or fits the `*` of a record's name that a
    household member's name fits (刘* for 刘洋 and 刘军), or has an ID one edit away from a record's mistyped ID that
    shares a household member's first 14 characters, or — for a registration without an ID, which carries a birth
    date — the record's surname and birth date (王小伟 and 王小文 born that day).  Found on names first (a character
    class of the syllables' characters, then the pinyin keys of the few names it lets through), the IDs one edit
    away as pseudonyms, and the birth dates by decrypting only the IDs of that surname.

    A mistyped ID meets every member of its first 14 characters (a blocking rule): one more than an edit away
    still ranks within the margin when its name is close (李敏 for an account of 李明, both born that day in one
    county), so all thousand IDs of that prefix are looked up (as a table `_uc_rival_ids` registered on `con`, which
    the returned query reads); a record's birth date is the one its ID carries, mistyped or legacy, as linkage's
    is (prob_left.sql), not only a registration's; and a member's name of a `*` that a record's name fits (刘* for
    刘洋) is paired at the pinyin level, as a record's `*` is."""
    from matching.linkage.names import name_keys_frame

    if not con.sql("select count(*) from duckdb_tables() where table_name = 'stg_requests' and not temporary"
                   ).fetchall()[0][0]:
        return None
    run = con.execute("select max(run_date) from stg_requests where run_date <= ?", [today]).fetchall()[0][0]
    if run is None or not staged:
        return None
    scan = "read_parquet([" + ", ".join(_quote(f) for f in staged) + "], union_by_name = true)"
    has_birth = "birth_date" in {c for (c, *_) in con.sql(f"describe select * from {scan}").fetchall()}
    rows = con.sql(f"""select distinct name_norm, id_number, id_norm is null and id_number is not null,
            {'try_cast(birth_date as date)' if has_birth else 'cast(null as date)'} from {scan}
        where name_norm is not null and (id_norm is null or id_status = 'converted_15')""").fetchall()
    ids_of = _ids_of([r[1] for r in rows if r[1] is not None], candidates.keys)
    recs = name_keys_frame([r[0] for r in rows]).with_columns(
        token=pl.Series([r[1] if r[2] else None for r in rows], dtype=pl.String),
        # the birth date linkage compares (prob_left.sql): the one the ID carries (a mistyped one too), else the
        # registration's own
        birth=pl.Series([ids_of.get(r[1], (None, None))[1] or r[3] for r in rows], dtype=pl.Date))
    sets = candidates.sets
    meets = (pl.col("surname_py").is_in(list(sets["surname_py"])) | pl.col("given_py").is_in(list(sets["given_py"]))
             | pl.col("bag").is_in(list(sets["bag"]))).fill_null(False)
    patterns = recs.filter(pl.col("pat").is_not_null() & meets).unique("raw")
    born = recs.filter(pl.col("birth").is_not_null() & pl.col("surname_py").is_in(list(sets["surname_py"]))
                       .fill_null(False)).unique(["surname_py", "birth"])
    # the IDs of 18 characters that are no usable one (a wrong check character): linkage compares them
    mistyped = {n for t in recs["token"].drop_nulls().unique().to_list() if len(n := ids_of[t][0] or "") == 18}
    ours = candidates.id_in.replace("id_norm in", "id_norm not in") if candidates.id_in != "false" else "true"
    members = (f"from stg_requests where run_date = '{run}' and id_norm is not null and name_norm is not null "
               f"and nullif(trim(authorization_no), '') is not null and {ours}")
    syllables = ({s for b in sets["bag"] for s in b.split()} | {s for p in patterns["py"] for s in p.split()}) - {"*"}
    chars = _chars_of(syllables)
    # a name not of 3-byte (CJK) characters only: pinyin, Latin letters, `*`, a middle dot (a few to key in Python)
    where = ["strlen(name_norm) <> 3 * length(name_norm)"]
    if chars:
        where.append(f"regexp_full_match(name_norm, '[{chars}·]+')")
        if len(patterns):  # 刘* fits 刘军: the surname's characters first, or the given name's after any surname
            where += [f"regexp_matches(name_norm, '^[{chars}]')", f"regexp_full_match(name_norm, '.[{chars}]+')"]
    found = [n for (n,) in con.sql(f"select distinct name_norm {members} and ({' or '.join(where)})").fetchall()]
    keys = name_keys_frame(found)
    kept = set(keys.filter(pl.col("bag").is_in(list(sets["bag"])).fill_null(False))["raw"].to_list())
    for p in patterns.iter_rows(named=True):
        like = "^" + ".*".join(re.escape(part) for part in p["pat"].split("%")) + "$"
        fits = (pl.col("nsyl") == p["nsyl"]) & pl.col("py").str.contains(like) & (
            (pl.col("surname_py") == p["surname_py"]) | (pl.col("given_py") == p["given_py"]))
        kept |= set(keys.filter(fits.fill_null(False))["raw"].to_list())
    kept |= _fitting_patterns(keys, recs)
    ids: set[str] = set()
    if mistyped:
        near = sorted(_one_edit(mistyped) | _same_prefix(mistyped))
        ids = set(near) | set(candidates.keys.pseudonyms(near))
    if len(born):
        ids |= _born_rivals(con, members, born, candidates.keys)
    conds = []
    if kept:
        conds.append("name_norm in (" + ", ".join(_quote(n) for n in sorted(kept)) + ")")
    if ids:  # a thousand IDs per mistyped ID's first 14 characters: a table, not literals
        con.register("_uc_rival_ids", pa.table({"v": pa.array(sorted(ids), pa.string())}))
        conds.append("id_norm in (select v from _uc_rival_ids)")
    if not conds:
        return None
    return f"select request_id, id_norm, id_number, name_norm, region_code {members} and ({' or '.join(conds)})"


def _fitting_patterns(members: pl.DataFrame, recs: pl.DataFrame) -> set[str]:
    """The members' names of a `*` (刘* for a character the clerk could not type) that a record's name fits, as the
    blocking rules of a pattern on the member's side pair them (the same number of syllables, the surname's or the
    given name's pinyin equal): 刘洋's account is as likely 刘*'s, the name comparison's pinyin level."""
    pats = members.filter(pl.col("pat").is_not_null()).select("raw", "pat", "nsyl", "surname_py", "given_py")
    if not len(pats):
        return set()
    pats = pats.with_columns(like=pl.Series([
        "^" + ".*".join(re.escape(part) for part in p.split("%")) + "$" for p in pats["pat"]], dtype=pl.String))
    names = recs.select("py", "nsyl", r_surname="surname_py", r_given="given_py").unique()
    fits = pats.join(names, on="nsyl").filter(
        ((pl.col("surname_py") == pl.col("r_surname")) | (pl.col("given_py") == pl.col("r_given")))
        & pl.col("py").str.contains(pl.col("like")))
    return set(fits["raw"].to_list())


def _same_prefix(ids: set[str]) -> set[str]:
    """The valid IDs of the first 14 characters of one of `ids` (the blocking rule of an ID's first 14 characters:
    a member it meets may be more than one edit away, yet rank within the margin), a thousand each."""
    from matching.idnum import check_char

    bodies = [f"{p}{k:03d}" for p in sorted({i[:14] for i in ids}) if p.isdigit() for k in range(1000)]
    return {b + check_char(b) for b in bodies}


def _ids_of(tokens: list[str], keys) -> dict[str, tuple[str | None, dt.date | None]]:
    """token → (its cleaned ID, the birth date that ID, or a masked ID's visible characters, carries)."""
    from hedui.steps.link import _plain_table

    tokens = sorted(set(tokens))
    if not tokens:
        return {}
    plain = _plain_table(tokens, keys)
    out = {}
    for token, norm, mask in zip(tokens, plain.column("norm").to_pylist(), plain.column("mask").to_pylist(),
                                 strict=True):
        birth = None
        for v in (norm, mask):
            if birth is None and v and len(v) == 18 and v[6:14].isdigit():
                with contextlib.suppress(ValueError):
                    birth = dt.datetime.strptime(v[6:14], "%Y%m%d").date()
        out[token] = (norm, birth)
    return out


def _born_rivals(con, members: str, born: pl.DataFrame, keys) -> set[str]:
    """The ID keys (`id_norm`) of the members whose surname reads as one of `born`'s (surname_py, birth) and whose ID
    carries that birth date: only the IDs of names whose first character reads so are decrypted."""
    from matching.linkage.names import name_keys_frame

    chars = _chars_of({s for sp in born["surname_py"].to_list() for s in sp.split()[:1]})
    if not chars:
        return set()
    rows = con.sql(f"select distinct id_norm, id_number, name_norm {members} and id_number is not null "
                   f"and regexp_matches(name_norm, '^[{chars}]')").fetchall()
    if not rows:
        return set()
    surname = dict(name_keys_frame(sorted({r[2] for r in rows})).select("raw", "surname_py").iter_rows())
    plain = _plain_norms([r[1] for r in rows], keys)
    wanted = {(sp, b.strftime("%Y%m%d")) for sp, b in born.select("surname_py", "birth").iter_rows()}
    return {r[0] for r, n in zip(rows, plain, strict=True) if n and (surname.get(r[2]), n[6:14]) in wanted}


def _plain_norms(tokens: list[str], keys) -> list[str]:
    """The cleaned ID of each token ('' where there is none)."""
    from hedui.steps.link import _plain_table

    if not tokens:
        return []
    return [n or "" for n in _plain_table(tokens, keys).column("norm").to_pylist()]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
