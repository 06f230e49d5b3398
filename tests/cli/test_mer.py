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
