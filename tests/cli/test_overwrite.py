"""Issue 23 part 3: no output over an input, no silent replacement of a run.

Each command given an output path that is one of its inputs (also spelled ``./a``, through a
symlink, or with ``sub/..``) refuses with one line and rc 2, and the input keeps its bytes.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from faceflow.cli.main import main


def snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def pair(tmp_path, translated, monkeypatch):
    from faceflow.io.images import write_image

    a, b = translated(1.0, 0.0, 48, 64)
    write_image(tmp_path / "a.png", a)
    write_image(tmp_path / "b.png", b)
    (tmp_path / "link.png").symlink_to(tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("out", ["a.png", "./a.png", "link.png", "sub/../b.png", "{t}/b.png"])
def test_flow_output_over_an_input_image_is_refused(pair, cli_refuses, out):
    before = snapshot(pair)
    out = out.format(t=pair)
    cli_refuses(["flow", "farneback", "a.png", "b.png", "-o", out, "--quiet"], "-o", "refusing to overwrite an input")
    cli_refuses(["flow", "farneback", "a.png", "b.png", "-o", "x.flo", "--png", out, "--quiet"], "--png")
    assert snapshot(pair) == before


def test_flow_png_and_flo_on_one_file_are_refused(pair, cli_refuses):
    cli_refuses(["flow", "farneback", "a.png", "b.png", "-o", "o.png", "--png", "./o.png", "--quiet"], "same file")
    assert main(["flow", "farneback", "a.png", "b.png", "-o", "o.flo", "--png", "o.png", "--quiet"]) == 0


def test_mer_features_output_over_an_input_is_refused(pair, cli_refuses):
    before = snapshot(pair)
    cli_refuses(["mer", "features", "--onset", "a.png", "--apex", "b.png", "--no-crop", "./b.png"], "b.png")
    assert snapshot(pair) == before


@pytest.fixture
def trained(tmp_path, fake_gt):
    """A fake face dataset and a 1-step checkpoint trained on it."""
    face = fake_gt(tmp_path / "gt", {"a": ("s1", 3), "b": ("s2", 3), "c": ("s3", 3)}, size=(64, 64))
    common = ["--profile", "smoke", "--face-dir", face, "--quiet", "--device", "cpu"]
    run = tmp_path / "run"
    assert main([str(a) for a in ["train", "Exp2II", "--steps", "1", "--run-dir", run, *common]]) == 0
    return face, run / "last.pt", common


def test_eval_out_over_its_checkpoint_or_a_data_file_is_refused(trained, cli_refuses):
    face, ckpt, common = trained
    before = snapshot(face.parent)
    cli_refuses(["eval", ckpt, "--on", "faces", "--out", ckpt, *common], "--out", "refusing to overwrite")
    cli_refuses(["eval", ckpt, "--on", "faces", "--out", face / "manifest.csv", *common], "manifest.csv")
    img = pd.read_csv(face / "manifest.csv")["img1"].iloc[0]
    cli_refuses(["eval", ckpt, "--on", "faces", "--split", "train", "--out", face / img, *common], img)
    # the histogram goes beside the CSV with the suffix .png: that name is checked too
    cli_refuses(
        ["eval", ckpt, "--on", "faces", "--split", "train", "--out", (face / img).with_suffix(".csv"), *common],
        "histogram",
    )
    assert snapshot(face.parent) == before


def test_compare_out_over_the_manifest_is_refused(trained, cli_refuses):
    face, _ckpt, _common = trained
    before = snapshot(face)
    cli_refuses(["compare", "--face-dir", face, "--methods", "zero", "--out", face / "manifest.csv", "--quiet"])
    assert snapshot(face) == before


# ----------------------------------------------------------------------------- faceflow gt
@pytest.fixture
def frames(tmp_path, translated):
    from faceflow.io.images import write_image

    src = tmp_path / "seq"
    for i in range(3):
        write_image(src / f"{i:03d}.png", translated(float(i), 0.0, 48, 64)[0])
    return src


@pytest.mark.parametrize(
    ("content", "options", "why"),
    [
        ("sequence,subject,pair,img1,img2,flow,status\n", False, "no gt_options.json"),
        ("name,amount\nrent,1200\n", True, "header lacks"),
    ],
    ids=["no-options", "foreign-csv"],
)
def test_gt_into_a_folder_with_an_unrelated_manifest_is_refused(frames, tmp_path, cli_refuses, content, options, why):
    dst = tmp_path / "mine"
    dst.mkdir()
    (dst / "manifest.csv").write_text(content)
    if options:
        (dst / "gt_options.json").write_text("{}\n")
    before = snapshot(dst)
    cli_refuses(["gt", frames, dst, "--quiet"], dst, why)
    assert snapshot(dst) == before


def test_gt_into_its_own_source_is_refused(frames, cli_refuses):
    before = snapshot(frames)
    cli_refuses(["gt", frames, f"{frames}/../{frames.name}", "--quiet"], "DST")
    assert snapshot(frames) == before


# ----------------------------------------------------------------------------- faceflow train --run-dir
def _cfg(path, tiny_cfg, **kw):
    path.write_text(json.dumps(tiny_cfg(steps=2, data={"n_shapes": 6}, **kw).to_dict()))
    return path


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"experiment": "Exp2I"}, "experiment 'Exp1' -> 'Exp2I'"),
        ({"model": {"width": 0.125}}, "model.width 0.0625 -> 0.125"),
        ({"lr": 5e-4}, "lr 0.001 -> 0.0005"),
    ],
    ids=["experiment", "width", "config"],
)
def test_train_over_another_run_is_refused_unless_replace(tmp_path, tiny_cfg, cli_refuses, change, named):
    run = tmp_path / "run"
    common = ["--run-dir", run, "--quiet", "--device", "cpu"]
    assert main([str(a) for a in ["train", _cfg(tmp_path / "a.json", tiny_cfg), *common]]) == 0
    before = snapshot(run)
    assert {p.name for p in before} >= {"last.pt", "history.csv", "config.json"}
    other = _cfg(tmp_path / "b.json", tiny_cfg, **change)
    cli_refuses(["train", other, *common], run, named, "--replace")
    assert snapshot(run) == before
    assert main([str(a) for a in ["train", other, *common, "--replace"]]) == 0
    assert json.loads((run / "config.json").read_text()) == json.loads(other.read_text())


def test_a_config_json_of_another_run_without_checkpoint_is_refused(tmp_path, tiny_cfg, cli_refuses):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(tiny_cfg(experiment="Exp3I").to_dict()))
    before = snapshot(run)
    cli_refuses(["train", _cfg(tmp_path / "a.json", tiny_cfg), "--run-dir", run, "--quiet"], "config.json")
    assert snapshot(run) == before


def test_the_books_run_caches_replace_a_stale_run(tmp_path, tiny_cfg):
    """The package's own caches pass replace=True: a changed chapter parameter retrains there."""
    from faceflow.methods.flownets_checkpoints import checkpoint_status
    from faceflow.training import datasets
    from faceflow.training.loop import ensure_trained

    tr = datasets.FlyingShapes(4, (64, 64), seed=1)
    run = tmp_path / "outputs" / "smoke" / "runs" / "chairs" / "Exp1"
    kw = dict(train_data=tr, val_data=tr, device="cpu", progress=False)
    ensure_trained(tiny_cfg(), run, **kw)
    new = tiny_cfg(lr=5e-4)
    with pytest.raises(ValueError, match="holds a checkpoint"):
        ensure_trained(new, run, **kw)
    ensure_trained(new, run, replace=True, **kw)
    assert checkpoint_status(run / "last.pt")["config"] == new.to_dict()
