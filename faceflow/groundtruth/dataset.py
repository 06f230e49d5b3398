"""Writer of the face ground-truth flow dataset (Sec. 3, +10 px crop of Secs. 4.3 and 5.2): resumable, atomic.

On-disk layout (the contract read by the training code)
-------------------------------------------------------
``DST/manifest.csv``: one row per frame pair of every sequence, sorted by (sequence, pair), with
columns

* ``sequence``, ``subject``: sequence name and subject id (below);
* ``pair``: index ``k``; the flow goes from frame ``k`` to frame ``k + 1`` (``frame1``, ``frame2``
  are those indices among the frames kept after ``step`` / ``max_frames``);
* ``img1``, ``img2``, ``flow``: paths relative to ``DST`` (empty unless ``status == "ok"``): the
  two cropped frames resized to ``size`` (default 384x512 HxW) and ``<sequence>/flow/<k:06d>.flo``
  (the flow on the grid of ``img1``, components scaled to the resize, so in pixels of the stored
  images; zero outside the face). With ``crop="sequence"`` (the default) every frame is stored
  once, ``<sequence>/frames/<s:04d>_<k:06d>.png`` (frame ``k`` cropped with the box of its crop
  segment ``s``), and pairs ``k`` and ``k + 1`` share frame ``k + 1``; with ``crop="pair"`` each
  pair has its own box and its own two images, ``<sequence>/frames/<k:06d>_1.png``, ``..._2.png``;
* ``status``: ``ok`` | ``skipped`` (a frame of the pair has no face) | ``failed`` (an error,
  in ``reason``); only ``ok`` rows are training pairs;
* ``n_degenerate`` (triangles left out, Sec. 3 step 4), ``n_flipped`` (fold-overs),
  ``mean_mag``, ``max_mag`` (flow magnitude over all pixels of the stored flow);
* ``crop_x0, crop_y0, crop_x1, crop_y1``: the crop box in the source frame (exclusive ends),
  ``mode``;
* ``suspect``, ``check``, ``photo_gt``, ``photo_zero``, ``lm_jump``: the per-pair consistency
  check against tracker drift (:mod:`faceflow.groundtruth.checks`), and the periodic check that
  the tracked face is still there and still the same person (``verify_every``; the frames that
  fail are ``lost_frames`` in the sequence's ``meta.json``); ``read_manifest(...,
  usable_only=True)``, which training and evaluation use, leaves suspect pairs out;
* ``mask``: path of the pair's **valid mask** (``<sequence>/mask/<k:06d>.png``, a one-bit PNG of
  the stored flow's size, :mod:`faceflow.io.masks`): the pixels where the ground truth is
  defined, i.e. inside the face mesh of the pair's first frame and carried to a point inside the
  frame (:func:`pair_mask`); ``face_share``: the share of the stored crop it covers. Outside the
  mask the stored flow is the paper's zero, an assumption rather than a measurement.

A pair fails (``failed``, with the reason) when a frame does not decode (a truncated JPEG or
video), when every triangle of its source frame is degenerate, or when its files cannot be
written (the reason names the file); a sequence whose landmarks or mesh cannot be made gives one
failed row (pair -1). A manifest with failed rows is never *complete*: ``faceflow gt`` exits 1
and rerunning it retries them. With ``flow_format="f16"`` the flows are
``<sequence>/flow/<k:06d>.npz`` (float16, compressed), read by the same
:meth:`~faceflow.io.datasets.FlowPairRef.load`.

The crop (Sec. 5.2: the landmarks' min/max box plus ``offset`` px) is taken over the landmarks of
both frames of a pair (``crop="pair"``) or over those of all frames of a *crop segment* of
``segment`` consecutive pairs (``crop="sequence"``, default 50; ``None``: the whole sequence),
so that each frame is cropped, resized and stored once. A segment's box holds every pair's box
of that segment; for the short, nearly still clips of talking faces the two differ by a few
pixels. The frame shared by two segments (the last of one, the first of the next) is stored once
per segment.

Per sequence, ``DST/<sequence>/`` holds ``frames/``, ``flow/``, ``landmarks.npy`` ((N, 68, 2)
landmarks actually used, NaN where no face) and ``track.csv`` (per frame: how the landmarks were
obtained). ``DST/gt_options.json`` records the options; ``manifest.csv`` is written last, so
its presence means the dataset is complete.

Sequences and subjects
----------------------
The sequences of ``SRC`` and their subjects come from :func:`faceflow.io.layouts.discover`
(frames folders, videos, BP4D, CK+, the face video corpus, folders of those).

Resuming, determinism, many machines
------------------------------------
Every file is written atomically (temporary file + rename) and the flow of a pair is written
after its two images, so an existing ``.flo`` marks a completed pair. A rerun reuses
``landmarks.npy`` and completed pairs (their statistics are recomputed from the stored
``.flo``), computes the rest, and rewrites the manifest. Nothing time- or machine-dependent is
stored, so a run killed midway and rerun gives the same bytes as an uninterrupted run. Each
sequence is one ``dask.distributed`` task (:func:`run_sequences`): on a local cluster, or on an
existing one (``scheduler``); a task whose worker dies is run again and, by the same contract,
gives the same bytes as a serial run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from faceflow.flow.fields import flow_stats, resize_flow, resize_mask
from faceflow.groundtruth import mesh as gt
from faceflow.groundtruth.checks import flag_lost_frames
from faceflow.io.arrays import load_npy
from faceflow.io.atomic import atomic_write, atomic_write_bytes, atomic_write_text
from faceflow.io.datasets import FlowPairRef, find_dataset
from faceflow.io.flo import FLOW_FORMATS
from faceflow.io.images import check_same_size
from faceflow.io.landmark_files import read_landmarks
from faceflow.io.layouts import SequenceSource, check_landmark_frames, discover
from faceflow.io.masks import encode_mask, read_mask
from faceflow.io.paths import inside_root

MANIFEST = "manifest.csv"
OPTIONS = "gt_options.json"
COLUMNS = [
    "sequence",
    "subject",
    "pair",
    "frame1",
    "frame2",
    "img1",
    "img2",
    "flow",
    "status",
    "reason",
    "n_degenerate",
    "n_flipped",
    "mean_mag",
    "max_mag",
    "crop_x0",
    "crop_y0",
    "crop_x1",
    "crop_y1",
    "mode",
    "suspect",
    "check",
    "photo_gt",
    "photo_zero",
    "lm_jump",
    "mask",
    "face_share",
]
#: Columns every reader of the manifest needs.
REQUIRED_COLUMNS = ("sequence", "subject", "pair", "img1", "img2", "flow", "status")
#: Columns holding paths relative to the dataset folder: checked to stay inside it when read.
PATH_COLUMNS = ("img1", "img2", "flow", "mask")
#: Frames between two checks that the tracked face is still the face the sequence started with
#: (:class:`faceflow.groundtruth.landmarks.FaceVerifier`; pairs of frames that fail are suspect).
VERIFY_EVERY = 10
#: Largest side of the stored images (px): one 4096 x 4096 pair with its flow is about 200 MB.
MAX_SIZE = 4096
#: Crop boxes: one per segment of a sequence (frames stored once) or one per pair (two images per
#: pair), from both frames' landmarks ("pair") or the first frame's only ("first", the authors'
#: released code, facialof_train.py 1009-1016, 1033).
CROPS = ("sequence", "pair", "first")
#: Flow values after the crop: pixels of the resized crop, or scaled by the full frame size as the
#: released code does (:func:`faceflow.groundtruth.mesh.scale_to_frame`).
FLOW_UNITS = ("crop", "frame")


# ----------------------------------------------------------------------------- options
@dataclass
class GTOptions:
    """Options of a generation run (stored in ``gt_options.json``)."""

    mode: str = "paper"
    size: tuple[int, int] = (384, 512)
    offset: int = 10
    max_frames: int | None = None
    step: int = 1
    backend: str = "dlib"
    stabilize: str = "lk"
    stabilize_alpha: float = 0.2
    min_area: float = gt.MIN_AREA
    interp: str = "cubic"
    layout: str = "auto"
    crop: str = "sequence"
    segment: int | None = 50
    flow_format: str = "flo"
    flow_units: str = "crop"
    verify_every: int = VERIFY_EVERY

    def __post_init__(self) -> None:
        # numbers as the options file stores them, whatever type a caller passed (a list size, a
        # NumPy integer, an int area), so that equal options give the same gt_options.json
        self.size = tuple(int(v) for v in self.size)
        self.offset = int(self.offset)
        self.step = int(self.step)
        self.stabilize_alpha = float(self.stabilize_alpha)
        self.min_area = float(self.min_area)
        self.segment = None if self.segment is None else int(self.segment)
        self.verify_every = int(self.verify_every)

    def validate(self) -> None:
        """Check the options.

        Raises
        ------
        ValueError
            Unknown mode or crop, a size side below 8 or above :data:`MAX_SIZE` px, ``step < 1``,
            ``max_frames < 2`` or ``segment < 1``.
        """
        if self.mode not in gt.MODES:
            raise ValueError(f"mode must be one of {gt.MODES}, got {self.mode!r}")
        if len(self.size) != 2 or min(self.size) < 8 or max(self.size) > MAX_SIZE:
            raise ValueError(f"size must be (H, W) with sides 8 to {MAX_SIZE} px, got {self.size}")
        if self.step < 1 or (self.max_frames is not None and self.max_frames < 2):
            raise ValueError("step must be >= 1 and max_frames >= 2")
        if self.crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, got {self.crop!r}")
        if self.segment is not None and self.segment < 1:
            raise ValueError(f"segment must be >= 1 pairs or None, got {self.segment}")
        if self.flow_format not in FLOW_FORMATS:
            raise ValueError(f"flow_format must be one of {sorted(FLOW_FORMATS)}, got {self.flow_format!r}")
        if self.flow_units not in FLOW_UNITS:
            raise ValueError(f"flow_units must be one of {FLOW_UNITS}, got {self.flow_units!r}")
        if self.verify_every < 0:
            raise ValueError(f"verify_every must be >= 0 frames (0: no checks), got {self.verify_every}")

    def segment_of(self, k: int) -> int:
        """Crop segment of pair ``k`` (0 with ``crop="pair"`` or a whole-sequence segment).

        Parameters
        ----------
        k : int
            Pair index.

        Returns
        -------
        int
        """
        return k // self.segment if self.crop == "sequence" and self.segment else 0

    def flow_name(self, k: int) -> str:
        """File name (in ``<sequence>/flow/``) of pair ``k``'s flow in this run's format.

        Parameters
        ----------
        k : int
            Pair index.

        Returns
        -------
        str
        """
        return f"{k:06d}{FLOW_FORMATS[self.flow_format]}"

    @classmethod
    def from_json(cls, text: str, name: str = OPTIONS) -> GTOptions:
        """The options stored by :meth:`to_json` (keys it leaves out take their defaults, but a file
        without ``crop`` is the pair layout, as :meth:`to_json` writes it).

        Parameters
        ----------
        text : str
            The content of ``gt_options.json``.
        name : str
            Named in errors.

        Returns
        -------
        GTOptions

        Raises
        ------
        ValueError
            Not a JSON object of known options, or invalid options.
        """
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name}: not JSON ({exc})") from None
        if not isinstance(d, dict) or set(d) - set(cls.__dataclass_fields__):
            raise ValueError(f"{name}: not a faceflow gt options file")
        d.setdefault("crop", "pair")  # to_json leaves it out for the pair layout (and files made before it)
        opts = cls(**d)
        opts.validate()
        return opts

    def to_json(self) -> str:
        """The options as the text of ``gt_options.json`` (sorted keys, so comparable as text).

        Returns
        -------
        str
        """
        d = asdict(self)
        d["size"] = list(self.size)
        if self.crop == "pair":  # the layout before frames were stored once: same options file
            del d["crop"], d["segment"]
        if self.flow_format == "flo":  # the default format: same options file as before it was an option
            del d["flow_format"]
        if self.flow_units == "crop":  # datasets written before this option stay valid
            del d["flow_units"]
        if self.verify_every == VERIFY_EVERY:  # likewise (they were written without the checks)
            del d["verify_every"]
        return json.dumps(d, indent=2, sort_keys=True) + "\n"


#: Keywords of :func:`generate` that say how a run goes rather than what it writes (not options).
RUN_KEYWORDS = ("workers", "landmarks", "progress", "verbose", "scheduler", "only")


def gt_options(options: GTOptions | None = None, **overrides) -> GTOptions:
    """``options`` (default ``GTOptions()``) with some fields replaced: the one place keywords become options.

    Parameters
    ----------
    options : GTOptions, optional
        The starting options (not changed).
    **overrides
        Fields of :class:`GTOptions` and their new values.

    Returns
    -------
    GTOptions
        A new object (not validated: :meth:`GTOptions.validate`).

    Raises
    ------
    TypeError
        One line naming every keyword that is not a field of :class:`GTOptions`, and the fields.

    Examples
    --------
    >>> gt_options(size=(48, 64), crop="pair").size
    (48, 64)
    """
    fields = GTOptions.__dataclass_fields__
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise TypeError(
            f"unknown ground-truth option(s) {', '.join(unknown)}; the options of GTOptions are {', '.join(fields)}"
        )
    return replace(options if options is not None else GTOptions(), **overrides)


# ----------------------------------------------------------------------------- one sequence
def _clean_tmp(folder: Path) -> None:
    if folder.is_dir():
        for p in folder.rglob(".*.tmp"):
            p.unlink(missing_ok=True)


def _png_bytes(img: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def sequence_landmarks(seq: SequenceSource, opts: GTOptions, seq_dir: Path) -> tuple[np.ndarray, dict]:
    """Landmarks of a sequence: reuse ``landmarks.npy``, else read/track, stabilise and store them.

    Landmarks of a sequence some of whose frames did not decode are made again on a rerun (with
    the decode check), so that a repaired input is picked up.

    Parameters
    ----------
    seq : SequenceSource
    opts : GTOptions
    seq_dir : pathlib.Path
        The sequence's output folder (``landmarks.npy``, ``meta.json``, ``track.csv``).

    Returns
    -------
    landmarks : ndarray, shape (N, 68, 2), float64
        NaN where a frame has no face.
    info : dict
        ``reused`` and, when tracked, the tracker's counts and timings.

    Raises
    ------
    ValueError
        No frame can be decoded, or a malformed landmark file.
    """
    from faceflow.groundtruth import landmarks as lmk

    path = seq_dir / "landmarks.npy"
    meta_path = seq_dir / "meta.json"
    # reused unless frames failed to decode last time: the input may have been repaired since
    if path.is_file() and meta_path.is_file() and "bad_frames" not in json.loads(meta_path.read_text()):
        return load_npy(path, "landmarks file").astype(np.float64, copy=False), {"reused": True}
    info: dict = {"reused": False}
    errors: dict[int, str] = {}
    shapes: list[tuple[int, int]] = []
    lost: dict[int, str] = {}

    def seen(frames):  # the first decoded frame's shape, as the frames stream past
        for f in frames:
            if f is not None and not shapes:
                shapes.append(f.shape[:2])
            yield f

    if seq.landmarks is not None:
        frames = None
        if seq.frames is not None:
            frames = seq.frames[:: opts.step]
            if opts.max_frames is not None:
                frames = frames[: opts.max_frames]
        next(seen(f for f in seq.iter_frames(opts.max_frames, opts.step, errors) if f is not None), None)
        errors.clear()  # only the first frames were read: the flow pass checks them all
        lm = read_landmarks(seq.landmarks, frames)
        if seq.landmarks.is_file() and seq.landmarks.suffix.lower() in (".csv", ".npy"):
            lm = lm[:: opts.step]
            if opts.max_frames is not None:
                lm = lm[: opts.max_frames]
        source = ["file" if np.isfinite(p).all() else "none" for p in lm]
    else:
        frames = seen(seq.iter_frames(opts.max_frames, opts.step, errors))
        tr, lm = lmk.track_and_stabilize(
            frames, opts.backend, opts.stabilize, alpha=opts.stabilize_alpha, verify_every=opts.verify_every
        )
        source = tr.source
        info.update(n_detect=tr.n_detect, seconds_detect=tr.seconds_detect, seconds_track=tr.seconds_track)
        lost = tr.lost
    if not shapes:
        raise ValueError(f"{seq.name}: no frame could be decoded" + (f" ({errors[min(errors)]})" if errors else ""))
    lines = ["frame,source"] + [f"{i},{s}" for i, s in enumerate(source)]
    atomic_write_text(seq_dir / "track.csv", "\n".join(lines) + "\n")
    meta = {"shape": list(shapes[0]), "n_frames": int(len(lm))}
    if errors:
        meta["bad_frames"] = {str(k): why for k, why in sorted(errors.items())}
        meta["expected_frames"] = max(int(len(lm)), max(errors) + 1)
    if lost:  # the tracked face was lost there: the pairs of these frames are suspect
        meta["lost_frames"] = {str(k): why for k, why in sorted(lost.items())}
    atomic_write_text(seq_dir / "meta.json", json.dumps(meta, sort_keys=True) + "\n")
    with atomic_write(path) as fh:
        np.save(fh, np.asarray(lm, np.float64))
    return np.asarray(lm, np.float64), info


#: Errors that fail one sequence or pair and let the run go on: bad or truncated input, a
#: degenerate mesh (ValueError) and file-system errors such as a full disk (OSError). Anything
#: else is a bug and stops the run.
SEQUENCE_ERRORS = (ValueError, OSError)


def process_sequence(seq: SequenceSource, dst, opts: GTOptions, progress: bool = False) -> tuple[list[dict], dict]:
    """Generate (or resume) one sequence; returns its manifest rows and run information.

    A sequence whose landmarks cannot be obtained or whose mesh is degenerate gives one failed
    row (pair -1) naming the sequence, the frame and the problem. A pair fails (status
    ``failed``, the reason in ``reason``) when one of its frames does not decode (truncated
    JPEG or video), when every triangle is degenerate, or when writing its files fails (the
    reason names the file); the other pairs go on. Written pairs are checked for tracker drift
    (:func:`faceflow.groundtruth.checks.check_pair`: columns ``suspect`` and ``check``).

    Parameters
    ----------
    seq : SequenceSource
    dst : path-like
        The dataset folder.
    opts : GTOptions
    progress : bool
        A tqdm bar over the pairs.

    Returns
    -------
    rows : list of dict
        One manifest row per pair (or one failed row for the sequence).
    info : dict
        Landmark information, ``n_frames`` and ``resumed_pairs``.
    """
    import cv2

    cv2.setNumThreads(1)
    dst = Path(dst)
    seq_dir = dst / seq.name
    seq_dir.mkdir(parents=True, exist_ok=True)
    _clean_tmp(seq_dir)
    base = {"sequence": seq.name, "subject": seq.subject, "mode": opts.mode}
    try:
        lm, info = sequence_landmarks(seq, opts, seq_dir)
        meta = json.loads((seq_dir / "meta.json").read_text())
        # the mesh is checked (and degenerate pairs found) before any pair is written
        outcomes = list(gt.sequence_flows(lm, tuple(meta["shape"]), "exact", opts.min_area, pairs=set()))
    except SEQUENCE_ERRORS as exc:  # the sequence fails; the run goes on
        reason = f"{seq.name}: {type(exc).__name__}: {exc}"
        return [dict(base, pair=-1, frame1=-1, frame2=-1, status="failed", reason=reason)], {"error": reason}
    n = len(lm)
    shape = tuple(meta["shape"])
    bad = {int(k): why for k, why in meta.get("bad_frames", {}).items()}
    done = {k for k in range(max(n - 1, 0)) if (seq_dir / "flow" / opts.flow_name(k)).is_file()}
    todo = {o.pair for o in outcomes if o.status == "ok"} - done
    # pairs written before valid masks existed get theirs from the stored landmarks and flow
    meshes = mesh_masks(lm, shape, opts, {k for k in done if not (seq_dir / mask_name(k)).is_file()})
    errors: dict[int, str] = {}
    frames_it = seq.iter_frames(opts.max_frames, opts.step, errors) if todo else iter(())
    cur_idx, cur, nxt = -1, None, None
    if todo:
        cur, cur_idx, nxt = next(frames_it, None), 0, next(frames_it, None)
    boxes = segment_boxes(lm, shape, opts) if opts.crop == "sequence" else None
    it = gt.sequence_flows(lm, shape, opts.mode, opts.min_area, opts.interp, pairs=todo)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, total=max(n - 1, 0), desc=seq.name, leave=False)
    rows: list[dict] = []
    resized: dict[str, np.ndarray] = {}  # a pair's second stored frame is often the next pair's first
    for out in it:
        k = out.pair
        row = dict(base, pair=k, frame1=k, frame2=k + 1, img1="", img2="", flow="", status=out.status)
        row.update(reason=out.reason, n_degenerate=out.n_degenerate)
        if k in todo:  # advance the frame stream to frames k, k+1
            while cur_idx < k:
                cur, nxt = nxt, next(frames_it, None)
                cur_idx += 1
        why = next((w for w in (bad.get(k), bad.get(k + 1), errors.get(k), errors.get(k + 1)) if w), None)
        if out.status != "failed" and why is not None and k not in done:
            row.update(status="failed", reason=why)
        elif out.status == "ok":
            try:
                row.update(_write_pair(seq_dir, k, opts, lm, shape, boxes, out, (cur, nxt), done, resized, meshes))
            except SEQUENCE_ERRORS as exc:  # e.g. a full disk: the reason names the file
                row.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
        rows.append(row)
    flag_lost_frames(rows, {int(k): why for k, why in meta.get("lost_frames", {}).items()})
    # frames a truncated video declares but does not decode: their pairs fail, with the reason
    for k in range(max(n - 1, 0), int(meta.get("expected_frames", n)) - 1):
        why = bad.get(k + 1) or bad.get(k) or "frame missing"
        rows.append(dict(base, pair=k, frame1=k, frame2=k + 1, img1="", img2="", flow="", status="failed", reason=why))
    info["n_frames"] = n
    info["resumed_pairs"] = len(done)
    return rows, info


def _write_pair(
    seq_dir: Path, k: int, opts: GTOptions, lm, shape, boxes, out, frames, done: set, resized: dict, meshes: dict
) -> dict:
    """Write (or, when done, read back) pair ``k``'s frames, flow, mask and metadata; its manifest fields.

    ``resized`` maps stored frame names to their cropped, resized image (reused by the next pair);
    ``meshes`` holds the face-mesh masks of completed pairs whose valid mask is still to be
    written (:func:`mesh_masks`).
    """
    cur, nxt = frames
    from faceflow.groundtruth.checks import check_pair
    from faceflow.io.flo import encode_flo, encode_flow_f16, read_flow

    size = tuple(opts.size)
    names = frame_names(k, opts)
    flow_path = seq_dir / "flow" / opts.flow_name(k)
    rel = {"img1": f"{seq_dir.name}/frames/{names[0]}", "img2": f"{seq_dir.name}/frames/{names[1]}"}
    rel["flow"] = f"{seq_dir.name}/flow/{flow_path.name}"
    rel["mask"] = f"{seq_dir.name}/{mask_name(k)}"
    if k in done:
        fields = _read_pair_meta(seq_dir, k)
        stored = read_flow(flow_path)
        fields.update(flow_stats(stored))
        valid = _stored_pair_mask(seq_dir, k, opts, stored, _pair_box(k, opts, lm, shape, boxes), shape, meshes)
        return dict(fields, face_share=float(valid.mean()), **rel)
    if cur is None or nxt is None:
        raise ValueError(f"frame {k if cur is None else k + 1} could not be decoded")
    res = out.result
    box = _pair_box(k, opts, lm, shape, boxes)
    f32 = np.ascontiguousarray(resize_flow(res.flow[box[1] : box[3], box[0] : box[2]], size), np.float32)
    valid = pair_mask(res.mask, f32, box, shape, size)
    if opts.flow_units == "frame":
        gt.scale_to_frame(f32, box, shape)
    a = resized.pop(names[0], None)
    a = crop_resize(cur, box, size) if a is None else a
    b = crop_resize(nxt, box, size)
    resized.clear()
    resized[names[1]] = b
    fields = {"n_flipped": res.n_flipped, "crop_x0": box[0], "crop_y0": box[1], "crop_x1": box[2], "crop_y1": box[3]}
    fields.update(check_pair(lm[k], lm[k + 1], a, b, f32).as_row())
    for img, name in ((a, names[0]), (b, names[1])):
        if boxes is None or not (seq_dir / "frames" / name).is_file():
            atomic_write_bytes(seq_dir / "frames" / name, _png_bytes(img))
    atomic_write_text(seq_dir / "flow" / f"{k:06d}.json", json.dumps(fields, sort_keys=True) + "\n")
    atomic_write_bytes(seq_dir / mask_name(k), encode_mask(valid))
    # the flow is written last: its presence marks a completed pair
    atomic_write_bytes(flow_path, encode_flo(f32) if opts.flow_format == "flo" else encode_flow_f16(f32))
    fields.update(flow_stats(f32))
    return dict(fields, face_share=float(valid.mean()), **rel)


def _stored_pair_mask(seq_dir: Path, k: int, opts: GTOptions, stored, box, shape, meshes: dict) -> np.ndarray:
    """The valid mask of completed pair ``k``: read back, or (a pair written before masks existed,
    its mesh in ``meshes``) made from its stored flow and written."""
    if k not in meshes:
        return read_mask(seq_dir / mask_name(k))
    crop_units = unscale_from_frame(stored, box, shape) if opts.flow_units == "frame" else stored
    valid = pair_mask(meshes[k], crop_units, box, shape, tuple(opts.size))
    atomic_write_bytes(seq_dir / mask_name(k), encode_mask(valid))
    return valid


def _pair_box(k: int, opts: GTOptions, lm, shape, boxes) -> tuple[int, int, int, int]:
    """Crop box of pair ``k``: its segment's (``crop="sequence"``) or its own."""
    if boxes:
        return boxes[opts.segment_of(k)]
    return gt.crop_box(lm[k] if opts.crop == "first" else np.stack([lm[k], lm[k + 1]]), shape, opts.offset)


