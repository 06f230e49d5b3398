"""The studies of the ground-truth chapter (01): a demonstration sequence and what it shows.

* :func:`demo_sequence`: the OpenFace sample sequence (or a generated stand-in) with its tracked
  and stabilised landmarks and the Delaunay mesh;
* :func:`photometric_check`: does the flow explain the images (warp error against zero flow);
* :func:`compare_modes`: ``paper`` against ``exact`` mode (the paper's resampling error);
* :func:`face_dataset`: generate (or reuse) the OpenFace face dataset and tabulate it;
* :func:`flow_magnitudes`: magnitude statistics of the written dataset.

Each result that may lack data carries ``missing: dict[str, str]`` (shown by ``ch.report``).
Whether data is present is decided with :func:`faceflow.io.datasets.locate`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from faceflow.flow import synthetic
from faceflow.flow.metrics import epe
from faceflow.flow.warp import photometric_error
from faceflow.groundtruth import landmarks as lmk
from faceflow.groundtruth import mesh as gt
from faceflow.io import datasets
from faceflow.io.atomic import atomic_write_text
from faceflow.io.images import list_images, read_image, read_video_frames

#: Width of the band along the mesh boundary left out of the "interior" EPE (erosion kernel, px).
INTERIOR_KERNEL = 7


# ----------------------------------------------------------------------------- the demo sequence
@dataclass
class DemoSequence:
    """Frames of one sequence with their landmarks and the mesh topology.

    Attributes
    ----------
    frames : list of ndarray
        RGB uint8 frames.
    name : str
        ``image_sequence`` (the OpenFace sample) or ``generated``.
    label : str
        Human-readable source.
    track : TrackResult
        Raw tracker output (dlib fits).
    landmarks : ndarray, shape (N, 68, 2)
        Stabilised landmarks (``lk``), the ones the ground truth uses.
    simplices : ndarray, shape (Nt, 3)
        Delaunay triangles of the first frame.
    seconds_track : float
        Wall-clock seconds of :func:`~faceflow.groundtruth.landmarks.track_sequence`.
    missing : dict of str to str
    """

    frames: list[np.ndarray]
    name: str
    label: str
    track: lmk.TrackResult
    landmarks: np.ndarray
    simplices: np.ndarray
    seconds_track: float
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the frames."""
        return self.frames[0].shape[:2]

    @cached_property
    def exact(self) -> list[gt.PairOutcome]:
        """``exact``-mode outcomes of every pair (stabilised landmarks), computed once."""
        t0 = time.perf_counter()
        out = list(gt.sequence_flows(self.landmarks, self.shape, "exact", simplices=self.simplices))
        self.seconds_exact_per_pair = (time.perf_counter() - t0) / max(len(out), 1)
        return out

    def summary_values(self) -> dict:
        """Numbers for the page: ``frames`` and ``triangles``.

        Returns
        -------
        dict
        """
        return {"frames": len(self.frames), "triangles": len(self.simplices)}

    def describe(self) -> str:
        """Two lines: frames, landmark sources and mesh size; the landmark timing.

        Returns
        -------
        str
        """
        sources = pd.Series(self.track.source).value_counts().to_dict()
        n = len(self.frames)
        return (
            f"{self.label}: {n} frames {self.shape[1]}x{self.shape[0]}; landmark sources: {sources}; "
            f"{len(self.simplices)} triangles\n"
            f"landmarks: {self.track.n_detect} detection(s), {self.track.seconds_detect * 1e3:.0f} ms detecting, "
            f"{self.track.seconds_track / max(n - 1, 1) * 1e3:.1f} ms per tracked frame"
        )


def generated_sequence(n_frames: int) -> list[np.ndarray]:
    """The astronaut photo under small growing similarity motions: ``n_frames`` RGB frames.

    Parameters
    ----------
    n_frames : int

    Returns
    -------
    list of ndarray
        (512, 512, 3) uint8 frames; frame ``k`` is scaled by ``1 + 0.003 k``, rotated by ``0.3 k``
        degrees about (256, 256) and shifted by ``(0.8 k, 0.4 k)`` px.
    """
    base = synthetic.fallback_image()
    return [
        synthetic.affine_pair(base, synthetic.similarity(1 + 0.003 * k, 0.3 * k, 0.8 * k, 0.4 * k, (256, 256))).img2
        for k in range(n_frames)
    ]


