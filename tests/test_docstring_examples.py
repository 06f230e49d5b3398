"""Every ``Examples`` section of the API reference runs (doctest) and checks what it shows.

The modules are those the book's API pages (``book/api/*.md``) document with ``automodule``, so
an example a reader sees in the reference is an example that ran in ``make test``. The main entry
points must have one.
"""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Entry points a researcher starts from: each carries an example that runs.
MUST_HAVE_EXAMPLES = (
    "faceflow.groundtruth.mesh.exact_flow",
    "faceflow.io.flo.read_flow",
    "faceflow.methods.registry.estimate_flow",
    "faceflow.flow.metrics.epe",
    "faceflow.flow.metrics.aae",
)


def reference_modules() -> list[str]:
    """The modules of every ``automodule`` directive of the book's API pages."""
    names = []
    for page in sorted((REPO / "book" / "api").glob("*.md")):
        names += re.findall(r"^\.\. automodule:: ([\w.]+)", page.read_text(), flags=re.M)
    return names


def _examples(module) -> list[doctest.DocTest]:
    return [t for t in doctest.DocTestFinder(exclude_empty=True).find(module) if t.examples]


def test_the_reference_documents_the_researchers_modules():
    modules = set(reference_modules())
    for name in MUST_HAVE_EXAMPLES:
        assert name.rsplit(".", 1)[0] in modules, f"{name}: its module is not in the API reference"


@pytest.mark.parametrize("name", MUST_HAVE_EXAMPLES)
def test_entry_point_has_an_example(name):
    module_name, function = name.rsplit(".", 1)
    tests = {t.name: t for t in _examples(importlib.import_module(module_name))}
    assert name in tests, f"{name}: no Examples section with doctest lines"
    assert any(e.want.strip() for e in tests[name].examples), f"{name}: its example checks no output"


@pytest.mark.parametrize("module_name", reference_modules())
def test_examples_in_the_reference_run(module_name):
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in _examples(importlib.import_module(module_name)):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
