"""Landmarks: tracking (detect once, track, re-detect, follow the tracked face), backends."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.groundtruth import landmarks as lmk


def square_face(cx, cy, size):
    """68 points spread in a box: a stand-in for a face's landmarks."""
    t = np.linspace(0, 1, 68)
    return np.stack([cx - size / 2 + size * t, cy - size / 2 + size * ((t * 7) % 1)], 1)


class FakeBackend:
    """Two faces; B is larger. Frame images are dicts {name: (cx, cy, size)}; detect counts calls."""

    def __init__(self):
        self.n_detect = 0

    def detect(self, img):
        self.n_detect += 1
        faces = [
            lmk.Face((cx - s // 2, cy - s // 2, cx + s // 2, cy + s // 2), square_face(cx, cy, s))
            for cx, cy, s in img.values()
        ]
        faces.sort(key=lambda f: f.box[2] - f.box[0], reverse=True)
        return faces

    def fit(self, img, box):
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        for fx, fy, s in img.values():  # the face under the box, else garbage
            if abs(fx - cx) < s / 2 and abs(fy - cy) < s / 2:
                return square_face(fx, fy, s)
        return square_face(cx + 500, cy, 5)


def test_tracker_detects_once_and_follows_tracked_face():
    be = FakeBackend()
    frames = [{"A": (100, 100, 80)}]  # only A at first
    for k in range(1, 6):
        frames.append({"A": (100 + 2 * k, 100, 80), "B": (300, 200, 120)})  # larger B appears
    frames.append({"B": (300, 200, 120)})  # A leaves
    frames.append({"A": (112, 101, 80), "B": (300, 200, 120)})  # A is back
    tr = lmk.track_sequence(frames, backend=be)
    assert tr.source[:6] == ["detect", "track", "track", "track", "track", "track"]
    np.testing.assert_allclose(tr.landmarks[5].mean(0), square_face(110, 100, 80).mean(0))
    assert tr.source[6] == "none" and np.isnan(tr.landmarks[6]).all()  # A missing: recorded, not B
    assert tr.source[7] == "detect"
    np.testing.assert_allclose(tr.landmarks[7].mean(0), square_face(112, 101, 80).mean(0))
    assert tr.missing == [6]


def test_box_iou():
    assert lmk.box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert lmk.box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert abs(lmk.box_iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-12


def test_face_alignment_backend_error_is_clear():
    try:
        be = lmk.get_backend("face-alignment")
    except lmk.LandmarkModelError as exc:
        assert "face-alignment" in str(exc) and "dlib" in str(exc)
    else:  # weights present on this machine: the backend works
        assert hasattr(be, "fit")
    with pytest.raises(ValueError, match="unknown landmark backend"):
        lmk.get_backend("openface")


def test_no_face_frame_is_recorded():
    blank = np.zeros((120, 160, 3), np.uint8)
    tr = lmk.track_sequence([blank, blank])
    assert tr.source == ["none", "none"] and np.isnan(tr.landmarks).all()


def test_smooth_respects_gaps():
    lm = np.zeros((5, 68, 2))
    lm[2] = np.nan
    lm[3:] = 10
    out = lmk.smooth_landmarks(lm, 1.0)
    assert np.isnan(out[2]).all() and (out[3:] == 10).all() and (out[:2] == 0).all()


@pytest.mark.data
def test_multi_face_video_keeps_tracked_face(data_root):
    from faceflow.io.images import read_video_frames

    frames = read_video_frames(data_root / "openface" / "multi_face.avi", max_frames=60)
    tr = lmk.track_sequence(frames)
    ok = np.isfinite(tr.landmarks).all(axis=(1, 2))
    assert ok.mean() > 0.8
    assert tr.n_detect < 10  # detected once, then tracked
    c = np.array([p.mean(0) for p in tr.landmarks[ok]])
    assert np.abs(np.diff(c, axis=0)).max() < 40, "the followed face jumped to another face"


def test_track_and_stabilize_is_track_then_stabilize_in_one_pass():
    from faceflow.studies.ground_truth.analysis import generated_sequence

    frames = generated_sequence(4)
    decoded = []

    def once(seq):  # counts how often each frame is read
        for f in seq:
            decoded.append(1)
            yield f

    track, stable = lmk.track_and_stabilize(once(frames))
    assert len(decoded) == len(frames)
    ref = lmk.track_sequence(frames)
    np.testing.assert_array_equal(track.landmarks, ref.landmarks)
    assert track.source == ref.source
    np.testing.assert_array_equal(stable, lmk.stabilize(frames, ref.landmarks, "lk"))
    _, smooth = lmk.track_and_stabilize(frames, method="smooth")
    np.testing.assert_array_equal(smooth, lmk.smooth_landmarks(ref.landmarks))
    with pytest.raises(ValueError, match="stabilize must be one of"):
        lmk.track_and_stabilize(frames, method="bogus")
