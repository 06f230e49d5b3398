"""``faceflow faces``: the face video corpus: its clip -> subject table and a contact sheet per subject."""

from __future__ import annotations

import argparse
from pathlib import Path

from faceflow.cli.options import add_data_root, add_quiet
from faceflow.io.atomic import atomic_write

#: The columns that decide the splits; ``--check`` compares these.
_DECISIVE = ["clip", "subject", "split", "exclude"]


def _subjects(args: argparse.Namespace) -> int:
    from faceflow.groundtruth.subjects import build_table, contact_sheet
    from faceflow.io.atomic import atomic_write_text
    from faceflow.io.datasets import FACE_SUBJECTS, face_subjects

    result = build_table(args.data_root, args.frames, args.threshold, progress=not args.quiet)
    table = result.table
    for c in result.conflicts:
        print(f"unreviewed: one descriptor cluster joins {c['keys']}: {c['clips']}")
    if args.sheet:
        fig = contact_sheet(table, result.chips)
        with atomic_write(args.sheet) as fh:
            fig.savefig(fh, format=Path(args.sheet).suffix.lstrip(".") or "png", dpi=150)
        print(f"contact sheet: {args.sheet}")
    people = table[table["exclude"] == ""].drop_duplicates("subject")["split"].value_counts().to_dict()
    print(f"{len(table)} clips, {table['subject'].nunique()} subjects; people per split: {people}")
    if args.check:
        kept = face_subjects()[_DECISIVE].reset_index(drop=True)
        new = table[_DECISIVE].astype(str).reset_index(drop=True)
        if kept.equals(new):
            print(f"same subjects, splits and exclusions as {FACE_SUBJECTS}")
            return 0
        diff = kept.merge(new, on="clip", how="outer", suffixes=("_kept", "_new"), indicator=True)
        changed = diff[
            diff.filter(like="_kept").to_numpy().astype(str) != diff.filter(like="_new").to_numpy().astype(str)
        ]
        print(changed.drop_duplicates("clip").to_string(index=False))
        return 1
    out = Path(args.out) if args.out else FACE_SUBJECTS
    atomic_write_text(out, table.to_csv(index=False))
    print(f"subject table: {out}")
    return 1 if result.conflicts else 0


def add_cli(sub) -> None:
    p = sub.add_parser("faces", help="the face video corpus: subject table and contact sheets")
    cmds = p.add_subparsers(dest="faces_command", required=True, metavar="SUBCOMMAND")
    s = cmds.add_parser(
        "subjects",
        help="group the corpus clips by person and split them (rewrites the project's subject table)",
        description="Samples frames of every clip under <data root>/faces, clusters dlib face descriptors, "
        "joins file-name hints and the reviewed overrides of faceflow.groundtruth.subjects, and writes the "
        "clip -> subject table with its subject-disjoint train/val/test/cross split. About 5 CPU-minutes.",
    )
    add_data_root(s)
    s.add_argument("--out", default=None, help="write the table here instead of the project's face_subjects.csv")
    s.add_argument("--check", action="store_true", help="compare with the project's table; exit 1 if they differ")
    s.add_argument("--sheet", default=None, help="also draw the contact sheet (one row of faces per subject) to PNG")
    s.add_argument("--frames", type=int, default=8, help="frames sampled per clip (default 8)")
    s.add_argument("--threshold", type=float, default=0.55, help="descriptor distance threshold (default 0.55)")
    add_quiet(s)
    s.set_defaults(func=_subjects)