def mask_name(k: int) -> str:
    """Path (relative to the sequence's folder) of pair ``k``'s valid mask.

    Parameters
    ----------
    k : int
        Pair index.

    Returns
    -------
    str
        ``mask/<k:06d>.png``.
    """
    return f"mask/{k:06d}.png"


def pair_mask(
    face: np.ndarray,
    flow: np.ndarray,
    box: tuple[int, int, int, int],
    frame_shape: tuple[int, int],
    size: tuple[int, int],
) -> np.ndarray:
    """The valid mask of a stored pair: where its ground truth is defined, on the stored grid.

    A pixel of the stored crop is valid when (1) every pixel of the full frame that its flow is
    resampled from lies inside the face mesh of the pair's first frame
    (:func:`faceflow.flow.fields.resize_mask`: partly covered pixels along the mesh's outline are
    invalid) and (2) the flow
    carries it to a point inside the frame (a face at the frame's edge may move out of it).
    Everywhere else the flow is the paper's assumed zero (Sec. 3), not a measurement.

    Parameters
    ----------
    face : ndarray, shape (H0, W0), bool
        The face mesh of the pair's first frame on the full frame (the ``mask`` of its
        :class:`faceflow.groundtruth.mesh.FlowResult`).
    flow : ndarray, shape (H, W, 2)
        The stored flow in pixels of the stored crop (``flow_units="crop"``).
    box : (x0, y0, x1, y1)
        The crop box in the full frame (exclusive ends).
    frame_shape : (H0, W0)
    size : (H, W)
        The stored size.

    Returns
    -------
    ndarray, shape (H, W), bool

    Raises
    ------
    ValueError
        ``flow`` is not of ``size``.
    """
    x0, y0, x1, y1 = box
    h, w = int(size[0]), int(size[1])
    flow = np.asarray(flow, np.float64)
    if flow.shape != (h, w, 2):
        raise ValueError(f"flow of shape {flow.shape} for a stored size {(h, w)}")
    inside_mesh = resize_mask(np.asarray(face, bool)[y0:y1, x0:x1], (h, w))
    sx, sy = (x1 - x0) / w, (y1 - y0) / h
    # full-frame position of each stored pixel centre (cv2.resize's mapping), then where it moves
    xs = x0 + (np.arange(w) + 0.5) * sx - 0.5
    ys = y0 + (np.arange(h) + 0.5) * sy - 0.5
    dest_x = xs[None, :] + flow[..., 0] * sx
    dest_y = ys[:, None] + flow[..., 1] * sy
    inside_frame = (dest_x >= 0) & (dest_x <= frame_shape[1] - 1) & (dest_y >= 0) & (dest_y <= frame_shape[0] - 1)
    return inside_mesh & inside_frame


