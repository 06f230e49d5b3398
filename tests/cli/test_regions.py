"""Issue 19 in the command line: ``faceflow eval`` and ``faceflow compare`` by region and pair motion,
``faceflow train --masked-loss``.

The face datasets are ``fake_gt``'s (48 x 64 pairs whose valid mask leaves out the 4 leftmost
columns) with hand-set flows: on a *moving* pair u = 2 px on the face and 6 px outside it, on a
*still* pair u = 0.2 px on the face and 0 outside. On the paper's k = 1 grid (24 x 32, half the
size, values halved) the mask's invalid columns are the 2 leftmost cells, so zero flow's errors
are known by hand.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from faceflow.cli.main import main
from faceflow.io.flo import read_flo, write_flo
from faceflow.methods import flownets_checkpoints

MOVING, STILL = (2.0, 6.0), (0.2, 0.0)  # (u on the face, u outside), px of the stored pairs


def _set_flows(face_dir, sequences):
    """Pair 0 of each sequence moving, every other pair still (fake_gt's mask: columns 4 and up)."""
    for seq in sequences:
        for path in sorted((face_dir / seq).glob("*.flo")):
            inside, outside = MOVING if path.stem.endswith("0000") else STILL
            flow = np.zeros_like(read_flo(path))
            flow[:, :4, 0], flow[:, 4:, 0] = outside, inside
            write_flo(path, flow)


@pytest.fixture
def face(tmp_path, fake_gt):
    sequences = {"a": ("s1", 2), "b": ("s2", 2), "c": ("s3", 2), "d": ("s4", 2)}
    face_dir = fake_gt(tmp_path / "gt", sequences)
    _set_flows(face_dir, sequences)
    return face_dir


def _floor_file(out, face_motion):
    from faceflow.groundtruth.jitter import JitterFloor

    path = out / "datasets" / "jitter-floor.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        JitterFloor(pd.DataFrame({"source": "x", "pair": "x/0", "face_motion": [face_motion]}), {}).to_json()
    )
    return path


#: Zero flow's errors on the k = 1 grid, by hand: a moving pair's face is 1 px, its outside 3 px;
#: a still pair's face 0.1 px, its outside 0; the whole crop weighs 2 outside and 30 face columns.
ZERO_BY_HAND = {
    "epe_face@moving": 1.0,
    "epe_face@still": 0.1,
    "epe_face": 0.55,
    "epe_outside": 1.5,
    "epe": (36 / 32 + 3 / 32) / 2,
    "aae_face@moving": math.atan(1.0),
    "aae_face@still": math.atan(0.1),
}


def test_compare_reports_every_region_and_still_pairs_apart(tmp_path, capsys, face):
    out = tmp_path / "out"
    csv = tmp_path / "regions.csv"
    argv = ["compare", "--face-dir", face, "--methods", "zero", "dis", "--exclude", "d", "--quiet"]
    argv += ["--output-dir", out, "--jitter-floor", "0.5", "--out", csv]
    assert main([str(a) for a in argv]) == 0
    printed = capsys.readouterr().out
    got = pd.read_csv(csv).set_index(["method", "test_set"])
    assert set(got.index) == {(m, s) for m in ("zero", "dis") for s in ("faces test", "held-out source")}
    for test_set in ("faces test", "held-out source"):
        zero = got.loc[("zero", test_set)]
        for column, value in ZERO_BY_HAND.items():
            assert zero[column] == pytest.approx(value), (test_set, column)
        assert zero["pairs_face@moving"] == zero["pairs_face@still"] == zero["pairs_whole"] / 2
        assert zero["convention"] == "paper" and zero["jitter_floor"] == 0.5
    assert "EPE in px of the k = 1 grid" in printed and "AAE in radians" in printed
    assert "below the jitter floor 0.500 px of the k = 1 grid (--jitter-floor)" in printed
    n = int(got.loc[("zero", "faces test"), "pairs_whole"])  # the first table printed
    header = next(line for line in printed.splitlines() if "face, moving pairs" in line)
    assert (
        header.split()
        == (
            f"face, moving pairs ({n // 2}) face, still pairs ({n // 2}) face, all pairs ({n}) "
            f"outside the face ({n}) whole crop ({n})"
        ).split()
    )
    zero_line = next(line for line in printed.splitlines() if line.startswith("zero flow") and "EPE" in line)
    assert zero_line.split()[-5:] == ["1.0000", "0.1000", "0.5500", "1.5000", f"{ZERO_BY_HAND['epe']:.4f}"]


