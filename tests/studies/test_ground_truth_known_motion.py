"""Chapter 01's sentences and tables of the ground truth's error on known motions."""

from __future__ import annotations

import pandas as pd
import pytest

from faceflow.groundtruth import gterror
from faceflow.studies.ground_truth import known_motion


def _error(epes, suspect=(False,)) -> gterror.GroundTruthError:
    """One face row per part and pair: pair ``i`` has EPE ``epes[i]`` for every part."""
    rows = []
    for pair, (e, sus) in enumerate(zip(epes, suspect)):
        for part in gterror.PARTS:
            rows.append(dict(sequence="s", pair=pair, part=part, region="face", epe=e, aae=0.1, suspect=sus))
            rows[-1]["mean |u|"] = 1.0
    return gterror.GroundTruthError(pd.DataFrame(rows), ["s"], "hand", 0.0)


def test_ratio_to_the_paper_and_the_table_beside_it():
    rows = []
    for part, e in zip(gterror.PARTS, (0.5, 0.01, 2.0, 2.2, 3.0)):
        rows.append(dict(sequence="s", pair=0, part=part, region="face", epe=e, aae=0.1, suspect=False))
    res = gterror.GroundTruthError(pd.DataFrame(rows), ["s"], "hand", 0.0)
    assert known_motion.times_paper_best(res) == pytest.approx(2.2 / 0.2498)  # Exp2II on BP4D, Table 2
    versus = known_motion.against_paper(res)
    assert versus.iloc[0, 0] == 2.2 and versus.iloc[1, 0] == 3.0  # measured here: pipeline, zero flow
    assert versus.iloc[2, 0] == pytest.approx(0.2498)  # the paper's number, labelled as such
    assert versus.index[2].startswith("paper:")
    assert known_motion.verdict(res).startswith("holds: ")  # 2.20 px < zero flow's 3.00 px


def test_summary_values_leave_the_suspect_pairs_out():
    res = _error((0.4, 0.6, 9.0), (False, False, True))
    values = known_motion.summary_values(res)
    assert values["pipeline"] == "0.50" and values["zero"] == "0.50" and values["suspect"] == "33%"
    assert values["verdict"].startswith("does not hold: ")  # 0.50 px is not below zero flow's 0.50 px
