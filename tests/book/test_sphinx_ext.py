"""The book's Sphinx extension (book/_ext/faceflow_sphinx.py), tested without a Sphinx build."""

from __future__ import annotations

import importlib.util
import types

import numpy as np
import pytest

from faceflow.methods.flownets import FlowNetSConfig


@pytest.fixture(scope="module")
def ext(repo_root) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("faceflow_sphinx", repo_root / "book" / "_ext" / "faceflow_sphinx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_reference_resolves_only_to_an_object_that_exists(ext):
    assert ext.import_object("numpy.gradient") is np.gradient
    assert ext.import_object("faceflow.methods.flownets.FlowNetSConfig") is FlowNetSConfig
    assert ext.import_object("faceflow.methods.flownets").__name__ == "faceflow.methods.flownets"
    # what stale docstrings named: a module that moved, a function that was renamed
    for stale in (
        "faceflow.flownets.FlowNetSConfig",
        "faceflow.stst.images_to_input",
        "faceflow.io.datasets.has_dataset",
    ):
        assert ext.import_object(stale) is ext._MISSING, stale
    assert ext.import_object("no_such_package.x") is ext._MISSING
    assert ext.import_object("numpy..gradient") is ext._MISSING