def demo_sequence(data_root: str | Path | None, n_frames: int) -> DemoSequence:
    """The first ``n_frames`` frames of the OpenFace sample sequence, tracked and stabilised.

    Parameters
    ----------
    data_root : path-like or None
    n_frames : int
        Frames to use (at least 2).

    Returns
    -------
    DemoSequence
        Without the OpenFace frames, :func:`generated_sequence` (said in ``missing``).

    Raises
    ------
    ValueError
        ``n_frames < 2``, or no face on the first frame.
    """
    if n_frames < 2:
        raise ValueError(f"n_frames must be >= 2, got {n_frames}")
    missing: dict[str, str] = {}
    folder = datasets.locate("openface_frames", data_root)
    paths = list_images(folder)[:n_frames] if folder is not None else []
    if paths:
        frames = [read_image(p) for p in paths]
        name, label = "image_sequence", "OpenFace image_sequence"
    else:
        missing["OpenFace frames"] = (
            f"{datasets.DATASETS['openface_frames'].hint} Using the astronaut photo under small generated motions."
        )
        frames = generated_sequence(n_frames)
        name, label = "generated", "astronaut (generated motion)"
    t0 = time.perf_counter()
    track = lmk.track_sequence(frames)
    seconds = time.perf_counter() - t0
    lms = lmk.stabilize(frames, track.landmarks, "lk")
    if not np.isfinite(lms[0]).all():
        raise ValueError(f"{label}: no face found on the first frame")
    return DemoSequence(frames, name, label, track, lms, gt.triangulate(lms[0]), seconds, missing)


# ----------------------------------------------------------------------------- photometric check
@dataclass
class PhotometricCheck:
    """Face photometric error of frame k+1 warped back by the ground truth, against zero flow.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``pair``; columns ``zero flow``, ``ground truth`` (mean absolute grey-level error on
        the face) and ``lower`` (the ground truth lowers it).
    raw_mean : float
        Mean ``ground truth`` error with the raw (unstabilised) dlib landmarks.
    raw_lower_share : float
        Share of pairs the raw landmarks' flow lowers the error for.
    """

    table: pd.DataFrame
    raw_mean: float
    raw_lower_share: float

    def summary_values(self) -> dict:
        """Formatted numbers for the page: ``lower``, ``pairs``, ``zero``, ``gt`` (mean errors),
        ``raw_mean`` and ``raw_lower`` (the raw landmarks).

        Returns
        -------
        dict
        """
        return {
            "lower": self.n_lower,
            "pairs": len(self.table),
            "zero": f"{self.table['zero flow'].mean():.3f}",
            "gt": f"{self.table['ground truth'].mean():.3f}",
            "raw_mean": f"{self.raw_mean:.3f}",
            "raw_lower": f"{self.raw_lower_share:.0%}",
        }

    @property
    def n_lower(self) -> int:
        """Pairs whose error the ground truth lowers."""
        return int(self.table["lower"].sum())

    @property
    def best_pair(self) -> int:
        """The pair the flow explains best (largest drop of the error)."""
        return int(self.table["ground truth"].sub(self.table["zero flow"]).idxmin())


