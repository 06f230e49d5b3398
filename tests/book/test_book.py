"""End to end: every chapter in the smoke profile, the book build, and a real browser.

The smoke book is built once per session into ``_build/smoke`` (``build_book`` fails on any
notebook error, and Sphinx runs with warnings as errors). Headless Chromium (Debian's package,
installed with apt-get when missing) driven by Playwright then opens every page of ``_toc.yml``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from faceflow.book.build import build_book, execute_notebook, stage_dir, toc_files

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def smoke_book(repo_root, data_root) -> Path:
    os.environ.setdefault("FACEFLOW_DATA", str(data_root))
    html = build_book("smoke")
    assert (html / "index.html").is_file()
    return html


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


def _ensure_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        pytest.fail("chromium is missing and apt-get is not available to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
    assert Path(CHROMIUM).exists(), "apt-get install chromium did not provide /usr/bin/chromium"
    return CHROMIUM


@pytest.fixture(scope="session")
def served_book(smoke_book):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(smoke_book)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_pages_render_in_chromium(served_book, smoke_book, repo_root):
    from playwright.sync_api import sync_playwright

    exe = _ensure_chromium()
    shots = stage_dir("smoke", repo_root) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=args)
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
        browser.close()
    assert not problems, "\n".join(problems)