def unscale_from_frame(flow: np.ndarray, box: tuple[int, int, int, int], frame_shape: tuple[int, int]) -> np.ndarray:
    """The inverse of :func:`faceflow.groundtruth.mesh.scale_to_frame`: frame units back to crop units.

    Parameters
    ----------
    flow : ndarray, shape (H, W, 2)
    box : (x0, y0, x1, y1)
    frame_shape : (H0, W0)

    Returns
    -------
    ndarray
        A new array.
    """
    x0, y0, x1, y1 = box
    out = np.array(flow, np.float32)
    out[..., 0] *= frame_shape[1] / (x1 - x0)
    out[..., 1] *= frame_shape[0] / (y1 - y0)
    return out


def mesh_masks(lm: np.ndarray, shape: tuple[int, int], opts: GTOptions, pairs: set[int]) -> dict[int, np.ndarray]:
    """The face mesh (on the full frame) of the first frame of each of ``pairs``.

    The mesh of pair ``k`` is the one its flow was made on (same triangles, degenerate ones left
    out), rasterised again from the stored landmarks (``exact`` mode's mask equals ``paper``
    mode's): no frame is decoded.

    Parameters
    ----------
    lm : ndarray, shape (N, 68, 2)
    shape : (H0, W0)
    opts : GTOptions
    pairs : set of int

    Returns
    -------
    dict of int to ndarray
        ``{k: (H0, W0) bool}`` for the pairs whose frames have a face.
    """
    if not pairs:
        return {}
    outs = gt.sequence_flows(lm, shape, "exact", opts.min_area, pairs=set(pairs))
    return {o.pair: o.result.mask for o in outs if o.pair in pairs and o.result is not None}


