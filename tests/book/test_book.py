"""End to end: every chapter in the smoke profile, the book build, and a real browser.

The smoke book is built once per session into ``_build/smoke`` (``build_book`` fails on any
notebook error, and Sphinx runs with warnings as errors). Headless Chromium (Debian's package,
installed with apt-get when missing) driven by Playwright then opens every page of ``_toc.yml``.
"""

from __future__ import annotations

import os
import re
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import jupytext
import pytest

from faceflow.book.build import execute_notebook, notebook_sources, stage_dir, toc_files

pytestmark = pytest.mark.slow


def test_every_toc_page_is_built(smoke_book, repo_root):
    for f in toc_files(repo_root):
        assert (smoke_book / f"{f}.html").is_file(), f"{f}.html missing from the built book"


def test_executed_notebooks_have_no_errors(smoke_book, repo_root):
    import nbformat

    for nb_path in sorted((stage_dir("smoke", repo_root) / "notebooks").glob("[0-9]*.ipynb")):
        if nb_path.name.count(".") > 1:  # *.failed.ipynb etc.
            continue
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                assert out.get("output_type") != "error", f"{nb_path.name}: {out.get('ename')}"


def test_chapters_show_no_progress_bars(smoke_book, repo_root):
    """Issue 14 row 12: the book is quiet: no tqdm bar reaches a page."""
    import re

    import nbformat

    bar = re.compile(r"\d+%\||it/s\]|s/it\]")
    for nb_path in sorted((stage_dir("smoke", repo_root) / "notebooks").glob("[0-9]*.ipynb")):
        if nb_path.name.count(".") > 1:
            continue
        for cell in nbformat.read(nb_path, as_version=4).cells:
            for out in cell.get("outputs", []):
                text = str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
                assert not bar.search(text), f"{nb_path.name}: progress bar in the page: {text[:200]!r}"


class _OutputText(HTMLParser):
    """The text of a page's cell outputs (``div.cell_output``), and the classes of its cells."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # > 0 inside a cell output (counts the divs open there)
        self.outputs: list[str] = []
        self.cell_classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "div" and "cell" in classes:
            self.cell_classes += classes
        if tag == "div" and (self.depth or "cell_output" in classes):
            if not self.depth:
                self.outputs.append("")
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "div" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.outputs[-1] += data


def test_pages_show_no_warnings_and_no_injected_parameters(smoke_book, repo_root):
    """Issue 21: no Python warning (nor a path into site-packages) in any output, and papermill's
    injected-parameters cell is not on the page."""
    warning = re.compile(r"\b\w*Warning\b|site-packages|dist-packages")
    problems = []
    for f in toc_files(repo_root):
        page = _OutputText()
        page.feed((smoke_book / f"{f}.html").read_text(encoding="utf-8"))
        problems += [
            f"{f}: {m.group(0)} in an output: {out.strip()[:160]!r}"
            for out in page.outputs
            if (m := warning.search(out))
        ]
        if "tag_injected-parameters" in page.cell_classes:
            problems.append(f"{f}: shows papermill's injected-parameters cell")
    assert not problems, "\n".join(problems)


def test_chapter_degrades_without_data(tmp_path, repo_root):
    """The data tour runs with an empty data root: it says so and uses generated data."""
    import nbformat

    empty = tmp_path / "empty_root"
    empty.mkdir()
    out = tmp_path / "tour.ipynb"
    execute_notebook(
        repo_root / "notebooks" / "00_data_tour.md",
        out,
        {"profile": "smoke", "data_root": str(empty), "output_dir": str(tmp_path / "o")},
        cwd=repo_root,
    )
    text = "\n".join(
        str(o.get("data", {}).get("text/html", "")) + str(o.get("text", ""))
        for c in nbformat.read(out, as_version=4).cells
        for o in c.get("outputs", [])
    )
    assert "not available" in text
    assert "generated" in text


def test_a_launched_chapter_fetches_its_data_and_runs_on_it(tmp_path, repo_root, monkeypatch, origin, serve_samples):
    """Issue 21: a chapter launched from the book (Binder sets $FACEFLOW_FETCH) with an empty data
    root downloads its sample data (here from the local origin server) and shows no missing data."""
    import nbformat

    from faceflow.book.chapter import CHAPTER_DATA, FETCH_ENV

    served = serve_samples(list(CHAPTER_DATA["00_data_tour"]))
    monkeypatch.setenv(FETCH_ENV, "1")
    monkeypatch.setenv("FACEFLOW_DATA_URL", origin.url)
    root, out = tmp_path / "data", tmp_path / "tour.ipynb"
    execute_notebook(
        repo_root / "notebooks" / "00_data_tour.md",
        out,
        {"profile": "smoke", "data_root": str(root), "output_dir": str(tmp_path / "o")},
        cwd=repo_root,
    )
    assert all((root / name).is_file() for name in served)
    text = "\n".join(
        str(o.get("data", {}).get("text/html", "")) + str(o.get("text", ""))
        for c in nbformat.read(out, as_version=4).cells
        for o in c.get("outputs", [])
    )
    assert "not available" not in text and "generated" not in text


def test_each_chapter_has_a_binder_launch_button_and_other_pages_none(smoke_book, repo_root):
    """Issue 21: with the repository's address known (as in CI), every chapter page links Binder
    to its notebook on the book's branch (postBuild makes ``notebooks/<chapter>.ipynb`` there)."""
    from faceflow.book import publish

    repo = os.environ[publish.REPOSITORY_ENV].removeprefix("https://github.com/")
    branch = os.environ[publish.BRANCH_ENV]
    chapters = {f"notebooks/{src.stem}" for src in notebook_sources(repo_root)}
    for f in toc_files(repo_root):
        links = re.findall(r'href="(https://mybinder\.org/[^"]+)"', (smoke_book / f"{f}.html").read_text())
        if f in chapters:
            want = f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{f}.ipynb"
            assert links == [want], f"{f}: Binder links {links}"
        else:
            assert not links, f"{f}: a launch button on a page that is not a notebook"


