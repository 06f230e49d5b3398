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


def test_every_chapter_lists_sample_data_that_the_registry_has(repo_root):
    from faceflow.book.build import notebook_sources
    from faceflow.io import fetch

    assert set(chapter.CHAPTER_DATA) == {src.stem for src in notebook_sources(repo_root)}
    samples = fetch.read_registry()
    for name, only in chapter.CHAPTER_DATA.items():
        assert fetch.select(samples, only), name  # raises for a name the registry does not have


def test_a_launched_chapter_fetches_its_missing_data_once(tmp_path, monkeypatch, origin, serve_samples, data_root):
    """The path a Binder launch takes ($FACEFLOW_FETCH=1), against the local origin server."""
    served = serve_samples(list(chapter.CHAPTER_DATA["00_data_tour"]))
    monkeypatch.setenv("FACEFLOW_DATA_URL", origin.url)
    root, out = tmp_path / "data", str(tmp_path / "out" / "smoke")

    chapter.setup("00_data_tour", "smoke", str(root), out)  # not launched: nothing is fetched
    assert not root.exists() and not origin.requests

    monkeypatch.setenv(chapter.FETCH_ENV, "1")
    ch = chapter.setup("00_data_tour", "smoke", str(root), out)
    assert ch.data_root == root and ch.data_error is None
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted(served)
    for name in served:
        assert (root / name).read_bytes() == (data_root / name).read_bytes(), name
    n = len(origin.requests)
    chapter.setup("00_data_tour", "smoke", str(root), out)  # all there: no download
    assert len(origin.requests) == n
    chapter.setup("00_data_tour", "smoke", str(tmp_path / "other"), out, fetch=False)
    assert not (tmp_path / "other").exists()


def test_a_chapter_resolves_its_root_once(tmp_path, monkeypatch):
    from faceflow.io.datasets import DataRoot

    arg, env = tmp_path / "arg", tmp_path / "env"
    arg.mkdir()
    env.mkdir()
    monkeypatch.setenv("FACEFLOW_DATA", str(env))
    ch = chapter.setup("00_data_tour", "smoke", None, str(tmp_path / "out" / "smoke"), fetch=False)
    assert ch.root == DataRoot.resolve() and ch.root.source == "$FACEFLOW_DATA"
    assert (ch.data_root, ch.data_error) == (env, None)
    gone = chapter.setup("00_data_tour", "smoke", str(arg / "absent"), str(tmp_path / "out" / "smoke"), fetch=False)
    assert gone.data_root is None and gone.data_error == DataRoot.resolve(arg / "absent").missing
