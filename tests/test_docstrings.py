"""numpydoc sections on the public functions of the engine's first layers (io, flow, groundtruth).

A public function (or method of a public class) documents its arguments under ``Parameters``,
what it gives back under ``Returns`` (``Yields`` for a generator) and the errors it raises itself
under ``Raises``. Properties, dunder methods and private names are exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "faceflow"
#: Subpackages whose public functions must carry the numpydoc sections.
CHECKED = ("io", "flow", "groundtruth")


def _own_nodes(fn):
    """``(node, guarded)`` for the nodes of ``fn``'s body, not descending into nested functions,
    classes or lambdas; ``guarded`` when the node sits in the body of a ``try`` with handlers."""
    nested = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    stack = [(n, False) for n in fn.body if not isinstance(n, nested)]
    while stack:
        node, guarded = stack.pop()
        yield node, guarded
        for field, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            inner = guarded or (isinstance(node, ast.Try) and field == "body" and bool(node.handlers))
            stack.extend(
                (c, inner)
                for c in children
                if isinstance(c, ast.AST)
                and not isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
            )


def _is_property(fn) -> bool:
    names = {d.id if isinstance(d, ast.Name) else getattr(d, "attr", "") for d in fn.decorator_list}
    return bool(names & {"property", "cached_property", "setter"})


def _returns_none(node: ast.Return) -> bool:
    return node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None)


def missing_sections(fn: ast.FunctionDef) -> list[str]:
    """The numpydoc sections ``fn`` should have and lacks."""
    doc = (ast.get_docstring(fn) or "") + "\n"
    if doc.strip() == "":
        return ["docstring"]
    args = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
    args += [a.arg for a in (fn.args.vararg, fn.args.kwarg) if a is not None]
    nodes = list(_own_nodes(fn))
    yields = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n, _ in nodes)
    returns = any(isinstance(n, ast.Return) and not _returns_none(n) for n, _ in nodes)
    raises = any(isinstance(n, ast.Raise) and n.exc is not None and not guarded for n, guarded in nodes)
    need = []
    if args:
        need.append("Parameters")
    if yields:
        need.append("Yields")
    elif returns:
        need.append("Returns")
    if raises:
        need.append("Raises")
    return [s for s in need if f"\n{s}\n" not in "\n" + doc]


def _public_functions(path: Path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for m in node.body:
                if isinstance(m, ast.FunctionDef) and not m.name.startswith("_") and not _is_property(m):
                    yield f"{node.name}.{m.name}", m


def test_the_checker_sees_a_missing_section():
    doc = '"""Doc.\n\n    Parameters\n    ----------\n    x : int\n    """'
    fn = ast.parse(f"def f(x):\n    {doc}\n    return x\n").body[0]
    assert missing_sections(fn) == ["Returns"]
    gen = ast.parse('def g():\n    """Doc."""\n    yield 1\n    raise ValueError("x")\n').body[0]
    assert missing_sections(gen) == ["Yields", "Raises"]
    caught = 'def h():\n    """Doc."""\n    try:\n        raise ValueError("x")\n    except ValueError:\n        pass\n'
    assert missing_sections(ast.parse(caught).body[0]) == []


@pytest.mark.parametrize("area", CHECKED)
def test_public_functions_have_numpydoc_sections(area):
    bad = []
    for path in sorted((PACKAGE / area).rglob("*.py")):
        for name, fn in _public_functions(path):
            miss = missing_sections(fn)
            if miss:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{fn.lineno} {name}: missing {', '.join(miss)}")
    assert not bad, "public functions without numpydoc sections:\n" + "\n".join(bad)
