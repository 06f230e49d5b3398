"""Issue 23 part 4: values that would give a wrong number or a traceback, and Ctrl-C.

An unknown chapter for ``faceflow tables --only``, images too small for a method or of two sizes,
absurd sizes: one line, rc 2. Ctrl-C: one line, rc 130, nothing half-written, a rerun resumes.
"""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.cli.main import main


@pytest.mark.parametrize("mode", [[], ["--no-execute"], ["--accept", "--no-execute"]])
def test_tables_only_an_unknown_chapter_is_refused(cli, one_line_error, mode):
    rc, _out, err = cli(["tables", "--only", "02_flownet", *mode])
    one_line_error(rc, err, 2, "--only 02_flownet: no such chapter", "02_flownets")


@pytest.fixture
def images(tmp_path, monkeypatch):
    from faceflow.io.images import write_image

    rng = np.random.default_rng(0)
    for name, shape in (("t1.png", (8, 8)), ("t2.png", (8, 8)), ("a.png", (48, 64)), ("b.png", (40, 64))):
        write_image(tmp_path / name, rng.integers(0, 255, (*shape, 3), dtype=np.uint8))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_images_too_small_for_a_method_are_refused(images, cli, one_line_error):
    rc, _out, err = cli(["flow", "dis", "t1.png", "t2.png", "-o", "o.flo", "--quiet"])
    one_line_error(rc, err, 2, "dis: images of 8x8 px are too small", "at least 12 px")
    assert not (images / "o.flo").exists()
    assert main(["flow", "farneback", "t1.png", "t2.png", "-o", "o.flo", "--quiet"]) == 0  # any size


def test_frames_of_two_sizes_name_both_files(images, cli, one_line_error):
    rc, _out, err = cli(["flow", "farneback", "a.png", "b.png", "-o", "o.flo", "--quiet"])
    one_line_error(rc, err, 2, "a.png is 64x48 px but b.png is 64x40")


@pytest.mark.data
@pytest.mark.parametrize(("method", "side"), [("raft-small", 64), ("spynet-chairs", 32), ("spynet-sintel", 32)])
def test_pretrained_networks_refuse_images_smaller_than_they_work_on(data_root, method, side):
    """They would pad or stretch the images and return a flow that looks real."""
    from faceflow.methods import estimate_flow
    from faceflow.methods.pretrained import register_pretrained
    from faceflow.methods.raft import MIN_SIZE
    from faceflow.methods.spynet import SIZE_MULTIPLE

    assert (MIN_SIZE, SIZE_MULTIPLE) == (64, 32)  # the sizes the registry refuses below
    register_pretrained(data_root, replace=True)
    small = np.zeros((side - 1, 100, 3), np.uint8)
    with pytest.raises(ValueError, match=f"{method}: images of 100x{side - 1} px are too small"):
        estimate_flow(method, small, small)
    ok = np.random.default_rng(0).integers(0, 255, (side, side, 3), dtype=np.uint8)
    assert estimate_flow(method, ok, ok).shape == (side, side, 2)


def test_a_trained_flownets_refuses_images_below_64_px(tmp_path, tiny_cfg):
    from faceflow.methods import estimate_flow
    from faceflow.methods.flownets_checkpoints import register_checkpoints
    from faceflow.methods.registry import unregister
    from faceflow.training import datasets
    from faceflow.training.loop import ensure_trained

    tr = datasets.FlyingShapes(4, (64, 64), seed=1)
    ensure_trained(tiny_cfg(), tmp_path / "runs" / "Exp1", train_data=tr, val_data=tr, device="cpu", progress=False)
    register_checkpoints(tmp_path / "runs", ["Exp1"])
    try:
        img = np.zeros((63, 80, 3), np.uint8)
        with pytest.raises(ValueError, match="Exp1: images of 80x63 px are too small; it needs at least 64"):
            estimate_flow("Exp1", img, img)
    finally:
        unregister("Exp1")


@pytest.mark.parametrize(
    "argv",
    [
        "train Exp1 --resolution 100000 100000",
        "train Exp1 --resolution 0 0",
        "mer generated --size 100000",
        "mer generated --size 2",
    ],
)
def test_absurd_sizes_are_refused(cli, one_line_error, argv):
    rc, _out, err = cli(argv.split())
    one_line_error(rc, err, 2, "image side in pixels, 8 to 4096")


# ----------------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_is_one_line_and_rc_130(monkeypatch, cli, one_line_error):
    from faceflow.cli import weights

    def interrupted(_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(weights, "_weights", interrupted)
    try:
        rc, _out, err = cli(["weights"])
    except KeyboardInterrupt:  # escaped main(): what a user sees as a traceback
        pytest.fail("Ctrl-C escaped faceflow's main() as a KeyboardInterrupt traceback")
    one_line_error(rc, err, 130, "faceflow weights: interrupted")


def test_ctrl_c_in_a_real_run_leaves_only_whole_files_and_a_rerun_finishes(tmp_path, one_line_error):
    """SIGINT to `python -m faceflow.cli gt` while it writes pairs: rc 130, one stderr line, no
    temporary or partial file, no manifest (the dataset is not complete); the same command then
    finishes it, reusing the pairs already written."""
    import signal
    import subprocess
    import sys
    import time

    import cv2

    from faceflow.io.flo import read_flo
    from faceflow.io.images import read_image

    # 240 frames of a texture moving 1 px right and back (20 px each way), with its landmarks (no
    # face detector): about 20 ms a pair here, so the run goes on for seconds after its third pair,
    # long enough for the signal to reach it on a loaded machine (80 frames once finished first)
    n_frames = 240
    rng = np.random.default_rng(0)
    base = cv2.resize((rng.random((30, 40, 3)) * 255).astype(np.uint8), (160, 120), interpolation=cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.linspace(40, 120, 9), np.linspace(24, 96, 8))
    p0 = np.stack([xs.ravel(), ys.ravel()], 1)[:68] + rng.uniform(-2, 2, (68, 2))
    src = tmp_path / "seq"
    src.mkdir()
    shifts = [20 - abs(k % 40 - 20) for k in range(n_frames)]
    for k, shift in enumerate(shifts):
        cv2.imwrite(str(src / f"{k:03d}.png"), np.roll(base, shift, axis=1))
    np.save(tmp_path / "lm.npy", np.stack([p0 + [shift, 0.0] for shift in shifts]))
    dst = tmp_path / "out"
    cmd = [sys.executable, "-m", "faceflow.cli", "gt", str(src), str(dst), "--size", "192x256", "--quiet"]
    cmd += ["--landmarks", str(tmp_path / "lm.npy")]
    # the run gets Ctrl-C's default handling even when this test runs as a background job, whose
    # children inherit SIGINT ignored (bash without job control, e.g. `bash .ci/run &`)
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    flows = dst / "seq" / "flow"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(flows.glob("*.flo"))) < 3:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    one_line_error(proc.returncode, err, 130, "faceflow gt: interrupted")
    assert not list(dst.rglob("*.tmp")) and not (dst / "manifest.csv").exists()
    written = sorted(flows.glob("*.flo"))
    assert 3 <= len(written) < n_frames - 1
    for f in written:
        assert read_flo(f).shape == (192, 256, 2)
    for f in (dst / "seq" / "frames").glob("*.png"):
        assert read_image(f).shape == (192, 256, 3)
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert len(list(flows.glob("*.flo"))) == n_frames - 1