def photometric_check(demo: DemoSequence, csv_path: str | Path | None = None) -> PhotometricCheck:
    """Warp error of the ground truth (stabilised and raw landmarks) against zero flow, per pair.

    Parameters
    ----------
    demo : DemoSequence
    csv_path : path-like, optional
        Write :attr:`PhotometricCheck.table` there.

    Returns
    -------
    PhotometricCheck
    """
    imgs = demo.frames
    rows = []
    for o in demo.exact:
        f, m = o.result.flow, o.result.mask
        rows.append(
            {
                "pair": o.pair,
                "zero flow": photometric_error(imgs[o.pair], imgs[o.pair + 1], np.zeros_like(f), m),
                "ground truth": photometric_error(imgs[o.pair], imgs[o.pair + 1], f, m),
            }
        )
    table = pd.DataFrame(rows).set_index("pair")
    table["lower"] = table["ground truth"] < table["zero flow"]
    if csv_path is not None:
        atomic_write_text(csv_path, table.to_csv())
    raw = [
        o
        for o in gt.sequence_flows(demo.track.landmarks, demo.shape, "exact", simplices=demo.simplices)
        if o.status == "ok"
    ]
    raw_err = np.array([photometric_error(imgs[o.pair], imgs[o.pair + 1], o.result.flow, o.result.mask) for o in raw])
    zero = table.loc[[o.pair for o in raw], "zero flow"].to_numpy()
    return PhotometricCheck(table, float(raw_err.mean()), float(np.mean(raw_err < zero)))


# ----------------------------------------------------------------------------- paper vs exact
def mode_differences(landmarks: np.ndarray, shape: tuple[int, int], name: str) -> tuple[pd.DataFrame, float, float]:
    """EPE between ``paper`` and ``exact`` mode on every pair of one sequence.

    Parameters
    ----------
    landmarks : ndarray, shape (N, 68, 2)
        NaN rows for frames without a face.
    shape : (H, W)
    name : str
        Written in the ``sequence`` column.

    Returns
    -------
    rows : pandas.DataFrame
        One row per ``ok`` pair: ``sequence, pair, EPE face, EPE interior, mean |u| face`` (the
        interior leaves out a band of :data:`INTERIOR_KERNEL` px along the mesh boundary).
    paper_seconds, exact_seconds : float
        Seconds per pair of each mode.

    Raises
    ------
    ValueError
        No frame of the sequence has a face.
    """
    import cv2

    lm = np.asarray(landmarks, np.float64)
    has = np.isfinite(lm).all(axis=(1, 2))
    if not has.any():
        raise ValueError(f"{name}: no frame with a face")
    simplices = gt.triangulate(lm[has][0])
    t = time.perf_counter()
    paper = list(gt.sequence_flows(lm, shape, "paper", simplices=simplices))
    tp = time.perf_counter() - t
    t = time.perf_counter()
    exact = list(gt.sequence_flows(lm, shape, "exact", simplices=simplices))
    te = time.perf_counter() - t
    kernel = np.ones((INTERIOR_KERNEL, INTERIOR_KERNEL), np.uint8)
    rows = []
    for a, b in zip(paper, exact):
        if b.status != "ok":
            continue
        m = b.result.mask
        inner = cv2.erode(m.astype(np.uint8), kernel).astype(bool)
        mag = np.linalg.norm(b.result.flow, axis=2)
        rows.append(
            {
                "sequence": name,
                "pair": b.pair,
                "EPE face": epe(a.result.flow, b.result.flow, m),
                "EPE interior": epe(a.result.flow, b.result.flow, inner) if inner.any() else np.nan,
                "mean |u| face": float(mag[m].mean()),
            }
        )
    n = max(len(rows), 1)
    return pd.DataFrame(rows), tp / n, te / n


@dataclass
class ModeComparison:
    """``paper`` against ``exact`` mode.

    Attributes
    ----------
    per_pair : pandas.DataFrame
        Rows of :func:`mode_differences` for every sequence compared.
    table : pandas.DataFrame
        Per sequence: mean EPE face / interior, mean ``|u|``, pairs, seconds per pair of each mode.
    first_pair_max_epe : float
        Largest EPE on the first pair of a sequence (no resampling there: float precision).
    missing : dict of str to str
    """

    per_pair: pd.DataFrame
    table: pd.DataFrame
    first_pair_max_epe: float
    missing: dict[str, str] = field(default_factory=dict)


def sample_video(data_root: str | Path | None, stem: str = "default") -> Path | None:
    """The OpenFace sample video named ``stem`` (any video extension), or None when absent.

    Parameters
    ----------
    data_root : path-like or None
    stem : str

    Returns
    -------
    pathlib.Path or None
    """
    from faceflow.io.images import VIDEO_EXTS

    folder = datasets.locate("openface", data_root)
    if folder is None:
        return None
    return next((p for p in sorted(folder.iterdir()) if p.stem == stem and p.suffix.lower() in VIDEO_EXTS), None)


