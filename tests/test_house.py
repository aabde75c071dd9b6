"""The house shows the flow: imports run one way, no loops, no module over 500 lines (issue 15).

Every import counts, also those inside functions (they hide loops, they do not break them)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hedui", "connectors", "matching")
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = p
    return mods


def _graph() -> dict[str, set[str]]:
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                r = resolve(t)
                if r and r != m:
                    graph[m].add(r)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_there_is_no_import_loop():
    assert _cycles(_graph()) == []


def test_connectors_and_matching_never_import_the_application_or_each_other():
    upward = [(m, d) for m, deps in _graph().items() for d in deps
              if m.split(".")[0] in ("connectors", "matching") and d.split(".")[0] != m.split(".")[0]]
    assert upward == []


def test_no_module_is_over_500_lines_outside_the_generator():
    long = {str(p.relative_to(ROOT)): n for p in _modules().values()
            if "generate" not in p.parts and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_sql_folders_are_named_like_the_steps():
    steps = {p.stem for p in (ROOT / "hedui" / "steps").iterdir() if not p.name.startswith("_")}
    folders = {p.name for p in (ROOT / "sql").iterdir() if p.is_dir()}
    # sql/staging holds the SQL of hedui/steps/ingest.py (staging: parsing, duplicates, reconciliation)
    assert folders <= steps | {"staging"}, folders - steps
