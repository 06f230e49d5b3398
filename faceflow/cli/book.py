"""``faceflow book``: execute the chapters and build the book."""

from __future__ import annotations

import argparse

from faceflow.cli.options import add_profile


def _book(args: argparse.Namespace) -> int:
    from papermill.exceptions import PapermillExecutionError

    from faceflow.book.build import build_book, stage_dir

    extra = {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param expects KEY=VALUE, got {item!r}")
        extra[key.strip()] = value  # typed and checked against the chapters' parameters cells
    try:
        html = build_book(
            args.profile,
            only=args.only,
            execute=not args.no_execute,
            extra_parameters=extra,
            solutions=not args.no_solutions,
            from_nothing=args.from_nothing,
        )
    except PapermillExecutionError as exc:
        kept = stage_dir(args.profile) / "notebooks"
        raise RuntimeError(f"a chapter failed: {exc.ename}: {exc.evalue} (see the *.failed.ipynb in {kept})") from None
    print(f"book: {html / 'index.html'}")
    if args.record_timings:
        from faceflow.book.build import project_root
        from faceflow.book.publish import save_snapshot

        print(f"timings: {save_snapshot(project_root(), args.profile, stage_dir(args.profile))}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("book", help="execute the chapter notebooks and build the HTML book")
    add_profile(p)
    p.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="execute only these (e.g. 00_data_tour)")
    p.add_argument("--no-execute", action="store_true", help="rebuild HTML from staged notebooks")
    p.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="a chapter parameter, typed like its default in the chapter's parameters cell "
        "(e.g. seed=3, steps=20, resolution=(128,192), data_root=/path); checked before any chapter runs",
    )
    p.add_argument(
        "--no-solutions", action="store_true", help="student edition: exercise solutions hidden (<stage>/student)"
    )
    p.add_argument(
        "--from-nothing",
        action="store_true",
        help="execute in a new, empty output folder in the temporary folder (removed afterwards): every "
        "chapter is a first run, timed as such; outputs/ is neither read nor written",
    )
    p.add_argument(
        "--record-timings", action="store_true", help="save this machine's chapter timings to book/timings.csv"
    )
    p.set_defaults(func=_book)
