"""``faceflow data``: which datasets the data root provides; ``faceflow data fetch``: download the samples."""

from __future__ import annotations

import argparse

from faceflow.cli.options import add_data_root, add_quiet


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

    root = args.resolved_root
    print(f"data root: {root.require()}")
    counts = {
        "openface_frames": lambda: f"{len(datasets.openface_frames(root))} frames",
        "openface": lambda: ", ".join(p.name for p in datasets.openface_videos(root)),
        "sintel": lambda: f"{len(datasets.sintel_pairs(root))} clean pairs",
        "chairs": lambda: f"{len(datasets.chairs_pairs(root))} pairs",
        "stst_images": lambda: f"{len(datasets.stst_samples(root))} images",
        "faces": lambda: _faces(root),
    }
    for key, spec in datasets.DATASETS.items():
        folder = root.locate(key)
        if folder is None:
            print(f"  {spec.label:24s} MISSING: {spec.hint}")
        else:
            what = counts[key]() if key in counts else str(folder)
            print(f"  {spec.label:24s} ok: {what}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from faceflow.io import fetch

    root = args.resolved_root.location
    report = fetch.fetch(
        root, only=args.only, base_url=args.base_url, registry=args.registry or fetch.REGISTRY, progress=not args.quiet
    )
    print(
        f"data root {root}: {len(report.downloaded)} files downloaded, {len(report.present)} already there, "
        f"{len(report.failed)} failed"
    )
    for name, why in report.failed.items():
        print(f"  {name}: {why}")
    return 1 if report.failed else 0


def _registry(args: argparse.Namespace) -> int:
    from faceflow.io import fetch
    from faceflow.io.paths import refuse_output_over_input

    sources = args.sources or args.resolved_root.require() / "SOURCES.csv"
    refuse_output_over_input(fetch.REGISTRY, [sources], "the registry")
    samples = fetch.write_registry(sources, fetch.REGISTRY)
    print(f"{fetch.REGISTRY}: {len(samples)} files from {sources}")
    return 0


def add_cli(sub) -> None:
    d = sub.add_parser("data", help="show which datasets the data root provides; fetch the samples")
    add_data_root(d, "--root")
    d.set_defaults(func=_data)
    actions = d.add_subparsers(dest="data_action", metavar="ACTION")
    f = actions.add_parser(
        "fetch",
        help="download the sample data into the data root (sha256-checked, resumable)",
        description="Download the sample files of the project's registry (faceflow/io/samples.csv) from "
        "their pinned origins into the data root. Files already there with the right sha256 are skipped.",
    )
    f.add_argument(
        "--root", dest="data_root", default=argparse.SUPPRESS, help="data root (default: $FACEFLOW_DATA or ./data)"
    )
    f.add_argument("--only", nargs="+", metavar="NAME", help="only these folders or files, e.g. sintel mer/stst_uvos")
    f.add_argument(
        "--base-url",
        default=None,
        help="base address of <repo>/<commit>/<path> (default: $FACEFLOW_DATA_URL or GitHub)",
    )
    f.add_argument("--registry", default=None, help="registry CSV (default: faceflow/io/samples.csv)")
    add_quiet(f)
    f.set_defaults(func=_fetch)
    r = actions.add_parser("registry", help="regenerate faceflow/io/samples.csv from the data root's SOURCES.csv")
    r.add_argument("--root", dest="data_root", default=argparse.SUPPRESS, help="data root holding SOURCES.csv")
    r.add_argument("--sources", default=None, help="default: <data root>/SOURCES.csv")
    r.set_defaults(func=_registry)
