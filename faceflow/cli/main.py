"""Command-line interface: ``faceflow <command> ...``.

Each command lives in its own module of :mod:`faceflow.cli` with an ``add_cli(subparsers)``
function that adds its parser and sets ``func``; :data:`COMMANDS` lists them in help order.
"""

from __future__ import annotations

import argparse
import sys

from faceflow.cli import book, data, flow, gt, mer, train, weights

#: The command modules, in the order ``faceflow --help`` lists them.
COMMANDS = (data, gt, train, flow, weights, mer, book)


def build_parser() -> argparse.ArgumentParser:
    """The ``faceflow`` parser with every command."""
    parser = argparse.ArgumentParser(
        prog="faceflow",
        description="Facial-movement optical flow (Alkaddour et al., TAFFC 2022): ground truth, "
        "FlowNetS training, baselines, micro-expression recognition and the book.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a user error prints ``faceflow <command>: error: ...`` and returns 2."""
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