def compare_modes(
    demo: DemoSequence, data_root: str | Path | None, video_frames: int, csv_path: str | Path | None = None
) -> ModeComparison:
    """Compare the modes on the demo sequence and the first ``video_frames`` of ``default.wmv``.

    Parameters
    ----------
    demo : DemoSequence
    data_root : path-like or None
    video_frames : int
        Frames of the OpenFace ``default`` video to add (0: the demo sequence only).
    csv_path : path-like, optional
        Write :attr:`ModeComparison.per_pair` there.

    Returns
    -------
    ModeComparison
    """
    missing: dict[str, str] = {}
    parts = [mode_differences(demo.landmarks, demo.shape, demo.name)]
    timing = [(demo.name, parts[0][1], parts[0][2])]
    if video_frames and datasets.root_or_none(data_root) is not None:
        video = sample_video(data_root)
        if video is None:
            missing["OpenFace video"] = f"no 'default' video. {datasets.DATASETS['openface'].hint}"
        else:
            frames = read_video_frames(video, max_frames=video_frames)
            lms = lmk.stabilize(frames, lmk.track_sequence(frames).landmarks, "lk")
            parts.append(mode_differences(lms, frames[0].shape[:2], video.name))
            timing.append((video.name, parts[-1][1], parts[-1][2]))
    per_pair = pd.concat([p[0] for p in parts], ignore_index=True)
    if csv_path is not None:
        atomic_write_text(csv_path, per_pair.to_csv(index=False))
    grouped = per_pair.groupby("sequence")
    table = grouped[["EPE face", "EPE interior", "mean |u| face"]].mean()
    table["pairs"] = grouped.size()
    tim = pd.DataFrame(timing, columns=["sequence", "paper s/pair", "exact s/pair"]).set_index("sequence")
    table = table.join(tim)
    first = per_pair[per_pair.pair == grouped.pair.transform("min")]
    return ModeComparison(per_pair, table, float(first["EPE face"].max()), missing)


# ----------------------------------------------------------------------------- the face dataset
@dataclass
class FaceDataset:
    """The OpenFace face dataset written by ``faceflow gt``.

    Attributes
    ----------
    folder : pathlib.Path
    manifest : pandas.DataFrame or None
        The manifest (:func:`~faceflow.groundtruth.dataset.read_manifest`); None when not generated.
    seconds : float
        Time to generate (or find) it.
    missing : dict of str to str
    """

    folder: Path
    manifest: pd.DataFrame | None
    seconds: float = 0.0
    missing: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """The writer's text summary (pairs per status, failures), or why there is none.

        Returns
        -------
        str
        """
        from faceflow.groundtruth.dataset import summary

        if self.manifest is None:
            return "no face dataset"
        return f"dataset ready in {self.seconds:.1f} s: {self.folder}\n{summary(self.manifest)}"

    @property
    def n_suspect(self) -> int:
        """ok pairs the consistency check marked suspect (left out of training and evaluation)."""
        if self.manifest is None:
            return 0
        return int((self.manifest.status == "ok").mul(self.manifest.suspect).sum())

    def per_sequence(self) -> pd.DataFrame:
        """Per sequence: pairs per status, suspect ok pairs, mean degenerate triangles, mean and max ``|u|``.

        Returns
        -------
        pandas.DataFrame
            Empty when there is no manifest.
        """
        man = self.manifest
        if man is None:
            return pd.DataFrame()
        ok = man[man.status == "ok"]
        table = man.groupby(["sequence", "status"]).size().unstack(fill_value=0)
        table["suspect"] = ok.groupby("sequence")["suspect"].sum().reindex(table.index, fill_value=0).astype(int)
        table["n_degenerate (mean)"] = man.groupby("sequence")["n_degenerate"].mean()
        table["mean |u| (px, 384x512)"] = ok.groupby("sequence")["mean_mag"].mean()
        table["max |u|"] = ok.groupby("sequence")["max_mag"].max()
        return table


