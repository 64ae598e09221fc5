"""The package reads bottom-up (docs/architecture.md): layers, no import cycles, a thin CLI on top.

Every ``import`` in ``clinr1/`` counts, at module level or inside a function (a lazy import is
still a dependency, and a cycle through one only works by luck of timing). The graph is read
from the source with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "clinr1"
MAX_LINES = 600

# Bottom to top; a module may import its own layer or a lower one, never a higher one.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("clinr1", "clinr1.items", "clinr1.console", "clinr1.http", "clinr1.versions",
                    "clinr1.cache", "clinr1.device", "clinr1.cards", "clinr1.assets")),
    ("data and prompts", ("clinr1.data", "clinr1.prompts")),
    ("rewards", ("clinr1.rewards", "clinr1.explanations", "clinr1.traces")),
    ("settings", ("clinr1.config",)),
    ("models", ("clinr1.tiny", "clinr1.gguf", "clinr1.attention", "clinr1.engine")),
    ("pipelines", ("clinr1.runlog", "clinr1.train", "clinr1.sft", "clinr1.evaluate",
                   "clinr1.distill", "clinr1.export", "clinr1.chat", "clinr1.integrations",
                   "clinr1.bench", "clinr1.demo")),
    ("cli", ("clinr1.cli", "clinr1.__main__")),
]  # fmt: skip


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _target(name: str, known: dict[str, Path]) -> str | None:
    """The module of ``clinr1`` that importing ``name`` loads (its longest known prefix)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, dict[str, int]]:
    """``{module: {imported module: line}}`` over clinr1's own modules, lazy imports included."""
    known = modules()
    graph: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from its package, up level - 1
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                # ``from pkg import sub`` loads pkg.sub when sub is a module, else pkg.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                           for a in node.names]  # fmt: skip
            else:
                continue
            for target in targets:
                module = _target(target, known) if target.startswith("clinr1") else None
                if module and module != name:
                    edges.setdefault(module, node.lineno)
        graph[name] = edges
    return graph


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of the longest name that ``module`` is or lies under."""
    best = (-1, -1)
    for index, (_, names) in enumerate(LAYERS):
        for prefix in names:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), index)
    return best[1]


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Each strongly connected group of two or more modules (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_lazy_imports() -> None:
    graph = import_graph()
    assert "clinr1.cache" in graph["clinr1.tiny"]  # module level
    assert "clinr1.gguf" in graph["clinr1.engine"]  # inside resolve_model
    assert "clinr1.rewards.grounding" in graph["clinr1.rewards.reading"]  # from pkg import sub


def test_no_import_cycles_lazy_imports_included() -> None:
    graph = import_graph()
    found = cycles(graph)
    lines = []
    for group in found:
        edges = [f"{a} -> {b} (line {graph[a][b]})" for a in group for b in graph[a] if b in group]
        lines.append("cycle: " + "; ".join(edges))
    assert not found, "\n".join(lines)


def test_no_library_module_imports_the_cli() -> None:
    offenders = [
        f"{a} imports {b} (line {line})"
        for a, edges in import_graph().items()
        if layer_of(a) != len(LAYERS) - 1
        for b, line in edges.items()
        if b == "clinr1.cli" or b.startswith("clinr1.cli.")
    ]
    assert not offenders, "\n".join(offenders)


def test_every_module_has_a_layer_and_imports_none_above_it() -> None:
    graph = import_graph()
    unplaced = [m for m in graph if layer_of(m) < 0]
    assert not unplaced, f"add these to LAYERS and docs/architecture.md: {unplaced}"
    upward = [
        f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]}), line {line}"
        for a, edges in graph.items()
        for b, line in edges.items()
        if layer_of(b) > layer_of(a)
    ]
    assert not upward, "\n".join(upward)


def test_docs_name_every_layer_and_top_level_module() -> None:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    for layer, names in LAYERS:
        assert layer in text.lower(), layer
        for name in names:
            if name not in ("clinr1", "clinr1.assets", "clinr1.__main__"):
                assert f"`{name.removeprefix('clinr1.')}" in text, name


def test_no_module_is_over_600_lines() -> None:
    sizes = {
        path: len(path.read_text(encoding="utf-8").splitlines()) for path in modules().values()
    }
    over = [f"{p.relative_to(REPO)}: {n} lines" for p, n in sizes.items() if n > MAX_LINES]
    assert not over, "split by job: " + "; ".join(over)