def test_pages_render_in_chromium(served_book, smoke_book, repo_root, browser):
    shots = stage_dir("smoke", repo_root) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for f in toc_files(repo_root):
        errors.clear()
        resp = page.goto(f"{served_book}/{f}.html", wait_until="load")
        assert resp is not None and resp.ok, f"{f}: HTTP {resp.status if resp else 'none'}"
        title = page.title()
        assert title and "404" not in title, f"{f}: bad title {title!r}"
        assert page.locator("main h1, article h1").count() >= 1, f"{f}: no heading"
        imgs = page.locator("article img")  # the page's own images (not the header's button icons)
        n_img = imgs.count()
        for i in range(n_img):
            img = imgs.nth(i)
            img.scroll_into_view_if_needed()
            img.evaluate("el => el.complete || new Promise(r => { el.onload = r; el.onerror = r; })")
            width = img.evaluate("el => el.naturalWidth")
            if not width:
                problems.append(f"{f}: image {img.get_attribute('src')} did not load")
        tables = page.locator("main table, article table")
        for i in range(tables.count()):
            if tables.nth(i).locator("tbody tr").count() == 0:
                problems.append(f"{f}: table {i} has no rows")
        if f.startswith("notebooks/"):
            assert n_img >= 1, f"{f}: a chapter page without any figure"
        if errors:
            problems.append(f"{f}: javascript errors {errors}")
        page.screenshot(path=str(shots / (f.replace("/", "__") + ".png")), full_page=True)
    page.close()
    assert not problems, "\n".join(problems)