def test_compare_reads_the_profiles_floor_or_says_none_is_known(tmp_path, capsys, face):
    out = tmp_path / "out"
    argv = ["compare", "--face-dir", str(face), "--methods", "zero", "--quiet", "--output-dir", str(out)]
    assert main([*argv, "--out", str(tmp_path / "none.csv")]) == 0
    printed = capsys.readouterr().out
    assert f"no jitter floor known (no {out / 'datasets' / 'jitter-floor.json'}" in printed
    assert "every pair counted as moving" in printed and "still pairs (" not in printed
    none = pd.read_csv(tmp_path / "none.csv").iloc[0]
    assert none["pairs_face@still"] == 0 and none["epe_face@moving"] == pytest.approx(0.55)
    path = _floor_file(out, 0.5)  # a one-pair measurement: its floor is that pair's motion
    assert main([*argv, "--out", str(tmp_path / "file.csv")]) == 0
    assert f"jitter floor 0.500 px of the k = 1 grid ({path})" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "file.csv").iloc[0]["epe_face@still"] == pytest.approx(0.1)


def test_compare_native_convention_scales_the_floor_to_the_ground_truths_pixels(tmp_path, capsys, face):
    # a still pair's face moves 0.1 px of the k = 1 grid, 0.2 px of the stored pair: a floor of
    # 0.15 grid px must call it still in both conventions
    argv = ["compare", "--face-dir", str(face), "--methods", "zero", "--quiet", "--jitter-floor", "0.15"]
    for convention in ("paper", "native"):
        csv = tmp_path / f"{convention}.csv"
        assert main([*argv, "--convention", convention, "--out", str(csv)]) == 0
        row = pd.read_csv(csv).iloc[0]
        assert row["pairs_face@still"] == row["pairs_face@moving"] > 0
        scale = 1 if convention == "paper" else 2
        assert row["epe_face@still"] == pytest.approx(0.1 * scale) and row["epe_face@moving"] == pytest.approx(scale)
    assert "= 0.300 px at the ground truth's resolution" in capsys.readouterr().out


def test_a_bad_floor_file_is_one_line_before_any_work(tmp_path, capsys, face):
    out = tmp_path / "out"
    path = _floor_file(out, 0.5)
    path.write_text("{broken")
    csv = tmp_path / "x.csv"
    csv.write_text("kept")
    rc = main(["compare", "--face-dir", str(face), "--methods", "zero", "--output-dir", str(out), "--out", str(csv)])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip().count("\n") == 0
    assert err.startswith(f"faceflow compare: error: {path}: not a jitter-floor measurement")
    assert "faces test: loading pairs" not in err and csv.read_text() == "kept"


@pytest.fixture
def trained(tmp_path, face):
    """``(checkpoint, common options)`` of a one-step Exp1 on the fake faces."""
    out = tmp_path / "out"
    common = ["--profile", "smoke", "--output-dir", str(out), "--face-dir", str(face), "--quiet", "--device", "cpu"]
    assert main(["train", "Exp1", "--steps", "1", *common]) == 0
    return out / "runs" / "faces" / "Exp1" / "last.pt", common


def test_eval_summary_is_the_per_pair_csv_by_region(tmp_path, capsys, trained):
    ckpt, common = trained
    csv = tmp_path / "eval.csv"
    capsys.readouterr()
    argv = ["eval", str(ckpt), "--sequences", "a", "b", "c", "--jitter-floor", "0.5", "--out", str(csv), *common]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    df = pd.read_csv(csv)
    moving = df["gt_mag_face"] >= 0.5
    assert moving.sum() == 3 and (~moving).sum() == 3  # pair 0 of each sequence moves
    want = {
        "EPE": [df.loc[moving, "epe_face"], df.loc[~moving, "epe_face"], df["epe_face"], df["epe_outside"], df["epe"]],
        "AAE": [df.loc[moving, "aae_face"], df.loc[~moving, "aae_face"], df["aae_face"], df["aae_outside"], df["aae"]],
    }
    lines = printed.splitlines()
    assert "eval: 6 pairs of faces, Exp1" in lines
    header = "face, moving pairs (3) face, still pairs (3) face, all pairs (6) outside the face (6) whole crop (6)"
    assert any(" ".join(line.split()) == header for line in lines)
    for metric, columns in want.items():
        row = next(line for line in lines if line.split()[:2] == ["Exp1", metric] or line.split()[:1] == [metric])
        assert row.split()[-5:] == [f"{c.mean():.4f}" for c in columns], metric
    assert "EPE in px of the k = 1 grid" in printed


def test_eval_without_a_mask_reports_the_whole_frame(tmp_path, capsys, trained):
    ckpt, common = trained
    _floor_file(tmp_path / "out", 0.5)
    (tmp_path / "out" / "datasets" / "jitter-floor.json").write_text("{broken")  # not read: no face regions
    capsys.readouterr()
    assert (
        main(["eval", str(ckpt), "--on", "shapes", "--max-pairs", "2", "--out", str(tmp_path / "s.csv"), *common]) == 0
    )
    printed = capsys.readouterr().out
    assert "ground truth defined everywhere (no valid mask)" in printed
    header = next(line for line in printed.splitlines() if "whole crop" in line)
    assert header.split() == ["whole", "crop", "(2)"]