def frame_names(k: int, opts: GTOptions) -> tuple[str, str]:
    """File names (in ``<sequence>/frames/``) of the two images of pair ``k``.

    Parameters
    ----------
    k : int
        Pair index.
    opts : GTOptions

    Returns
    -------
    (str, str)
        ``<k>_1.png, <k>_2.png`` with ``crop="pair"``, else ``<segment>_<k>.png, <segment>_<k+1>.png``.
    """
    if opts.crop in ("pair", "first"):
        return f"{k:06d}_1.png", f"{k:06d}_2.png"
    s = opts.segment_of(k)
    return f"{s:04d}_{k:06d}.png", f"{s:04d}_{k + 1:06d}.png"


def segment_boxes(lm: np.ndarray, shape: tuple[int, int], opts: GTOptions) -> dict[int, tuple[int, int, int, int]]:
    """Crop box of every crop segment with a face: ``{segment: (x0, y0, x1, y1)}``.

    Segment ``s`` covers pairs ``s * segment .. (s + 1) * segment - 1``, hence frames up to
    ``(s + 1) * segment`` inclusive; its box is :func:`faceflow.groundtruth.mesh.crop_box` of all
    their landmarks (frames without a face are ignored).

    Parameters
    ----------
    lm : ndarray, shape (N, 68, 2)
    shape : (H, W)
    opts : GTOptions

    Returns
    -------
    dict of int to tuple
    """
    n_pairs = max(len(lm) - 1, 0)
    per = opts.segment if opts.segment else max(n_pairs, 1)
    boxes = {}
    for s, start in enumerate(range(0, n_pairs, per)):
        pts = lm[start : min(start + per, n_pairs) + 1]
        if np.isfinite(pts).all(axis=(1, 2)).any():
            boxes[s] = gt.crop_box(pts, shape, opts.offset)
    return boxes