def test_findings_page_shows_every_claim_with_a_glued_verdict(served_book, offline_page):
    # issue 21: the findings page is the first page after the intro; each row a claim, the paper's
    # value, ours and a verdict pasted from the chapter that computed it (an unresolved glue
    # leaves the cell empty, which fails here)
    page = offline_page
    page.goto(f"{served_book}/book/findings.html", wait_until="load")
    rows = page.locator("article table tbody tr")
    assert rows.count() >= 8
    verdicts = ("holds", "does not hold", "not testable", "not reproduced")
    for i in range(rows.count()):
        cells = [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
        assert len(cells) == 4 and all(cells), f"row {i}: an empty cell in {cells}"
        assert any(v in cells[3] for v in verdicts), f"row {i}: no verdict in {cells[3]!r}"
        assert "n/a" not in cells[2] and "nan" not in cells[2].lower().split(), f"row {i}: {cells[2]!r}"
    assert not page.external


def _machine_paths(repo_root: Path) -> set[str]:
    """The absolute paths of this machine that must not appear in the book: project and data root."""
    paths = {str(repo_root), str(repo_root.resolve())}
    data = os.environ.get("FACEFLOW_DATA")
    if data:
        paths |= {os.path.abspath(data), str(Path(data).resolve())}
    return paths


def _published_files(html: Path) -> list[Path]:
    """The pages, search index and downloadable notebooks of a built book (not the theme's assets)."""
    return [
        p
        for p in html.rglob("*")
        if p.is_file() and "_static" not in p.parts and p.suffix in (".html", ".js", ".ipynb", ".md", ".txt")
    ]


@pytest.mark.parametrize("edition", ["smoke_book", "student_book"])
def test_no_page_shows_the_build_machines_paths(edition, request, repo_root):
    html = request.getfixturevalue(edition)
    leaks = []
    for path in _published_files(html):
        text = path.read_text(encoding="utf-8", errors="replace")
        leaks += [f"{path.relative_to(html)}: {p}" for p in _machine_paths(repo_root) if p in text]
    assert not leaks, "absolute paths of the build machine in the book:\n" + "\n".join(leaks)


def test_exercise_solution_is_a_dropdown_that_opens(served_book, offline_page):
    page = offline_page
    page.goto(f"{served_book}/book/course.html", wait_until="load")
    exercise = page.locator("div.exercise").first
    assert exercise.is_visible() and "papermill" in exercise.inner_text()
    solution = page.locator("div.solution.dropdown").first
    body = solution.locator("p").last
    assert solution.is_visible() and not body.is_visible(), "the solution should start collapsed"
    button = solution.locator("button.toggle-button")
    (button if button.count() else solution.locator(".admonition-title")).first.click()
    body.wait_for(state="visible", timeout=5000)
    assert "injected-parameters" in solution.inner_text()


def test_student_edition_has_exercises_but_no_solutions(student_book):
    course = (student_book / "book" / "course.html").read_text()
    assert 'class="exercise' in course
    assert 'class="solution' not in course and "injected-parameters" not in course
    for page in student_book.rglob("*.html"):
        assert 'class="solution' not in page.read_text(), f"{page.name} shows a solution"


# --------------------------------------------------------------------------- no solution anywhere
# The test finds the solutions in the sources with its own patterns (not the build's stripper),
# takes their distinctive lines as needles, and requires each solution to be found in the
# teacher edition (so the search works) and nowhere in any file of the student edition.

_GATED = re.compile(r"^:{3,}\{solution-start\}.*?\n(.*?)^:{3,}\{solution-end\}\n:{3,}\n", re.M | re.S)
_DIRECTIVE = re.compile(r"^(:{3,})\{solution\}.*?\n(.*?)^\1\n", re.M | re.S)


def _solution_sources(repo_root: Path) -> list[Path]:
    return notebook_sources(repo_root) + sorted((repo_root / "book").rglob("*.md"))


def _solutions(text: str) -> tuple[list[str], str]:
    """The solutions' bodies in a MyST page, and the page without them."""
    bodies = [m.group(1) for m in _GATED.finditer(text)] + [m.group(2) for m in _DIRECTIVE.finditer(text)]
    rest = _DIRECTIVE.sub("", _GATED.sub("", text))
    return bodies, rest


def _tokens(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text)) + " "


