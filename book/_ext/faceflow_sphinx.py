"""Sphinx tweaks for the faceflow book.

* sphinx-thebe (pulled in by Jupyter Book 1.x) registers its inline configuration script once per
  document-reading pass, so pages can carry it twice and the browser reports
  "Identifier 'THEBE_JS_URL' has already been declared". Drop duplicate scripts per page.
* sphinx-exercise 1.2.1 with ``hide_solutions`` drops a gated solution's ``solution-start`` but
  keeps its ``solution-end`` node (which no writer knows: the build crashes) and everything in
  between (the solution's text and code cells would stay visible). Here ``solution-start``
  leaves a marker when solutions are hidden, and a transform removes the marker, the content up
  to the matching ``solution-end``, and that end node.
* The API reference (``book/api``) is built with ``-n``: a docstring's reference to a Python
  object the reference does not document (``numpy.gradient``, a private helper module) would be
  an error. :func:`_existing_object_reference` resolves such a reference when the object really
  exists: to the documented object it is an alias of, else as plain code text without a link. A
  reference to an object that does not exist (a renamed module, a typo) stays an error.
* No machine paths in the book: a value autodoc shows (``FACE_SUBJECTS = PosixPath(...)``) names
  the package's files relative to the project root, as the executed notebooks do
  (:func:`_relative_project_paths`).
* ``faceflow-cli``: a directive that writes the help of every ``faceflow`` command and
  sub-command, generated from the argparse definitions at build time
  (:func:`faceflow.cli.main.command_help`), so the book's command reference cannot go stale.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for js in scripts:
        body = getattr(js, "attributes", {}).get("body")
        # inline scripts carry filename None or '' depending on who added them: key on the body
        key = ("body", body) if body else ("file", getattr(js, "filename", str(js)))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    context["script_files"] = unique


class hidden_solution_start(nodes.Element):  # noqa: N801 (docutils node naming)
    """Where a gated solution began, in a build with ``hide_solutions``."""


class RemoveHiddenGatedSolutions(SphinxTransform):
    """Remove each hidden gated solution: its start marker, its content and its end node."""

    default_priority = 5

    def apply(self):
        from sphinx_exercise.nodes import solution_end_node

        for marker in list(self.document.findall(hidden_solution_start)):
            parent = marker.parent
            start = parent.index(marker)
            end = next(
                (i for i in range(start + 1, len(parent.children)) if isinstance(parent[i], solution_end_node)), None
            )
            if end is None:
                logger.error(f"{self.env.docname}: a solution-start has no solution-end at the same level")
                parent.remove(marker)
                continue
            for child in parent.children[start : end + 1]:
                parent.remove(child)


def _solution_start_directive():
    from sphinx_exercise.directive import SolutionStartDirective

    class SolutionStart(SolutionStartDirective):
        def run(self):
            result = super().run()  # registers the gated structure, which sphinx-exercise checks
            if self.env.app.config.hide_solutions:
                return [hidden_solution_start()]
            return result

    return SolutionStart


class CommandReference(SphinxDirective):
    """``faceflow-cli``: each command's ``--help``, under a rubric naming the command."""

    has_content = False

    def run(self):
        import faceflow.cli.main

        self.env.note_dependency(faceflow.cli.main.__file__)
        out = []
        for prog, text in faceflow.cli.main.command_help():
            out.append(nodes.rubric(prog, prog, ids=[nodes.make_id(prog)]))
            out.append(nodes.literal_block(text, text, language="text"))
        return out


_MISSING = object()


def import_object(path: str):
    """The object a dotted ``path`` names (module, then attributes), or ``_MISSING``.

    Modules are imported as needed; a name that is neither an importable module nor an attribute
    gives ``_MISSING`` (looked up with ``find_spec`` and ``getattr``, no exception relied on).
    """
    parts = path.split(".")
    module, depth = None, 0
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name not in sys.modules:
            if not all(parts[:i]) or (module is not None and not hasattr(module, "__path__")):
                break
            if importlib.util.find_spec(name) is None:
                break
            importlib.import_module(name)
        module, depth = sys.modules[name], i
    if module is None:
        return _MISSING
    obj = module
    for attr in parts[depth:]:
        obj = getattr(obj, attr, _MISSING)
        if obj is _MISSING:
            break
    return obj


def _canonical_name(obj, path: str) -> str:
    """Where ``obj`` is defined (``module.qualname``); ``path`` for data and modules."""
    if hasattr(obj, "__module__") and hasattr(obj, "__qualname__") and isinstance(obj.__module__, str):
        return f"{obj.__module__}.{obj.__qualname__}"
    return getattr(obj, "__name__", path) if type(obj).__name__ == "module" else path


def _existing_object_reference(app, env, node, contnode):
    """``missing-reference``: a Python reference to an object that exists but is not documented."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    module, cls = node.get("py:module"), node.get("py:class")
    candidates = [f"{module}.{cls}.{target}"] if module and cls else []
    candidates += [f"{module}.{target}"] if module else []
    candidates.append(target)
    for path in candidates:
        obj = import_object(path)
        if obj is _MISSING:
            continue
        canonical = _canonical_name(obj, path)
        if canonical != node["reftarget"]:
            domain = env.get_domain("py")
            found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], canonical, node, contnode)
            if found is not None:
                return found
        return contnode
    return None


def _relative_project_paths(app, doctree):
    """``doctree-read``: the project root's absolute path (in autodoc's values) becomes relative."""
    from pathlib import Path

    import faceflow

    root = Path(faceflow.__file__).resolve().parents[1]
    prefixes = sorted({f"{root}/", f"{Path(faceflow.__file__).parents[1]}/"}, key=len, reverse=True)
    for text in list(doctree.findall(nodes.Text)):
        if any(p in text for p in prefixes):
            new = str(text)
            for p in prefixes:
                new = new.replace(p, "")
            text.parent.replace(text, nodes.Text(new))


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.setup_extension("sphinx_exercise")
    app.add_node(hidden_solution_start)
    app.add_directive("solution-start", _solution_start_directive(), override=True)
    app.add_transform(RemoveHiddenGatedSolutions)
    app.connect("missing-reference", _existing_object_reference, priority=900)
    app.add_directive("faceflow-cli", CommandReference)
    app.connect("doctree-read", _relative_project_paths)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
