"""Every command answers a user mistake with ONE line ``faceflow <command>: error: ...`` and rc 2.

A representative set of bad inputs per command (issue 14, "Done when"): nonexistent paths, files
of the wrong type, unknown names, bad numbers, bad options. No Python traceback may reach the
terminal; ``faceflow --traceback`` is the way to see one.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from faceflow.cli.main import main


def run_cli(argv, capsys) -> tuple[int, str, str]:
    """``(rc, stdout, stderr)`` of ``faceflow *argv`` in-process (argparse exits are caught)."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, command, *fragments):
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    prefix = "faceflow: error: " if command == "" else f"faceflow {command}: error: "
    assert lines[0].startswith(prefix), lines[0]
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


@pytest.fixture
def files(tmp_path, translated):
    """Paths of good and bad inputs: two images, a text file, a .flo, random bytes as .pt, configs."""
    import cv2

    from faceflow.io.flo import write_flo

    a, b = translated(1.0, 0.0, 32, 48)
    cv2.imwrite(str(tmp_path / "a.png"), a[:, :, ::-1])
    cv2.imwrite(str(tmp_path / "b.png"), b[:, :, ::-1])
    (tmp_path / "notes.txt").write_text("not an image")
    write_flo(tmp_path / "x.flo", np.zeros((4, 4, 2), np.float32))
    (tmp_path / "random.pt").write_bytes(np.random.default_rng(0).bytes(600))
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "keys.json").write_text(json.dumps({"experiment": "Exp1", "bogus": 1}))
    (tmp_path / "types.json").write_text(json.dumps({"experiment": "Exp1", "train_set": "chairs", "steps": "x"}))
    return tmp_path


# (command, arguments with {t} for the tmp folder, fragments the one line must contain)
CASES = [
    ("", "nosuch", ["invalid choice: 'nosuch'"]),
    ("flow", "flow nosuch {t}/a.png {t}/b.png -o {t}/o.flo", ["unknown flow method 'nosuch'", "PWC-Net"]),
    ("flow", "flow Exp2II {t}/a.png {t}/b.png -o {t}/o.flo", ["Exp2II", "--runs"]),
    ("flow", "flow farneback {t}/missing.png {t}/b.png -o {t}/o.flo", ["missing.png: no such image"]),
    ("flow", "flow farneback {t}/notes.txt {t}/b.png -o {t}/o.flo", ["notes.txt: not a readable image"]),
    ("flow", "flow farneback {t}/a.png {t}/b.png -o {t}/o.flo --png {t}/o.xyz", ["o.xyz"]),
    ("flow", "flow farneback {t}/a.png", ["usage"]),
    ("flow", "flow --runs {t}/nope --list", ["nope: no such runs folder"]),
    ("flow", "flow --bogus", ["unrecognized arguments: --bogus"]),
    ("compare", "compare --face-dir {t}/nope", ["manifest"]),
    ("compare", "compare --face-dir {t} --max-pairs 0", ["--max-pairs", "'0'"]),
    ("eval", "eval {t}/x.flo", ["x.flo: not a faceflow checkpoint"]),
    ("eval", "eval {t}/random.pt", ["random.pt: not a faceflow checkpoint"]),
    ("eval", "eval {t}/nope.pt", ["nope.pt: no such faceflow checkpoint"]),
    ("eval", "eval {t}/x.flo --max-pairs -1", ["--max-pairs"]),
    ("train", "train ExpX", ["unknown experiment 'ExpX'"]),
    ("train", "train {t}/nope.json", ["nope.json: no such config file"]),
    ("train", "train {t}/bad.json", ["bad.json: not a JSON config"]),
    ("train", "train {t}/list.json", ["list.json", "JSON object"]),
    ("train", "train {t}/keys.json", ["keys.json: unknown config keys ['bogus']"]),
    ("train", "train {t}/types.json", ["types.json: bad config value"]),
    ("train", "train Exp1 --steps -3", ["--steps", "integer >= 1", "'-3'"]),
    ("train", "train Exp1 --steps x", ["--steps", "'x'"]),
    ("train", "train Exp1 --lr-multiplier nan", ["--lr-multiplier", "'nan'"]),
    ("train", "train Exp1 --device gpu", ["--device", "'gpu'"]),
    ("data", "data --root {t}/nope", ["does not exist"]),
    ("gt", "gt {t}/nope {t}/out", ["nope: no such file or folder"]),
    ("gt", "gt {t}/notes.txt {t}/out", ["notes.txt: not a video"]),
    ("gt", "gt {t} {t}/out --workers 0", ["--workers", "'0'"]),
    ("gt", "gt {t} {t}/out --alpha 1.5", ["--alpha", "[0, 1]"]),
    ("gt", "gt {t} {t}/out --offset -5", ["--offset", "'-5'"]),
    ("gt", "gt {t} {t}/out --size 384", ["--size", "HxW"]),
    ("mer features", "mer features --gif {t}/nope.gif {t}/f.png", ["nope.gif"]),
    ("mer features", "mer features --onset {t}/a.png {t}/f.png", ["--gif or both --onset and --apex"]),
    ("mer features", "mer features --onset {t}/a.png --apex {t}/b.png --method nosuch {t}/f.png", ["nosuch"]),
    ("mer published", "mer published --root {t}/nope", ["does not exist"]),
    ("mer loso", "mer loso --epochs 0", ["--epochs"]),
    ("mer clips", "mer clips --max-clips 0", ["--max-clips"]),
    ("tables", "tables --only 02_flownet", ["no such chapter", "02_flownet"]),
    ("mer generated", "mer generated --methods nosuch --root {t}", ["unknown flow method 'nosuch'"]),
    ("mer published", "mer published --bogus", ["unrecognized arguments: --bogus"]),
    ("book", "book --param seed", ["KEY=VALUE"]),
    ("book", "book --param seed=x", ["parameter seed='x' is not an integer"]),
    ("book", "book --param bogus=1", ["unknown parameter 'bogus'"]),
    ("book", "book --param device=gpu", ["device must be auto, cpu or cuda"]),
    ("book", "book --param profile=bogus", ["--profile"]),
    ("book", "book --param data_root={t}/nope", ["nope", "does not exist"]),
    ("book", "book --only 02_flownet", ["no such chapter"]),
    ("book", "book --profile bogus", ["--profile", "'bogus'"]),
]


