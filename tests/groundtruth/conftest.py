"""Generated inputs of the ground-truth writer: CK+-layout datasets with landmark files (no dlib)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest


def grid_landmarks(rng, shape, n=68) -> np.ndarray:
    """68 jittered grid points in the middle of an image of ``shape``."""
    h, w = shape
    xs, ys = np.meshgrid(np.linspace(0.25 * w, 0.75 * w, 9), np.linspace(0.2 * h, 0.8 * h, 8))
    return np.stack([xs.ravel(), ys.ravel()], 1)[:n] + rng.uniform(-2, 2, (n, 2))


def texture(rng, shape) -> np.ndarray:
    h, w = shape
    small = (rng.random((h // 4, w // 4, 3)) * 255).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def write_ckplus(root: Path, n_seq=2, n_frames=6, shape=(120, 160), seed=0, landmarks_of=None) -> Path:
    """A CK+ layout (``cohn-kanade-images/Sxxx/001/*.png`` + ``Landmarks``) of textured frames.

    Frame ``k`` of a sequence is its texture shifted by ``k`` px to the right, and its landmarks
    move with it; ``landmarks_of(seq_index, k, points)`` may replace the points of a frame.
    """
    rng = np.random.default_rng(seed)
    for s in range(n_seq):
        subj, seq = f"S{s + 1:03d}", "001"
        img_dir = root / "cohn-kanade-images" / subj / seq
        lm_dir = root / "Landmarks" / subj / seq
        img_dir.mkdir(parents=True)
        lm_dir.mkdir(parents=True)
        base, p0 = texture(rng, shape), grid_landmarks(rng, shape)
        for k in range(n_frames):
            stem = f"{subj}_{seq}_{k + 1:08d}"
            cv2.imwrite(str(img_dir / f"{stem}.png"), np.roll(base, k, axis=1))
            p = p0 + [k, 0.0]
            if landmarks_of is not None:
                p = landmarks_of(s, k, p)
            (lm_dir / f"{stem}_landmarks.txt").write_text("\n".join(f"{x:.6f} {y:.6f}" for x, y in p))
    return root


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(root).rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def ckplus():
    """``ckplus(root, n_seq, n_frames, shape, seed, landmarks_of)``: see :func:`write_ckplus`."""
    return write_ckplus
