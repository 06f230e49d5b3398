"""``faceflow mer clips``: says what is missing instead of failing; on real data, one row per clip."""

from __future__ import annotations

import pytest


def test_cli_mer_clips_reports_missing_data(tmp_path, capsys):
    from faceflow.cli.main import main

    rc = main(["mer", "clips", "--root", str(tmp_path), "--methods", "dis", "--quiet"])
    assert rc == 1 and "not available: micro-expression clips" in capsys.readouterr().out


@pytest.mark.data
def test_cli_mer_clips_on_real_clips(data_root, capsys):
    from faceflow.cli.main import main

    rc = main(["mer", "clips", "--root", str(data_root), "--methods", "dis", "--max-clips", "1", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "018_018_3_1" in out and "published image" in out


def test_cli_mer_generated_engines_agree(tmp_path, capsys):
    from faceflow.cli.main import main

    common = ["mer", "generated", "--root", str(tmp_path / "none"), "--methods", "dis", "--epochs", "3"]
    common += ["--max-folds", "2", "--identities", "3", "--per-class", "1", "--size", "48", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "batched")]) == 0
    batched = capsys.readouterr().out
    assert main([*common, "--out", str(tmp_path / "loop"), "--engine", "loop"]) == 0
    loop = capsys.readouterr().out

    def metrics(out):  # the summary lines without the last column (the fold seconds)
        return [line.rsplit(maxsplit=1)[0] for line in out.split("features")[0].splitlines() if line.strip()]

    assert "UF1" in batched and metrics(batched) == metrics(loop)
    assert (tmp_path / "batched" / "generated").is_dir() and (tmp_path / "loop" / "generated").is_dir()