def face_dataset(
    data_root: datasets.DataRoot | str | Path | None, folder: str | Path, max_frames: int | None, workers: int = 1
) -> FaceDataset:
    """Generate (or reuse) the face dataset of the OpenFace samples in ``folder``.

    Parameters
    ----------
    data_root : DataRoot, path-like or None
        Resolved once here (:meth:`~faceflow.io.datasets.DataRoot.of`); None is the environment's root.
    folder : path-like
        Output folder (``outputs/<profile>/datasets/openface``).
    max_frames : int or None
        Frames per sequence (the profile's ``groundtruth.max_frames``).
    workers : int
        Parallel workers over sequences.

    Returns
    -------
    FaceDataset
        ``manifest`` None (and ``missing`` set) without the OpenFace samples.
    """
    from faceflow.groundtruth import dataset as gtdataset

    folder, root = Path(folder), datasets.DataRoot.of(data_root)
    if root.locate("openface") is None:
        why = datasets.DATASETS["openface"].hint
        if root.path is None:
            why = "No data root: the face dataset is not generated."
        return FaceDataset(folder, None, 0.0, {"OpenFace samples": why})
    t0 = time.perf_counter()
    gtdataset.openface_dataset(root, folder, max_frames=max_frames, workers=workers, progress=False, verbose=False)
    return FaceDataset(folder, gtdataset.read_manifest(folder), time.perf_counter() - t0)


@dataclass
class FlowMagnitudes:
    """Flow magnitudes of a face dataset.

    Attributes
    ----------
    per_pair : pandas.DataFrame
        ``sequence`` and ``mean_mag`` of every ok pair (mean over all stored pixels).
    pixels : ndarray
        ``|u|`` of the non-zero (face) pixels of ``n_sampled`` evenly spaced ok pairs.
    n_sampled : int
    """

    per_pair: pd.DataFrame
    pixels: np.ndarray
    n_sampled: int

    def summary_values(self) -> dict:
        """Formatted numbers for the page: ``pairs``, ``median``, ``p95``, ``max``.

        Returns
        -------
        dict
        """
        q = self.quantiles()
        return {
            "pairs": self.n_pairs,
            "median": f"{q['median']:.3f}",
            "p95": f"{q['p95']:.3f}",
            "max": f"{q['max']:.2f}",
        }

    @property
    def n_pairs(self) -> int:
        """Training (ok) pairs."""
        return len(self.per_pair)

    def quantiles(self) -> dict[str, float]:
        """Median, 95th percentile and maximum of :attr:`pixels` (NaN when empty).

        Returns
        -------
        dict
            Keys ``median``, ``p95``, ``max``.
        """
        if self.pixels.size == 0:
            return {"median": np.nan, "p95": np.nan, "max": np.nan}
        p = self.pixels
        return {"median": float(np.median(p)), "p95": float(np.percentile(p, 95)), "max": float(p.max())}


def flow_magnitudes(data: FaceDataset, n_sample: int = 60) -> FlowMagnitudes:
    """Per-pair mean magnitudes and the pixel magnitudes of ``n_sample`` evenly spaced pairs.

    Parameters
    ----------
    data : FaceDataset
    n_sample : int
        Pairs whose flow files are read.

    Returns
    -------
    FlowMagnitudes
        Empty when the dataset has no ok pair (or was not generated).
    """
    from faceflow.groundtruth.dataset import manifest_refs
    from faceflow.io.flo import read_flow

    man = data.manifest
    if man is None or not (man.status == "ok").any():
        return FlowMagnitudes(pd.DataFrame(columns=["sequence", "mean_mag"]), np.zeros(0), 0)
    ok = man[man.status == "ok"]
    sample = ok.iloc[np.linspace(0, len(ok) - 1, min(len(ok), n_sample)).astype(int)]
    refs = manifest_refs(
        sample.assign(**{c: [str(data.folder / p) for p in sample[c]] for c in ("img1", "img2", "flow")})
    )
    mags = np.concatenate([np.linalg.norm(read_flow(r.flow), axis=2).ravel() for r in refs])
    return FlowMagnitudes(ok[["sequence", "mean_mag"]].reset_index(drop=True), mags[mags > 0], len(sample))