def crop_resize(img: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
    """``img`` cropped to ``box`` = (x0, y0, x1, y1) and resized to ``size`` = (H, W), bilinear (Sec. 5.2).

    Parameters
    ----------
    img : ndarray
    box : (x0, y0, x1, y1)
    size : (H, W)

    Returns
    -------
    ndarray
        Same dtype as ``img``.
    """
    import cv2

    x0, y0, x1, y1 = box
    return cv2.resize(np.ascontiguousarray(img[y0:y1, x0:x1]), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def _read_pair_meta(seq_dir: Path, k: int) -> dict:
    p = seq_dir / "flow" / f"{k:06d}.json"
    return json.loads(p.read_text()) if p.is_file() else {}


# ----------------------------------------------------------------------------- whole dataset
def run_sequences(
    seqs: list[SequenceSource],
    dst,
    opts: GTOptions,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
) -> dict[str, tuple[list[dict], dict]]:
    """Run :func:`process_sequence` on every sequence: in this process, or as Dask tasks.

    With ``workers <= 1`` and no scheduler the sequences run one after the other here. Otherwise
    each sequence is one ``dask.distributed`` task, on a local cluster of ``workers`` processes
    (one thread each) started for the run, or on the cluster whose scheduler listens at
    ``scheduler``. A task whose worker dies is run again by Dask on another worker; since every
    file is written atomically and completed pairs are reused, the result is the same bytes as a
    serial run.

    Parameters
    ----------
    seqs : list of SequenceSource
    dst : path-like
    opts : GTOptions
    workers : int
        Worker processes of the local cluster.
    scheduler : str, optional
        Address of an existing Dask scheduler (e.g. ``tcp://10.0.0.5:8786``); its workers must
        see ``dst`` and the sources at the same paths.
    progress : bool
        A tqdm bar over the sequences.

    Returns
    -------
    dict
        ``{sequence name: (rows, info)}``.
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=len(seqs), desc="gt sequences", unit="seq", disable=not progress)
    results: dict[str, tuple[list[dict], dict]] = {}
    if scheduler is None and (workers <= 1 or len(seqs) == 1):
        for s in seqs:
            results[s.name] = process_sequence(s, dst, opts, progress=progress)
            bar.update(1)
        bar.close()
        return results
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=min(workers, len(seqs)), threads_per_worker=1, processes=True, dashboard_address=None
        )
    client = Client(scheduler or cluster)
    try:
        futures = client.map(process_sequence, seqs, dst=str(dst), opts=opts, key=[f"gt-{s.name}" for s in seqs])
        names = {f.key: s.name for f, s in zip(futures, seqs)}
        for fut in as_completed(futures):
            results[names[fut.key]] = fut.result()
            bar.update(1)
    finally:
        bar.close()
        client.close()
        if cluster is not None:
            cluster.close()
    return results


def generate(
    src,
    dst,
    options: GTOptions | None = None,
    *,
    workers: int = 1,
    landmarks=None,
    progress: bool = True,
    verbose: bool = True,
    scheduler: str | None = None,
    only: list[str] | None = None,
    **overrides,
):
    """Generate (or resume) the ground-truth dataset of ``src`` into ``dst``; returns the manifest.

    See the module docstring for the layout. Sequences run as Dask tasks on ``workers`` local
    processes or on the cluster of ``scheduler`` (:func:`run_sequences`). ``crop="sequence"``
    stores every frame once (one crop box per ``segment`` pairs);
    ``crop="pair"`` crops every pair with its own box and stores its two images. A different set
    of options than the one stored in ``dst`` is an error (use a new ``dst``).

    Parameters
    ----------
    src : path-like
        See :func:`faceflow.io.layouts.discover`.
    dst : path-like
        Output folder.
    options : GTOptions, optional
        What the dataset is made with (default ``GTOptions()``); ``overrides`` replace some of
        its fields.
    workers : int
        Local worker processes (Dask) over sequences; 1 runs them here, one after the other.
    landmarks : path-like, optional
        Precomputed landmarks (single sequence).
    progress, verbose : bool
        tqdm bars; print the :func:`summary`.
    scheduler : str, optional
        Address of an existing Dask scheduler to run on.
    only : list of str, optional
        Keep these sequence names of ``src`` (the manifest then lists only them).
    **overrides
        Fields of :class:`GTOptions` (``mode``, ``size``, ``crop``, ``verify_every``, ...)
        replacing those of ``options`` (:func:`gt_options`).

    Returns
    -------
    pandas.DataFrame
        The manifest.

    Raises
    ------
    TypeError
        An override that is not an option (:func:`gt_options`).
    ValueError
        Invalid options, ``dst`` holds a dataset generated with other options or a manifest this
        writer did not make (:func:`refuse_foreign_destination`), or a landmark file that does
        not list one face per frame (:func:`faceflow.io.layouts.check_landmark_frames`).
    """
    import pandas as pd

    opts = gt_options(options, **overrides)
    opts.validate()
    dst = Path(dst)
    seqs = discover(src, opts.layout, landmarks)
    for seq in seqs:  # before anything is written
        check_landmark_frames(seq)
        if seq.frames is not None:
            check_same_size(seq.frames[:: opts.step][: opts.max_frames])
    if only is not None:
        unknown = sorted(set(only) - {s.name for s in seqs})
        if unknown:
            raise ValueError(f"{src}: no sequence named {', '.join(unknown[:5])}")
        seqs = [s for s in seqs if s.name in set(only)]
    refuse_foreign_destination(src, dst, landmarks)
    dst.mkdir(parents=True, exist_ok=True)
    _clean_tmp(dst)
    opt_path = dst / OPTIONS
    if opt_path.is_file() and opt_path.read_text() != opts.to_json():
        raise ValueError(
            f"{dst} holds a dataset generated with other options ({opt_path}); use another destination or delete it"
        )
    atomic_write_text(opt_path, opts.to_json())
    results = run_sequences(seqs, dst, opts, workers, scheduler, progress)
    rows = [r for s in seqs for r in results[s.name][0]]
    df = pd.DataFrame(rows)
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    df = df[COLUMNS + [c for c in df.columns if c not in COLUMNS]]
    df = df.sort_values(["sequence", "pair"], kind="stable").reset_index(drop=True)
    for c in ("img1", "img2", "flow", "mask", "reason"):
        df[c] = ["" if pd.isna(v) else v for v in df[c]]
    atomic_write_text(dst / MANIFEST, df.to_csv(index=False, float_format="%.6g"))
    if verbose:
        print(summary(df))
    return df


def add_masks(dst, progress: bool = False):
    """Write the valid mask of every completed pair of ``dst`` that has none; rewrite the manifest.

    For a dataset written before pairs had valid masks (:func:`pair_mask`). Only the dataset
    folder is read: each pair's mesh comes from the stored landmarks, its crop box from the
    stored metadata, and the inside-the-frame test uses the stored flow; no frame is decoded and
    no flow is changed. Running it on a dataset that has every mask changes nothing.

    Parameters
    ----------
    dst : path-like
        A ``faceflow gt`` output folder.
    progress : bool
        A tqdm bar over the sequences.

    Returns
    -------
    pandas.DataFrame
        The rewritten manifest.

    Raises
    ------
    FileNotFoundError
        No manifest or options file in ``dst``.
    ValueError
        An unreadable options file.
    """
    from tqdm.auto import tqdm

    from faceflow.io.flo import read_flow

    dst = Path(dst)
    df = read_manifest(dst)
    opt_path = dst / OPTIONS
    if not opt_path.is_file():
        raise FileNotFoundError(f"{opt_path}: no options file; {dst} is not a complete `faceflow gt` dataset")
    opts = GTOptions.from_json(opt_path.read_text(), str(opt_path))
    df["mask"] = df["mask"] if "mask" in df.columns else ""
    df["face_share"] = df["face_share"] if "face_share" in df.columns else np.nan
    ok = df["status"] == "ok"
    for seq in tqdm(list(dict.fromkeys(df.loc[ok, "sequence"])), desc="masks", disable=not progress):
        seq_dir = dst / seq
        lm = load_npy(seq_dir / "landmarks.npy", "landmarks file").astype(np.float64, copy=False)
        shape = tuple(json.loads((seq_dir / "meta.json").read_text())["shape"])
        idx = df.index[ok & (df["sequence"] == seq)]
        ks = [int(df.at[i, "pair"]) for i in idx]
        meshes = mesh_masks(lm, shape, opts, {k for k in ks if not (seq_dir / mask_name(k)).is_file()})
        boxes = segment_boxes(lm, shape, opts) if opts.crop == "sequence" else None
        for i, k in zip(idx, ks):
            stored = read_flow(seq_dir / "flow" / opts.flow_name(k))
            valid = _stored_pair_mask(seq_dir, k, opts, stored, _pair_box(k, opts, lm, shape, boxes), shape, meshes)
            df.at[i, "mask"] = f"{seq}/{mask_name(k)}"
            df.at[i, "face_share"] = float(valid.mean())
    df = df[COLUMNS + [c for c in df.columns if c not in COLUMNS]]
    atomic_write_text(dst / MANIFEST, df.to_csv(index=False, float_format="%.6g"))
    return df


def refuse_foreign_destination(src, dst, landmarks=None) -> None:
    """Refuse (one line) a destination that is an input, or that holds a ``manifest.csv`` this
    writer did not make (no ``gt_options.json`` beside it, or a CSV without the manifest columns),
    which a run would overwrite.

    Parameters
    ----------
    src, dst : path-like
        As :func:`generate`.
    landmarks : path-like, optional
        The precomputed landmark file, another input.

    Raises
    ------
    ValueError
        Naming ``dst`` and the reason; nothing has been written.
    """
    from faceflow.io.paths import refuse_output_over_input

    dst = Path(dst)
    refuse_output_over_input(dst, [src, landmarks], "DST")
    manifest = dst / MANIFEST
    if not manifest.is_file():
        return
    with open(manifest, "rb") as fh:
        header = fh.readline().decode("utf-8", errors="replace").strip().split(",")
    if not (dst / OPTIONS).is_file():
        why = f"no {OPTIONS} beside it"
    elif set(REQUIRED_COLUMNS) - set(header):
        why = f"its header lacks {', '.join(sorted(set(REQUIRED_COLUMNS) - set(header)))}"
    else:
        return
    raise ValueError(
        f"{dst} holds a {MANIFEST} that faceflow gt did not write ({why}); refusing to replace it: "
        "choose an empty folder or one `faceflow gt` made"
    )


def summary(df) -> str:
    """Text summary: pairs per status, and every failure with its reason.

    Parameters
    ----------
    df : pandas.DataFrame
        A manifest.

    Returns
    -------
    str
    """
    counts = df["status"].value_counts().to_dict()
    lines = [
        f"gt: {df['sequence'].nunique()} sequences, {len(df)} pairs: "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "skipped", "failed"))
    ]
    for seq, g in df[df["status"] == "skipped"].groupby("sequence"):
        lines.append(f"  skipped {len(g)} pair(s) in {seq} (frames without a face)")
    if "suspect" in df.columns:
        suspect = df[(df["status"] == "ok") & (df["suspect"].astype(str).str.lower() == "true")]
        if len(suspect):
            lines.append(f"  {len(suspect)} ok pair(s) suspect (tracker drift?), left out of training and evaluation")
    for _, r in df[df["status"] == "failed"].iterrows():
        lines.append(f"  FAILED {r['sequence']} pair {r['pair']}: {r['reason']}")
    return "\n".join(lines)


def read_manifest(dst, usable_only: bool = False, absolute: bool = False):
    """Read ``DST/manifest.csv``: the one reader of the dataset contract.

    Parameters
    ----------
    dst : path-like
        A ``faceflow gt`` output folder.
    usable_only : bool
        Keep only the ``ok`` rows that the consistency check did not mark ``suspect`` (the
        training and test pairs; see :mod:`faceflow.groundtruth.checks`).
    absolute : bool
        Turn the ``img1``, ``img2`` and ``flow`` paths (relative to ``dst`` in the file) into
        absolute paths; empty paths stay empty.

    Returns
    -------
    pandas.DataFrame
        Text columns as strings (missing values empty), ``pair`` as int, ``suspect`` as bool
        (False for manifests written before the check existed).

    Raises
    ------
    FileNotFoundError
        No manifest in ``dst``.
    ValueError
        One line naming the file (and the row and value): a required column is missing, the file
        is cut short or garbled (not CSV, a value of the wrong kind, an ``ok`` row without its
        files), or a path column leaves ``dst`` (absolute or with ``..``: refused before any of
        its files is read, :func:`faceflow.io.paths.inside_root`).
    """
    import pandas as pd

    dst = Path(dst)
    path = dst / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest; generate the dataset with `faceflow gt SRC {dst}`")
    text_cols = ["sequence", "subject", "img1", "img2", "flow", "mask", "reason", "status", "mode", "check"]
    try:
        df = pd.read_csv(path, dtype={c: str for c in text_cols})
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path}: not a readable manifest CSV ({' '.join(str(exc).split())})") from None
    missing = set(REQUIRED_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    for c in text_cols:
        if c in df.columns:
            df[c] = df[c].fillna("")
    check_manifest(df, path)
    df["pair"] = df["pair"].astype(int)
    if "suspect" in df.columns:
        df["suspect"] = df["suspect"].astype(str).str.lower() == "true"
    else:
        df["suspect"] = False
    if usable_only:
        df = df[(df["status"] == "ok") & ~df["suspect"]].reset_index(drop=True)
    if absolute:
        for c in ("img1", "img2", "flow", "mask"):
            if c in df.columns:
                df[c] = [str(dst / p) if p else "" for p in df[c]]
    df.attrs["path"] = str(path)
    return df


#: Manifest columns that must hold whole numbers in every row, and numbers (or nothing) where present.
_INT_COLUMNS = ("pair",)
_NUMBER_COLUMNS = ("frame1", "frame2", "n_degenerate", "n_flipped", "mean_mag", "max_mag", "photo_gt", "photo_zero")
_STATUSES = ("ok", "skipped", "failed")


def check_manifest(df, path: Path) -> None:
    """Refuse a manifest that is cut short, garbled, or whose paths leave its folder (one line each).

    Parameters
    ----------
    df : pandas.DataFrame
        The manifest as read (text columns as strings, missing values empty).
    path : pathlib.Path
        The ``manifest.csv`` (its folder is the root of the path columns).

    Raises
    ------
    ValueError
        ``<path>: row <n>: ...`` naming the row (the file's line) and the value.
    """
    import pandas as pd

    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        raise ValueError(f"{path}: cut short (the last line, row {len(df) + 1}, has no line end)")
    for c in _INT_COLUMNS + _NUMBER_COLUMNS:
        if c not in df.columns:
            continue
        values = pd.to_numeric(df[c], errors="coerce")
        bad = values.isna() & (df[c].notna() if c not in _INT_COLUMNS else True)
        if c in _INT_COLUMNS:
            bad = bad | (values != values.round())
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{path}: row {i + 2}: {c} {df[c].iloc[i]!r} is not a number (cut short or garbled?)")
    bad_status = ~df["status"].isin(_STATUSES)
    if bad_status.any():
        i = int(np.flatnonzero(bad_status.to_numpy())[0])
        raise ValueError(
            f"{path}: row {i + 2}: status {df['status'].iloc[i]!r} is not one of {', '.join(_STATUSES)} "
            "(cut short or garbled?)"
        )
    for c in PATH_COLUMNS:
        if c not in df.columns:  # a dataset older than its valid masks: require_masks names the fix
            continue
        col = df[c]
        missing = (df["status"] == "ok") & (col == "")
        if c != "mask" and missing.any():
            i = int(np.flatnonzero(missing.to_numpy())[0])
            raise ValueError(f"{path}: row {i + 2}: an ok pair without its {c} path (cut short or garbled?)")
        # only names that could leave the folder go through the full check (manifests are long)
        odd = col.str.contains(r"\.\.|^[/\\]|:|\x00", regex=True) | ((col != "") & (col.str.strip() == ""))
        for i in np.flatnonzero(odd.to_numpy()):
            inside_root(path.parent, col.iloc[i], f"{path}: row {i + 2}, column {c}")


#: The command that adds valid masks to a dataset written before they existed.
ADD_MASKS_COMMAND = "faceflow gt --add-masks {dst}"


class MasklessDatasetError(ValueError):
    """A ground-truth dataset written before pairs had valid masks (the message names the fix)."""


def has_masks(df) -> bool:
    """Whether every ``ok`` row of a manifest names its valid mask.

    Parameters
    ----------
    df : pandas.DataFrame
        A manifest (:func:`read_manifest`).

    Returns
    -------
    bool
    """
    if "mask" not in df.columns:
        return False
    ok = df["status"] == "ok"
    return bool((df.loc[ok, "mask"].astype(str) != "").all())


def require_masks(df, dst=None) -> None:
    """Refuse a manifest whose pairs have no valid masks, naming the command that adds them.

    Parameters
    ----------
    df : pandas.DataFrame
        A manifest (:func:`read_manifest`).
    dst : path-like, optional
        The dataset folder (default: the folder of the manifest ``df`` was read from).

    Raises
    ------
    MasklessDatasetError
        Some ``ok`` row has no mask.
    """
    if has_masks(df):
        return
    where = Path(dst) if dst is not None else Path(df.attrs.get("path", MANIFEST)).parent
    raise MasklessDatasetError(
        f"{where / MANIFEST}: written before ground-truth pairs had valid masks (where the landmark flow is "
        f"defined); add them with `{ADD_MASKS_COMMAND.format(dst=where)}` (no frame is decoded, the flows are kept)"
    )


def manifest_refs(df) -> list[FlowPairRef]:
    """One :class:`~faceflow.io.datasets.FlowPairRef` per row of a manifest read with ``absolute=True``.

    The pair is named ``<sequence>/<pair>``; its source is ``faces``; it carries its valid mask.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of :func:`read_manifest` with absolute paths.

    Returns
    -------
    list of FlowPairRef

    Raises
    ------
    MasklessDatasetError
        The dataset was written before valid masks existed (:func:`require_masks`).
    """
    require_masks(df)
    return [
        FlowPairRef(f"{r.sequence}/{r.pair}", Path(r.img1), Path(r.img2), Path(r.flow), "faces", Path(r.mask))
        for r in df.itertuples()
    ]


def manifest_files(dst) -> list[Path]:
    """Every file of a ``faceflow gt`` dataset that its manifest names, and the manifest itself.

    Parameters
    ----------
    dst : path-like

    Returns
    -------
    list of pathlib.Path
        What a command reading the dataset must not write over.
    """
    df = read_manifest(dst, absolute=True)
    listed = df[[c for c in PATH_COLUMNS if c in df.columns]].to_numpy().ravel()
    return [Path(dst) / MANIFEST, *(Path(p) for p in listed if p)]


def is_complete(dst, options: GTOptions | None = None, **overrides) -> bool:
    """True when ``dst`` holds a finished dataset generated with these options, with no failed pair
    and a valid mask for every pair.

    Parameters
    ----------
    dst : path-like
    options : GTOptions, optional
        The options (default ``GTOptions()``).
    **overrides
        Fields of :class:`GTOptions` replacing those of ``options`` (:func:`gt_options`).

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        An override that is not an option.
    """
    dst = Path(dst)
    o = gt_options(options, **overrides)
    if not (dst / MANIFEST).is_file() or not (dst / OPTIONS).is_file():
        return False
    if (dst / OPTIONS).read_text() != o.to_json() or has_failures(dst):
        return False
    return has_masks(read_manifest(dst))


def has_failures(dst) -> bool:
    """Whether the manifest of ``dst`` records failed pairs (a dataset with failures is never complete).

    Parameters
    ----------
    dst : path-like

    Returns
    -------
    bool
        False when there is no manifest.
    """
    path = Path(dst) / MANIFEST
    if not path.is_file():
        return False
    import pandas as pd

    return bool((pd.read_csv(path, usecols=["status"], dtype=str)["status"] == "failed").any())


def ensure_dataset(src, dst, options: GTOptions | None = None, **kwargs) -> Path:
    """Return ``dst`` holding the dataset of ``src``: reused when complete, else generated or resumed.

    Idempotent: a complete dataset with the same options is returned without touching it.

    Parameters
    ----------
    src, dst : path-like
    options : GTOptions, optional
        As :func:`generate`.
    **kwargs
        Keyword arguments of :func:`generate`: its run keywords (:data:`RUN_KEYWORDS`) and
        fields of :class:`GTOptions`.

    Returns
    -------
    pathlib.Path
        ``dst``.

    Raises
    ------
    TypeError
        A keyword that is neither a run keyword nor an option.
    """
    dst = Path(dst)
    run = {k: kwargs.pop(k) for k in RUN_KEYWORDS if k in kwargs}
    opts = gt_options(options, **kwargs)
    if is_complete(dst, opts) and _has_sequences(dst, run.get("only")):
        return dst
    generate(src, dst, opts, **run)
    return dst


def _has_sequences(dst: Path, names) -> bool:
    """True when ``names`` is None or the manifest of ``dst`` lists exactly these sequences."""
    if names is None:
        return True
    return set(read_manifest(dst)["sequence"]) == set(names)


def faces_dataset(
    data_root,
    dst,
    max_frames: int | None = None,
    clips_per_split: int | dict | None = None,
    workers: int | None = None,
    **opts,
) -> Path:
    """The ground truth of the face video corpus (``faces/<source>/*.mp4``) in ``dst``, generated once.

    Parameters
    ----------
    data_root : path-like or None
        The data root holding ``faces/``.
    dst : path-like
        The ``faceflow gt`` output folder.
    max_frames : int, optional
        The first ``max_frames`` frames of each clip (None: all).
    clips_per_split : int or dict, optional
        Keep this many clips (evenly spaced by name) of each split of the subject table, or
        ``{split: n}`` for some splits (None: all).
    workers : int, optional
        Processes over clips (default: the CPU count).
    **opts
        Other options of :func:`generate` (mode, size, crop, ...).

    Returns
    -------
    pathlib.Path
        ``dst``, complete: reused as it is when it holds these clips with these options.

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        The corpus is not under the data root.
    """
    import os

    from faceflow.groundtruth.splits import evenly_spaced
    from faceflow.io.datasets import FACE_SPLITS, face_clips

    clips = face_clips(data_root)
    if clips_per_split:
        caps = clips_per_split if isinstance(clips_per_split, dict) else dict.fromkeys(FACE_SPLITS, clips_per_split)
        clips = [c for s in FACE_SPLITS for c in evenly_spaced([c for c in clips if c.split == s], caps.get(s))]
    opts.setdefault("progress", False)
    opts.setdefault("verbose", False)
    workers = workers or max(1, min(len(clips), os.cpu_count() or 1))
    src = find_dataset("faces", data_root)
    names = sorted(c.sequence for c in clips)
    return ensure_dataset(src, dst, max_frames=max_frames, layout="faces", only=names, workers=workers, **opts)


def openface_dataset(data_root, dst, max_frames: int | None = 150, **opts) -> Path:
    """The face dataset of the OpenFace samples (``openface/image_sequence`` + the three videos).

    Each video (and the image sequence) is a sequence; the subject is the sequence name. The
    default profile caps every video at its first ``max_frames`` frames.

    Parameters
    ----------
    data_root : path-like or None
    dst : path-like
    max_frames : int or None
    **opts
        Keyword arguments of :func:`generate`.

    Returns
    -------
    pathlib.Path
        ``dst``.

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        The OpenFace samples are not under the data root.
    """
    src = find_dataset("openface", data_root)
    return ensure_dataset(src, dst, max_frames=max_frames, layout="folder", **opts)


#: Sequences of the OpenFace samples held out of the face splits as the cross-dataset source
#: of Table 2 (the paper uses CK+): the multi-person video, disjoint from the training videos.
OPENFACE_HELD_OUT = ("multi_face",)


def ensure_face_dataset(data_root, dst, max_frames: int | None = 150, **opts) -> Path:
    """The OpenFace-samples face dataset in ``dst`` (generated once, then reused).

    A complete dataset already in ``dst`` (its ``manifest.csv`` exists without failed pairs,
    e.g. written by the ground-truth chapter) is used as it is, whatever options made it (its
    valid masks are added when it predates them, :func:`add_masks`); otherwise
    :func:`openface_dataset` generates (or resumes) it quietly.

    Parameters
    ----------
    data_root : path-like or None
    dst : path-like
    max_frames : int or None
    **opts
        Keyword arguments of :func:`generate`.

    Returns
    -------
    pathlib.Path
        ``dst``.
    """
    dst = Path(dst)
    if (dst / MANIFEST).is_file() and not has_failures(dst):
        if not has_masks(read_manifest(dst)):
            add_masks(dst)
        return dst
    opts.setdefault("progress", False)
    opts.setdefault("verbose", False)
    return openface_dataset(data_root, dst, max_frames=max_frames, **opts)
