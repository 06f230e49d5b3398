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
        imgs = page.locator("main img, article img")
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

    records = timings_path(repo_root, "smoke").read_text()
    course = (smoke_book / "book" / "course.html").read_text()
    for src in notebook_sources(repo_root):
        row = re.search(rf"<td><p>{src.stem}</p></td>\s*<td><p>([^<]+)</p></td>", course)
        assert row, f"no timing row for {src.stem}"
        seconds = row.group(1).split()[0]
        assert f"{src.stem},{seconds}," in records, f"{src.stem}: {seconds} s is not a recorded timing"
