"""The smoke book, built once per session (teacher and student editions), served on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from faceflow.book import publish
from faceflow.book.build import build_book, stage_dir

CHROMIUM = "/usr/bin/chromium"


#: The repository address the test build is given, so that it makes its launch buttons (the
#: address only goes into links: the build stays offline).
TEST_REPOSITORY = "https://github.com/faceflow-book/faceflow"


@pytest.fixture(scope="session")
def smoke_outputs(tmp_path_factory) -> Path:
    """The smoke book's output folder: empty before the build (so every chapter is a first run,
    timed against its budget), kept for the session's tests."""
    return tmp_path_factory.mktemp("outputs") / "smoke"


@pytest.fixture(scope="session")
def smoke_book(repo_root, data_root, smoke_outputs) -> Path:
    """The teacher edition of the smoke book: every chapter executed from nothing, solutions in dropdowns."""
    os.environ.setdefault("FACEFLOW_DATA", str(data_root))
    os.environ[publish.REPOSITORY_ENV] = TEST_REPOSITORY
    os.environ[publish.BRANCH_ENV] = "main"
    publish.timings_path(stage_dir("smoke", repo_root)).unlink(missing_ok=True)  # only this build's records
    html = build_book("smoke", output_dir=smoke_outputs)
    assert (html / "index.html").is_file()
    return html


@pytest.fixture(scope="session")
def student_book(smoke_book) -> Path:
    """The student edition, built from the same executed notebooks (no second execution)."""
    html = build_book("smoke", execute=False, solutions=False)
    assert (html / "index.html").is_file()
    return html


def _serve(folder: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def served_book(smoke_book):
    server = _serve(smoke_book)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def served_student_book(student_book):
    server = _serve(student_book)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


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


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    exe = _ensure_chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def offline_page(browser):
    """A page that may load only from 127.0.0.1; ``page.external`` lists every other request."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.external = []

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            page.external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    yield page
    page.close()
