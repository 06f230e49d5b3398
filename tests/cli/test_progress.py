"""Progress output (issue 14 row 12): tqdm bars on long loops, one switch to silence them."""

from __future__ import annotations

import pytest

from faceflow.cli.main import build_parser, main

#: Every command with a long loop over pairs, frames, folds or steps.
COMMANDS_WITH_PROGRESS = [
    ["gt", "SRC", "DST"],
    ["train", "Exp1"],
    ["eval", "last.pt"],
    ["flow", "farneback", "a.png", "b.png", "-o", "o.flo"],
    ["compare", "--face-dir", "gt"],
    ["mer", "loso"],
    ["mer", "generated"],
    ["mer", "published"],
]


@pytest.mark.parametrize("flag", ["--quiet", "--no-progress"])
@pytest.mark.parametrize("argv", COMMANDS_WITH_PROGRESS, ids=lambda a: " ".join(a[:2]))
def test_both_spellings_silence_every_command(argv, flag):
    parser = build_parser()
    assert parser.parse_args([*argv, flag]).quiet is True
    assert parser.parse_args(argv).quiet is False


def test_compare_shows_progress_per_pair_unless_quiet(tmp_path, capsys, fake_gt):
    face = fake_gt(tmp_path / "gt", {"a": ("s1", 3), "b": ("s2", 3), "c": ("s3", 3)})
    argv = ["compare", "--face-dir", str(face), "--methods", "zero"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "faces test: zero" in err and "faces test: loading pairs" in err  # tqdm bars on stderr
    for flag in ("--quiet", "--no-progress"):
        assert main([*argv, flag]) == 0
        assert capsys.readouterr().err == ""
