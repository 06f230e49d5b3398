"""``faceflow data``: which datasets the data root provides."""

from __future__ import annotations

import argparse

from faceflow.cli.options import add_data_root


def _faces(root) -> str:
    from faceflow.io import datasets

    clips = datasets.face_clips(root, include_excluded=True)
    used = [c for c in clips if not c.exclude]
    splits = {s: len({c.subject for c in used if c.split == s}) for s in datasets.FACE_SPLITS}
    return (
        f"{len(clips)} videos ({len(clips) - len(used)} excluded), {len({c.subject for c in used})} people: "
        + ", ".join(f"{n} {s}" for s, n in splits.items())
        + f" (subject table {datasets.FACE_SUBJECTS.name})"
    )


def _data(args: argparse.Namespace) -> int:
    from faceflow.io import datasets

    root = datasets.resolve_root(args.data_root)
    print(f"data root: {root}")
    counts = {
        "openface_frames": lambda: f"{len(datasets.openface_frames(root))} frames",
        "openface": lambda: ", ".join(p.name for p in datasets.openface_videos(root)),
        "sintel": lambda: f"{len(datasets.sintel_pairs(root))} clean pairs",
        "chairs": lambda: f"{len(datasets.chairs_pairs(root))} pairs",
        "stst_images": lambda: f"{len(datasets.stst_samples(root))} images",
        "faces": lambda: _faces(root),
    }
    for key, spec in datasets.DATASETS.items():
        folder = datasets.locate(key, root)
        if folder is None:
            print(f"  {spec.label:24s} MISSING: {spec.hint}")
        else:
            what = counts[key]() if key in counts else str(folder)
            print(f"  {spec.label:24s} ok: {what}")
    return 0


def add_cli(sub) -> None:
    d = sub.add_parser("data", help="show which datasets the data root provides")
    add_data_root(d, "--root")
    d.set_defaults(func=_data)
