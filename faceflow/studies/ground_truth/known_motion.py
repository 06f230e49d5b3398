"""Chapter 01's tables and sentences of the ground truth's error on known motions.

The measurement is the library's (:mod:`faceflow.groundtruth.gterror`: the known motions, the
pipeline run on them, :class:`~faceflow.groundtruth.gterror.GroundTruthError`); this module sets
it beside the paper's numbers, words it for the page, runs it with a profile's settings (cached
for chapters 01, 02 and 04) and over clips of several lengths.
"""

from __future__ import annotations

import pandas as pd

from faceflow import paper, profiles
from faceflow.groundtruth.gterror import GroundTruthError, ground_truth_error, known_motion_set


def verdict(err: GroundTruthError) -> str:
    """Is the landmark ground truth closer to the true motion than zero flow, on the face?

    Parameters
    ----------
    err : faceflow.groundtruth.gterror.GroundTruthError

    Returns
    -------
    str
        Starting with ``holds`` or ``does not hold``.
    """
    pipe, zero = err.epe("whole pipeline"), err.epe("zero flow")
    word = "holds" if pipe < zero else "does not hold"
    return (
        f"{word}: on known motions the landmark ground truth is {pipe:.2f} px from the true motion on the "
        f"face, zero flow {zero:.2f} px (k = 1 grid)"
    )


def times_paper_best(err: GroundTruthError) -> float:
    """The whole pipeline's face EPE divided by the best network EPE of the paper's Table 2 (BP4D).

    Parameters
    ----------
    err : faceflow.groundtruth.gterror.GroundTruthError

    Returns
    -------
    float
    """
    return err.epe("whole pipeline") / float(paper.table2()[("BP4D", "EPE")].min())


def summary_values(err: GroundTruthError) -> dict:
    """Formatted numbers for the page: ``pipeline``, ``zero``, ``largest`` (the part's name),
    ``largest_epe``, ``times_paper`` (:func:`times_paper_best`), ``motion``, ``suspect`` and
    ``verdict`` (:func:`verdict`).

    Parameters
    ----------
    err : faceflow.groundtruth.gterror.GroundTruthError

    Returns
    -------
    dict
    """
    largest = err.largest_part()
    return {
        "pipeline": f"{err.epe('whole pipeline'):.2f}",
        "zero": f"{err.epe('zero flow'):.2f}",
        "largest": largest,
        "largest_epe": f"{err.epe(largest):.2f}",
        "times_paper": f"{times_paper_best(err):.1f}",
        "motion": f"{err.usable[err.usable.part == 'zero flow']['mean |u|'].mean():.2f}",
        "suspect": f"{err.suspect_share():.0%}",
        "verdict": verdict(err),
    }


def against_paper(err: GroundTruthError) -> pd.DataFrame:
    """The whole pipeline's EPE on the face next to the EPE the paper's networks reach.

    Parameters
    ----------
    err : faceflow.groundtruth.gterror.GroundTruthError

    Returns
    -------
    pandas.DataFrame
        Rows: this ground truth's own error (measured here) and the paper's Table 2/3 EPEs on
        BP4D and CK+ (labelled as the paper's), all in pixels of the k = 1 grid.
    """
    own, zero = err.epe("whole pipeline"), err.epe("zero flow")
    t2, t3 = paper.table2(), paper.table3()
    rows = [
        ("landmark ground truth vs true motion (measured here)", own),
        ("zero flow vs true motion (measured here)", zero),
        ("paper: best network, Exp2II on BP4D (Table 2)", float(t2.loc["Exp2II", ("BP4D", "EPE")])),
        ("paper: best network, Exp1 on CK+ (Table 2)", float(t2.loc["Exp1", ("CK+", "EPE")])),
        ("paper: Farneback on BP4D (Table 3)", float(t3.loc["Farneback", ("BP4D", "EPE")])),
    ]
    return pd.DataFrame(rows, columns=["", "EPE (px, k = 1 grid)"]).set_index("")


def profile_known_motion(profile: str, data_root, outputs, n_frames: int | None = None, seed: int = 0):
    """The known-motion set with ``profile``'s settings, cached under ``outputs/datasets``.

    Parameters
    ----------
    profile : str
        ``groundtruth.error_photos`` sources of ``groundtruth.error_frames`` frames.
    data_root : path-like or None
    outputs : faceflow.profiles.OutputLayout
    n_frames : int, optional
        Another clip length (default: the profile's).
    seed : int

    Returns
    -------
    faceflow.groundtruth.gterror.KnownMotionSet
        The same set (one cache file) for every chapter that asks with the same settings.
    """
    gt = profiles.get(profile).groundtruth
    n = n_frames or gt.error_frames
    cache = outputs.root / "datasets" / f"known-motion-{gt.error_photos}x{n}-seed{seed}.npz"
    return known_motion_set(data_root, gt.error_photos, n, gt.error_clip_frames, seed, cache)


def clip_length_study(
    profile: str, data_root, outputs, lengths: tuple, seed: int = 0, measured: dict | None = None
) -> pd.DataFrame:
    """The ground truth's error on known motions of the same photos in clips of different lengths.

    The expression reaches its apex at the last frame whatever the length, so a short clip packs
    it into a few frames (far faster non-rigid motion than real video shows) and gives the
    tracker little history. This is the measurement behind the profiles' ``error_frames``.

    Parameters
    ----------
    profile : str
    data_root : path-like or None
    outputs : faceflow.profiles.OutputLayout
    lengths : tuple of int
        Frames per clip, one row each (sets cached as :func:`profile_known_motion` caches them).
    seed : int
    measured : dict, optional
        :class:`~faceflow.groundtruth.gterror.GroundTruthError` already measured on a length's set
        (frames per clip -> error), used instead of tracking that set again (the landmark tracking
        is most of the cost).

    Returns
    -------
    pandas.DataFrame
        Index ``frames per clip``; columns: pairs, the whole pipeline's and zero flow's face EPE
        (k = 1 grid, usable pairs), their ratio and the share of suspect pairs.
    """
    rows = []
    measured = measured or {}
    for n in lengths:
        if n in measured:
            err = measured[n]
        else:
            err = ground_truth_error(profile_known_motion(profile, data_root, outputs, n, seed))
        usable = err.usable.drop_duplicates(["sequence", "pair"])
        pipe, zero = err.epe("whole pipeline"), err.epe("zero flow")
        rows.append(
            {
                "frames per clip": n,
                "usable pairs": len(usable),
                "landmark ground truth vs true motion": pipe,
                "zero flow vs true motion": zero,
                "ratio": pipe / zero,
                "suspect pairs": err.suspect_share(),
            }
        )
    return pd.DataFrame(rows).set_index("frames per clip")
