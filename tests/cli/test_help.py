"""``command_help``: the help of every command, from which the book's command reference is made."""

from __future__ import annotations

import argparse

from faceflow.cli.main import build_parser, command_help


def _all_parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def test_every_command_and_subcommand_has_its_help_once():
    helps = command_help(width=80)
    progs = [prog for prog, _ in helps]
    assert progs == list(dict.fromkeys(p.prog for p in _all_parsers(build_parser())))
    assert {"faceflow", "faceflow gt", "faceflow data fetch", "faceflow mer loso", "faceflow eval"} <= set(progs)
    for prog, text in helps:
        assert text.startswith(f"usage: {prog}"), prog
        body = text.split("\n\n", 1)[1]  # argparse does not break one [option ...] group of the usage
        assert max(len(line) for line in body.splitlines()) <= 80, prog


def test_the_help_is_the_parsers_own_text():
    fetch = dict(command_help())["faceflow data fetch"]
    for option in ("--only", "--base-url", "--registry", "sha256"):
        assert option in fetch
