"""Every chapter imports each name it calls: its import lines run, and each ``module.name`` it uses exists.

A chapter is executed only by the slow notebook tests; this check reads its code cells instead, so
that moving a function out of a module shows up in the fast tests (a moved name, or a chapter
variable that shadows an imported module).
"""

from __future__ import annotations

import ast
import types
from pathlib import Path

import jupytext
import pytest

CHAPTERS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.md"))


def unknown_names(code: str, where: str = "<chapter>") -> list[str]:
    """``module.name`` uses in ``code`` that its imported modules lack, and imported modules it reassigns.

    Parameters
    ----------
    code : str
        The chapter's code cells, joined (IPython magics removed).
    where : str
        Shown in errors of the import lines.

    Returns
    -------
    list of str
    """
    tree = ast.parse(code)
    namespace: dict = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            exec(compile(ast.Module([node], []), where, "exec"), namespace)
    modules = {k for k, v in namespace.items() if isinstance(v, types.ModuleType)}
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bad = [f"module {m} is reassigned" for m in sorted(modules & stored)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            if not hasattr(namespace[node.value.id], node.attr):
                bad.append(f"{node.value.id}.{node.attr}")
    return bad


def _code(path: Path) -> str:
    cells = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]
    lines = "\n".join(cells).splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_module_name_a_chapter_uses_exists(path):
    assert not unknown_names(_code(path), str(path))


def test_the_check_finds_a_missing_name_and_a_shadowed_module():
    code = "from faceflow import paper\nfrom faceflow.flow import metrics\nmetrics = paper.table2()\npaper.table9()\n"
    assert unknown_names(code) == ["module metrics is reassigned", "paper.table9"]