def _solution_needles(repo_root: Path) -> dict[str, list[str]]:
    """``{"<page>: solution <n>": [needle, ...]}``: each solution's lines (as word sequences) of at
    least four words that appear nowhere outside the solutions of any page."""
    found, outside = {}, ""
    for src in _solution_sources(repo_root):
        bodies, rest = _solutions(src.read_text())
        outside += _tokens(rest)
        for n, body in enumerate(bodies, 1):
            found[f"{src.relative_to(repo_root)}: solution {n}"] = body
    needles = {}
    for name, body in found.items():
        # directive options, fences and imports are not what a solution tells
        lines = [
            _tokens(line)
            for line in body.splitlines()
            if not line.lstrip().startswith((":", "```", "import ", "from "))
        ]
        needles[name] = [t for t in lines if len(t.split()) >= 4 and len(t) >= 20 and t not in outside]
    return needles


def _file_text(path: Path) -> str | None:
    """What a reader can get from a built file, as text: a page's text, a notebook's sources and
    outputs, any other text file as it is; None for binary files."""
    import html as html_lib
    import json

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None
    if path.suffix == ".html":
        return html_lib.unescape(re.sub(r"<[^>]+>", " ", text))
    if path.suffix == ".ipynb":
        parts = []
        for cell in json.loads(text)["cells"]:
            parts.append("".join(cell["source"]))
            for out in cell.get("outputs", []):
                parts.append("".join(out.get("text", "")))
                parts += ["".join(v) if isinstance(v, list) else str(v) for v in out.get("data", {}).values()]
        return "\n".join(parts)
    return text


def _holders(html: Path, needles: list[str]) -> dict[str, list[str]]:
    """``{needle: [files holding it]}`` over every file of a built book."""
    out: dict[str, list[str]] = {n: [] for n in needles}
    for path in sorted(p for p in html.rglob("*") if p.is_file()):
        text = _file_text(path)
        if text is None:
            continue
        tokens = _tokens(text)
        for needle in needles:
            if needle in tokens:
                out[needle].append(str(path.relative_to(html)))
    return out


def test_the_student_edition_holds_no_solution_in_any_file(smoke_book, student_book, repo_root):
    """Issue 21: pages, .ipynb and .md downloads, sources and search index of the student edition
    hold no solution's text; the same search finds every solution in the teacher edition."""
    needles = _solution_needles(repo_root)
    assert len(needles) >= 12, "fewer solutions than the chapters have"
    unchecked = [name for name, lines in needles.items() if not lines]
    assert not unchecked, f"solutions without a distinctive line to search for: {unchecked}"
    every = sorted({n for lines in needles.values() for n in lines})
    teacher, student = _holders(smoke_book, every), _holders(student_book, every)
    unseen = [name for name, lines in needles.items() if not any(teacher[n] for n in lines)]
    assert not unseen, f"the search does not find these solutions in the teacher edition: {unseen}"
    leaks = [f"{', '.join(files[:4])}: {n.strip()!r}" for n, files in student.items() if files]
    assert not leaks, "solution text in the student edition:\n" + "\n".join(leaks)


def test_the_student_search_index_has_no_solution_only_word(smoke_book, student_book, repo_root):
    """A word a chapter uses only in its solutions is not indexed for that chapter's student page."""
    import json

    import nbformat
    from sphinx.search.en import SearchEnglish

    stem = SearchEnglish({}).stem

    def index(html: Path) -> dict:
        text = (html / "searchindex.js").read_text()
        return json.loads(text[text.index("(") + 1 : text.rindex(")")])

    student = index(student_book)
    docs = {name: i for i, name in enumerate(student["docnames"])}
    leaks, checked = [], 0
    for src in notebook_sources(repo_root):
        bodies, rest = _solutions(src.read_text())
        # what the student page may say besides the source: the outputs of the other code cells
        executed = nbformat.read(stage_dir("smoke", repo_root) / "notebooks" / f"{src.stem}.ipynb", as_version=4)
        outputs = [
            json.dumps(cell.get("outputs", []))
            for cell in executed.cells
            if cell.cell_type == "code" and not any(cell.source.strip() in body for body in bodies)
        ]
        allowed = {stem(w.lower()) for w in re.findall(r"[A-Za-z]{3,}", rest + "\n".join(outputs))}
        only = {stem(w.lower()) for w in re.findall(r"[A-Za-z]{4,}", "\n".join(bodies))} - allowed
        checked += len(only)
        doc = docs[f"notebooks/{src.stem}"]
        for word in sorted(only):
            hits = student["terms"].get(word, [])
            if doc in (hits if isinstance(hits, list) else [hits]):
                leaks.append(f"{src.stem}: {word}")
    assert checked, "no solution-only word to look for"
    assert not leaks, f"solution-only words indexed for a student page: {leaks}"


