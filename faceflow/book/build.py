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

import ast
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from faceflow.book import budgets, cachelog, publish, tables
from faceflow.io.atomic import atomic_write_text
from faceflow.profiles import check_profile, get

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
    cpu_seconds: float = 0.0


def default_parameters(profile: str, root: Path, output_dir: str | os.PathLike | None = None) -> dict:
    """Parameters injected into every chapter for a profile.

    Parameters
    ----------
    profile : str
    root : pathlib.Path
        The project.
    output_dir : path-like, optional
        The profile's output folder; default ``outputs/<profile>`` (relative to the project root,
        the notebooks' working directory).

    Returns
    -------
    dict
        ``profile``, ``output_dir`` and, when ``$FACEFLOW_DATA`` is set, ``data_root``.
    """
    check_profile(profile)
    params = {"profile": profile, "output_dir": str(output_dir) if output_dir else f"outputs/{profile}"}
    if os.environ.get("FACEFLOW_DATA"):
        params["data_root"] = os.environ["FACEFLOW_DATA"]
    return params


#: Parameters fixed by the build itself: ``--profile`` sets ``profile``.
BUILD_PARAMETERS = ("profile",)


def chapter_parameters(src: Path) -> dict:
    """Names and default values of the chapter's ``parameters`` cell, in order.

    The cell may hold only ``name = <Python literal>`` lines (numbers, strings, None, True/False,
    tuples, lists) and comments; the defaults give the parameters' types.

    Raises
    ------
    ValueError
        Not exactly one cell tagged ``parameters``, or a line that is not such an assignment.
    """
    import jupytext

    cells = [c for c in jupytext.read(src).cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{src}: needs exactly one cell tagged 'parameters', found {len(cells)}")
    out = {}
    for node in ast.parse(cells[0].source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ValueError(f"{src}: line {node.lineno} of the parameters cell is not 'name = literal'")
        try:
            out[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            raise ValueError(f"{src}: parameter {node.targets[0].id} has a default that is not a literal") from None
    return out


_KIND_NAMES = {
    bool: "True or False",
    int: "an integer",
    float: "a number",
    str: "a string",
    tuple: "a tuple",
    list: "a list",
}


def typed_parameter(name: str, value, default, where: str):
    """``value`` of parameter ``name`` as the type of its chapter ``default``.

    A string (from ``--param name=text``) is read as a Python literal where the default is not a
    string (``3``, ``0.5``, ``None``, ``True``, ``(128, 192)``); where the default is None, any
    literal or, failing that, the text itself is accepted.

    Raises
    ------
    ValueError
        The value does not fit the default's type; the message names the parameter and ``where``.
    """
    if isinstance(value, str) and not isinstance(default, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            if default is not None:
                raise ValueError(f"parameter {name}={value!r} is not {_KIND_NAMES[type(default)]} ({where})") from None
    if default is None:
        return value
    kind = type(default)
    accepted = {float: (int, float), tuple: (tuple, list), list: (tuple, list)}.get(kind, (kind,))
    if not isinstance(value, accepted) or (isinstance(value, bool) and kind is not bool):
        raise ValueError(f"parameter {name}={value!r} is not {_KIND_NAMES[kind]}, as its default {default!r} ({where})")
    return kind(value) if kind in (float, tuple, list) else value


def check_parameters(extra: dict, sources: list[Path]) -> dict[Path, dict]:
    """Typed ``extra`` parameters per chapter, checked before any chapter runs.

    Each name must be declared by at least one of ``sources``; each chapter gets only the names
    its parameters cell declares, typed by :func:`typed_parameter`. ``device`` must be one torch
    can use here and ``data_root`` an existing folder; ``profile`` is set by ``--profile``.

    Raises
    ------
    ValueError
        An unknown name, a value of the wrong type, a bad device or profile.
    FileNotFoundError
        A ``data_root`` that does not exist.
    """
    from faceflow.io.datasets import DataNotFoundError, DataRoot
    from faceflow.runtime import resolve_device

    declared = {src: chapter_parameters(src) for src in sources}
    known = sorted({n for names in declared.values() for n in names} - set(BUILD_PARAMETERS))
    for name in extra:
        if name in BUILD_PARAMETERS:
            raise ValueError(f"parameter {name} is set with --{name}, not --param")
        if name not in known:
            raise ValueError(f"unknown parameter {name!r}; the chapters take {', '.join(known)}")
    out = {}
    for src, defaults in declared.items():
        out[src] = {n: typed_parameter(n, v, defaults[n], src.name) for n, v in extra.items() if n in defaults}
    values = {n: v for params in out.values() for n, v in params.items()}
    if "device" in values:
        resolve_device(values["device"])
    why = DataRoot.resolve(values["data_root"]).missing if values.get("data_root") is not None else None
    if why:
        raise DataNotFoundError(why)
    return out


def execute_notebook(
    src: Path, dest: Path, parameters: dict, cwd: Path | None = None, read_log: tuple[Path, Path] | None = None
) -> RunResult:
    """Convert a MyST notebook to ``.ipynb`` and execute it with papermill.

    The executed notebook is written to ``dest`` (atomically: a failed run leaves any previous
    ``dest`` untouched and keeps the failed notebook beside it as ``*.failed.ipynb``).
    ``read_log``: ``(output folder, log file)``: the kernel logs the files it reads under the
    output folder (:mod:`faceflow.book.cachelog`). ``RunResult.cpu_seconds``: CPU time of the
    kernel and the processes it waited for.
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
    env = {cachelog.ROOT_ENV: str(read_log[0]), cachelog.LOG_ENV: str(read_log[1])} if read_log else {}
    saved = {k: os.environ.get(k) for k in (cachelog.ROOT_ENV, cachelog.LOG_ENV)}
    os.environ.update(env)  # the kernel inherits the environment
    for k in saved.keys() - env.keys():
        os.environ.pop(k, None)
    t0, c0 = time.perf_counter(), children_cpu_seconds()
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
            # ... and the files it reads from earlier builds' results (faceflow.book.cachelog)
            extra_arguments=["--ext=faceflow.book.capture", "--ext=faceflow.book.cachelog"],
        )
    except BaseException:
        if tmp.exists():
            os.replace(tmp, dest.with_suffix(".failed.ipynb"))
        raise
    finally:
        unexecuted.unlink(missing_ok=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    os.replace(tmp, dest)
    return RunResult(src.stem, time.perf_counter() - t0, dest, children_cpu_seconds() - c0)


def children_cpu_seconds() -> float:
    """User and system CPU seconds of this process's finished (waited-for) child processes.

    Returns
    -------
    float
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def stage_dir(profile: str, root: Path | None = None) -> Path:
    """Where the book for ``profile`` is staged: ``_build/<profile>``."""
    return (root or project_root()) / "_build" / profile


def check_chapters(only, sources: list[Path]) -> None:
    """Refuse (one line) chapter names in ``only`` that are not chapters of the book.

    Parameters
    ----------
    only : list of str or None
        Chapter stems given to ``--only`` (e.g. ``02_flownets``).
    sources : list of pathlib.Path
        The chapters (:func:`notebook_sources`).

    Raises
    ------
    ValueError
        ``--only <names>: no such chapter; chapters: ...``.
    """
    unknown = sorted(set(only or ()) - {s.stem for s in sources})
    if unknown:
        raise ValueError(f"--only {' '.join(unknown)}: no such chapter; chapters: {', '.join(s.stem for s in sources)}")


def build_book(
    profile: str = "default",
    only: list[str] | None = None,
    stage: Path | None = None,
    execute: bool = True,
    extra_parameters: dict | None = None,
    solutions: bool = True,
    html: bool = True,
    output_dir: str | os.PathLike | None = None,
    from_nothing: bool = False,
) -> Path:
    """Execute the chapters for ``profile`` and build the HTML book; returns the HTML folder
    (with ``html=False``, the folder of the exported tables).

    Between execution and Sphinx, :func:`faceflow.book.publish.prepare_stage` removes the
    machine's absolute paths from the executed notebooks and writes the generated pages, and
    :func:`faceflow.book.tables.export` writes every displayed table as CSV under
    ``<stage>/tables``. Each executed chapter is recorded for the course page
    (:func:`faceflow.book.publish.record_timing`): its wall and CPU seconds, the reference
    computation timed just before and just after it (the mean of the two,
    :func:`faceflow.book.budgets.time_reference`) and the results
    of earlier builds it read (:mod:`faceflow.book.cachelog`; none: a first run), listed in
    ``<stage>/cache_reads/<chapter>.txt``. A first run over its budget
    (:attr:`faceflow.profiles.Profile.budgets`) is reported on the terminal.

    Parameters
    ----------
    only : list of str, optional
        Execute only these notebooks (stems such as ``00_data_tour``); the others keep their
        previously executed copy in the stage, which must exist.
    execute : bool
        If False, skip execution and only rebuild the HTML from the staged notebooks.
    extra_parameters : dict, optional
        Chapter parameters (values or ``--param`` text), checked by :func:`check_parameters`
        before any chapter runs.
    solutions : bool
        False builds the student edition into ``<stage>/student``, from copies of the staged
        pages, notebooks and sources without any exercise solution
        (:func:`faceflow.book.publish.prepare_student_stage`).
    html : bool
        If False, stop after executing the chapters and exporting their tables.
    output_dir : path-like, optional
        The profile's output folder (cached results); default ``outputs/<profile>``.
    from_nothing : bool
        Execute in a new, empty output folder in the system's temporary folder, removed
        afterwards: every chapter computes everything (a first run) and ``outputs/`` is neither
        read nor written.

    Raises
    ------
    ValueError, FileNotFoundError
        Bad parameters, an unknown ``only`` name, or a chapter neither executed now nor before;
        all found before any chapter runs.
    """
    if (from_nothing or output_dir) and "output_dir" in (extra_parameters or {}):
        raise ValueError("parameter output_dir is set by the output folder of the build (--from-nothing)")
    if from_nothing and output_dir:
        raise ValueError("a build from nothing makes its own empty output folder; give no output_dir")
    if not (from_nothing and execute):
        return _build_book(profile, only, stage, execute, extra_parameters, solutions, html, output_dir)
    temporary = Path(tempfile.mkdtemp(prefix=f"faceflow-{profile}-from-nothing-"))
    print(f"[faceflow book] from nothing: outputs in {temporary / profile} (removed afterwards)", flush=True)
    try:
        return _build_book(profile, only, stage, execute, extra_parameters, solutions, html, temporary / profile)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def output_root(root: Path, profile: str, output_dir: str | os.PathLike | None) -> Path:
    """The output folder a chapter run from ``root`` with parameter ``output_dir`` writes to.

    As :func:`faceflow.profiles.outputs` resolves it in the chapter, whose working directory is
    ``root``: ``output_dir``, else ``$FACEFLOW_OUTPUT``, else ``outputs/<profile>``.

    Parameters
    ----------
    root : pathlib.Path
        The project (the chapters' working directory).
    profile : str
    output_dir : path-like, optional

    Returns
    -------
    pathlib.Path
        Absolute.
    """
    path = Path(output_dir or os.environ.get("FACEFLOW_OUTPUT", "") or Path("outputs") / profile).expanduser()
    return (path if path.is_absolute() else Path(root) / path).resolve()


def _build_book(profile, only, stage, execute, extra_parameters, solutions, html, output_dir) -> Path:
    """:func:`build_book` in the output folder ``output_dir`` (None: the default)."""
    from faceflow.io.datasets import DataRoot

    root = project_root()
    stage = Path(stage) if stage else stage_dir(profile, root)
    sources = notebook_sources(root)
    check_chapters(only, sources)
    run = [s for s in sources if execute and (only is None or s.stem in only)]
    params = default_parameters(profile, root, output_dir)
    injected = check_parameters(extra_parameters or {}, run or sources)
    data_root = next((p["data_root"] for p in injected.values() if "data_root" in p), params.get("data_root"))
    for src in sources:
        staged = stage / "notebooks" / (src.stem + ".ipynb")
        if src not in run and not staged.is_file():
            raise FileNotFoundError(f"{staged}: not executed yet; run without --only first")
    why = DataRoot.resolve(data_root).missing
    if run and why:  # said on the terminal, not only in the pages
        print(f"[faceflow book] warning: {why} The chapters will show their data as missing.", file=sys.stderr)
    stage.mkdir(parents=True, exist_ok=True)
    for name in STATIC:
        src = root / name
        dst = stage / name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    results = []
    commit = publish.git_commit(root)
    outs = {src: output_root(root, profile, {**params, **injected[src]}.get("output_dir")) for src in run}
    before = {out: cachelog.snapshot(out) for out in set(outs.values())}  # the results of earlier builds
    settings = get(profile)
    for src in run:
        dest = stage / "notebooks" / (src.stem + ".ipynb")
        print(f"[faceflow book] executing {src.name} (profile={profile}) ...", flush=True)
        before_reference = budgets.time_reference()
        log = stage / "cache_reads" / f"{src.stem}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        r = execute_notebook(src, dest, {**params, **injected[src]}, cwd=root, read_log=(outs[src], log))
        # the load of a shared machine changes while a chapter runs: the reference before and after it
        reference = (before_reference.seconds + budgets.time_reference().seconds) / 2
        reads = cachelog.cached_reads(log, before[outs[src]])
        if cachelog.held_files(before[outs[src]], src.stem) and not any(p.startswith(src.stem + "/") for p in reads):
            reads.append(src.stem + "/")  # its own folder held results of an earlier build
        timing = publish.ChapterTiming(
            src.stem, r.seconds, r.cpu_seconds, reference, tuple(reads), checked=log.is_file()
        )
        atomic_write_text(log.with_suffix(".txt"), "".join(f"{p}\n" for p in reads))
        publish.record_timing(stage, profile, timing, commit)
        print(f"[faceflow book]   done in {r.seconds:.1f} s (CPU {r.cpu_seconds:.1f} s), {timing.cache}", flush=True)
        if timing.cache == publish.FIRST_RUN:
            check = budgets.BudgetCheck(src.stem, r.seconds, reference, settings.budget(src.stem))
            print(f"[faceflow book]   {check.describe()}", file=sys.stderr if check.over else sys.stdout, flush=True)
        elif reads:
            print(f"[faceflow book]   read {len(reads)} results of earlier builds ({log.with_suffix('.txt')})")
        results.append(r)
    chapters = [src.stem for src in sources]
    elsewhere = {str(out): f"outputs/{profile}" for out in set(outs.values()) if not out.is_relative_to(root)}
    publish.prepare_stage(stage, root, profile, chapters, data_root, elsewhere)
    tables.export(stage, chapters, commit)
    if not html:
        return stage / "tables"
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    if jb is None:
        raise FileNotFoundError("jupyter-book is not installed in this environment (pip install '.[book]')")
    if not solutions:
        publish.prepare_student_stage(stage, chapters)
    cmd = publish.jupyter_book_command(jb, stage, solutions)
    print("[faceflow book] " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    out = publish.html_dir(stage, solutions)
    print(f"[faceflow book] html built in {time.perf_counter() - t0:.1f} s: {out}")
    for r in results:
        print(f"[faceflow book]   {r.notebook}: {r.seconds:.1f} s")
    return out
