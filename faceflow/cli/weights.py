"""``faceflow weights``: which pretrained weight files are present, missing or corrupt, and where each comes from.

Examples::

    faceflow weights                      # every registered file under <data root>/weights
    faceflow weights --check              # exit status 1 when any file is missing or corrupt
"""

from __future__ import annotations

import argparse

from faceflow.cli.options import add_data_root


def _weights(args: argparse.Namespace) -> int:
    from faceflow.methods.pretrained import PRETRAINED, paper_cnn_status
    from faceflow.methods.weights import weight_file, weights_status

    print(f"data root: {args.resolved_root.path or '(none: set $FACEFLOW_DATA or --data-root)'}")
    table = weights_status(args.resolved_root)
    for net in PRETRAINED.values():
        print(f"{net.label} ({net.name}): {net.description}")
        for name in net.weights:
            row, entry = table.loc[name], weight_file(name)
            print(f"  {row['status']:8s} {row['path']}")
            if row["status"] != "present":
                print(f"           {row['detail']}; {entry.fetch_hint(row['path'])}")
    print("The paper's CNNs (not run here):")
    for st in paper_cnn_status():
        print(f"  {st.name}: {st.reason}")
    bad = int((table["status"] != "present").sum())
    print(f"{len(table) - bad} of {len(table)} registered files present and intact")
    return 1 if args.check and bad else 0


def add_cli(sub) -> None:
    w = sub.add_parser("weights", help="list the pretrained weight files (present, missing, corrupt) and their origin")
    add_data_root(w)
    w.add_argument("--check", action="store_true", help="exit with status 1 when a file is missing or corrupt")
    w.set_defaults(func=_weights)
