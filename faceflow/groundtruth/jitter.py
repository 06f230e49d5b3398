"""The jitter floor of the landmark ground truth: the motion it reports for faces that do not move.

Landmarks are fitted anew on every frame; even when a face holds perfectly still, sensor noise
and compression move the fits by a fraction of a pixel, and the ground truth of Sec. 3 turns
that into flow. Below that level a pair's ground-truth motion is mostly noise, so such pairs
cannot tell a method that follows the face from one that predicts zero.

Measurement: a real face frame is repeated ``n_frames`` times, each copy with independent
Gaussian pixel noise (``noise`` grey levels) and JPEG compression (``quality``), the two
frame-to-frame differences of a still face on video. The copies go through ``faceflow gt``
exactly as a clip does (detection, tracking, LK stabilisation, mesh, resampling, crop, resize,
valid mask), and each pair's ground-truth motion is averaged over its valid mask on the paper's
measurement grid (k = 1, half the stored size). The true motion is zero, so everything measured
is jitter. The **floor** is the 95th percentile of those per-pair means: a pair whose face motion
is below it is *still* (indistinguishable from jitter), above it *moving*.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from faceflow.flow.fields import paper_grid, resize_mask, to_grid
from faceflow.io.atomic import atomic_write_text

#: Share of still pairs whose motion lies below the floor.
FLOOR_QUANTILE = 0.95
#: Settings of :func:`measure`: frames per still clip, pixel noise (grey levels), JPEG quality,
#: stored size (H, W) and seed.
SETTINGS = {"n_frames": 12, "noise": 2.0, "quality": 90, "size": (384, 512), "seed": 0}


@dataclass
class JitterFloor:
    """Ground-truth motion of still faces.

    Attributes
    ----------
    per_pair : pandas.DataFrame
        ``source, pair, face_motion`` (mean ground-truth magnitude over the pair's valid mask,
        px of the k = 1 grid).
    settings : dict
        ``n_frames, noise, quality, size, seed``.
    missing : dict of str to str
    """

    per_pair: pd.DataFrame
    settings: dict
    missing: dict = field(default_factory=dict)

    @property
    def floor(self) -> float:
        """The :data:`FLOOR_QUANTILE` quantile of the still pairs' face motion (px of the k = 1 grid)."""
        return float(np.quantile(self.per_pair["face_motion"], FLOOR_QUANTILE))

    @property
    def mean(self) -> float:
        """Mean face motion of the still pairs."""
        return float(self.per_pair["face_motion"].mean())

    def by_source(self) -> pd.DataFrame:
        """Mean and largest face motion of each still clip, and its pairs.

        Returns
        -------
        pandas.DataFrame
            Index ``still clip of``.
        """
        g = self.per_pair.groupby("source")["face_motion"]
        out = pd.DataFrame({"pairs": g.size(), "mean face motion (px)": g.mean(), "largest (px)": g.max()})
        out.index.name = "still clip of"
        return out

    def to_json(self) -> str:
        """The measurement as JSON text (a cache).

        Returns
        -------
        str
        """
        return json.dumps({"settings": self.settings, "per_pair": self.per_pair.to_dict("list")}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JitterFloor:
        """Read back :meth:`to_json`.

        Parameters
        ----------
        text : str

        Returns
        -------
        JitterFloor
        """
        d = json.loads(text)
        return cls(pd.DataFrame(d["per_pair"]), d["settings"])


def still_frames(frame: np.ndarray, n_frames: int, noise: float, quality: int, rng) -> list[np.ndarray]:
    """``n_frames`` copies of ``frame``, each with its own Gaussian noise and JPEG compression.

    Parameters
    ----------
    frame : ndarray, shape (H, W, 3), uint8
    n_frames : int
    noise : float
        Standard deviation of the pixel noise, grey levels.
    quality : int
        JPEG quality (1-100).
    rng : numpy.random.Generator

    Returns
    -------
    list of ndarray
        RGB uint8 frames.

    Raises
    ------
    ValueError
        JPEG encoding fails.
    """
    import cv2

    out = []
    for _ in range(n_frames):
        noisy = np.clip(frame.astype(np.float32) + rng.normal(0.0, noise, frame.shape), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", noisy[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
            raise ValueError("JPEG encoding failed")
        out.append(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy())
    return out


def measure(
    sources: list[tuple[str, np.ndarray]],
    n_frames: int = 12,
    noise: float = 2.0,
    quality: int = 90,
    size: tuple[int, int] = (384, 512),
    seed: int = 0,
) -> JitterFloor:
    """Run ``faceflow gt`` on still clips made from ``sources`` and measure the motion it reports.

    Parameters
    ----------
    sources : list of (name, frame)
        Real RGB frames with one face each.
    n_frames, noise, quality : int, float, int
        See :func:`still_frames`.
    size : (H, W)
        The stored size (the dataset's).
    seed : int

    Returns
    -------
    JitterFloor
        ``per_pair`` holds every usable pair (sources without a face are left out, named in
        ``missing``).

    Raises
    ------
    ValueError
        No face is tracked on any still clip.
    """
    from faceflow.groundtruth.dataset import generate, manifest_refs, read_manifest
    from faceflow.io.images import write_image

    rng = np.random.default_rng(seed)
    settings = {"n_frames": n_frames, "noise": noise, "quality": quality, "size": list(size), "seed": seed}
    rows, missing = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        for name, frame in sources:
            folder = src / name
            folder.mkdir(parents=True)
            for k, f in enumerate(still_frames(frame, n_frames, noise, quality, rng)):
                write_image(folder / f"{k:04d}.png", f)
        dst = Path(tmp) / "gt"
        generate(src, dst, size=size, layout="folder", progress=False, verbose=False)
        m = read_manifest(dst, usable_only=True, absolute=True)
        for ref in manifest_refs(m):
            p = ref.load()
            grid = paper_grid(p.flow.shape)
            mag = np.linalg.norm(to_grid(p.flow, grid), axis=-1)
            valid = resize_mask(p.mask, grid)
            if valid.any():
                rows.append(
                    {"source": ref.name.split("/")[0], "pair": ref.name, "face_motion": float(mag[valid].mean())}
                )
        found = {r["source"] for r in rows}
        for name, _ in sources:
            if name not in found:
                missing[f"still clip {name}"] = "no face was tracked on this frame; left out"
    if not rows:
        raise ValueError("no face tracked on any still clip: the jitter floor cannot be measured")
    return JitterFloor(pd.DataFrame(rows), settings, missing)


def corpus_sources(data_root, n_sources: int = 8) -> list[tuple[str, np.ndarray]]:
    """The first frame of ``n_sources`` clips of the face corpus, evenly spread over its clips.

    Parameters
    ----------
    data_root : path-like or None
    n_sources : int

    Returns
    -------
    list of (name, frame)
        Empty without the corpus.
    """
    from faceflow.groundtruth.splits import evenly_spaced
    from faceflow.io.datasets import face_clips, locate
    from faceflow.io.images import iter_video_frames

    if data_root is None or locate("faces", data_root) is None:
        return []
    out = []
    for clip in evenly_spaced(face_clips(data_root), n_sources):
        first = next(iter_video_frames(clip.path, 1), None)
        if first is not None:
            out.append((clip.sequence, first))
    return out


def jitter_floor(data_root, cache: str | Path | None = None, n_sources: int = 8, **settings) -> JitterFloor:
    """The jitter floor of the corpus clips' ground truth, measured once and cached.

    Parameters
    ----------
    data_root : path-like or None
        The face corpus provides the frames; without it, dlib's example photos; without those,
        the generated fallback image (named in ``missing``).
    cache : path-like, optional
        JSON file: reused when it holds the same settings and sources.
    n_sources : int
        Still clips (one per source frame).
    **settings
        ``n_frames``, ``noise``, ``quality``, ``size``, ``seed`` of :func:`measure`.

    Returns
    -------
    JitterFloor
    """
    from faceflow.flow import synthetic
    from faceflow.io.datasets import DATASETS, locate
    from faceflow.io.images import list_images, read_image

    sources = corpus_sources(data_root, n_sources)
    missing = {}
    if not sources:
        folder = locate("dlib_faces", data_root) if data_root is not None else None
        photos = list_images(folder)[:n_sources] if folder is not None else []
        sources = [(p.stem, read_image(p)) for p in photos]
        missing["face corpus"] = "The face video corpus is not under the data root: still clips of dlib's photos."
        if not sources:
            sources = [("astronaut", synthetic.fallback_image())]
            missing["face photos"] = f"{DATASETS['dlib_faces'].hint} Using the astronaut photo."
    settings = {**SETTINGS, **settings}
    key = json.dumps(dict(settings, sources=[name for name, _ in sources]), sort_keys=True, default=list)
    if cache is not None and Path(cache).is_file():
        cached = JitterFloor.from_json(Path(cache).read_text())
        if cached.settings.get("key") == key:
            cached.missing = missing
            return cached
    result = measure(sources, **settings)
    result.settings["key"] = key
    result.missing.update(missing)
    if cache is not None:
        atomic_write_text(cache, result.to_json())
    return result


def profile_floor(profile: str, data_root, outputs) -> JitterFloor:
    """The jitter floor with ``profile``'s settings, cached in ``outputs/datasets/jitter-floor.json``.

    Parameters
    ----------
    profile : str
        ``groundtruth.jitter_sources`` still clips of ``groundtruth.jitter_frames`` frames.
    data_root : path-like or None
    outputs : faceflow.profiles.OutputLayout

    Returns
    -------
    JitterFloor
    """
    from faceflow import profiles

    gt = profiles.get(profile).groundtruth
    cache = outputs.root / "datasets" / "jitter-floor.json"
    return jitter_floor(data_root, cache, n_sources=gt.jitter_sources, n_frames=gt.jitter_frames)
