"""The package layout: each folder imports only the folders before it in the pipeline, no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "faceflow"

#: Pipeline order: a module may import its own folder and any folder of a lower rank.
RANK = {
    "paper": 0,
    "profiles": 0,
    "runtime": 0,
    "io": 1,
    "flow": 2,
    "groundtruth": 3,
    "methods": 3,
    "training": 4,
    "evaluation": 5,
    "mer": 5,
    "studies": 6,
    "book": 7,
    "cli": 8,
}

#: The library: what a researcher calls without the book (the studies and the book sit on top).
LIBRARY = ("paper", "profiles", "runtime", "io", "flow", "groundtruth", "methods", "training", "evaluation", "mer")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every faceflow module imported anywhere in ``path`` (top level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("faceflow")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("faceflow"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.add(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).is_file() else node.module)
    return out


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_folder_imports_only_earlier_folders():
    bad = []
    for mod, deps in _graph().items():
        area = _area(mod)
        if area not in RANK:
            continue
        for dep in deps:
            dep_area = _area(dep)
            if dep_area in RANK and dep_area != area and RANK[dep_area] >= RANK[area]:
                bad.append(f"{mod} imports {dep}")
    assert not bad, "imports against the pipeline order:\n" + "\n".join(sorted(bad))


def test_every_module_belongs_to_a_known_folder():
    assert {_area(m) for m in _graph()} - {""} <= set(RANK)


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if dep not in graph or dep == node:
                continue
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep) :] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def _offenders(graph: dict[str, set[str]], areas, forbidden) -> list[str]:
    """``"module imports dep"`` for each module of ``areas`` importing a module of ``forbidden``."""
    return sorted(
        f"{m} imports {d}" for m, deps in graph.items() if _area(m) in areas for d in deps if _area(d) in forbidden
    )


def test_the_library_never_imports_the_studies_or_the_book():
    bad = _offenders(_graph(), LIBRARY, ("studies", "book"))
    assert not bad, "library modules importing the chapters' layers:\n" + "\n".join(bad)


def test_evaluation_and_mer_never_import_training():
    bad = _offenders(_graph(), ("evaluation", "mer"), ("training",))
    assert not bad, "evaluation never trains:\n" + "\n".join(bad)


def test_the_layer_checks_catch_a_bad_import():
    # the graph of a library module importing the studies, and of evaluation importing training
    graph = {
        "faceflow.groundtruth.mesh": {"faceflow.studies.ground_truth.analysis"},
        "faceflow.evaluation.tables": {"faceflow.training.checkpoints", "faceflow.methods.registry"},
        "faceflow.studies.plans": {"faceflow.training.loop"},
    }
    assert _offenders(graph, LIBRARY, ("studies", "book")) == [
        "faceflow.groundtruth.mesh imports faceflow.studies.ground_truth.analysis"
    ]
    assert _offenders(graph, ("evaluation", "mer"), ("training",)) == [
        "faceflow.evaluation.tables imports faceflow.training.checkpoints"
    ]
