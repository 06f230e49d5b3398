"""Sequences of a ground-truth source by layout: BP4D, CK+ (with its landmark folders), folders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceflow.io import layouts


def test_layout_adapters(tmp_path):
    for rel in ["bp4d/F001/T1", "bp4d/F001/T2", "bp4d/M003/T1"]:
        d = tmp_path / rel
        d.mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(d / f"{i}.jpg"), np.zeros((8, 8, 3), np.uint8))
    seqs = layouts.discover(tmp_path / "bp4d")
    assert [(s.name, s.subject) for s in seqs] == [("F001_T1", "F001"), ("F001_T2", "F001"), ("M003_T1", "M003")]
    ck = tmp_path / "ck" / "cohn-kanade-images" / "S005" / "001"
    ck.mkdir(parents=True)
    for i in range(1, 3):
        cv2.imwrite(str(ck / f"S005_001_{i:08d}.png"), np.zeros((8, 8), np.uint8))
    lmd = tmp_path / "ck" / "Landmarks" / "S005" / "001"
    lmd.mkdir(parents=True)
    (lmd / "S005_001_00000001_landmarks.txt").write_text("\n".join("   1.0e+02   2.0e+02" for _ in range(68)))
    seqs = layouts.discover(tmp_path / "ck")
    assert [(s.name, s.subject) for s in seqs] == [("S005_001", "S005")]
    assert seqs[0].landmarks == lmd


@pytest.mark.data
def test_openface_folder_layout(data_root):
    seqs = layouts.discover(data_root / "openface", layout="folder")
    names = {s.name for s in seqs}
    assert {"image_sequence", "default", "changeLighting", "multi_face"} <= names
