"""The chapter helpers: what a chapter's setup does to the kernel it runs in."""

from __future__ import annotations

import warnings

from tqdm import TqdmWarning
from tqdm.notebook import WARN_NOIPYW

from faceflow.book import chapter


def test_setup_quiets_only_tqdms_missing_widgets_warning(tmp_path):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        chapter.setup("00_test", "smoke", str(tmp_path), str(tmp_path / "out" / "smoke"))
        warnings.warn(WARN_NOIPYW, TqdmWarning, stacklevel=1)  # what `import tqdm.auto` says in a kernel
        warnings.warn("some other tqdm problem", TqdmWarning, stacklevel=1)
        warnings.warn(WARN_NOIPYW, UserWarning, stacklevel=1)  # same text, another category
    shown = [(w.category, str(w.message)) for w in seen]
    assert shown == [(TqdmWarning, "some other tqdm problem"), (UserWarning, WARN_NOIPYW)]