def _math_in_markdown(src: Path) -> bool:
    """Whether a chapter's markdown cells hold TeX math ($...$, $$...$$ or a math directive)."""
    nb = jupytext.read(src)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return bool(re.search(r"\$[^$\n]+\$|```\{math\}", text))


def test_equations_render_offline_from_the_build(served_book, offline_page, repo_root):
    page = offline_page
    rendered = {}
    for src in notebook_sources(repo_root):
        page.goto(f"{served_book}/notebooks/{src.stem}.html", wait_until="load")
        n_math = page.locator("span.math, div.math").count()
        if n_math:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            unrendered = page.evaluate(
                "() => [...document.querySelectorAll('span.math, div.math')]"
                ".filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60))"
            )
            assert not unrendered, f"{src.stem}: equations left as TeX: {unrendered[:3]}"
            assert "\\(" not in page.locator("article").inner_text(), f"{src.stem}: raw \\( left on the page"
        rendered[src.stem] = page.locator("mjx-container").count()
        if _math_in_markdown(src):
            assert rendered[src.stem] >= 1, f"{src.stem}: has TeX math but no rendered equation"
    assert not [u for u in page.external if "mathjax" in u.lower()], "MathJax was requested from outside the build"
    assert any(rendered.values()), "no chapter rendered any equation"


def test_every_chapter_offers_its_executed_notebook(served_book, offline_page, repo_root):
    import nbformat

    page = offline_page
    for src in notebook_sources(repo_root):
        page.goto(f"{served_book}/notebooks/{src.stem}.html", wait_until="load")
        link = page.locator("a.btn-download-source-button")
        assert link.count() == 1, f"{src.stem}: no download button"
        href = link.get_attribute("href")
        assert href.endswith(f"{src.stem}.ipynb"), f"{src.stem}: download is {href}, not the notebook"
        with urllib.request.urlopen(f"{served_book}/notebooks/{href}") as r:
            nb = nbformat.reads(r.read().decode(), as_version=4)
        executed = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
        assert executed and any(c.outputs for c in executed), f"{src.stem}: the download is not executed"


def test_intro_links_each_chapters_source(served_book, repo_root):
    with urllib.request.urlopen(f"{served_book}/book/intro.html") as r:
        intro = r.read().decode()
    for src in notebook_sources(repo_root):
        m = re.search(rf'href="(\.\./_downloads/[0-9a-f]+/{src.stem}\.md)"', intro)
        assert m, f"the intro does not link {src.name}"
    with urllib.request.urlopen(f"{served_book}/book/{m.group(1)}") as r:
        assert r.read().decode() == src.read_text()


def test_course_page_timings_come_from_the_build(smoke_book, repo_root):
    """The course page's smoke column holds the seconds this build recorded, not typed numbers."""
    from faceflow.book.publish import timings_path

    records = timings_path(stage_dir("smoke", repo_root)).read_text()
    course = (smoke_book / "book" / "course.html").read_text()
    for src in notebook_sources(repo_root):
        row = re.search(rf"<td><p>{src.stem}</p></td>\s*<td><p>([^<]+)</p></td>", course)
        assert row, f"no timing row for {src.stem}"
        seconds = row.group(1).split()[0]
        assert f"{src.stem},{seconds}," in records, f"{src.stem}: {seconds} s is not a recorded timing"
