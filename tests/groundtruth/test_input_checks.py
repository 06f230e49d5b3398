"""Issue 23 part 4: inputs of the ground-truth writer and readers that would give a wrong number.

A manifest cut short or garbled, a landmark file with a frame more or less than its video,
frames of several sizes in one folder, frames numbered without zero padding: each is one line
naming the file (and the row or value), and nothing is written, or (numbering) the natural order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faceflow.groundtruth import dataset as gtdataset
from faceflow.io import layouts

from .conftest import grid_landmarks, texture


# ----------------------------------------------------------------------------- the manifest
def _damage(path, how):
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    if how == "cut":
        path.write_text(text[: len(text) - len(lines[-1]) // 2])
    elif how == "pair":
        cells = lines[2].split(",")
        cells[2] = "x"
        lines[2] = ",".join(cells)
        path.write_text("".join(lines))
    elif how == "status":
        path.write_text("".join(lines).replace(",ok,", ",okay,", 1))
    elif how == "no-flow":
        df = pd.read_csv(path)
        df.loc[1, "flow"] = np.nan
        df.to_csv(path, index=False)
    elif how == "extra-field":
        lines[3] = lines[3].rstrip("\n") + ",surplus\n"
        path.write_text("".join(lines))
    elif how == "binary":
        path.write_bytes(np.random.default_rng(0).bytes(300))
    elif how == "empty":
        path.write_bytes(b"")


DAMAGE = [
    ("cut", "cut short"),
    ("pair", "row 3: pair 'x' is not a number"),
    ("status", "row 2: status 'okay'"),
    ("no-flow", "row 3: an ok pair without its flow path"),
    ("extra-field", "not a readable manifest CSV"),
    ("binary", "manifest.csv"),
    ("empty", "not a readable manifest CSV"),
]


@pytest.mark.parametrize(("how", "message"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_manifest_is_one_line_naming_file_and_row(tmp_path, fake_gt, cli, one_line_error, how, message):
    face = fake_gt(tmp_path / "gt", {"a": ("s1", 3), "b": ("s2", 3)}, failed=0)
    _damage(face / "manifest.csv", how)
    with pytest.raises(ValueError) as exc:
        gtdataset.read_manifest(face, usable_only=True, absolute=True)
    msg = str(exc.value)
    assert msg.startswith(str(face / "manifest.csv")) and message in msg and "\n" not in msg, msg
    rc, _out, err = cli(["compare", "--face-dir", face, "--methods", "zero", "--quiet"])
    one_line_error(rc, err, 2, face / "manifest.csv", message)


def test_an_intact_manifest_reads_as_before(tmp_path, fake_gt):
    face = fake_gt(tmp_path / "gt", {"a": ("s1", 3)}, failed=1)
    df = gtdataset.read_manifest(face)
    assert df["pair"].tolist() == [0, 1, 2, 3] and df["status"].tolist() == ["ok"] * 3 + ["failed"]


# ----------------------------------------------------------------------------- landmark files
def _frames(folder, n, shape=(120, 160), names="{k:03d}.png", seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    base, p0 = texture(rng, shape), grid_landmarks(rng, shape)
    folder.mkdir(parents=True)
    for k in range(n):
        cv2.imwrite(str(folder / names.format(k=k + 1)), np.roll(base, k, axis=1))
    return np.stack([p0 + [k, 0.0] for k in range(n)])


@pytest.mark.parametrize("rows", [5, 7])
def test_landmarks_for_a_frame_more_or_less_are_refused(tmp_path, cli, one_line_error, rows):
    lm = _frames(tmp_path / "seq", 6)
    extra = np.concatenate([lm, lm[-1:] + [1.0, 0.0]])
    np.save(tmp_path / "lm.npy", extra[:rows])
    rc, _out, err = cli(["gt", tmp_path / "seq", tmp_path / "out", "--landmarks", tmp_path / "lm.npy"])
    one_line_error(rc, err, 2, tmp_path / "lm.npy", f"landmarks for {rows} frames", "has 6 frames")
    assert not (tmp_path / "out").exists()


def test_landmarks_for_every_frame_are_used(tmp_path):
    lm = _frames(tmp_path / "seq", 4)
    np.save(tmp_path / "lm.npy", lm)
    df = gtdataset.generate(
        tmp_path / "seq", tmp_path / "out", landmarks=tmp_path / "lm.npy", size=(48, 64), progress=False, verbose=False
    )
    assert (df["status"] == "ok").sum() == 3


# ----------------------------------------------------------------------------- frame folders
def test_frames_of_several_sizes_are_refused_before_anything_is_written(tmp_path, cli, one_line_error):
    import cv2

    _frames(tmp_path / "seq", 5)
    odd = tmp_path / "seq" / "004.png"
    cv2.imwrite(str(odd), np.zeros((100, 160, 3), np.uint8))
    rc, _out, err = cli(["gt", tmp_path / "seq", tmp_path / "out", "--quiet"])
    one_line_error(rc, err, 2, odd, "160x100 px", "one size")
    assert not (tmp_path / "out").exists()


def test_unpadded_frame_numbers_are_taken_in_natural_order(tmp_path):
    _frames(tmp_path / "seq", 12, names="frame{k}.png")
    (seq,) = layouts.discover(tmp_path / "seq")
    assert [p.name for p in seq.frames] == [f"frame{k}.png" for k in range(1, 13)]


@pytest.mark.parametrize("size", ["100000x100000", "0x512", "384x5000", "4x4"])
def test_absurd_sizes_are_refused(tmp_path, cli, one_line_error, size):
    _frames(tmp_path / "seq", 2)
    rc, _out, err = cli(["gt", tmp_path / "seq", tmp_path / "out", "--size", size])
    one_line_error(rc, err, 2, "--size", size)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="sides 8 to 4096"):
        gtdataset.GTOptions(size=tuple(int(v) for v in size.split("x"))).validate()
