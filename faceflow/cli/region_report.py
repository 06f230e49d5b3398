"""Errors by region, as ``faceflow eval`` and ``faceflow compare`` print them.

Both commands score pairs with :func:`faceflow.evaluation.evaluate.evaluate` and report EPE and
AAE in every view of :data:`faceflow.evaluation.regions.VIEWS`: the face (the ground truth's valid
mask) on moving pairs and on still pairs, the face on all pairs, outside the face, and the whole
crop (the paper's Sec. 5.1 number). A pair is *still* when its ground-truth face motion is below
the jitter floor (:mod:`faceflow.groundtruth.jitter`): ``--jitter-floor PX``, else the profile's
measurement ``outputs/<profile>/datasets/jitter-floor.json`` when chapter 01 has made it, else
none is known and every pair counts as moving (the output says so).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from faceflow.cli.options import nonnegative_float

#: Pixels of the ground truth's resolution per pixel of the paper's k = 1 grid (half its size).
GT_PX_PER_GRID_PX = 2.0


def add_jitter_floor(p: argparse.ArgumentParser) -> None:
    """``--jitter-floor PX``: the face motion below which a pair is still."""
    p.add_argument(
        "--jitter-floor",
        type=nonnegative_float,
        metavar="PX",
        default=None,
        help="face motion (px of the k = 1 grid) below which a pair is 'still' and reported apart "
        "(default: outputs/<profile>/datasets/jitter-floor.json when chapter 01 has measured it, "
        "else none: every pair counts as moving)",
    )


def floor_file(args: argparse.Namespace) -> Path:
    """Where the profile's jitter floor is kept: ``<outputs of --profile>/datasets/jitter-floor.json``."""
    from faceflow import profiles

    return profiles.outputs(args.profile, args.output_dir).root / "datasets" / "jitter-floor.json"


def jitter_floor(args: argparse.Namespace) -> tuple[float | None, str]:
    """``(floor in px of the k = 1 grid or None, where it came from)``.

    Raises
    ------
    ValueError
        The profile's floor file is not a jitter-floor measurement.
    """
    from faceflow.evaluation.regions import floor_from_file

    if args.jitter_floor is not None:
        return args.jitter_floor, "--jitter-floor"
    path = floor_file(args)
    if path.is_file():
        return floor_from_file(path), str(path)
    return None, str(path)


def units(convention: str) -> str:
    """The units of the errors of ``convention`` as a phrase."""
    if convention == "paper":
        return "EPE in px of the k = 1 grid (half the ground truth's size: the paper's Sec. 5.1), AAE in radians"
    return "EPE in px of the ground truth's resolution, AAE in radians"


def print_by_region(per_pair, floor: float | None, source: str, convention: str, command: str):
    """Print the mean errors of ``per_pair`` by region and pair motion, one table per test set.

    Parameters
    ----------
    per_pair : pandas.DataFrame
        :func:`faceflow.evaluation.evaluate.evaluate` rows, measured with ``convention``.
    floor : float or None
        The jitter floor, px of the k = 1 grid (:func:`jitter_floor`); None: not known.
    source : str
        Where it came from (or the file that was looked for).
    convention : {"paper", "native"}
        The rows' convention; with ``native`` the floor is scaled to the ground truth's pixels.
    command : str
        Prefix of the lines, e.g. ``"eval"``.

    Returns
    -------
    pandas.DataFrame
        The :func:`faceflow.evaluation.regions.view_means` table (grouped by method and test set)
        with the ``convention`` and the ``jitter_floor`` (px of the k = 1 grid; NaN: none known).
    """
    import pandas as pd

    from faceflow.evaluation.regions import view_means, views_display
    from faceflow.evaluation.tables import display_name

    scale = 1.0 if convention == "paper" else GT_PX_PER_GRID_PX
    means = view_means(per_pair, None if floor is None else floor * scale)
    print(f"{command}: {units(convention)}")
    if per_pair["epe_face"].isna().all():
        print(f"{command}: ground truth defined everywhere (no valid mask): no face or outside regions")
    elif floor is None:
        print(
            f"{command}: no jitter floor known (no {source}; give --jitter-floor PX): "
            "every pair counted as moving, none as still"
        )
    else:
        native = "" if scale == 1 else f" = {floor * scale:.3f} px at the ground truth's resolution"
        print(
            f"{command}: still pairs: face motion of the ground truth below the jitter floor "
            f"{floor:.3f} px of the k = 1 grid{native} ({source})"
        )
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        for test_set in dict.fromkeys(per_pair["test_set"]):
            print(f"\n{test_set}:")
            shown = views_display(means, test_set, still=floor is not None)
            print(shown.rename(index=display_name, level="method").to_string())
    return means.assign(convention=convention, jitter_floor=float("nan") if floor is None else floor)
