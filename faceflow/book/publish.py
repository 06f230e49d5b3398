"""What the build does to the staged book between executing the chapters and running Sphinx.

* :func:`relative_paths`: the executed notebooks name no absolute path of the building machine;
  the project root becomes relative (``outputs/smoke/...``), an output folder elsewhere (a build
  from nothing) ``outputs/<profile>`` and the data root the path the reader would pass
  (``../shared/data``), in cell sources, outputs and metadata alike.
* :func:`record_timing` / :func:`timings_markdown`: each build records how long each chapter
  took (``_build/<profile>/chapter_seconds.csv``: wall and CPU seconds, the reference
  computation's seconds, whether it was a first run or read cached results of an earlier build,
  commit, CPU count, load, date) and the course page shows these measured numbers, first runs
  first; what this machine has not measured comes from the snapshot committed in
  ``book/timings.csv`` (``faceflow book --record-timings`` writes it).
* :func:`source_markdown`: the intro's "source" paragraph, with the chapters' MyST sources as
  downloads and the repository link when the build knows it.
* :func:`prepare_student_stage` / :func:`jupyter_book_command`: the teacher edition (solutions
  in dropdowns) or the student edition, built into ``<stage>/student`` from copies of the staged
  pages, executed notebooks and chapter sources from which every exercise solution has been
  removed (:class:`SolutionStripper`), so that no file of it (page, ``.ipynb`` or ``.md``
  download, search index) holds a solution.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from faceflow.io.atomic import atomic_write_text
from faceflow.profiles import PROFILES

#: Per-chapter timing records of a build, in its stage (``_build/<profile>/``).
TIMINGS_FILE = "chapter_seconds.csv"
#: The committed snapshot of measured timings, relative to the project root.
TIMINGS_SNAPSHOT = Path("book") / "timings.csv"
#: Columns of the records: wall and CPU seconds, the reference computation's seconds timed just
#: before and after the chapter (:mod:`faceflow.book.budgets`), whether it was a first run, how many cached
#: results it read (:mod:`faceflow.book.cachelog`), and the machine's 1-minute load average after it.
TIMING_FIELDS = (
    "profile",
    "chapter",
    "seconds",
    "cpu_seconds",
    "reference_seconds",
    "cache",
    "cached_files",
    "commit",
    "cpus",
    "load",
    "date",
)
#: ``cache`` values: read no result of an earlier build; read some; recorded before reads were logged.
FIRST_RUN, CACHED, UNCHECKED = "first run", "cached", "unchecked"
#: Environment variable naming the project's repository (web address) for the book's links.
REPOSITORY_ENV = "FACEFLOW_REPOSITORY_URL"
#: Environment variable naming the branch the launch buttons open (default: GitHub Actions' ref,
#: else the checkout's branch, else ``main``).
BRANCH_ENV = "FACEFLOW_REPOSITORY_BRANCH"
#: Where a chapter's launch button runs it: Binder builds the repository's ``environment.yml``
#: (the pinned packages and ``faceflow`` itself), then runs its ``postBuild`` (the chapters as
#: ``.ipynb``) and starts every session through its ``start`` (``$FACEFLOW_FETCH``: the chapter
#: downloads its sample data).
BINDERHUB_URL = "https://mybinder.org"


# --------------------------------------------------------------------------- absolute paths


def path_replacements(
    root: Path, data_root: str | os.PathLike | None, outputs: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """``(absolute path, shown instead)`` pairs, longest first.

    The data root is shown relative to the project when it lies in or beside it (``data``,
    ``../shared/data``), else as ``$FACEFLOW_DATA``; both its given and its resolved spelling
    are replaced. The project root (given and resolved) becomes ``.``. ``outputs`` maps output
    folders outside the project (a build from nothing) to the path shown, ``outputs/<profile>``.
    """
    pairs: dict[str, str] = {}
    for folder, shown in (outputs or {}).items():
        for spelling in {str(Path(os.path.abspath(folder))), str(Path(folder).resolve())}:
            pairs[spelling] = shown
    if data_root:
        given = Path(os.path.abspath(data_root))
        rel = os.path.relpath(given, root)
        shown = rel if not rel.startswith(os.pardir + os.sep + os.pardir) else "$FACEFLOW_DATA"
        for spelling in {str(given), str(given.resolve())}:
            pairs[spelling] = shown
    for spelling in {str(Path(root)), str(Path(root).resolve())}:
        pairs.setdefault(spelling, ".")
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def replace_paths(text: str, replacements: list[tuple[str, str]]) -> str:
    """Replace each absolute path (whole path components only) in ``text``.

    ``/p/root/outputs/x`` -> ``outputs/x`` and ``/p/root`` -> ``.`` for the project root ``.``;
    ``/p/shared/data/sintel`` -> ``../shared/data/sintel`` for the data root.
    """
    for absolute, shown in replacements:
        if len(absolute) < 2:
            continue
        pattern = re.compile(re.escape(absolute) + r"(/|(?![\w\-]|\.\w))")
        if shown == ".":
            text = pattern.sub(lambda m: "" if m.group(1) == "/" else ".", text)
        else:
            text = pattern.sub(lambda m, s=shown: s + m.group(1), text)
    return text


def relative_paths(notebook: Path, replacements: list[tuple[str, str]]) -> bool:
    """Rewrite ``notebook`` (an ``.ipynb``) in place without the absolute paths; True if it changed."""
    text = Path(notebook).read_text(encoding="utf-8")
    # paths appear JSON-escaped in the file: replace the escaped spellings
    escaped = [(json.dumps(a)[1:-1], json.dumps(s)[1:-1]) for a, s in replacements]
    new = replace_paths(text, escaped)
    if new == text:
        return False
    json.loads(new)  # still a valid notebook file
    atomic_write_text(notebook, new)
    return True


def hide_injected_parameters(notebook: Path) -> bool:
    """Tag papermill's ``injected-parameters`` cell ``remove-cell`` so that no page shows it.

    The cell stays in the executed notebook (a reader who downloads it sees what the build ran
    with); the chapter's own setup cell prints the profile and data root on the page.

    Parameters
    ----------
    notebook : pathlib.Path
        An executed ``.ipynb``, rewritten in place when a tag was added.

    Returns
    -------
    bool
        True if the notebook changed.
    """
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    changed = False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
            changed = True
    if changed:
        atomic_write_text(notebook, nbformat.writes(nb) + "\n")
    return changed


# --------------------------------------------------------------------------- timings


def git_commit(root: Path) -> str:
    """``git rev-parse --short HEAD`` of ``root`` (``+dirty`` with uncommitted changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def read_timings(path: Path) -> list[dict]:
    """The timing records in ``path`` (none when it is absent), in the current layout.

    Records written before the cache reads were logged have no ``cached_files``: their ``cache``
    becomes ``unchecked`` (a "first run" then only meant that the chapter's own folder was new,
    while it may have reused other chapters' results) or ``cached`` (a "rerun").

    Parameters
    ----------
    path : pathlib.Path
        A ``chapter_seconds.csv`` or the snapshot ``book/timings.csv``.

    Returns
    -------
    list of dict
        One per record, every field of :data:`TIMING_FIELDS` (empty when not recorded).
    """
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [{k: (row.get(k) or "") for k in TIMING_FIELDS} for row in csv.DictReader(fh)]
    for row in rows:
        if row["cached_files"] == "":
            row["cache"] = UNCHECKED if row["cache"] == FIRST_RUN else CACHED
    return rows


def _write_rows(path: Path, rows: list[dict]) -> None:
    lines = [",".join(TIMING_FIELDS)]
    for row in rows:
        lines.append(",".join(str(row.get(k, "")) for k in TIMING_FIELDS))
    atomic_write_text(path, "\n".join(lines) + "\n")


def timings_path(stage: Path) -> Path:
    """Where a build records its chapters' times: ``<stage>/chapter_seconds.csv``.

    Parameters
    ----------
    stage : pathlib.Path
        The staged book (``_build/<profile>``); kept apart from ``outputs/`` so that a build
        from nothing leaves the cached results untouched.

    Returns
    -------
    pathlib.Path
    """
    return Path(stage) / TIMINGS_FILE


@dataclass(frozen=True)
class ChapterTiming:
    """One chapter execution: wall and CPU ``seconds``, the reference computation's seconds timed just
    before and after it (:func:`faceflow.book.budgets.time_reference`), and ``cached``: the results of earlier
    builds it read (:func:`faceflow.book.cachelog.cached_reads`; empty for a first run).
    ``checked``: whether its reads were logged at all (the kernel loaded the read log)."""

    chapter: str
    seconds: float
    cpu_seconds: float
    reference_seconds: float
    cached: tuple[str, ...] = ()
    checked: bool = True

    @property
    def cache(self) -> str:
        """``first run`` when it read no earlier result, ``cached`` when it did, ``unchecked`` without a log."""
        if not self.checked:
            return UNCHECKED
        return CACHED if self.cached else FIRST_RUN


def record_timing(stage: Path, profile: str, timing: ChapterTiming, commit: str) -> Path:
    """Record one chapter execution, replacing the previous record of the same chapter and kind.

    Parameters
    ----------
    stage : pathlib.Path
        The staged book (:func:`timings_path`).
    profile : str
    timing : ChapterTiming
    commit : str
        :func:`git_commit` of the build.

    Returns
    -------
    pathlib.Path
        The records file.
    """
    path = timings_path(stage)
    rows = [r for r in read_timings(path) if not (r["chapter"] == timing.chapter and r["cache"] == timing.cache)]
    rows.append(
        dict(
            profile=profile,
            chapter=timing.chapter,
            seconds=f"{timing.seconds:.1f}",
            cpu_seconds=f"{timing.cpu_seconds:.1f}",
            reference_seconds=f"{timing.reference_seconds:.4f}",
            cache=timing.cache,
            cached_files=len(timing.cached),
            commit=commit,
            cpus=os.cpu_count() or "",
            load=f"{os.getloadavg()[0]:.2f}",
            date=datetime.date.today().isoformat(),
        )
    )
    rows.sort(key=lambda r: (r["chapter"], r["cache"]))
    _write_rows(path, rows)
    return path


def save_snapshot(root: Path, profile: str, stage: Path | None = None) -> Path:
    """Copy this machine's records of ``profile`` into the committed ``book/timings.csv``.

    Parameters
    ----------
    root : pathlib.Path
        The project.
    profile : str
    stage : pathlib.Path, optional
        The staged book holding the records; default ``<root>/_build/<profile>``.

    Returns
    -------
    pathlib.Path
        The snapshot.

    Raises
    ------
    FileNotFoundError
        No chapter of ``profile`` has been executed on this machine.
    """
    records = timings_path(stage or Path(root) / "_build" / profile)
    mine = read_timings(records)
    if not mine:
        raise FileNotFoundError(f"{records}: no timings recorded; run faceflow book first")
    snapshot = Path(root) / TIMINGS_SNAPSHOT
    rows = [r for r in read_timings(snapshot) if r["profile"] != profile] + mine
    rows.sort(key=lambda r: (PROFILES.index(r["profile"]), r["chapter"], r["cache"]))
    _write_rows(snapshot, rows)
    return snapshot


#: How the course page marks a time that is not a first run.
_MARKS = {CACHED: " (reused cached results)", UNCHECKED: " (not checked for cached results)"}


def timings_markdown(root: Path, chapters: list[str], stages: dict[str, Path] | None = None) -> str:
    """The course page's table: measured seconds per chapter and profile, and where each came from.

    For each chapter and profile the first choice is a first run (one that read no result of an
    earlier build: :mod:`faceflow.book.cachelog`) recorded on this machine, then one in the committed
    snapshot; without any, the time of a run that reused cached results (or whose reads were not
    checked) is shown, marked as such.

    Parameters
    ----------
    root : pathlib.Path
        The project (holding the snapshot).
    chapters : list of str
    stages : dict, optional
        Profile -> staged book holding this machine's records; default ``<root>/_build/<profile>``.

    Returns
    -------
    str
        Markdown: the table, then one line per profile saying where its numbers were measured.
    """
    stages = stages or {}
    snapshot = read_timings(Path(root) / TIMINGS_SNAPSHOT)
    cells: dict[tuple[str, str], str] = {}
    notes = []
    for profile in PROFILES:
        here = read_timings(timings_path(stages.get(profile, Path(root) / "_build" / profile)))
        there = [r for r in snapshot if r["profile"] == profile]
        used = set()
        for chapter in chapters:
            found = [
                (r, where)
                for rows, where in ((here, "this build's machine"), (there, f"the snapshot `{TIMINGS_SNAPSHOT}`"))
                for r in rows
                if r["chapter"] == chapter
            ]
            best = next((f for f in found if f[0]["cache"] == FIRST_RUN), found[0] if found else None)
            if best is None:
                continue
            row, where = best
            cells[(chapter, profile)] = row["seconds"] + _MARKS.get(row["cache"], "")
            used.add(f"{where} (commit {row['commit']}, {row['cpus']} CPU cores, {row['date']})")
        if used:
            notes.append(f"`{profile}`: measured on {'; '.join(sorted(used))}.")
        else:
            notes.append(f"`{profile}`: not measured yet (no build of this profile on record).")
    head = "| chapter | " + " | ".join(f"{p} (s)" for p in PROFILES) + " |"
    lines = [head, "|---" * (len(PROFILES) + 1) + "|"]
    for chapter in chapters:
        lines.append(f"| {chapter} | " + " | ".join(cells.get((chapter, p), "not measured") for p in PROFILES) + " |")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


# --------------------------------------------------------------------------- source links


def repository_url(root: Path) -> str | None:
    """The project's web address: ``$FACEFLOW_REPOSITORY_URL``, GitHub Actions' repository, or an
    ``https://`` ``origin`` remote; None when none is known."""
    if os.environ.get(REPOSITORY_ENV):
        return os.environ[REPOSITORY_ENV]
    if os.environ.get("GITHUB_REPOSITORY"):
        return f"{os.environ.get('GITHUB_SERVER_URL', 'https://github.com')}/{os.environ['GITHUB_REPOSITORY']}"
    try:
        url = subprocess.run(
            ["git", "-C", str(root), "remote", "get-url", "origin"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return url.removesuffix(".git") if url.startswith("https://") else None


def repository_branch(root: Path) -> str:
    """The branch the launch buttons open: ``$FACEFLOW_REPOSITORY_BRANCH``, GitHub Actions' branch,
    the checkout's branch, else ``main``.

    Parameters
    ----------
    root : pathlib.Path
        The checkout.

    Returns
    -------
    str
    """
    for name in (BRANCH_ENV, "GITHUB_REF_NAME"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        branch = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "main"
    return branch if branch and branch != "HEAD" else "main"


def source_markdown(chapters: list[str], url: str | None) -> str:
    """The intro's list of the chapters' MyST sources (downloads) and the repository link."""
    lines = []
    if url:
        lines.append(f"The source of this book and of the `faceflow` package is at <{url}>.")
    else:
        lines.append(
            "The source of this book and of the `faceflow` package is the `faceflow` repository this "
            "book was built from (its address was not known to the build: set `$FACEFLOW_REPOSITORY_URL`)."
        )
    lines.append("Each chapter's source, a MyST notebook paired with jupytext:\n")
    for chapter in chapters:
        lines.append(f"- {{download}}`notebooks/{chapter}.md <../source/notebooks/{chapter}.md>`")
    lines.append(
        "\nEvery chapter page also has a download button (top right) for its **executed** notebook (`.ipynb`)."
    )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the stage


def prepare_stage(
    stage: Path,
    root: Path,
    profile: str,
    chapters: list[str],
    data_root: str | None,
    outputs: dict[str, str] | None = None,
) -> None:
    """Make the staged book publishable: relative paths, the generated includes, the sources.

    ``outputs``: output folders outside the project and how the pages name them
    (:func:`path_replacements`).

    Writes ``<stage>/book/_generated/{timings,source}.md`` (included by the course page and the
    intro), copies the chapters' MyST sources to ``<stage>/source/notebooks/`` and, when the
    repository's address is known (:func:`repository_url`), sets the repository button and each
    chapter's Binder launch button (:data:`BINDERHUB_URL`, branch :func:`repository_branch`) in the
    staged ``_config.yml``.
    """
    import yaml

    stage, root = Path(stage), Path(root)
    replacements = path_replacements(root, data_root, outputs)
    for chapter in chapters:
        nb = stage / "notebooks" / f"{chapter}.ipynb"
        if nb.is_file():
            relative_paths(nb, replacements)
            hide_injected_parameters(nb)
    generated = stage / "book" / "_generated"
    atomic_write_text(generated / "timings.md", timings_markdown(root, chapters, {profile: stage}))
    url = repository_url(root)
    atomic_write_text(generated / "source.md", source_markdown(chapters, url))
    for chapter in chapters:
        dest = stage / "source" / "notebooks" / f"{chapter}.md"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / "notebooks" / f"{chapter}.md", dest)
    if url:  # without the address, Jupyter Book would link its own repository: no buttons then
        config_path = stage / "_config.yml"
        config = yaml.safe_load(config_path.read_text())
        config.setdefault("repository", {}).update(url=url, branch=repository_branch(root))
        config.setdefault("html", {})["use_repository_button"] = True
        config["launch_buttons"] = {"binderhub_url": BINDERHUB_URL, "notebook_interface": "jupyterlab"}
        atomic_write_text(config_path, yaml.safe_dump(config, sort_keys=False))


# --------------------------------------------------------------------------- student edition

#: Folder of the student edition inside a stage: its sources, and its ``_build``.
STUDENT_DIR = "student"
_FENCE = re.compile(r"^(?P<fence>:{3,}|`{3,}|~{3,})\s*(?P<info>\S*)")


class SolutionStripper:
    """Removes exercise solutions from MyST text fed to it in order (a page, or a notebook's cells).

    Two forms are removed, as sphinx-exercise defines them: a gated solution, from its
    ``solution-start`` directive through the closing fence of its ``solution-end`` (with every
    code cell in between), and a ``solution`` directive up to its closing fence. Code blocks
    outside a solution are passed through untouched (a directive name inside one is text).
    """

    def __init__(self):
        self.state = "text"  # text | code | gated | gated-end | solution
        self.fence = ""  # the fence that closes the current code block or solution directive

    @property
    def in_solution(self) -> bool:
        """True between the start of a solution and its end."""
        return self.state in ("gated", "gated-end", "solution")

    def _closes(self, line: str) -> bool:
        char, n = self.fence[0], len(self.fence)
        stripped = line.strip()
        return len(stripped) >= n and set(stripped) == {char}

    def keep(self, line: str) -> bool:
        """Whether ``line`` (without its newline) belongs to the student edition.

        Parameters
        ----------
        line : str

        Returns
        -------
        bool
        """
        m = _FENCE.match(line)
        if self.state == "code":
            if self._closes(line):
                self.state = "text"
            return True
        if self.state == "text":
            if m and m["info"].startswith("{solution-start}"):
                self.state = "gated"
                return False
            if m and m["info"].startswith("{solution}"):
                self.state, self.fence = "solution", m["fence"]
                return False
            if m and m["fence"][0] != ":":  # a code block (or code-cell): its lines are not MyST
                self.state, self.fence = "code", m["fence"]
            return True
        if self.state == "gated":
            if m and m["info"].startswith("{solution-end}"):
                self.state, self.fence = "gated-end", m["fence"]
            return False
        if self._closes(line):  # the closing fence of solution-end or of the solution directive
            self.state = "text"
        return False

    def strip(self, text: str) -> str:
        """``text`` without its solution lines.

        Parameters
        ----------
        text : str

        Returns
        -------
        str
        """
        kept = [line for line in text.split("\n") if self.keep(line)]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(kept))


def strip_solutions(text: str, where: str = "<text>") -> str:
    """A MyST page without its exercise solutions.

    Parameters
    ----------
    text : str
        The page.
    where : str
        Named in the error.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        A solution is not closed by the end of the page.
    """
    stripper = SolutionStripper()
    out = stripper.strip(text)
    if stripper.in_solution:
        raise ValueError(f"{where}: a solution is not closed by the end of the page")
    return out


def student_notebook(src: Path, dest: Path) -> None:
    """Write ``dest``: the executed notebook ``src`` without its solutions (text, code, outputs).

    Markdown cells lose their solution lines (and are dropped when nothing else is left); a code
    cell inside a gated solution is dropped with its outputs.

    Parameters
    ----------
    src, dest : pathlib.Path

    Raises
    ------
    ValueError
        A solution is not closed by the end of the notebook.
    """
    import nbformat

    nb = nbformat.read(src, as_version=4)
    stripper = SolutionStripper()
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = stripper.strip(cell.source).strip("\n")
            if cell.source.strip():
                cells.append(cell)
        elif not stripper.in_solution:
            cells.append(cell)
    if stripper.in_solution:
        raise ValueError(f"{src}: a solution is not closed by the end of the notebook")
    nb.cells = cells
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest, nbformat.writes(nb) + "\n")


def prepare_student_stage(stage: Path, chapters: list[str]) -> Path:
    """Stage the student edition in ``<stage>/student`` from the staged teacher edition.

    The config (title marked, ``hide_solutions`` on), the TOC, the static pages, the executed
    notebooks and the chapters' MyST sources are copied with every solution removed; other files
    (the Sphinx extension, generated includes) are copied as they are.

    Parameters
    ----------
    stage : pathlib.Path
        The staged teacher edition (after :func:`prepare_stage`).
    chapters : list of str
        The chapters' stems.

    Returns
    -------
    pathlib.Path
        ``<stage>/student``, the source folder of the student build.
    """
    import yaml

    stage = Path(stage)
    student = stage / STUDENT_DIR
    for name in ("book", "source"):
        if (student / name).exists():
            shutil.rmtree(student / name)
    for src in sorted((stage / "book").rglob("*")) + sorted((stage / "source").rglob("*")):
        if not src.is_file():
            continue
        dest = student / src.relative_to(stage)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix == ".md":
            atomic_write_text(dest, strip_solutions(src.read_text(encoding="utf-8"), str(src)))
        else:
            shutil.copy2(src, dest)
    for chapter in chapters:
        student_notebook(stage / "notebooks" / f"{chapter}.ipynb", student / "notebooks" / f"{chapter}.ipynb")
    source = student / "book" / "_generated" / "source.md"
    if source.is_file():
        atomic_write_text(
            source,
            source.read_text(encoding="utf-8")
            + "\nIn this student edition, the sources and notebooks are copies without the exercises' solutions.\n",
        )
    shutil.copy2(stage / "_toc.yml", student / "_toc.yml")
    config = yaml.safe_load((stage / "_config.yml").read_text())
    config["title"] = f"{config.get('title', 'faceflow')} (student edition)"
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    atomic_write_text(student / "_config.yml", yaml.safe_dump(config, sort_keys=False))
    return student


def html_dir(stage: Path, solutions: bool = True) -> Path:
    """Where the HTML of an edition is built: ``<stage>/_build/html`` or ``<stage>/student/_build/html``."""
    return Path(stage) / ("_build" if solutions else f"{STUDENT_DIR}/_build") / "html"


def jupyter_book_command(jb: str, stage: Path, solutions: bool = True) -> list[str]:
    """The ``jupyter-book build`` command of the teacher (``solutions``) or student edition.

    The student edition is built from its own sources, ``<stage>/student``
    (:func:`prepare_student_stage`).
    """
    # --all: every page is read again, so a warning of an unchanged page fails this build too
    # (an incremental build would report it once, then pass on the cached pages)
    source = Path(stage) if solutions else Path(stage) / STUDENT_DIR
    return [jb, "build", str(source), "--builder", "html", "--all", "-W", "-n", "--keep-going"]
