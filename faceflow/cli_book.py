"""``faceflow book``: execute the chapters and build the book; ``faceflow data``: check the data root."""

from __future__ import annotations

import argparse


def _book(args: argparse.Namespace) -> int:
    from faceflow.bookbuild import build_book

    extra = {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--param expects KEY=VALUE, got {item!r}")
        extra[key] = value
    html = build_book(args.profile, only=args.only, execute=not args.no_execute, extra_parameters=extra)
    print(f"book: {html / 'index.html'}")
    return 0


def _data(args: argparse.Namespace) -> int:
    from faceflow import data

    root = data.resolve_root(args.root)
    print(f"data root: {root}")
    checks = {
        "OpenFace frames": lambda: f"{len(data.openface_frames(root))} frames",
        "OpenFace videos": lambda: ", ".join(p.name for p in data.openface_videos(root)),
        "MPI-Sintel (clean)": lambda: f"{len(data.sintel_pairs(root))} pairs",
        "FlyingChairs": lambda: f"{len(data.chairs_pairs(root))} pairs",
        "STSTNet images": lambda: f"{len(data.stst_samples(root))} images",
    }
    for name, fn in checks.items():
        try:
            print(f"  {name:20s} ok: {fn()}")
        except (FileNotFoundError, ValueError) as exc:
            print(f"  {name:20s} MISSING: {exc}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("book", help="execute the chapter notebooks and build the HTML book")
    p.add_argument("--profile", default="default", choices=["smoke", "default", "full"])
    p.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="execute only these (e.g. 00_data_tour)")
    p.add_argument("--no-execute", action="store_true", help="rebuild HTML from staged notebooks")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="extra papermill parameter")
    p.set_defaults(func=_book)
    d = sub.add_parser("data", help="show which datasets the data root provides")
    d.add_argument("--root", default=None, help="data root (default: $FACEFLOW_DATA or ./data)")
    d.set_defaults(func=_data)
