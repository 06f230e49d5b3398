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
from faceflow.io import layouts
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
    pair = gtdataset.generate(src, tmp_path / "pair", crop="pair", **kw)
    first = gtdataset.generate(src, tmp_path / "first", crop="first", flow_units="frame", **kw)
    # options at their defaults are not written, so datasets made before they existed stay valid
    assert "flow_units" not in (tmp_path / "pair" / gtdataset.OPTIONS).read_text()
    text = (tmp_path / "first" / gtdataset.OPTIONS).read_text()
    assert '"crop": "first"' in text and '"flow_units": "frame"' in text
    r0, r1 = pair.iloc[0], first.iloc[0]
    lm0 = np.load(lm)[0]
    assert r1.crop_x1 == int(np.ceil(lm0[:, 0].max())) + 10 + 1  # frame 0's landmarks only
    assert (r0.crop_x1 - r0.crop_x0) >= (r1.crop_x1 - r1.crop_x0)
    assert r1.img1.endswith("000000_1.png")  # one box per pair: two images per pair
    f0, f1 = read_flo(tmp_path / "pair" / r0.flow), read_flo(tmp_path / "first" / r1.flow)
    frame_w = cv2.imread(str(next(iter(sorted(src.glob("*.png")))))).shape[1]
    ratio = np.median(f1[..., 0][f1[..., 0] != 0]) / np.median(f0[..., 0][f0[..., 0] != 0])
    assert ratio == pytest.approx((r0.crop_x1 - r0.crop_x0) / frame_w, rel=0.15)  # 64/frame_w over 64/crop_w
    with pytest.raises(ValueError, match="flow_units"):
        gtdataset.generate(src, tmp_path / "bad", flow_units="px", **kw)


def _run_cli(src, dst, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "faceflow.cli.main", "gt", str(src), str(dst), "--no-progress", *extra],
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


def _image_files_per_pair(dst: Path) -> float:
    m = gtdataset.read_manifest(dst, usable_only=True)
    return len(list(dst.glob("*/frames/*.png"))) / len(m)