def test_train_masked_loss_is_a_run_of_its_own(tmp_path, capsys, trained):
    plain, common = trained
    before = plain.read_bytes()
    assert main(["train", "Exp1", "--steps", "1", "--masked-loss", *common]) == 0
    masked = plain.parent.with_name("Exp1-masked") / "last.pt"
    _, cfg, _ = flownets_checkpoints.load_checkpoint(masked)
    assert cfg["loss"]["masked"] is True and plain.read_bytes() == before
    assert flownets_checkpoints.load_checkpoint(plain)[1]["loss"]["masked"] is False
    capsys.readouterr()
    assert main(["eval", str(masked), "--sequences", "a", "--out", str(tmp_path / "m.csv"), *common]) == 0
    assert "eval: 2 pairs of faces, Exp1 (masked loss)" in capsys.readouterr().out


def test_train_masked_loss_needs_a_mask(tmp_path, capsys):
    rc = main(["train", "Exp1", "--train-set", "chairs", "--masked-loss", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith("faceflow train: error: --masked-loss needs ground truth with a valid mask")
    assert not (tmp_path / "runs").exists()


def test_train_options_change_one_setting_of_a_config_files_loss_and_model(tmp_path, face):
    config = {
        "experiment": "Exp1",
        "train_set": "faces",
        "steps": 1,
        "batch_size": 2,
        "resolution": [64, 64],
        "val_every": 1,
        "val_pairs": 2,
        "model": {"width": 0.125, "encoder": "siamese"},
        "loss": {"lambda1": 1.0, "lambda2": 0.5},
    }
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(config))
    run = tmp_path / "run"
    argv = ["train", str(path), "--masked-loss", "--width", "0.0625", "--face-dir", str(face), "--run-dir", str(run)]
    assert main([*argv, "--quiet", "--device", "cpu"]) == 0
    _, cfg, _ = flownets_checkpoints.load_checkpoint(run / "last.pt")
    assert cfg["model"]["encoder"] == "siamese" and cfg["model"]["width"] == 0.0625
    assert cfg["loss"]["lambda2"] == 0.5 and cfg["loss"]["masked"] is True


def test_compare_scores_our_network_as_eval_does(tmp_path, capsys, trained):
    # the same test split (the run's), the same k = 1 prediction: the same numbers in both commands
    ckpt, common = trained
    assert main(["eval", str(ckpt), "--jitter-floor", "0.5", "--out", str(tmp_path / "eval.csv"), *common]) == 0
    runs, face = ckpt.parent.parent, common[common.index("--face-dir") + 1]
    argv = ["compare", "--face-dir", face, "--runs", str(runs), "--methods", "Exp1", "zero", "--jitter-floor", "0.5"]
    assert main([*argv, "--quiet", "--out", str(tmp_path / "compare.csv")]) == 0
    assert "best of our networks: {'faces test': 'Exp1'}" in capsys.readouterr().out
    per_pair = pd.read_csv(tmp_path / "eval.csv")
    row = pd.read_csv(tmp_path / "compare.csv").set_index(["method", "test_set"]).loc[("Exp1", "faces test")]
    assert row["pairs_whole"] == len(per_pair)
    for column in ("epe", "aae", "epe_face", "epe_outside"):
        assert row[column] == pytest.approx(per_pair[column].mean(), rel=1e-6), column


def test_compare_table3_is_the_librarys_table3(tmp_path, capsys, face, trained):
    """`faceflow compare` computes Table 3 with the library's function: its CSV is that table."""
    from faceflow.evaluation import baselines, testsets
    from faceflow.evaluation.regions import PAPER_VIEW

    ckpt, _common = trained
    runs, csv = ckpt.parent.parent, tmp_path / "table3.csv"
    argv = ["compare", "--face-dir", str(face), "--runs", str(runs), "--methods", "Exp1", "zero", "dis"]
    assert main([*argv, "--quiet", "--table-out", str(csv)]) == 0
    assert f"Table 3: {csv}" in capsys.readouterr().out
    got = pd.read_csv(csv, header=[0, 1], index_col=0)
    split = testsets.split_options(runs)
    sets, note = testsets.face_test_sets(face, split)
    methods = baselines.MethodSet(["Exp1"], ["zero", "dis"], [], runs)
    want = baselines.table3(
        testsets.TestSets(sets, note, False, face, split),
        methods,
        None,
        views=(PAPER_VIEW,),
        functions={"Exp1": flownets_checkpoints.checkpoint_flow_fn(ckpt, largest=True)},
        all_ours=False,
    ).table
    assert list(got.index) == list(want.index) == ["Exp1", "zero flow", "DIS"]
    assert [c for _, c in got.columns] == [c.removesuffix(" (whole crop)") for _, c in want.columns]
    np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=1e-12)
    assert got.loc["zero flow", ("faces test", "EPE")] == pytest.approx(ZERO_BY_HAND["epe"])
