"""``faceflow gt SRC DST``: the face ground-truth flow dataset (Sec. 3, with the +10 px crop of Secs. 4.3, 5.2)."""

from __future__ import annotations

import argparse

from faceflow.cli.options import (
    MAX_SIDE,
    MIN_SIDE,
    add_quiet,
    nonnegative_float,
    nonnegative_int,
    positive_int,
    unit_float,
)


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be HxW (e.g. 384x512), got {text!r}") from None
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise argparse.ArgumentTypeError(f"size sides must be {MIN_SIDE} to {MAX_SIDE} px (e.g. 384x512), got {text!r}")
    return h, w


def _gt(args: argparse.Namespace) -> int:
    from faceflow.groundtruth.dataset import GTOptions, add_masks, generate

    if args.add_masks is not None:
        if args.src is not None:
            raise ValueError("--add-masks DST takes no SRC: it works on the dataset folder alone")
        df = add_masks(args.add_masks, progress=not args.quiet)
        ok = df["status"] == "ok"
        print(f"valid masks: {int(ok.sum())} pairs, face share {df.loc[ok, 'face_share'].mean():.3f} of the crop")
        print(f"manifest: {args.add_masks}/manifest.csv")
        return 0
    if args.src is None or args.dst is None:
        raise ValueError("give SRC and DST (or --add-masks DST)")
    values = {name: getattr(args, name) for name in GTOptions.__dataclass_fields__}
    values["segment"] = values["segment"] or None  # --segment 0: the whole sequence
    df = generate(
        args.src,
        args.dst,
        GTOptions(**values),
        workers=args.workers,
        landmarks=args.landmarks,
        progress=not args.quiet,
        scheduler=args.scheduler,
    )
    print(f"manifest: {args.dst}/manifest.csv")
    failed = int((df["status"] == "failed").sum())
    if failed:
        print(f"faceflow gt: {failed} pair(s) failed (listed above); rerun the same command to retry them")
        return 1
    return 0


def add_cli(sub) -> None:
    from faceflow.groundtruth.dataset import CROPS, FLOW_UNITS, GTOptions
    from faceflow.groundtruth.landmarks import BACKENDS, STABILIZE
    from faceflow.groundtruth.mesh import INTERPS, MODES
    from faceflow.io.flo import FLOW_FORMATS
    from faceflow.io.layouts import LAYOUTS

    default = GTOptions()

    p = sub.add_parser(
        "gt",
        help="generate the landmark-driven ground-truth flow dataset (resumable)",
        description="SRC: a folder of frames, a video, a BP4D root (Fxxx/Tn/*.jpg), a CK+ root "
        "(cohn-kanade-images/Sxxx/nnn/*.png) or a folder of videos / frame folders. Writes "
        "DST/manifest.csv and DST/<sequence>/{frames,flow,mask}/. Rerunning resumes.",
    )
    p.add_argument("src", nargs="?")
    p.add_argument("dst", nargs="?")
    p.add_argument(
        "--add-masks",
        metavar="DST",
        default=None,
        help="add the valid mask (where the ground truth is defined) to every pair of a dataset written "
        "before masks existed; reads DST only (no frame is decoded, no flow changed)",
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default=default.mode,
        help="paper (default): chain of maps + cubic resampling (Sec. 3); "
        "exact: rasterised piecewise-affine, about 4x faster",
    )
    p.add_argument("--size", type=_size, default=default.size, help="output HxW (default {}x{})".format(*default.size))
    p.add_argument(
        "--offset",
        type=nonnegative_int,
        default=default.offset,
        help=f"crop margin around the landmarks, px (default {default.offset})",
    )
    p.add_argument(
        "--max-frames", type=positive_int, default=default.max_frames, help="use at most this many frames per sequence"
    )
    p.add_argument("--step", type=positive_int, default=default.step, help="keep every STEP-th frame")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="local Dask worker processes over sequences (1: in this process)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on an existing dask.distributed cluster (e.g. tcp://host:8786); its workers must see SRC and DST",
    )
    p.add_argument(
        "--flow-format",
        choices=tuple(FLOW_FORMATS),
        default=default.flow_format,
        help="flo (default): Middlebury .flo float32; f16: float16 in a compressed .npz (about 1/3 the bytes)",
    )
    p.add_argument("--backend", choices=tuple(BACKENDS), default=default.backend)
    p.add_argument(
        "--stabilize",
        choices=STABILIZE,
        default=default.stabilize,
        help="temporal landmark stabilisation (default lk: detector-anchored Lucas-Kanade)",
    )
    p.add_argument(
        "--alpha",
        dest="stabilize_alpha",
        type=unit_float,
        default=default.stabilize_alpha,
        help=f"weight of the model fit in --stabilize lk (default {default.stabilize_alpha})",
    )
    p.add_argument(
        "--min-area",
        type=nonnegative_float,
        default=default.min_area,
        help=f"degenerate-triangle area threshold, px^2 (default {default.min_area})",
    )
    p.add_argument(
        "--interp",
        choices=INTERPS,
        default=default.interp,
        help="paper-mode resampling: bicubic/bilinear spline over the carried grid, SciPy Clough-Tocher, "
        "or SciPy linear griddata (the authors' released code)",
    )
    p.add_argument("--layout", choices=LAYOUTS, default=default.layout)
    p.add_argument(
        "--landmarks",
        default=None,
        help="precomputed landmarks for a single sequence (.npy, OpenFace .csv, CK+ folder)",
    )
    p.add_argument(
        "--crop",
        choices=CROPS,
        default=default.crop,
        help="sequence (default): one crop box per segment of pairs, every frame stored once; "
        "pair: one box per pair, two images stored per pair; first: as pair, from the first frame's "
        "landmarks only (the authors' released code)",
    )
    p.add_argument(
        "--flow-units",
        choices=FLOW_UNITS,
        default=default.flow_units,
        help="flow in pixels of the stored images (default) or scaled by the full frame size (released code)",
    )
    p.add_argument(
        "--segment",
        type=nonnegative_int,
        default=default.segment,
        help=f"pairs per crop box with --crop sequence (default {default.segment}; 0: the whole sequence)",
    )
    p.add_argument(
        "--verify-every",
        type=nonnegative_int,
        default=default.verify_every,
        metavar="N",
        help=f"check every N frames that the tracked face is still there and the same person; pairs of "
        f"frames that fail are marked suspect (default {default.verify_every}; 0: no checks)",
    )
    add_quiet(p)
    p.set_defaults(func=_gt)
