"""Issue 23 part 4: a face lost mid-clip never gives confident-looking ground truth.

Clips generated from the real dlib example photos (a face drifting slowly, 20 frames):

* ``normal``: the same face throughout;
* ``switch``: another person's photo takes its place from frame 10;
* ``blank``: frames 8-12 are grey;
* ``slide``: from frame 5 the face moves 14 px per frame to the right, out of the frame;
* ``blip``, ``swap3``: frames 3-5 grey, frames 13-15 another person (between two routine checks).

The tracker follows whatever its model fits where the face was; the periodic check
(:class:`faceflow.groundtruth.landmarks.FaceVerifier`) re-detects the face and compares it with
the first one, and the pairs of the frames where it fails are marked suspect (left out of
training and evaluation). The normal clip's ground truth is the same bytes with or without it.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from faceflow.groundtruth import dataset as gtdataset

H, W, N = 240, 320, 20
GEN = dict(size=(96, 128), mode="exact", progress=False, verbose=False)
pytestmark = pytest.mark.data


def _face_canvas(path):
    """The photo scaled so that its largest face is 120 px wide, and the shift that centres that face."""
    import cv2

    from faceflow.groundtruth.landmarks import dlib_detect_faces
    from faceflow.io.images import read_image

    img = read_image(path)
    x0, y0, x1, y1 = dlib_detect_faces(img)[0].box
    s = 120 / max(x1 - x0, y1 - y0)
    big = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    return big, (W / 2 - (x0 + x1) / 2 * s, H / 2 - (y0 + y1) / 2 * s)


def _frame(canvas, dx=0.0, dy=0.0):
    import cv2

    big, (cx, cy) = canvas
    m = np.float32([[1, 0, cx + dx], [0, 1, cy + dy]])
    return cv2.warpAffine(big, m, (W, H), flags=cv2.INTER_LINEAR, borderValue=(128, 128, 128))


@pytest.fixture(scope="module")
def clips(tmp_path_factory, data_root):
    from faceflow.io.images import write_image

    a = _face_canvas(data_root / "dlib_faces" / "Tom_Cruise_avp_2014_4.jpg")
    b = _face_canvas(data_root / "dlib_faces" / "bald_guys.jpg")
    drift = [(0.7 * k, 0.3 * k) for k in range(N)]
    grey = np.full((H, W, 3), 128, np.uint8)
    frames = {
        "normal": [_frame(a, *drift[k]) for k in range(N)],
        "switch": [_frame(a if k < 10 else b, *drift[k]) for k in range(N)],
        "blank": [grey if 8 <= k < 13 else _frame(a, *drift[k]) for k in range(N)],
        "slide": [_frame(a, 14.0 * max(0, k - 5)) for k in range(N)],
        # losses shorter than the interval between two routine checks (frames 0, 10): the cut is seen
        "blip": [grey if 3 <= k < 6 else _frame(a, *drift[k]) for k in range(N)],
        "swap3": [_frame(b if 13 <= k < 16 else a, *drift[k]) for k in range(N)],
    }
    root = tmp_path_factory.mktemp("clips")
    for name, fr in frames.items():
        for k, f in enumerate(fr):
            write_image(root / name / f"{k:03d}.png", f)
    return root


@pytest.fixture(scope="module")
def manifest(clips, tmp_path_factory):
    dst = tmp_path_factory.mktemp("gt") / "out"
    gtdataset.generate(clips, dst, **GEN)
    return dst, gtdataset.read_manifest(dst)


def _suspect(df, seq):
    rows = df[(df["sequence"] == seq) & (df["status"] == "ok")]
    return rows[rows["suspect"]]["pair"].tolist(), rows


def test_another_person_taking_the_place_makes_the_pairs_suspect(manifest):
    _, df = manifest
    pairs, rows = _suspect(df, "switch")
    assert pairs == list(range(9, 19))  # from the pair into the new face to the end
    assert all("another person" in c for c in rows[rows["suspect"]]["check"])


def test_blank_frames_make_their_pairs_suspect(manifest):
    _, df = manifest
    pairs, rows = _suspect(df, "blank")
    assert pairs == list(range(7, 13))  # pairs touching frames 8-12; the face is followed again after
    assert all("no face at the tracked landmarks" in c for c in rows[rows["suspect"]]["check"])


@pytest.mark.parametrize(("seq", "pairs"), [("blip", [2, 3, 4, 5]), ("swap3", [12, 13, 14, 15])])
def test_a_loss_between_two_routine_checks_is_found(manifest, seq, pairs):
    _, df = manifest
    assert _suspect(df, seq)[0] == pairs


def test_a_face_leaving_the_frame_is_never_an_unflagged_pair(manifest):
    _, df = manifest
    rows = df[df["sequence"] == "slide"]
    # from frame 15 more than half the face is outside: each such pair is suspect or skipped (no face)
    late = rows[rows["frame2"] >= 15]
    assert len(late) == 5 and ((late["status"] == "skipped") | late["suspect"]).all()
    assert not rows[rows["frame2"] <= 12]["suspect"].any()  # the face inside the frame: all usable


def test_a_normal_clip_is_untouched_by_the_checks(manifest, clips, tmp_path):
    dst, df = manifest
    pairs, rows = _suspect(df, "normal")
    assert pairs == [] and len(rows) == N - 1
    assert "lost_frames" not in json.loads((dst / "normal" / "meta.json").read_text())
    unchecked = tmp_path / "unchecked"
    gtdataset.generate(clips, unchecked, only=["normal"], verify_every=0, **GEN)
    for rel in ["landmarks.npy", "meta.json", "track.csv", *(f"flow/{k:06d}.flo" for k in range(N - 1))]:
        digest = [hashlib.sha256((d / "normal" / rel).read_bytes()).hexdigest() for d in (dst, unchecked)]
        assert digest[0] == digest[1], rel
    # the options file of the default is the one written before the checks existed
    assert "verify_every" not in (dst / gtdataset.OPTIONS).read_text()


def test_readers_leave_the_suspect_pairs_out_and_a_rerun_keeps_them_marked(manifest, clips):
    dst, df = manifest
    usable = gtdataset.read_manifest(dst, usable_only=True)
    flagged = set(zip(df[df["suspect"]]["sequence"], df[df["suspect"]]["pair"]))
    assert len(flagged) == 6 + 10 + 2 + 4 + 4 and not flagged & set(zip(usable["sequence"], usable["pair"]))
    before = (dst / gtdataset.MANIFEST).read_bytes()
    gtdataset.generate(clips, dst, **GEN)  # resumes: landmarks and pairs reused, the marks kept
    assert (dst / gtdataset.MANIFEST).read_bytes() == before
