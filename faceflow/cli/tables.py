"""``faceflow tables``: the book's smoke-profile tables against the reference CSVs of the project."""

from __future__ import annotations

import argparse

from faceflow.profiles import PROFILES


def _tables(args: argparse.Namespace) -> int:
    from faceflow.book import tables
    from faceflow.book.build import build_book, check_chapters, notebook_sources, project_root, stage_dir

    root = project_root()
    check_chapters(args.only, notebook_sources(root))  # before anything runs or is compared
    stage = stage_dir(args.profile, root)
    if not args.no_execute:
        build_book(args.profile, only=args.only, html=False)
    elif not (stage / "notebooks").is_dir():
        raise FileNotFoundError(f"{stage}: no executed chapters; run without --no-execute first")
    else:
        build_book(args.profile, execute=False, html=False)  # re-export from the staged notebooks
    current = stage / "tables"
    reference = root / tables.REFERENCE_DIR / args.profile
    if args.accept:
        written = tables.accept(current, reference, args.only)
        print(f"accepted {len(written)} tables into {reference.relative_to(root)}")
        return 0
    if not reference.is_dir():
        raise FileNotFoundError(f"{reference}: no reference tables; create them with faceflow tables --accept")
    diffs = tables.compare(reference, current, root / tables.TOLERANCES, args.only)
    n = len(list(current.glob("*/*.csv")))
    if not diffs:
        print(f"tables: {n} tables match {reference.relative_to(root)} (tolerances: {tables.TOLERANCES})")
        return 0
    print(f"tables: {len(diffs)} differences from {reference.relative_to(root)} (table | row | column | old | new):")
    for d in diffs:
        print("  " + d.line())
    print("If the change is intended: faceflow tables --accept, and commit the reference CSVs.")
    return 1


def add_cli(sub) -> None:
    p = sub.add_parser(
        "tables",
        help="check the book's tables against the reference CSVs (or accept them)",
        description="Regenerate the tables of the book (executing the chapters, cached results reused), "
        "write them as CSV under _build/<profile>/tables and compare them with reference/tables/<profile>/ "
        "within the tolerances of reference/tables/tolerances.csv.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="compare with the references; exit 1 on a difference (default)"
    )
    mode.add_argument("--accept", action="store_true", help="replace the references by the current tables")
    p.add_argument("--profile", default="smoke", choices=list(PROFILES), help="settings profile (default: smoke)")
    p.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="only these chapters (e.g. 03_ablations)")
    p.add_argument("--no-execute", action="store_true", help="use the chapters already executed in _build/<profile>")
    p.set_defaults(func=_tables)
