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
    """(token, the first 14 characters of its cleaned 18-character ID, else null)."""
    from hedui.steps.link import _plain_table

    if not tokens:
        return pl.DataFrame(schema={"token": pl.String, "prefix": pl.String})
    norm = pl.Series("norm", _plain_table(tokens, keys).column("norm").to_pylist(), dtype=pl.String)
    return pl.DataFrame({"token": tokens, "norm": norm}).select(
        "token", prefix=pl.when(pl.col("norm").str.len_chars() == 18).then(pl.col("norm").str.slice(0, 14)))


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
        kept_tokens = (_prefixes(tokens, self.keys).filter(pl.col("prefix").is_in(list(self.prefixes)))["token"]
                       .to_list()) if tokens and self.prefixes else []
        con.register("_uc_names", pa.table({"v": pa.array(kept_names, pa.string())}))
        con.register("_uc_tokens", pa.table({"v": pa.array(kept_tokens, pa.string())}))
        # a record under a legacy 15-digit ID that is no member's (the nightly scores it, prob_left.sql): by its name
        return (f"{self.id_in} or name_norm in (select v from _uc_names) "
                "or id_number in (select v from _uc_tokens)")

    @staticmethod
    def release(con) -> None:
        for view in ("_uc_names", "_uc_tokens"):
            con.unregister(view)
