"""``faceflow flow``: a .flo file from two images, the method list, readable errors."""

from __future__ import annotations

import numpy as np
import pytest


def test_cli_flow_writes_a_flo_file(tmp_path, capsys, translated):
    import cv2

    from faceflow.cli.main import main
    from faceflow.io.flo import read_flo

    a, b = translated(2.0, 0.0)
    cv2.imwrite(str(tmp_path / "a.png"), a[:, :, ::-1])
    cv2.imwrite(str(tmp_path / "b.png"), b[:, :, ::-1])
    out = tmp_path / "out.flo"
    rc = main(
        [
            "flow",
            "farneback",
            str(tmp_path / "a.png"),
            str(tmp_path / "b.png"),
            "-o",
            str(out),
            "--png",
            str(tmp_path / "out.png"),
        ]
    )
    assert rc == 0 and (tmp_path / "out.png").is_file()
    flow = read_flo(out)
    assert np.median(flow[20:-20, 20:-20, 0]) == pytest.approx(2.0, abs=0.25)
    assert main(["flow", "--list"]) == 0
    assert "weights not available" in capsys.readouterr().out
    rc = main(
        [
            "flow",
            "PWC-Net",
            str(tmp_path / "a.png"),
            str(tmp_path / "b.png"),
            "-o",
            str(out),
        ]
    )
    assert rc == 2 and "weights not available" in capsys.readouterr().err


def test_cli_flow_png_into_a_missing_folder_is_made(tmp_path, translated):
    """Issue 14 row 10: `--png` into a folder that does not exist yet writes the image there."""
    import cv2

    from faceflow.cli.main import main
    from faceflow.io.images import read_image

    a, b = translated(1.0, 0.0, 32, 48)
    cv2.imwrite(str(tmp_path / "a.png"), a[:, :, ::-1])
    cv2.imwrite(str(tmp_path / "b.png"), b[:, :, ::-1])
    png = tmp_path / "new" / "folder" / "flow.png"
    args = ["flow", "zero", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "o.flo")]
    assert main([*args, "--png", str(png), "--quiet"]) == 0
    assert read_image(png).shape == (32, 48, 3)


def test_cli_flow_list_shows_every_kind_of_method(capsys):
    """Issue 14 row 8: the list holds every registered method and every known one that cannot run now."""
    from faceflow.cli.main import main
    from faceflow.methods import available_methods
    from faceflow.methods.pretrained import PAPER_CNNS
    from faceflow.training.experiments import NAMES

    assert main(["flow", "--list"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert set(available_methods()) | set(NAMES) | set(PAPER_CNNS) <= listed


@pytest.mark.parametrize("command", ["flow", "compare", "weights"])
def test_cli_help_of_the_flow_commands_prints(command, capsys):
    from faceflow.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0 and f"usage: faceflow {command}" in capsys.readouterr().out
