"""Notebook -> book pipeline.

Chapters are MyST-markdown notebooks in ``notebooks/`` (paired by jupytext), each with a cell
tagged ``parameters``. :func:`execute_notebook` converts one with jupytext and runs it with
papermill, injecting parameters. :func:`build_book` stages the book (config, TOC, static pages,
executed notebooks) in a build tree and runs ``jupyter-book build`` there with execution off and
warnings as errors, so the build fails on any notebook error or broken reference.

Heavy computation is not done here: notebooks call :mod:`faceflow` functions that cache their
results under the ``output_dir`` parameter (``outputs/<profile>`` by default), so rebuilding a
page re-uses them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from faceflow.book import publish, tables
from faceflow.profiles import check_profile

#: Files and folders copied from the project root into the staged book.
STATIC = ("_config.yml", "_toc.yml", "book")


def project_root() -> Path:
    """The repository root (the folder holding ``_toc.yml``)."""
    here = Path(__file__).resolve().parents[2]
    if not (here / "_toc.yml").is_file():
        raise FileNotFoundError(f"{here}: not a faceflow checkout (no _toc.yml); run from the repository")
    return here


def toc_files(root: Path | None = None) -> list[str]:
    """Every ``file:`` entry of ``_toc.yml`` (root first), without extension."""
    import yaml

    root = root or project_root()
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: v for k, v in toc.items() if k != "root"})
    return files


def notebook_sources(root: Path | None = None) -> list[Path]:
    """MyST notebooks of the TOC that live in ``notebooks/``, in TOC order."""
    root = root or project_root()
    out = []
    for f in toc_files(root):
        if f.startswith("notebooks/"):
            p = root / (f + ".md")
            if not p.is_file():
                raise FileNotFoundError(f"_toc.yml lists {f} but {p} does not exist")
            out.append(p)
    return out


@dataclass
class RunResult:
    notebook: str
    seconds: float
    output: Path


def default_parameters(profile: str, root: Path) -> dict:
    """Parameters injected into every chapter for a profile."""
    check_profile(profile)
    # relative to the project root, which is the notebooks' working directory
    params = {"profile": profile, "output_dir": f"outputs/{profile}"}
    if os.environ.get("FACEFLOW_DATA"):
        params["data_root"] = os.environ["FACEFLOW_DATA"]
    return params


def execute_notebook(src: Path, dest: Path, parameters: dict, cwd: Path | None = None) -> RunResult:
    """Convert a MyST notebook to ``.ipynb`` and execute it with papermill.

    The executed notebook is written to ``dest`` (atomically: a failed run leaves any previous
    ``dest`` untouched and keeps the failed notebook beside it as ``*.failed.ipynb``).
    """
    import jupytext
    import papermill as pm

    src, dest = Path(src), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.pop("jupytext", None)
    unexecuted = dest.with_suffix(".input.ipynb")
    jupytext.write(nb, unexecuted, fmt="ipynb")
    tmp = dest.with_suffix(".running.ipynb")
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(unexecuted),
            str(tmp),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(cwd or src.parent),
            progress_bar=False,
            log_output=False,
            # every displayed DataFrame keeps its data for the table export (faceflow.book.tables)
            extra_arguments=["--ext=faceflow.book.capture"],
        )
    except BaseException:
        if tmp.exists():
            os.replace(tmp, dest.with_suffix(".failed.ipynb"))
        raise
    finally:
        unexecuted.unlink(missing_ok=True)
    os.replace(tmp, dest)
    return RunResult(src.stem, time.perf_counter() - t0, dest)


def stage_dir(profile: str, root: Path | None = None) -> Path:
    """Where the book for ``profile`` is staged: ``_build/<profile>``."""
    return (root or project_root()) / "_build" / profile


def build_book(
    profile: str = "default",
    only: list[str] | None = None,
    stage: Path | None = None,
    execute: bool = True,
    extra_parameters: dict | None = None,
    solutions: bool = True,
    html: bool = True,
) -> Path:
    """Execute the chapters for ``profile`` and build the HTML book; returns the HTML folder
    (with ``html=False``, the folder of the exported tables).

    Between execution and Sphinx, :func:`faceflow.book.publish.prepare_stage` removes the
    machine's absolute paths from the executed notebooks and writes the generated pages, and
    :func:`faceflow.book.tables.export` writes every displayed table as CSV under
    ``<stage>/tables``. Each executed chapter's seconds are recorded for the course page.

    Parameters
    ----------
    only : list of str, optional
        Execute only these notebooks (stems such as ``00_data_tour``); the others keep their
        previously executed copy in the stage, which must exist.
    execute : bool
        If False, skip execution and only rebuild the HTML from the staged notebooks.
    solutions : bool
        False builds the student edition (exercise solutions hidden) into ``<stage>/student``.
    html : bool
        If False, stop after executing the chapters and exporting their tables.
    """
    root = project_root()
    stage = Path(stage) if stage else stage_dir(profile, root)
    stage.mkdir(parents=True, exist_ok=True)
    for name in STATIC:
        src = root / name
        dst = stage / name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    params = default_parameters(profile, root)
    params.update(extra_parameters or {})
    results = []
    commit = publish.git_commit(root)
    chapters = [src.stem for src in notebook_sources(root)]
    for src in notebook_sources(root):
        dest = stage / "notebooks" / (src.stem + ".ipynb")
        if execute and (only is None or src.stem in only):
            print(f"[faceflow book] executing {src.name} (profile={profile}) ...", flush=True)
            cold = not (root / params["output_dir"] / src.stem).exists()
            r = execute_notebook(src, dest, params, cwd=root)
            print(f"[faceflow book]   done in {r.seconds:.1f} s", flush=True)
            publish.record_timing(root, profile, src.stem, r.seconds, cold, commit)
            results.append(r)
        elif not dest.is_file():
            raise FileNotFoundError(f"{dest}: not executed yet; run without --only first")
    publish.prepare_stage(stage, root, profile, chapters, params.get("data_root"))
    tables.export(stage, chapters, commit)
    if not html:
        return stage / "tables"
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    if jb is None:
        raise FileNotFoundError("jupyter-book is not installed in this environment (pip install '.[book]')")
    cmd = publish.jupyter_book_command(jb, stage, solutions)
    print("[faceflow book] " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    out = publish.html_dir(stage, solutions)
    print(f"[faceflow book] html built in {time.perf_counter() - t0:.1f} s: {out}")
    for r in results:
        print(f"[faceflow book]   {r.notebook}: {r.seconds:.1f} s")
    return out
