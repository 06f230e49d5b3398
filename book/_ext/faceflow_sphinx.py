"""Sphinx tweaks for the faceflow book.

* sphinx-thebe (pulled in by Jupyter Book 1.x) registers its inline configuration script once per
  document-reading pass, so pages can carry it twice and the browser reports
  "Identifier 'THEBE_JS_URL' has already been declared". Drop duplicate scripts per page.
* sphinx-exercise 1.2.1 with ``hide_solutions`` drops a gated solution's ``solution-start`` but
  keeps its ``solution-end`` node (which no writer knows: the build crashes) and everything in
  between (the solution's text and code cells would stay visible). Here ``solution-start``
  leaves a marker when solutions are hidden, and a transform removes the marker, the content up
  to the matching ``solution-end``, and that end node.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

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


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.setup_extension("sphinx_exercise")
    app.add_node(hidden_solution_start)
    app.add_directive("solution-start", _solution_start_directive(), override=True)
    app.add_transform(RemoveHiddenGatedSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
