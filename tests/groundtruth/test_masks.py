"""Valid masks of the ground truth (issue 19): written with every pair, derivable from the dataset
alone, and required by the readers."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from faceflow.groundtruth import dataset as gtdataset
from faceflow.groundtruth import mesh
from faceflow.io.flo import read_flo
from faceflow.io.masks import read_mask
from tests.groundtruth.test_dataset import synthetic_sequence, tree_digest


@pytest.fixture
def small_dataset(tmp_path):
    src, lm = synthetic_sequence(tmp_path / "seq", n=6)
    dst = tmp_path / "out"
    gtdataset.generate(src, dst, landmarks=lm, size=(48, 64), progress=False, verbose=False)
    return src, lm, dst


def test_every_ok_pair_has_a_mask_inside_the_face_where_the_flow_lives(small_dataset):
    _, lm, dst = small_dataset
    m = gtdataset.read_manifest(dst, usable_only=True)
    assert gtdataset.has_masks(m) and len(m) == 5
    for r in m.itertuples():
        valid = read_mask(dst / r.mask)
        flow = read_flo(dst / r.flow)
        assert valid.shape == flow.shape[:2]
        assert r.face_share == pytest.approx(valid.mean(), abs=1e-6)
        assert 0.2 < valid.mean() < 0.95
        face = _full_frame_mesh(lm, r.pair, dst)
        # valid cells draw only from the mesh; cells drawing only from outside it hold the paper's zero
        assert not (valid & ~gtdataset.resize_mask(face, (48, 64))).any()
        wholly_outside = gtdataset.resize_mask(~face, (48, 64))
        assert wholly_outside.any() and np.abs(flow[wholly_outside]).max() == 0.0
        assert np.median(np.abs(flow[valid][:, 0])) > 0.1  # inside, it moves (0.5 px/frame)


def _full_frame_mesh(lm_path, k, dst):
    lm = np.load(lm_path)
    r = gtdataset.read_manifest(dst).set_index("pair").loc[k]
    shape = (120, 160)
    face = mesh.face_mask(lm[k], mesh.triangulate(lm[0]), shape)
    return face[r.crop_y0 : r.crop_y1, r.crop_x0 : r.crop_x1]


def test_pair_mask_by_hand():
    """A 4 x 4 face on an 8 x 8 frame, stored at 4 x 4: the outline's partly covered cells are
    invalid, and a pixel carried out of the frame is invalid."""
    face = np.zeros((8, 8), bool)
    face[2:6, 2:6] = True
    flow = np.zeros((4, 4, 2))
    valid = gtdataset.pair_mask(face, flow, (0, 0, 8, 8), (8, 8), (4, 4))
    want = np.zeros((4, 4), bool)
    want[1:3, 1:3] = True  # the 2 x 2 blocks wholly inside the face
    np.testing.assert_array_equal(valid, want)
    flow[1, 2, 0] = 3.0  # stored pixel (x=2, y=1) sits at full-frame x = 4.5; +3 stored px = +6 -> 10.5 > 7
    valid = gtdataset.pair_mask(face, flow, (0, 0, 8, 8), (8, 8), (4, 4))
    assert not valid[1, 2] and valid[1, 1] and valid[2, 2]


def test_masks_made_from_the_dataset_alone_equal_the_written_ones(small_dataset):
    """`faceflow gt --add-masks` on a dataset written before masks gives the bytes generation writes."""
    _, _, dst = small_dataset
    before = tree_digest(dst)
    old = dst.parent / "old"
    shutil.copytree(dst, old)
    for p in old.glob("*/mask"):
        shutil.rmtree(p)
    df = pd.read_csv(old / gtdataset.MANIFEST)
    df.drop(columns=["mask", "face_share"]).to_csv(old / gtdataset.MANIFEST, index=False)
    with pytest.raises(gtdataset.MasklessDatasetError, match="faceflow gt --add-masks"):
        gtdataset.manifest_refs(gtdataset.read_manifest(old, usable_only=True, absolute=True))
    assert not gtdataset.is_complete(old, size=(48, 64))
    run = subprocess.run(
        [sys.executable, "-m", "faceflow.cli.main", "gt", "--add-masks", str(old)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert tree_digest(old) == before


def test_resuming_a_dataset_without_masks_adds_them_without_recomputing_flows(small_dataset):
    src, lm, dst = small_dataset
    before = tree_digest(dst)
    for p in dst.glob("*/mask"):
        shutil.rmtree(p)
    flows = {p: p.stat().st_mtime_ns for p in dst.glob("*/flow/*.flo")}
    gtdataset.generate(src, dst, landmarks=lm, size=(48, 64), progress=False, verbose=False)
    assert tree_digest(dst) == before
    assert {p: p.stat().st_mtime_ns for p in dst.glob("*/flow/*.flo")} == flows


def test_a_dataset_without_masks_is_one_line_naming_the_command(tmp_path, fake_gt):
    old = tmp_path / "old"
    (old).mkdir()
    fake_gt(old, {f"s{i}": (f"p{i}", 2) for i in range(3)}, failed=0, masks=False)
    with pytest.raises(gtdataset.MasklessDatasetError) as err:
        gtdataset.manifest_refs(gtdataset.read_manifest(old, usable_only=True, absolute=True))
    msg = str(err.value)
    assert "\n" not in msg and "manifest.csv" in msg and f"faceflow gt --add-masks {old}" in msg
    run = subprocess.run(
        [sys.executable, "-m", "faceflow.cli.main", "compare", "--face-dir", str(old), "--methods", "zero", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "faceflow gt --add-masks" in lines[0] and "Traceback" not in run.stderr
