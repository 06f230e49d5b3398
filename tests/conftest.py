"""Shared fixtures. Tests that need the real sample data use ``data_root`` and skip without it."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent


def _default_data_root() -> Path | None:
    env = os.environ.get("FACEFLOW_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real sample data root; the test is skipped when it is absent."""
    root = _default_data_root()
    if root is None:
        pytest.skip("real sample data not available (set FACEFLOW_DATA)")
    return root


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


class LocalOrigin(http.server.ThreadingHTTPServer):
    """Serves ``folder``; ``requests`` lists the paths asked for, with their Range header."""

    def __init__(self, folder: Path):
        self.folder, self.requests = folder, []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(handler):  # noqa: N805
                from urllib.parse import unquote

                self.requests.append((handler.path, handler.headers.get("Range")))
                path = self.folder / unquote(handler.path.lstrip("/"))
                if not path.is_file():
                    handler.send_error(404)
                    return
                data = path.read_bytes()
                start, status = 0, 200
                rng = handler.headers.get("Range")
                if rng:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        handler.send_error(416)
                        return
                    status = 206
                handler.send_response(status)
                handler.send_header("Content-Length", str(len(data) - start))
                handler.end_headers()
                handler.wfile.write(data[start:])

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def origin(tmp_path):
    """A :class:`LocalOrigin` on 127.0.0.1 serving ``tmp_path / "origin"`` (initially empty)."""
    server = LocalOrigin(tmp_path / "origin")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _serve_samples(origin: LocalOrigin, data_root: Path, only: list[str]) -> list[str]:
    """Copy the registry's sample files under ``only`` from ``data_root`` onto ``origin``, each at
    its registry address ``<repo>/<commit>/<path>``; the files' names (relative to a data root).

    ``faceflow data fetch`` (or :func:`faceflow.io.fetch.fetch`) with the origin's address as base
    URL then downloads exactly what it would from the real origins, offline.
    """
    from faceflow.io import fetch

    samples = fetch.select(fetch.read_registry(), only)
    for s in samples:
        assert not s.derive, f"{s.file} is derived from its origin: serve it another way"
        dest = origin.folder / s.repo / s.commit / s.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_root / s.file, dest)
    return [s.file for s in samples]


@pytest.fixture
def serve_samples(origin, data_root):
    """``serve_samples(only) -> files``: the real sample files under ``only`` on the ``origin``."""
    return lambda only: _serve_samples(origin, data_root, only)


def _write_fake_gt(dst, sequences: dict, size=(48, 64), failed: int = 1, seed: int = 0, masks: bool = True):
    """A tiny `faceflow gt` output: {sequence: (subject, n_pairs)} -> manifest.csv + PNG + .flo
    (+ a valid mask: all but the 4 leftmost columns; ``masks=False``: a dataset made before masks)."""
    import cv2

    from faceflow.io.flo import write_flo
    from faceflow.io.masks import write_mask

    rng = np.random.default_rng(seed)
    rows = []
    for seq, (subj, n) in sequences.items():
        for i in range(n):
            rel = f"{seq}/{i:04d}"
            (dst / seq).mkdir(parents=True, exist_ok=True)
            a = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
            b = np.roll(a, 1, axis=1)
            flow = np.zeros((*size, 2), np.float32)
            flow[..., 0] = 1.0
            cv2.imwrite(str(dst / f"{rel}_1.png"), a[..., ::-1])
            cv2.imwrite(str(dst / f"{rel}_2.png"), b[..., ::-1])
            write_flo(dst / f"{rel}.flo", flow)
            row = dict(
                sequence=seq,
                subject=subj,
                pair=i,
                img1=f"{rel}_1.png",
                img2=f"{rel}_2.png",
                flow=f"{rel}.flo",
                status="ok",
                reason="",
                n_degenerate=0,
                mean_mag=1.0,
                max_mag=1.0,
            )
            if masks:
                valid = np.ones(size, bool)
                valid[:, :4] = False
                write_mask(dst / f"{rel}_mask.png", valid)
                row.update(mask=f"{rel}_mask.png", face_share=float(valid.mean()))
            rows.append(row)
        for j in range(failed):
            rows.append(
                dict(
                    sequence=seq,
                    subject=subj,
                    pair=n + j,
                    img1="",
                    img2="",
                    flow="",
                    status="failed",
                    reason="no face",
                    n_degenerate=0,
                    mean_mag=np.nan,
                    max_mag=np.nan,
                )
            )
    pd.DataFrame(rows).to_csv(dst / "manifest.csv", index=False)
    return dst


