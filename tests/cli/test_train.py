"""``faceflow train`` and ``faceflow eval`` end to end (chairs samples, a fake face dataset)."""

from __future__ import annotations

import pandas as pd
import pytest

from faceflow.methods import flownets_checkpoints


@pytest.mark.data
def test_cli_train_and_eval(tmp_path, data_root, capsys):
    from faceflow.cli.main import main

    out = tmp_path / "out"
    args = ["--profile", "smoke", "--output-dir", str(out), "--data-root", str(data_root), "--quiet", "--device", "cpu"]
    assert main(["train", "Exp1", "--train-set", "chairs", "--steps", "2", *args]) == 0
    ckpt = out / "runs" / "chairs" / "Exp1" / "last.pt"
    assert flownets_checkpoints.checkpoint_status(ckpt)["finished"]
    assert main(["eval", str(ckpt), "--on", "chairs", *args]) == 0
    csv = ckpt.with_name("eval_chairs.csv")
    df = pd.read_csv(csv)
    assert len(df) == 3 and {"epe", "aae"} <= set(df.columns) and csv.with_suffix(".png").is_file()
    assert "EPE" in capsys.readouterr().out


def test_cli_train_faces_from_fake_gt(tmp_path, capsys, fake_gt):
    from faceflow.cli.main import main

    face = fake_gt(tmp_path / "gt", {"a": ("s1", 4), "b": ("s2", 4), "c": ("s3", 4), "multi_face": ("m", 3)})
    out = tmp_path / "out"
    common = ["--profile", "smoke", "--output-dir", str(out), "--face-dir", str(face), "--quiet", "--device", "cpu"]
    assert main(["train", "Exp2II", "--steps", "1", *common]) == 0
    ckpt = out / "runs" / "faces" / "Exp2II" / "last.pt"
    _, cfg, _ = flownets_checkpoints.load_checkpoint(ckpt)
    assert cfg["data"]["exclude"] == ["multi_face"]
    assert main(["eval", str(ckpt), "--on", "faces", *common]) == 0
    assert (
        main(
            ["eval", str(ckpt), "--on", "faces", "--sequences", "multi_face", "--out", str(tmp_path / "x.csv"), *common]
        )
        == 0
    )
    assert len(pd.read_csv(tmp_path / "x.csv")) == 3
