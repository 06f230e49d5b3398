"""Writer of the face ground-truth flow dataset (Sec. 3, +10 px crop of Secs. 4.3 and 5.2): resumable, atomic.

On-disk layout (the contract read by the training code)
-------------------------------------------------------
``DST/manifest.csv``: one row per frame pair of every sequence, sorted by (sequence, pair), with
columns

* ``sequence``, ``subject``: sequence name and subject id (below);
* ``pair``: index ``k``; the flow goes from frame ``k`` to frame ``k + 1`` (``frame1``, ``frame2``
  are those indices among the frames kept after ``step`` / ``max_frames``);
* ``img1``, ``img2``, ``flow``: paths relative to ``DST`` (empty unless ``status == "ok"``):
  ``<sequence>/frames/<k:06d>_1.png``, ``..._2.png`` (the cropped pair resized to ``size``,
  default 384x512 HxW) and ``<sequence>/flow/<k:06d>.flo`` (the flow on the grid of ``img1``,
  components scaled to the resize, so in pixels of the stored images; zero outside the face);
* ``status``: ``ok`` | ``skipped`` (a frame of the pair has no face) | ``failed`` (an error,
  in ``reason``); only ``ok`` rows are training pairs;
* ``n_degenerate`` (triangles left out, Sec. 3 step 4), ``n_flipped`` (fold-overs),
  ``mean_mag``, ``max_mag`` (flow magnitude over all pixels of the stored flow);
* ``crop_x0, crop_y0, crop_x1, crop_y1``: the crop box in the source frame (exclusive ends),
  ``mode``.

Per sequence, ``DST/<sequence>/`` holds ``frames/``, ``flow/``, ``landmarks.npy`` ((N, 68, 2)
landmarks actually used, NaN where no face) and ``track.csv`` (per frame: how the landmarks were
obtained). ``DST/gt_options.json`` records the options; ``manifest.csv`` is written last, so
its presence means the dataset is complete.

Sequence and subject names by layout
------------------------------------
* frames folder ``X/*.png|jpg``: sequence ``X``, subject ``X``;
* video ``X.avi``: sequence ``X``, subject ``X``;
* BP4D-Spontaneous ``Fxxx/Tn/*.jpg`` (or ``Mxxx``): sequence ``Fxxx_Tn``, subject ``Fxxx``;
* CK+ ``cohn-kanade-images/Sxxx/nnn/*.png``: sequence ``Sxxx_nnn``, subject ``Sxxx``; the
  distributed ``Landmarks/Sxxx/nnn/*_landmarks.txt`` are used when present;
* any other folder (e.g. the OpenFace samples): every sub-folder of frames and every video in it
  is a sequence named after it, and the subject is the sequence name (the samples do not say
  who is filmed).

Resuming and determinism
------------------------
Every file is written atomically (temporary file + rename) and the flow of a pair is written
after its two images, so an existing ``.flo`` marks a completed pair. A rerun reuses
``landmarks.npy`` and completed pairs (their statistics are recomputed from the stored
``.flo``), computes the rest, and rewrites the manifest. Nothing time- or machine-dependent is
stored, so a run killed midway and rerun gives the same bytes as an uninterrupted run.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from faceflow.flow.fields import flow_stats
from faceflow.groundtruth import mesh as gt
from faceflow.io.atomic import atomic_write, atomic_write_bytes, atomic_write_text
from faceflow.io.datasets import FlowPairRef, find_dataset
from faceflow.io.images import VIDEO_EXTS, iter_video_frames, list_images, read_image

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
]
#: Columns every reader of the manifest needs.
REQUIRED_COLUMNS = ("sequence", "subject", "pair", "img1", "img2", "flow", "status")
LAYOUTS = ("auto", "frames", "video", "bp4d", "ckplus", "folder")


# ----------------------------------------------------------------------------- sources
@dataclass
class SequenceSource:
    """One sequence to convert: a video file or a list of frame files."""

    name: str
    subject: str
    video: Path | None = None
    frames: list[Path] | None = None
    landmarks: Path | None = None  # precomputed landmarks (.npy, OpenFace .csv, CK+ folder)

    def iter_frames(self, max_frames: int | None = None, step: int = 1):
        """Yield RGB uint8 frames (every ``step``-th, at most ``max_frames``), streaming."""
        if self.frames is None:
            yield from iter_video_frames(self.video, max_frames, step=step)
            return
        paths = self.frames[::step]
        if max_frames is not None:
            paths = paths[:max_frames]
        for p in paths:
            yield read_image(p)


_BP4D_SUBJ = re.compile(r"^[FM]\d{3}$")
_BP4D_TASK = re.compile(r"^T\d+$")


def discover(src, layout: str = "auto", landmarks=None) -> list[SequenceSource]:
    """Sequences of ``src`` (a frames folder, a video, a BP4D or CK+ root, or a folder of those).

    ``landmarks``: precomputed landmarks for a single-sequence source (.npy / OpenFace .csv /
    CK+ folder); otherwise landmarks are detected and tracked.
    """
    src = Path(src)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such file or folder")
    lm = Path(landmarks) if landmarks else None
    if src.is_file():
        if src.suffix.lower() not in VIDEO_EXTS:
            raise ValueError(f"{src}: not a video ({', '.join(VIDEO_EXTS)}) nor a folder")
        return [SequenceSource(src.stem, src.stem, video=src, landmarks=lm)]
    if layout == "auto":
        layout = _guess_layout(src)
    if layout == "frames":
        imgs = list_images(src)
        if not imgs:
            raise ValueError(f"{src}: no image files")
        return [SequenceSource(src.name, src.name, frames=imgs, landmarks=lm)]
    if lm is not None:
        raise ValueError("--landmarks applies to a single frames folder or video, not to a dataset root")
    seqs: list[SequenceSource] = []
    if layout == "ckplus":
        root = src if src.name == "cohn-kanade-images" else src / "cohn-kanade-images"
        lm_root = root.parent / "Landmarks"
        for subj in sorted(p for p in root.iterdir() if p.is_dir()):
            for seq in sorted(p for p in subj.iterdir() if p.is_dir()):
                imgs = list_images(seq)
                if imgs:
                    lmd = lm_root / subj.name / seq.name
                    seqs.append(
                        SequenceSource(
                            f"{subj.name}_{seq.name}", subj.name, frames=imgs, landmarks=lmd if lmd.is_dir() else None
                        )
                    )
    elif layout == "bp4d":
        for subj in sorted(p for p in src.iterdir() if p.is_dir() and _BP4D_SUBJ.match(p.name)):
            for task in sorted(p for p in subj.iterdir() if p.is_dir() and _BP4D_TASK.match(p.name)):
                imgs = list_images(task)
                if imgs:
                    seqs.append(SequenceSource(f"{subj.name}_{task.name}", subj.name, frames=imgs))
    else:  # folder: sub-folders of frames and videos
        for p in sorted(src.iterdir()):
            if p.is_dir() and (imgs := list_images(p)):
                seqs.append(SequenceSource(p.name, p.name, frames=imgs))
            elif p.is_file() and p.suffix.lower() in VIDEO_EXTS:
                seqs.append(SequenceSource(p.stem, p.stem, video=p))
    if not seqs:
        raise ValueError(f"{src}: no sequence found for layout {layout!r}")
    names = [s.name for s in seqs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"{src}: several sequences share the names {sorted(dup)}")
    return seqs


def _guess_layout(src: Path) -> str:
    if src.name == "cohn-kanade-images" or (src / "cohn-kanade-images").is_dir():
        return "ckplus"
    subdirs = [p for p in src.iterdir() if p.is_dir()]
    if any(
        _BP4D_SUBJ.match(p.name) and any(_BP4D_TASK.match(q.name) for q in p.iterdir() if q.is_dir()) for p in subdirs
    ):
        return "bp4d"
    if list_images(src):
        return "frames"
    return "folder"


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
    #: crop box from the landmarks of both frames of a pair ("pair") or of the first only
    #: ("first", the released code); flow values in pixels of the resized crop ("crop") or scaled
    #: by the full frame size ("frame", the released code). See :func:`faceflow.groundtruth.mesh.crop_resize_pair`.
    crop_from: str = "pair"
    flow_units: str = "crop"

    def validate(self) -> None:
        if self.mode not in gt.MODES:
            raise ValueError(f"mode must be one of {gt.MODES}, got {self.mode!r}")
        if len(self.size) != 2 or min(self.size) < 8:
            raise ValueError(f"size must be (H, W) >= 8, got {self.size}")
        if self.step < 1 or (self.max_frames is not None and self.max_frames < 2):
            raise ValueError("step must be >= 1 and max_frames >= 2")
        if self.crop_from not in ("pair", "first") or self.flow_units not in ("crop", "frame"):
            raise ValueError(
                f"crop_from must be pair|first and flow_units crop|frame, got {self.crop_from}, {self.flow_units}"
            )

    def to_json(self) -> str:
        d = asdict(self)
        d["size"] = list(self.size)
        for k, default in (("crop_from", "pair"), ("flow_units", "crop")):  # datasets made before these options
            if d[k] == default:
                del d[k]
        return json.dumps(d, indent=2, sort_keys=True) + "\n"


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
    """Landmarks of a sequence: reuse ``landmarks.npy``, else read/track, stabilise and store them."""
    from faceflow.groundtruth import landmarks as lmk

    path = seq_dir / "landmarks.npy"
    if path.is_file() and (seq_dir / "meta.json").is_file():
        return np.load(path), {"reused": True}
    info: dict = {"reused": False}
    first = next(seq.iter_frames(1, 1), None)
    if first is None:
        raise ValueError(f"{seq.name}: no frame could be decoded")
    if seq.landmarks is not None:
        frames = None
        if seq.frames is not None:
            frames = seq.frames[:: opts.step]
            if opts.max_frames is not None:
                frames = frames[: opts.max_frames]
        lm = lmk.read_landmarks(seq.landmarks, frames)
        if seq.landmarks.is_file() and seq.landmarks.suffix.lower() in (".csv", ".npy"):
            lm = lm[:: opts.step]
            if opts.max_frames is not None:
                lm = lm[: opts.max_frames]
        source = ["file" if np.isfinite(p).all() else "none" for p in lm]
    else:
        tr = lmk.track_sequence(seq.iter_frames(opts.max_frames, opts.step), opts.backend)
        lm, source = tr.landmarks, tr.source
        info.update(n_detect=tr.n_detect, seconds_detect=tr.seconds_detect, seconds_track=tr.seconds_track)
        if opts.stabilize != "none":
            lm = lmk.stabilize(
                seq.iter_frames(opts.max_frames, opts.step), lm, opts.stabilize, alpha=opts.stabilize_alpha
            )
    lines = ["frame,source"] + [f"{i},{s}" for i, s in enumerate(source)]
    atomic_write_text(seq_dir / "track.csv", "\n".join(lines) + "\n")
    meta = {"shape": list(first.shape[:2]), "n_frames": int(len(lm))}
    atomic_write_text(seq_dir / "meta.json", json.dumps(meta, sort_keys=True) + "\n")
    with atomic_write(path) as fh:
        np.save(fh, np.asarray(lm, np.float64))
    return np.asarray(lm, np.float64), info


def process_sequence(seq: SequenceSource, dst, opts: GTOptions, progress: bool = False) -> tuple[list[dict], dict]:
    """Generate (or resume) one sequence; returns its manifest rows and run information."""
    import cv2

    from faceflow.io.flo import read_flo, write_flo

    cv2.setNumThreads(1)
    dst = Path(dst)
    seq_dir = dst / seq.name
    seq_dir.mkdir(parents=True, exist_ok=True)
    _clean_tmp(seq_dir)
    base = {"sequence": seq.name, "subject": seq.subject, "mode": opts.mode}
    try:
        lm, info = sequence_landmarks(seq, opts, seq_dir)
    except Exception as exc:  # never fatal for the run: the sequence is recorded as failed
        return [dict(base, pair=-1, frame1=-1, frame2=-1, status="failed", reason=f"{type(exc).__name__}: {exc}")], {
            "error": str(exc)
        }
    n = len(lm)
    rel = lambda *p: "/".join((seq.name,) + p)  # noqa: E731
    done = {k for k in range(max(n - 1, 0)) if (seq_dir / "flow" / f"{k:06d}.flo").is_file()}
    todo = set(range(max(n - 1, 0))) - done
    rows: list[dict] = []
    shape = tuple(json.loads((seq_dir / "meta.json").read_text())["shape"])
    frames_it = seq.iter_frames(opts.max_frames, opts.step) if todo else iter(())
    cur_idx, cur, nxt = -1, None, None
    if todo:
        cur = next(frames_it)
        cur_idx = 0
        nxt = next(frames_it, None)
    it = gt.sequence_flows(lm, shape, opts.mode, opts.min_area, opts.interp, pairs=todo)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, total=max(n - 1, 0), desc=seq.name, leave=False)
    for out in it:
        k = out.pair
        row = dict(
            base,
            pair=k,
            frame1=k,
            frame2=k + 1,
            img1="",
            img2="",
            flow="",
            status=out.status,
            reason=out.reason,
            n_degenerate=out.n_degenerate,
        )
        if k in todo:  # advance the frame stream to frames k, k+1
            while cur_idx < k:
                cur, nxt = nxt, next(frames_it, None)
                cur_idx += 1
        try:
            if out.status == "ok":
                flo_path = seq_dir / "flow" / f"{k:06d}.flo"
                if k in done:
                    stored = read_flo(flo_path)
                    meta = _read_pair_meta(seq_dir, k)
                    row.update(meta)
                    row.update(flow_stats(stored))
                else:
                    if nxt is None:
                        raise ValueError(f"frame {k + 1} could not be decoded")
                    res = out.result
                    box_lm = lm[k] if opts.crop_from == "first" else np.stack([lm[k], lm[k + 1]])
                    box = gt.crop_box(box_lm, shape, opts.offset)
                    a, b, f = gt.crop_resize_pair(cur, nxt, res.flow, box, tuple(opts.size), opts.flow_units)
                    f32 = np.ascontiguousarray(f, np.float32)
                    meta = {
                        "n_flipped": res.n_flipped,
                        "crop_x0": box[0],
                        "crop_y0": box[1],
                        "crop_x1": box[2],
                        "crop_y1": box[3],
                    }
                    atomic_write_bytes(seq_dir / "frames" / f"{k:06d}_1.png", _png_bytes(a))
                    atomic_write_bytes(seq_dir / "frames" / f"{k:06d}_2.png", _png_bytes(b))
                    atomic_write_text(seq_dir / "flow" / f"{k:06d}.json", json.dumps(meta, sort_keys=True) + "\n")
                    write_flo(flo_path, f32)
                    row.update(meta)
                    row.update(flow_stats(f32))
                row.update(
                    img1=rel("frames", f"{k:06d}_1.png"),
                    img2=rel("frames", f"{k:06d}_2.png"),
                    flow=rel("flow", f"{k:06d}.flo"),
                )
        except Exception as exc:
            row.update(status="failed", reason=f"{type(exc).__name__}: {exc}", img1="", img2="", flow="")
        rows.append(row)
    info["n_frames"] = n
    info["resumed_pairs"] = len(done)
    return rows, info


def _read_pair_meta(seq_dir: Path, k: int) -> dict:
    p = seq_dir / "flow" / f"{k:06d}.json"
    return json.loads(p.read_text()) if p.is_file() else {}


# ----------------------------------------------------------------------------- whole dataset
def _worker(args):
    seq, dst, opts = args
    return seq.name, process_sequence(seq, dst, opts)


def generate(
    src,
    dst,
    mode: str = "paper",
    size=(384, 512),
    offset: int = 10,
    max_frames: int | None = None,
    step: int = 1,
    workers: int = 1,
    backend: str = "dlib",
    stabilize: str = "lk",
    stabilize_alpha: float = 0.2,
    min_area: float = gt.MIN_AREA,
    interp: str = "cubic",
    layout: str = "auto",
    landmarks=None,
    progress: bool = True,
    verbose: bool = True,
    crop_from: str = "pair",
    flow_units: str = "crop",
):
    """Generate (or resume) the ground-truth dataset of ``src`` into ``dst``; returns the manifest.

    See the module docstring for the layout. ``workers`` processes run over sequences in
    parallel. A different set of options than the one stored in ``dst`` is an error (use a new
    ``dst``).
    """
    import pandas as pd

    opts = GTOptions(
        mode,
        tuple(int(v) for v in size),
        int(offset),
        max_frames,
        int(step),
        backend,
        stabilize,
        float(stabilize_alpha),
        float(min_area),
        interp,
        layout,
        crop_from,
        flow_units,
    )
    opts.validate()
    dst = Path(dst)
    seqs = discover(src, layout, landmarks)
    dst.mkdir(parents=True, exist_ok=True)
    _clean_tmp(dst)
    opt_path = dst / OPTIONS
    if opt_path.is_file() and opt_path.read_text() != opts.to_json():
        raise ValueError(
            f"{dst} holds a dataset generated with other options ({opt_path}); use another destination or delete it"
        )
    atomic_write_text(opt_path, opts.to_json())
    results: dict[str, tuple[list[dict], dict]] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(seqs), desc="gt sequences", unit="seq")
    if workers <= 1 or len(seqs) == 1:
        for s in seqs:
            results[s.name] = process_sequence(s, dst, opts, progress=progress)
            if bar is not None:
                bar.update(1)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as ex:
            futs = [ex.submit(_worker, (s, dst, opts)) for s in seqs]
            for fut in as_completed(futs):
                name, res = fut.result()
                results[name] = res
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    rows = [r for s in seqs for r in results[s.name][0]]
    df = pd.DataFrame(rows)
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    df = df[COLUMNS + [c for c in df.columns if c not in COLUMNS]]
    df = df.sort_values(["sequence", "pair"], kind="stable").reset_index(drop=True)
    for c in ("img1", "img2", "flow", "reason"):
        df[c] = df[c].fillna("")
    atomic_write_text(dst / MANIFEST, df.to_csv(index=False, float_format="%.6g"))
    if verbose:
        print(summary(df))
    return df


def summary(df) -> str:
    """Text summary: pairs per status, and every failure with its reason."""
    counts = df["status"].value_counts().to_dict()
    lines = [
        f"gt: {df['sequence'].nunique()} sequences, {len(df)} pairs: "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "skipped", "failed"))
    ]
    for seq, g in df[df["status"] == "skipped"].groupby("sequence"):
        lines.append(f"  skipped {len(g)} pair(s) in {seq} (frames without a face)")
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
        Keep only the ``ok`` rows (the training and test pairs).
    absolute : bool
        Turn the ``img1``, ``img2`` and ``flow`` paths (relative to ``dst`` in the file) into
        absolute paths; empty paths stay empty.

    Returns
    -------
    pandas.DataFrame
        Text columns as strings (missing values empty), ``pair`` as int.

    Raises
    ------
    FileNotFoundError
        No manifest in ``dst``.
    ValueError
        A required column is missing.
    """
    import pandas as pd

    dst = Path(dst)
    path = dst / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest; generate the dataset with `faceflow gt SRC {dst}`")
    text_cols = ["sequence", "subject", "img1", "img2", "flow", "reason", "status", "mode"]
    df = pd.read_csv(path, dtype={c: str for c in text_cols})
    missing = set(REQUIRED_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    for c in text_cols:
        if c in df.columns:
            df[c] = df[c].fillna("")
    df["pair"] = df["pair"].astype(int)
    if usable_only:
        df = df[df["status"] == "ok"].reset_index(drop=True)
    if absolute:
        for c in ("img1", "img2", "flow"):
            df[c] = [str(dst / p) if p else "" for p in df[c]]
    return df


def manifest_refs(df) -> list[FlowPairRef]:
    """One :class:`~faceflow.io.datasets.FlowPairRef` per row of a manifest read with ``absolute=True``.

    The pair is named ``<sequence>/<pair>``; its source is ``faces``.
    """
    return [
        FlowPairRef(f"{r.sequence}/{r.pair}", Path(r.img1), Path(r.img2), Path(r.flow), "faces")
        for r in df.itertuples()
    ]


def is_complete(dst, **opts) -> bool:
    """True when ``dst`` holds a finished dataset generated with these options."""
    dst = Path(dst)
    if not (dst / MANIFEST).is_file() or not (dst / OPTIONS).is_file():
        return False
    keys = {k: v for k, v in opts.items() if k in GTOptions.__dataclass_fields__}
    o = GTOptions(**keys)
    o.size = tuple(int(v) for v in o.size)
    return (dst / OPTIONS).read_text() == o.to_json()


def ensure_dataset(src, dst, **opts) -> Path:
    """Return ``dst`` holding the dataset of ``src``: reused when complete, else generated or resumed.

    ``opts`` are those of :func:`generate`. Idempotent: a complete dataset with the same options
    is returned without touching it.
    """
    dst = Path(dst)
    gen_keys = {k: v for k, v in opts.items() if k not in ("progress", "verbose", "workers", "landmarks")}
    if is_complete(dst, **gen_keys):
        return dst
    generate(src, dst, **opts)
    return dst


def openface_dataset(data_root, dst, max_frames: int | None = 150, **opts) -> Path:
    """The face dataset of the OpenFace samples (``openface/image_sequence`` + the three videos).

    Each video (and the image sequence) is a sequence; the subject is the sequence name. The
    default profile caps every video at its first ``max_frames`` frames.

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

    A complete dataset already in ``dst`` (its ``manifest.csv`` exists, e.g. written by the
    ground-truth chapter) is used as it is, whatever options made it; otherwise
    :func:`openface_dataset` generates it quietly.
    """
    dst = Path(dst)
    if (dst / MANIFEST).is_file():
        return dst
    opts.setdefault("progress", False)
    opts.setdefault("verbose", False)
    return openface_dataset(data_root, dst, max_frames=max_frames, **opts)