@pytest.mark.parametrize(("command", "argv", "fragments"), CASES, ids=[c[1][:60] for c in CASES])
def test_bad_input_gives_one_line_and_rc_2(files, capsys, command, argv, fragments):
    rc, _out, err = run_cli(argv.format(t=files).split(), capsys)
    assert_one_line_error(rc, err, command, *fragments)


def test_traceback_option_shows_the_exception(files):
    with pytest.raises(ValueError, match="not a faceflow checkpoint"):
        main(["--traceback", "eval", str(files / "x.flo")])


@pytest.fixture
def nan_face_dir(tmp_path, fake_gt):
    """A fake ``faceflow gt`` folder whose every ground-truth .flo holds a NaN pixel."""
    from faceflow.io.flo import read_flo, write_flo

    face = fake_gt(tmp_path / "gt", {"a": ("s1", 3), "b": ("s2", 3), "c": ("s3", 3)}, size=(64, 64))
    for flo in face.rglob("*.flo"):
        flow = read_flo(flo)
        flow[5, 7] = np.nan
        write_flo(flo, flow)
    return face


def test_train_on_nan_ground_truth_names_the_file(nan_face_dir, tmp_path, capsys):
    """Issue 14 row 2: `train` stops with an error naming the .flo, not a non-finite loss."""
    argv = ["train", "Exp2II", "--steps", "1", "--face-dir", nan_face_dir, "--output-dir", tmp_path / "out"]
    rc, _out, err = run_cli([*argv, "--profile", "smoke", "--quiet", "--device", "cpu"], capsys)
    assert_one_line_error(rc, err, "train", ".flo: 1 of 4096 pixels have unknown flow")
    assert str(nan_face_dir) in err


def test_eval_on_nan_ground_truth_names_the_file(nan_face_dir, tmp_path, capsys, tiny_cfg):
    """Issue 14 row 2: `eval` never prints a mean over fewer pairs; it stops naming the file."""
    from faceflow.training.checkpoints import build_model, save_checkpoint

    cfg = tiny_cfg(train_set="faces", experiment="Exp2II")
    ckpt = tmp_path / "last.pt"
    save_checkpoint(ckpt, build_model(cfg), None, cfg.steps, cfg, {"finished": True})
    argv = ["eval", ckpt, "--on", "faces", "--split", "train", "--face-dir", nan_face_dir, "--quiet"]
    rc, out, err = run_cli([*argv, "--device", "cpu"], capsys)
    assert_one_line_error(rc, err, "eval", ".flo: 1 of 4096 pixels have unknown flow")
    assert "EPE" not in out and not (tmp_path / "eval_faces.csv").exists()


def test_a_real_process_prints_one_line_and_exits_2(tmp_path):
    """`python -m faceflow.cli` (what the `faceflow` script runs): one stderr line, rc 2, no traceback."""
    import subprocess
    import sys

    (tmp_path / "x.flo").write_bytes(b"PIEH" + bytes(40))
    proc = subprocess.run(
        [sys.executable, "-m", "faceflow.cli", "eval", str(tmp_path / "x.flo")], capture_output=True, text=True
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert_one_line_error(proc.returncode, proc.stderr, "eval", "x.flo: not a faceflow checkpoint")
