"""Features from real clips: face crop, apex, feature shape and range, channel correlations."""

import numpy as np
import pytest

from faceflow.flow.warp import warp_forward
from faceflow.mer import clips
from faceflow.mer.data import ClipName, MEClip


def _texture(h=64, w=64, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 2)
    img = (img - img.min()) / (img.max() - img.min()) * 255
    return np.repeat(img[..., None], 3, 2)


def _bump_flow(h, w, amp):
    """A local (non-rigid) motion: a Gaussian bump moving down."""
    ys, xs = np.mgrid[0:h, 0:w]
    g = np.exp(-((xs - w / 2) ** 2 + (ys - h / 2) ** 2) / (2 * 6.0**2))
    return np.stack([np.zeros_like(g), amp * g], -1).astype(np.float32)


def _clip():
    base = _texture()
    h, w = base.shape[:2]
    frames = [base]
    for amp in (0.5, 1.5, 0.8):  # expression peaks at frame 2
        frames.append(warp_forward(base, _bump_flow(h, w, amp), interpolation="cubic", border="reflect"))
    # frame 4: a large pure translation (head drift), more motion but none of it non-rigid
    frames.append(np.roll(base, 3, axis=1))
    return np.clip(np.stack(frames), 0, 255).round().astype(np.uint8)


def test_apex_is_largest_nonrigid_motion_not_largest_motion():
    frames = _clip()
    k, motion = clips.apex_index(frames, "farneback")
    assert k == 2 and motion[0] == 0 and len(motion) == len(frames)
    with pytest.raises(ValueError):
        clips.apex_index(frames[:1])


def test_nonrigid_motion_ignores_affine_motion():
    ys, xs = np.mgrid[0:30, 0:40].astype(np.float32)
    affine = np.stack([0.01 * xs + 2, -0.02 * ys + 0.5], -1)
    assert clips.nonrigid_motion(affine) == pytest.approx(0, abs=1e-6)
    assert clips.nonrigid_motion(affine + _bump_flow(30, 40, 1.0)) > 0.01


def test_face_crop_box_without_face_is_whole_frame():
    img = np.zeros((30, 40, 3), np.uint8)
    assert clips.face_crop_box(img, 0.15) == (0, 0, 40, 30)
    with pytest.raises(ValueError):
        clips.face_crop_box(img, -0.1)


def test_clip_features_shape_range_and_labels(tmp_path):
    frames = _clip()
    clip = MEClip(tmp_path / "s3_po_05.gif", ClipName("smic", "s03", "s03_s03_po_05", 1))
    pair = clips.ClipPair(clip, frames[0], frames[2], 2, len(frames), (0, 0, 64, 64))
    ds = clips.clip_features([pair, pair], "farneback")
    assert ds.images.shape == (2, 28, 28, 3) and ds.images.dtype == np.uint8
    # every channel min-max normalised: spans exactly 0..255 (the published images' range)
    assert (ds.images.min(axis=(1, 2)) == 0).all() and (ds.images.max(axis=(1, 2)) == 255).all()
    assert list(ds.labels) == [1, 1] and list(ds.names) == ["s3_po_05", "s3_po_05"]
    unlabelled = MEClip(tmp_path / "sub17_EP01_13.gif", ClipName("casme2", "sub17", "sub17_EP01_13", None))
    p2 = clips.ClipPair(unlabelled, frames[0], frames[2], 2, len(frames), (0, 0, 64, 64))
    with pytest.raises(ValueError, match="no class"):
        clips.clip_features([p2], "farneback")
    assert clips.clip_features([p2], "farneback", {"sub17_EP01_13": 2}).labels[0] == 2


def test_channel_correlations_by_hand():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (28, 28, 3)).astype(np.uint8)
    b = a.copy()
    b[..., 1] = 255 - a[..., 1]  # v inverted
    b[..., 2] = 7  # constant strain
    r = clips.channel_correlations(a, b)
    assert r[0] == pytest.approx(1.0) and r[1] == pytest.approx(-1.0) and r[2] == 0.0
    with pytest.raises(ValueError):
        clips.channel_correlations(a, b[:, :, :2])


@pytest.mark.data
def test_real_clips_match_published_tvl1(data_root):
    """The SMIC clips in the dataset's own crop reproduce the published TV-L1 image closely."""
    from faceflow.mer import data as merdata

    clip = next(c for c in merdata.me_clips(data_root) if c.path.stem == "1_9-Surprise_s20_sur_01")
    pair = clips.clip_pair(clip)
    ours = clips.clip_features([pair], "tvl1").images[0]
    pub, label = clips.published_images(data_root, [clip.sample])[clip.sample]
    assert label == 2 and min(clips.channel_correlations(ours, pub)[:2]) > 0.8
