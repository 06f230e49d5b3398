"""Flow estimators behind one registry (:mod:`faceflow.methods.registry`).

Importing this package registers the classical methods (:mod:`faceflow.methods.classical`).
"""

from faceflow.methods import classical, registry  # noqa: F401  (registers the classical methods)
from faceflow.methods.registry import available_methods, estimate_flow, get_method, register, timed_flow

__all__ = ["available_methods", "estimate_flow", "get_method", "register", "timed_flow"]
