"""The link spec: one typed settings object, loaded from YAML or a dict.

The format is documented in ``docs/linkage.md``.  Every key has a default
except ``fields`` and ``blocking_rules``; unknown keys are errors (a typo in a
spec must not silently change a linkage).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from matching.linkage.exceptions import SpecError

KINDS = ("exact", "name", "id_number", "date", "text_jw", "levenshtein", "numeric", "prefix", "address", "custom")

# defaults per kind for the ``thresholds`` / ``lengths`` option
DEFAULT_BANDS: dict[str, list[float]] = {
    "name": [0.92, 0.80],
    "text_jw": [0.92, 0.80],
    "levenshtein": [1, 2],
    "numeric": [1.0],
    "prefix": [4, 2],
    "address": [8, 4],
}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _IDENT.match(value):
        raise SpecError(f"{where}: {value!r} is not a plain column/field name (letters, digits, _)")
    return value


def _check_keys(d: dict, allowed: set[str], where: str) -> None:
    unknown = set(d) - allowed
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _one_to_one(v: Any) -> str:
    if v is True:
        return "both"
    if v in (False, None):
        return "none"
    if v in ("none", "left", "right", "both"):
        return v
    raise SpecError(f"one_to_one: {v!r} must be true/false or one of none, left, right, both")


@dataclass(frozen=True)
class CustomLevel:
    """One level of a ``custom`` comparison: a label and an SQL condition on ``l.``/``r.``."""

    label: str
    when: str


@dataclass(frozen=True)
class FieldSpec:
    """One compared field.

    ``column`` names the column on both sides unless ``left_column`` /
    ``right_column`` differ.  ``thresholds`` are the similarity bands of the
    kind (Jaro-Winkler for ``name``/``text_jw``, edit distance for
    ``levenshtein``, absolute difference for ``numeric``, prefix lengths for
    ``prefix``, lengths of the final part for ``address``).  ``m``/``u`` fix the
    probabilities of the non-null levels, strongest first, instead of
    estimating them.
    """

    name: str
    kind: str
    left_column: str
    right_column: str
    label: str = ""  # how a person reads the field (姓名); defaults to name
    term_frequency: bool = False
    thresholds: tuple[float, ...] = ()
    levels: tuple[CustomLevel, ...] = ()
    null_when: str | None = None
    m: tuple[float, ...] | None = None
    u: tuple[float, ...] | None = None
    given_name_bands: bool = False  # kind name: the similarity bands compare given names when surnames agree
    # kind name: a level below ``pinyin`` for the same syllables in another order (Wei Wang / 王伟)
    swapped_names: bool = False

    @classmethod
    def from_dict(cls, d: dict, i: int) -> FieldSpec:
        where = f"fields[{i}]"
        if not isinstance(d, dict):
            raise SpecError(f"{where}: expected a mapping, got {d!r}")
        _check_keys(
            d,
            {"name", "label", "kind", "column", "left_column", "right_column", "term_frequency", "thresholds",
             "lengths", "levels", "null_when", "m", "u", "given_name_bands",
             "swapped_names"},
            where,
        )
        name = _ident(d.get("name"), f"{where}.name")
        kind = d.get("kind", "exact")
        if kind not in KINDS:
            raise SpecError(f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
        column = d.get("column", name)
        left = _ident(d.get("left_column", column), f"{where}.left_column")
        right = _ident(d.get("right_column", column), f"{where}.right_column")
        bands = d.get("thresholds", d.get("lengths", DEFAULT_BANDS.get(kind, [])))
        if not isinstance(bands, list | tuple) or not all(isinstance(b, int | float) for b in bands):
            raise SpecError(f"{where}.thresholds: expected a list of numbers, got {bands!r}")
        levels: tuple[CustomLevel, ...] = ()
        if kind == "custom":
            raw = d.get("levels")
            if not raw or not isinstance(raw, list):
                raise SpecError(f"{where}.levels: a custom field needs a list of {{label, when}} levels")
            levels = tuple(CustomLevel(str(x["label"]), str(x["when"])) for x in raw)
        elif "levels" in d:
            raise SpecError(f"{where}.levels: only kind 'custom' takes levels (this field is {kind!r})")
        fs = cls(
            name=name,
            kind=kind,
            left_column=left,
            right_column=right,
            label=str(d.get("label") or name),
            term_frequency=bool(d.get("term_frequency", False)),
            thresholds=tuple(float(b) for b in bands),
            levels=levels,
            null_when=d.get("null_when"),
            m=tuple(float(x) for x in d["m"]) if d.get("m") is not None else None,
            u=tuple(float(x) for x in d["u"]) if d.get("u") is not None else None,
            given_name_bands=bool(d.get("given_name_bands", False)),
            swapped_names=bool(d.get("swapped_names", False)),
        )
        for option in ("given_name_bands", "swapped_names"):
            if getattr(fs, option) and kind != "name":
                raise SpecError(f"{where}.{option}: only kind 'name' takes it (this field is {kind!r})")
        return fs


@dataclass(frozen=True)
class VetoRule:
    """A pair satisfying ``when`` (SQL on ``l.``/``r.`` columns) gets probability 0."""

    name: str
    when: str


@dataclass(frozen=True)
class Thresholds:
    """Match-weight cut-offs: ``>= link`` → link, ``>= review`` → review, else none."""

    link: float = 8.0
    review: float = 2.0


@dataclass(frozen=True)
class EMSettings:
    """Estimation: u from ``u_sample_pairs`` random pairs, m (and the prior) by EM."""

    max_iterations: int = 200
    tolerance: float = 1e-7
    u_sample_pairs: int = 1_000_000
    seed: int = 42
    u_from: str = "random"  # "random": random pairs; "em": estimated with m on candidates


@dataclass(frozen=True)
class LinkSpec:
    """Everything a linkage needs: columns, comparisons, blocking, thresholds."""

    left_id: str
    right_id: str
    fields: tuple[FieldSpec, ...]
    blocking_rules: tuple[str, ...]
    thresholds: Thresholds = field(default_factory=Thresholds)
    veto_rules: tuple[VetoRule, ...] = ()
    prior: float | None = None
    max_pairs: int | None = None
    em: EMSettings = field(default_factory=EMSettings)
    output_min_weight: float | None = None  # None → the review threshold
    output_all: bool = False
    one_to_one: str = "none"  # "none" | "left" | "right" | "both": who links at most once
    threads: int | None = None
    memory_limit: str | None = None

    @classmethod
    def from_yaml(cls, path: str | Path) -> LinkSpec:
        """Load a spec from a YAML file; raises SpecError if it is malformed."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise SpecError(f"cannot read link spec {path}: {e}") from e
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, d: dict) -> LinkSpec:
        """Build a spec from a plain dict (the parsed YAML); raises SpecError."""
        if not isinstance(d, dict):
            raise SpecError(f"a link spec is a mapping, got {type(d).__name__}")
        _check_keys(
            d,
            {"unique_id", "fields", "blocking_rules", "thresholds", "veto_rules", "prior", "max_pairs",
             "em", "output", "one_to_one", "duckdb"},
            "spec",
        )
        uid = d.get("unique_id", "unique_id")
        if isinstance(uid, dict):
            _check_keys(uid, {"left", "right"}, "unique_id")
            left_id, right_id = uid.get("left"), uid.get("right")
        else:
            left_id = right_id = uid
        left_id = _ident(left_id, "unique_id.left")
        right_id = _ident(right_id, "unique_id.right")

        raw_fields = d.get("fields")
        if not raw_fields or not isinstance(raw_fields, list):
            raise SpecError("fields: a spec needs a non-empty list of fields")
        fields = tuple(FieldSpec.from_dict(f, i) for i, f in enumerate(raw_fields))
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise SpecError(f"fields: field names must be unique, got {names}")

        rules = d.get("blocking_rules")
        if not rules or not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise SpecError("blocking_rules: a spec needs a non-empty list of SQL conditions on l./r. columns")

        th = d.get("thresholds") or {}
        _check_keys(th, {"link", "review"}, "thresholds")
        thresholds = Thresholds(float(th.get("link", 8.0)), float(th.get("review", th.get("link", 8.0) - 6.0)))
        if thresholds.review > thresholds.link:
            raise SpecError(f"thresholds: review ({thresholds.review}) must not exceed link ({thresholds.link})")

        vetoes = []
        for i, v in enumerate(d.get("veto_rules") or []):
            if not isinstance(v, dict) or "when" not in v:
                raise SpecError(f"veto_rules[{i}]: expected {{name, when}}, got {v!r}")
            _check_keys(v, {"name", "when"}, f"veto_rules[{i}]")
            vetoes.append(VetoRule(str(v.get("name", f"veto_{i + 1}")), str(v["when"])))

        em_d = d.get("em") or {}
        _check_keys(em_d, {"max_iterations", "tolerance", "u_sample_pairs", "seed", "u_from"}, "em")
        em = EMSettings(
            max_iterations=int(em_d.get("max_iterations", 200)),
            tolerance=float(em_d.get("tolerance", 1e-7)),
            u_sample_pairs=int(float(em_d.get("u_sample_pairs", 1_000_000))),
            seed=int(em_d.get("seed", 42)),
            u_from=str(em_d.get("u_from", "random")),
        )
        if em.u_from not in ("random", "em"):
            raise SpecError(f"em.u_from: {em.u_from!r} must be 'random' or 'em'")

        out = d.get("output") or {}
        _check_keys(out, {"min_weight", "all_pairs"}, "output")
        db = d.get("duckdb") or {}
        _check_keys(db, {"threads", "memory_limit"}, "duckdb")
        prior = d.get("prior")
        if prior is not None and not 0 < float(prior) < 1:
            raise SpecError(f"prior: {prior!r} must be a probability strictly between 0 and 1")
        return cls(
            left_id=left_id,
            right_id=right_id,
            fields=fields,
            blocking_rules=tuple(rules),
            thresholds=thresholds,
            veto_rules=tuple(vetoes),
            prior=float(prior) if prior is not None else None,
            max_pairs=int(float(d["max_pairs"])) if d.get("max_pairs") is not None else None,
            em=em,
            output_min_weight=float(out["min_weight"]) if out.get("min_weight") is not None else None,
            output_all=bool(out.get("all_pairs", False)),
            one_to_one=_one_to_one(d.get("one_to_one", False)),
            threads=int(db["threads"]) if db.get("threads") else None,
            memory_limit=str(db["memory_limit"]) if db.get("memory_limit") else None,
        )
