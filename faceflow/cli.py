"""Command-line interface: ``faceflow <command> ...``.

Sub-commands are contributed by modules through ``add_parser(subparsers)`` functions listed in
:data:`COMMAND_MODULES`; each returns nothing and sets ``func`` on its parser.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Modules that define ``add_cli(subparsers)``. A module missing here is simply not offered.
COMMAND_MODULES = ["faceflow.cli_book", "faceflow.cli_train", "faceflow.cli_baselines", "faceflow.cli_mer", "faceflow.cli_gt"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceflow",
        description="Facial-movement optical flow (Alkaddour et al., TAFFC 2022): ground truth, "
        "FlowNetS training, baselines, micro-expression recognition and the book.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"faceflow {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
