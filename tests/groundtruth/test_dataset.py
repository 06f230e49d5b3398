"""Dataset writer: layout adapters, manifest contract, resuming, kill-and-rerun determinism."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceflow.groundtruth import dataset as gtdataset
from faceflow.io.flo import read_flo

REPO = Path(__file__).resolve().parent.parent


def synthetic_sequence(folder: Path, n: int = 6, shape=(120, 160), missing: int | None = None):
    """Frames of random texture and a landmark file (jittered grid moving smoothly)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    tex = (rng.random((shape[0] // 4, shape[1] // 4, 3)) * 255).astype(np.uint8)
    base = cv2.resize(tex, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.linspace(40, 120, 9), np.linspace(30, 90, 8))
    p0 = np.stack([xs.ravel(), ys.ravel()], 1)[:68] + rng.uniform(-2, 2, (68, 2))
    lms = []
    for k in range(n):
        cv2.imwrite(str(folder / f"{k:03d}.png"), np.roll(base, k, axis=1))
        p = p0 + [0.5 * k, 0.2 * k] + rng.normal(0, 0.3, p0.shape)
        if missing is not None and k == missing:
            p = np.full_like(p, np.nan)
        lms.append(p)
    np.save(folder.parent / "lm.npy", np.array(lms))
    return folder, folder.parent / "lm.npy"


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_writer_contract(tmp_path):
    src, lm = synthetic_sequence(tmp_path / "seq", missing=3)
    dst = tmp_path / "out"
    df = gtdataset.generate(src, dst, landmarks=lm, size=(48, 64), progress=False, verbose=False)
    m = gtdataset.read_manifest(dst)
    for c in [
        "sequence",
        "subject",
        "pair",
        "img1",
        "img2",
        "flow",
        "status",
        "reason",
        "n_degenerate",
        "mean_mag",
        "max_mag",
    ]:
        assert c in m.columns
    assert list(m["pair"]) == [0, 1, 2, 3, 4]
    assert list(m["status"]) == ["ok", "ok", "skipped", "skipped", "ok"]
    assert "frame 3" in m.loc[2, "reason"]
    ok = m[m.status == "ok"]
    for _, r in ok.iterrows():
        f = read_flo(dst / r.flow)
        a = cv2.imread(str(dst / r.img1))
        assert f.shape == (48, 64, 2) and a.shape == (48, 64, 3)
        np.testing.assert_allclose(np.sqrt((f**2).sum(-1)).max(), r.max_mag, rtol=1e-5)
    # scaled flow: the landmarks move by ~(0.5, 0.2) px per frame, crop ~100x80 -> 64x48
    f0 = read_flo(dst / ok.iloc[0].flow)
    inside = np.abs(f0).sum(-1) > 0
    assert 0.1 < np.median(f0[inside][:, 0]) < 0.6
    assert (dst / "seq" / "landmarks.npy").is_file()
    assert len(df) == 5


def test_rerun_is_idempotent_and_resumes(tmp_path):
    src, lm = synthetic_sequence(tmp_path / "seq")
    dst = tmp_path / "out"
    gtdataset.generate(src, dst, landmarks=lm, size=(48, 64), mode="paper", progress=False, verbose=False)
    before = tree_digest(dst)
    (dst / "seq" / "flow" / "000003.flo").unlink()  # as if killed before pair 3 completed
    (dst / "manifest.csv").unlink()
    gtdataset.generate(src, dst, landmarks=lm, size=(48, 64), mode="paper", progress=False, verbose=False)
    assert tree_digest(dst) == before
    with pytest.raises(ValueError, match="other options"):
        gtdataset.generate(src, dst, landmarks=lm, size=(32, 64), progress=False, verbose=False)
    assert gtdataset.ensure_dataset(src, dst, landmarks=lm, size=(48, 64), mode="paper") == dst


def test_released_code_crop_options(tmp_path):
    src, lm = synthetic_sequence(tmp_path / "seq")
    kw = dict(landmarks=lm, size=(48, 64), mode="exact", progress=False, verbose=False)
    pair = gtdataset.generate(src, tmp_path / "pair", **kw)
    first = gtdataset.generate(src, tmp_path / "first", crop_from="first", flow_units="frame", **kw)
    # options at their defaults are not written, so datasets made before they existed stay valid
    assert "crop_from" not in (tmp_path / "pair" / gtdataset.OPTIONS).read_text()
    assert '"crop_from": "first"' in (tmp_path / "first" / gtdataset.OPTIONS).read_text()
    r0, r1 = pair.iloc[0], first.iloc[0]
    lm0 = np.load(lm)[0]
    assert r1.crop_x1 == int(np.ceil(lm0[:, 0].max())) + 10 + 1  # frame 0's landmarks only
    assert (r0.crop_x1 - r0.crop_x0) >= (r1.crop_x1 - r1.crop_x0)
    f0, f1 = read_flo(tmp_path / "pair" / r0.flow), read_flo(tmp_path / "first" / r1.flow)
    frame_w = cv2.imread(str(next(iter(sorted(src.glob("*.png")))))).shape[1]
    ratio = np.median(f1[..., 0][f1[..., 0] != 0]) / np.median(f0[..., 0][f0[..., 0] != 0])
    assert ratio == pytest.approx((r0.crop_x1 - r0.crop_x0) / frame_w, rel=0.15)  # 64/frame_w over 64/crop_w
    with pytest.raises(ValueError, match="crop_from"):
        gtdataset.generate(src, tmp_path / "bad", crop_from="last", **kw)


def test_layout_adapters(tmp_path):
    for rel in ["bp4d/F001/T1", "bp4d/F001/T2", "bp4d/M003/T1"]:
        d = tmp_path / rel
        d.mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(d / f"{i}.jpg"), np.zeros((8, 8, 3), np.uint8))
    seqs = gtdataset.discover(tmp_path / "bp4d")
    assert [(s.name, s.subject) for s in seqs] == [("F001_T1", "F001"), ("F001_T2", "F001"), ("M003_T1", "M003")]
    ck = tmp_path / "ck" / "cohn-kanade-images" / "S005" / "001"
    ck.mkdir(parents=True)
    for i in range(1, 3):
        cv2.imwrite(str(ck / f"S005_001_{i:08d}.png"), np.zeros((8, 8), np.uint8))
    lmd = tmp_path / "ck" / "Landmarks" / "S005" / "001"
    lmd.mkdir(parents=True)
    (lmd / "S005_001_00000001_landmarks.txt").write_text("\n".join("   1.0e+02   2.0e+02" for _ in range(68)))
    seqs = gtdataset.discover(tmp_path / "ck")
    assert [(s.name, s.subject) for s in seqs] == [("S005_001", "S005")]
    assert seqs[0].landmarks == lmd


@pytest.mark.data
def test_openface_folder_layout(data_root):
    seqs = gtdataset.discover(data_root / "openface", layout="folder")
    names = {s.name for s in seqs}
    assert {"image_sequence", "default", "changeLighting", "multi_face"} <= names


def _run_cli(src, dst, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "faceflow.cli", "gt", str(src), str(dst), "--no-progress", *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
@pytest.mark.data
def test_kill_and_rerun_is_byte_identical(tmp_path, data_root):
    """SIGKILL a real run midway (dlib landmarks, paper mode), rerun: same bytes as an uninterrupted run."""
    src = data_root / "openface" / "image_sequence"
    args = ("--max-frames", "10", "--mode", "paper")
    ref = tmp_path / "ref"
    assert _run_cli(src, ref, *args).wait(timeout=600) == 0
    dst = tmp_path / "killed"
    proc = _run_cli(src, dst, *args)
    flow_dir = dst / "image_sequence" / "flow"
    t0 = time.time()
    while time.time() - t0 < 300:
        if flow_dir.is_dir() and len(list(flow_dir.glob("*.flo"))) >= 3:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_done = len(list(flow_dir.glob("*.flo")))
    assert 0 < n_done < 9, n_done  # really interrupted midway
    assert not (dst / "manifest.csv").exists()
    assert _run_cli(src, dst, *args).wait(timeout=600) == 0
    assert tree_digest(dst) == tree_digest(ref)
