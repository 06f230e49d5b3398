"""Landmark files: OpenFace CSVs, CK+ text files and folders, .npy arrays."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.io import landmark_files


def test_read_openface_csv(tmp_path):
    cols = ["frame", " face_id", " timestamp", " confidence", " success"]
    cols += [f" x_{i}" for i in range(68)] + [f" y_{i}" for i in range(68)]
    rows = []
    for f, (conf, ok) in enumerate([(0.98, 1), (0.2, 0), (0.9, 1)]):
        rows.append(
            [f + 1, 0, f / 30, conf, ok] + [float(i + f) for i in range(68)] + [float(2 * i) for i in range(68)]
        )
    text = ", ".join(cols) + "\n" + "\n".join(", ".join(str(v) for v in r) for r in rows)
    p = tmp_path / "of.csv"
    p.write_text(text)
    lm = landmark_files.read_openface_csv(p)
    assert lm.shape == (3, 68, 2)
    assert np.isnan(lm[1]).all()
    assert lm[2, 5, 0] == 7.0 and lm[2, 5, 1] == 10.0
    assert np.isnan(landmark_files.read_landmarks(p)[1]).all()


def test_read_ckplus_and_npy(tmp_path):
    p = tmp_path / "S005_001_00000001_landmarks.txt"
    p.write_text("\n".join(f"   {i:.7e}   {2 * i:.7e}" for i in range(68)) + "\n")
    one = landmark_files.read_ckplus_txt(p)
    assert one.shape == (68, 2) and one[3, 1] == 6.0
    seq = landmark_files.read_ckplus_sequence(
        tmp_path, [tmp_path / "S005_001_00000001.png", tmp_path / "S005_001_00000002.png"]
    )
    assert np.isfinite(seq[0]).all() and np.isnan(seq[1]).all()
    np.save(tmp_path / "a.npy", np.zeros((4, 68, 2)))
    assert landmark_files.read_landmarks(tmp_path / "a.npy").shape == (4, 68, 2)
    (tmp_path / "bad.txt").write_text("1 2 3")
    with pytest.raises(ValueError, match="68"):
        landmark_files.read_ckplus_txt(tmp_path / "bad.txt")