@pytest.fixture
def fake_gt():
    """``write(dst, {sequence: (subject, n_pairs)}, size, failed, seed, masks)``: a tiny ``faceflow gt`` output.

    Each sequence gets ``n_pairs`` usable pairs (random frames, flow u = 1 px) and ``failed``
    failed rows, in the manifest layout of :mod:`faceflow.groundtruth.dataset`.
    """
    return _write_fake_gt


def _texture(h=96, w=128, seed=0):
    """A smooth random texture (uint8 RGB): enough structure for every flow method to lock on."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.random((h, w, 3)).astype(np.float32)
    img = cv2.GaussianBlur(noise, (0, 0), 2.0)
    img = (img - img.min()) / (img.max() - img.min())
    return (255 * img).astype(np.uint8)


def _translated(dx, dy, h=96, w=128):
    """Frame 2 is frame 1 moved by (dx, dy): the true flow is (dx, dy) everywhere."""
    import cv2

    big = _texture(h + 40, w + 40)
    a = big[20 : 20 + h, 20 : 20 + w]
    M = np.float32([[1, 0, dx], [0, 1, dy]])
    b = cv2.warpAffine(big, M, (w + 40, h + 40), flags=cv2.INTER_LINEAR)[20 : 20 + h, 20 : 20 + w]
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


@pytest.fixture
def translated():
    """``translated(dx, dy, h=96, w=128) -> (frame1, frame2)``: a textured pair with constant flow (dx, dy)."""
    return _translated


def _toy_mer_set(n_subj=4, per=6, seed=0):
    from faceflow.mer.features import MERSet

    rng = np.random.default_rng(seed)
    imgs, labels, subs = [], [], []
    for s in range(n_subj):
        for k in range(per):
            lab = k % 3
            img = rng.integers(0, 40, (28, 28, 3), dtype=np.uint8)
            img[..., lab] += 200  # class encoded in one channel: learnable
            imgs.append(img)
            labels.append(lab)
            subs.append(f"s{s}")
    n = len(labels)
    return MERSet(np.stack(imgs), labels, subs, ["toy"] * n, [f"n{i}" for i in range(n)], "toy", "generated")


@pytest.fixture
def toy_mer_set():
    """``toy_mer_set(n_subj=4, per=6, seed=0)``: a learnable MERSet (the class is one bright channel)."""
    return _toy_mer_set


def _generated_test_sets(folder, n=3):
    from dataclasses import replace

    from faceflow import profiles
    from faceflow.evaluation import testsets

    settings = profiles.get("smoke")
    settings = replace(settings, baselines=replace(settings.baselines, generated_pairs=n))
    sets = testsets.load_test_sets(folder / "no-faces", folder / "no-runs", None, settings)
    assert sets.generated
    return sets


@pytest.fixture
def generated_test_sets():
    """``generated_test_sets(folder, n=3)``: Table 3's face test sets of ``n`` generated pairs (no face data)."""
    return _generated_test_sets


def _tiny_cfg(**kw):
    from faceflow.training.experiments import TrainConfig

    base = dict(
        experiment="Exp1",
        train_set="chairs",
        lr=1e-3,
        steps=4,
        batch_size=2,
        resolution=(64, 64),
        val_every=2,
        val_pairs=2,
        model={"width": 0.0625},
        loss={"lambda1": 0.75, "lambda2": 0.25},
    )
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture
def tiny_cfg():
    """``tiny_cfg(**overrides)``: a TrainConfig small enough to train in a second on 64x64 pairs."""
    return _tiny_cfg


@pytest.fixture
def cli(capsys):
    """``cli(argv) -> (rc, stdout, stderr)``: ``faceflow *argv`` run in this process (argparse's exits caught)."""
    from faceflow.cli.main import main

    def run(argv):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:
            rc = exc.code
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.fixture
def one_line_error():
    """``check(rc, err, want_rc, *fragments)``: exit status ``want_rc``, one stderr line holding every
    fragment, no traceback."""

    def check(rc, err, want_rc, *fragments):
        lines = [line for line in err.splitlines() if line.strip()]
        assert rc == want_rc and len(lines) == 1 and "Traceback" not in err, (rc, err)
        for f in fragments:
            assert str(f) in lines[0], (f, lines[0])
        return lines[0]

    return check


@pytest.fixture
def cli_refuses(cli, one_line_error):
    """``cli_refuses(argv, *fragments)``: ``faceflow *argv`` answers one line holding the fragments, rc 2."""

    def check(argv, *fragments):
        rc, _out, err = cli(argv)
        return one_line_error(rc, err, 2, *fragments)

    return check
