"""Command-line interface: ``faceflow <command> ...``.

Each command lives in its own module of :mod:`faceflow.cli` with an ``add_cli(subparsers)``
function that adds its parser and sets ``func``; :data:`COMMANDS` lists them in help order.

A user mistake (a bad path, name, file or parameter) never shows a Python traceback: the one
error path here prints a single line ``faceflow <command>: error: ...`` on stderr and exits 2,
both for argparse's own errors and for the errors the commands raise (:data:`USER_ERRORS`).
Ctrl-C prints one line and exits 130 (:data:`INTERRUPTED_RC`).
``faceflow --traceback <command> ...`` shows the traceback instead (for bug reports).
"""

from __future__ import annotations

import argparse
import sys

from faceflow.cli import book, data, faces, flow, gt, mer, tables, train, weights

#: The command modules, in the order ``faceflow --help`` lists them.
COMMANDS = (data, faces, gt, train, flow, weights, mer, book, tables)

#: Exceptions that mean "the input or the environment is wrong", shown as one line with rc 2.
#: ``OSError`` covers missing files and full disks, ``ValueError`` malformed files and values,
#: ``KeyError`` unknown names (e.g. the flow-method registry), ``RuntimeError`` unusable settings
#: (a CUDA device that is not there, a CNN without its weights).
USER_ERRORS = (OSError, ValueError, KeyError, RuntimeError)

#: Exit status of a user error (argparse's own).
USER_ERROR_RC = 2
#: Exit status after Ctrl-C (128 + SIGINT, what shells report for a process killed by it).
INTERRUPTED_RC = 130


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line ``<prog>: error: ...`` and exit status 2."""

    def error(self, message: str):  # argparse's hook; never returns
        self.exit(USER_ERROR_RC, f"{self.prog}: error: {one_line(message)} (see `{self.prog} --help`)\n")


def one_line(message) -> str:
    """The text of an error (or a message) as one line: whitespace and newlines collapsed."""
    if isinstance(message, KeyError) and message.args:
        message = message.args[0]  # str(KeyError) adds quotes
    elif isinstance(message, OSError) and message.filename and str(message.filename) not in str(message):
        message = f"{message.filename}: {message.strerror or message}"
    text = " ".join(str(message).split())
    return text or type(message).__name__


def build_parser() -> argparse.ArgumentParser:
    """The ``faceflow`` parser with every command."""
    parser = Parser(
        prog="faceflow",
        description="Facial-movement optical flow (Alkaddour et al., TAFFC 2022): ground truth, "
        "FlowNetS training, baselines, micro-expression recognition and the book.",
    )
    parser.add_argument("--traceback", action="store_true", help="show the Python traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_cli(sub)
    return parser


def command_help(width: int = 90) -> list[tuple[str, str]]:
    """The ``--help`` text of ``faceflow`` and of every command and sub-command, in help order.

    The book's command reference is generated from this (not retyped), so it is always the help
    of the installed ``faceflow``.

    Parameters
    ----------
    width : int
        Line width of the help text (argparse's own default follows the terminal).

    Returns
    -------
    list of (str, str)
        ``(prog, help text)``, e.g. ``("faceflow data fetch", "usage: faceflow data fetch ...")``.
    """
    out = []

    def visit(parser: argparse.ArgumentParser) -> None:
        formatter = parser.formatter_class
        parser.formatter_class = lambda prog: formatter(prog, width=width)
        out.append((parser.prog, parser.format_help()))
        parser.formatter_class = formatter
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                seen = set()
                for sub in action.choices.values():
                    if id(sub) not in seen:  # an alias names the same parser again
                        seen.add(id(sub))
                        visit(sub)

    visit(build_parser())
    return out


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub-)parser of the command that ``args`` selected, e.g. that of ``faceflow mer loso``."""
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        chosen = getattr(args, subs[0].dest, None) if subs else None
        if chosen is None:
            return parser
        parser = subs[0].choices[chosen]


def _close_progress_bars() -> None:
    """Close the tqdm bars an error left open, so the error line starts on a clean line."""
    if "tqdm" in sys.modules:
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", ())):
            bar.close()


def resolve_data_root(args: argparse.Namespace) -> None:
    """One data root for every command, resolved here once: ``args.resolved_root`` is the
    :class:`~faceflow.io.datasets.DataRoot` of ``--data-root`` / ``--root``, else of
    ``$FACEFLOW_DATA`` (or ``./data``); a command given no root gets that root in
    ``args.data_root`` as an explicit path when that folder exists.

    The library reads ``data_root=None`` as "no data root" in places (a chapter run without
    data); the CLI's "not given" means the environment's root, so it is resolved here, once.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments; for a command with the option, ``args.resolved_root`` is set, and
        ``args.data_root`` when it was not given.
    """
    if not hasattr(args, "data_root"):
        return
    from faceflow.io.datasets import DataRoot

    args.resolved_root = DataRoot.resolve(args.data_root)
    if args.data_root in (None, ""):
        args.data_root = args.resolved_root.path


def main(argv: list[str] | None = None) -> int:
    """Run one command; a user error prints ``faceflow <command>: error: ...`` and returns 2."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        resolve_data_root(args)
        rc = args.func(args)
    except USER_ERRORS as exc:
        if args.traceback:
            raise
        _close_progress_bars()
        print(f"{_command_parser(parser, args).prog}: error: {one_line(exc)}", file=sys.stderr)
        return USER_ERROR_RC
    except KeyboardInterrupt:  # every file is written atomically: what was finished stays, nothing is half-written
        if args.traceback:
            raise
        _close_progress_bars()
        print(
            f"{_command_parser(parser, args).prog}: interrupted; finished files are kept, rerun to resume",
            file=sys.stderr,
        )
        return INTERRUPTED_RC
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
