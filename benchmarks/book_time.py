"""Per-chapter times of a profile's book from nothing, as ratios to the reference computation.

Builds the chapters (no HTML) with a new, empty output folder in the temporary folder (removed
afterwards; ``outputs/`` is untouched) into a temporary stage, so every chapter is a first run,
then prints for each chapter: wall and CPU seconds, the reference computation's seconds timed just
before it (:func:`faceflow.book.budgets.time_reference`), the chapter's time in reference units,
its budget (``faceflow/profiles.py``) and the machine's load. The default profile takes about half
an hour on 2 cores; it is a script, not a test.

    .venv/bin/python benchmarks/book_time.py [--profile default] [--only 05_micro_expressions]
    .venv/bin/python benchmarks/book_time.py --records _build/default/chapter_seconds.csv   # print only
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--only", nargs="+", metavar="CHAPTER", help="build only these chapters (each from nothing)")
    ap.add_argument("--records", type=Path, help="print these timing records instead of building")
    args = ap.parse_args(argv)

    from faceflow import profiles
    from faceflow.book import budgets, publish
    from faceflow.book.build import build_book, project_root, stage_dir

    if args.records is not None:
        rows = [r for r in publish.read_timings(args.records) if r["profile"] == args.profile]
    else:
        stage = Path(tempfile.mkdtemp(prefix="faceflow-book-time-"))
        try:
            if args.only:  # the chapters not run keep the staged book's notebooks
                shutil.copytree(stage_dir(args.profile, project_root()) / "notebooks", stage / "notebooks")
            build_book(args.profile, only=args.only, stage=stage, html=False, from_nothing=True)
            rows = publish.read_timings(publish.timings_path(stage))
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    settings = profiles.get(args.profile)
    print(f"profile {args.profile}: per chapter, from nothing (first runs only)")
    head = f"{'chapter':<24}{'wall s':>9}{'CPU s':>9}{'ref s':>8}{'units':>8}{'budget':>8}  load  verdict"
    print(head)
    total = units = budget_units = 0.0
    cpu = {r["chapter"]: r for r in rows if r["cache"] == "first run"}
    for check in budgets.check_records(rows, settings.budgets):
        row = cpu[check.chapter]
        budget = check.budget.units if check.budget else float("nan")
        verdict = "over" if check.over else ("within" if check.budget else "no budget")
        print(
            f"{check.chapter:<24}{check.seconds:>9.1f}{float(row['cpu_seconds'] or 'nan'):>9.1f}"
            f"{check.reference_seconds:>8.3f}{check.units:>8.0f}{budget:>8.0f}  {row['load']:>4}  {verdict}"
        )
        total, units = total + check.seconds, units + check.units
        budget_units += check.budget.units if check.budget else 0
    skipped = [r["chapter"] for r in rows if r["cache"] != "first run"]
    if skipped:
        print(f"not first runs (not shown): {', '.join(skipped)}")
    print(
        f"total {total / 60:.1f} min = {units:.0f} reference units; budgets {budget_units:.0f} units "
        f"= {budget_units * profiles.REFERENCE_SECONDS_2_CORES / 60:.1f} min on the 2-core machine"
    )


if __name__ == "__main__":
    main()