def test_frames_stored_once_per_sequence(tmp_path):
    """crop="sequence": pair k's second image is pair k+1's first, one PNG per frame (plus segment borders)."""
    src, lm = synthetic_sequence(tmp_path / "seq", n=8)
    once, twice = tmp_path / "once", tmp_path / "twice"
    gtdataset.generate(src, once, landmarks=lm, size=(48, 64), segment=3, progress=False, verbose=False)
    gtdataset.generate(src, twice, landmarks=lm, size=(48, 64), crop="pair", progress=False, verbose=False)
    m = gtdataset.read_manifest(once, usable_only=True)
    assert len(m) == 7
    # consecutive pairs inside a segment share the file of their common frame
    for k in range(6):
        same_segment = k // 3 == (k + 1) // 3
        assert (m.loc[k, "img2"] == m.loc[k + 1, "img1"]) == same_segment
    pngs = sorted(p.name for p in (once / "seq" / "frames").glob("*.png"))
    # 8 frames, 3 segments (pairs 0-2, 3-5, 6): frames 3 and 6 are stored once per segment
    assert len(pngs) == 8 + 2 == len(set(m["img1"]) | set(m["img2"]))
    # within a segment the box is one, and it holds every pair's own box
    for _, g in m.groupby(m["pair"] // 3):
        assert g[["crop_x0", "crop_y0", "crop_x1", "crop_y1"]].nunique().max() == 1
    pair_boxes = gtdataset.read_manifest(twice, usable_only=True)
    assert (m["crop_x0"] <= pair_boxes["crop_x0"]).all() and (m["crop_x1"] >= pair_boxes["crop_x1"]).all()
    # the stored frame is the crop of the source frame with the segment's box
    r = m.iloc[4]
    frame = cv2.imread(str(src / "005.png"))[:, :, ::-1]
    want = gtdataset.crop_resize(frame, (r.crop_x0, r.crop_y0, r.crop_x1, r.crop_y1), (48, 64))
    np.testing.assert_array_equal(cv2.imread(str(once / r.img2))[:, :, ::-1], want)
    # same consumer API: refs load pairs of the stored size
    refs = gtdataset.manifest_refs(gtdataset.read_manifest(once, usable_only=True, absolute=True))
    assert refs[0].load().img1.shape == (48, 64, 3) and refs[0].load().flow.shape == (48, 64, 2)
    assert _image_files_per_pair(once) == 10 / 7 and _image_files_per_pair(twice) == 2


def test_pair_crop_keeps_the_old_layout(tmp_path):
    src, lm = synthetic_sequence(tmp_path / "seq")
    dst = tmp_path / "out"
    gtdataset.generate(src, dst, landmarks=lm, size=(48, 64), crop="pair", progress=False, verbose=False)
    m = gtdataset.read_manifest(dst, usable_only=True)
    assert list(m["img1"]) == [f"seq/frames/{k:06d}_1.png" for k in m["pair"]]
    assert "crop" not in (dst / gtdataset.OPTIONS).read_text()  # options files written before still match
    # ... and read back as the pair layout, not the default per-sequence crop (whose segment boxes
    # add_masks would then use on pairs cropped one by one)
    stored = gtdataset.GTOptions.from_json((dst / gtdataset.OPTIONS).read_text())
    assert stored.crop == "pair" and stored == gtdataset.GTOptions(size=(48, 64), crop="pair")
    assert gtdataset.is_complete(dst, size=(48, 64), crop="pair")
    assert gtdataset.is_complete(dst, gtdataset.GTOptions(size=[48, 64], crop="pair"))  # a list size is the same
    assert not gtdataset.is_complete(dst, size=(48, 64))


def test_options_are_declared_once():
    base = gtdataset.GTOptions(size=(48, 64), crop="first")
    o = gtdataset.gt_options(base, step=np.int64(2), min_area=1)
    assert (o.size, o.crop, o.step, o.min_area) == ((48, 64), "first", 2, 1.0) and base.step == 1
    assert type(o.step) is int and type(o.min_area) is float  # stored as the options file stores them
    assert gtdataset.GTOptions.from_json(o.to_json()) == o
    with pytest.raises(TypeError, match="unknown ground-truth option.*alpha.*stabilize_alpha"):
        gtdataset.gt_options(alpha=0.3)
    with pytest.raises(TypeError, match="unknown ground-truth option.*sizes"):
        gtdataset.generate("nowhere", "nowhere", sizes=(48, 64))
    with pytest.raises(TypeError, match="unknown ground-truth option.*segments"):
        gtdataset.ensure_dataset("nowhere", "nowhere", workers=2, segments=3)


def test_the_cli_defaults_and_choices_are_the_library_s():
    from faceflow.cli.main import build_parser
    from faceflow.groundtruth import landmarks, mesh

    args = build_parser().parse_args(["gt", "SRC", "DST"])
    assert gtdataset.GTOptions(**{f: getattr(args, f) for f in gtdataset.GTOptions.__dataclass_fields__}) == (
        gtdataset.GTOptions()
    )
    parser = build_parser()
    for flag, allowed in [
        ("--mode", mesh.MODES),
        ("--interp", mesh.INTERPS),
        ("--stabilize", landmarks.STABILIZE),
        ("--backend", tuple(landmarks.BACKENDS)),
        ("--crop", gtdataset.CROPS),
        ("--flow-units", gtdataset.FLOW_UNITS),
        ("--layout", layouts.LAYOUTS),
    ]:
        for value in allowed:
            assert getattr(parser.parse_args(["gt", "S", "D", flag, value]), flag[2:].replace("-", "_")) == value
        with pytest.raises(SystemExit):
            parser.parse_args(["gt", "S", "D", flag, "no-such-choice"])
