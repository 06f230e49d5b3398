"""Numbers quoted from the paper (Alkaddour, Tariq, Dhall, IEEE TAFFC 2022).

These are the only typed-in numbers of the project. The book shows them beside the values the
code computes, always labelled as the paper's. Each table is a :class:`pandas.DataFrame` built on
demand by the functions below.
"""

from __future__ import annotations

import pandas as pd

#: Label used for columns and rows holding the paper's numbers.
PAPER = "paper"


def table1() -> pd.DataFrame:
    """Table 1: average EPE of FlowNetS (Exp. 1 setup), rows trained on, columns tested on."""
    return pd.DataFrame(
        {
            "Faces": [0.4054, 1.4040, 0.8282],
            "FlyingChairs": [5.8495, 1.4413, 7.7613],
            "Sintel": [5.1731, 3.0300, 6.23580],
        },
        index=pd.Index(["Faces", "FlyingChairs", "Sintel"], name="trained on"),
    )


#: The paper's five FlowNetS experiments (Sec. 4.3), in its tables' order.
EXPERIMENTS = ("Exp1", "Exp2I", "Exp2II", "Exp3I", "Exp3II")


def table2() -> pd.DataFrame:
    """Table 2: ablation EPE/AAE on the BP4D-Spontaneous test set and on CK+ (cross-dataset)."""
    return pd.DataFrame(
        {
            ("BP4D", "EPE"): [0.2856, 0.4610, 0.2498, 0.7010, 0.4660],
            ("BP4D", "AAE"): [0.1975, 0.3033, 0.1728, 0.4524, 0.2887],
            ("CK+", "EPE"): [0.2343, 0.7936, 0.2821, 1.1573, 1.0082],
            ("CK+", "AAE"): [0.2080, 0.4786, 0.2440, 0.5869, 0.4640],
        },
        index=pd.Index(["Exp1", "Exp2I", "Exp2II", "Exp3I", "Exp3II"], name="experiment"),
    )


def table3() -> pd.DataFrame:
    """Table 3: flow methods on BP4D and CK+, with the paper's improvement percentages."""
    rows = {
        "Exp1": (0.2856, 0.1975, 12.54, 12.51, 0.2343, 0.2080, 0.0, 0.0),
        "Exp2II": (0.2498, 0.1728, 0.0, 0.0, 0.2821, 0.2440, 16.94, 14.75),
        "PWC-Net": (1.1538, 0.4643, 78.35, 62.78, 1.2340, 0.7049, 81.01, 70.49),
        "FlowNet2.0": (0.6719, 0.4347, 62.82, 60.25, 0.6496, 0.5078, 63.93, 59.04),
        "FlowNet3.0-CSS": (0.6839, 0.4457, 63.47, 61.23, 0.5168, 0.4029, 54.66, 48.37),
        "LiteFlowNet": (0.7226, 0.4771, 65.43, 63.78, 0.6306, 0.4826, 62.84, 56.90),
        "Farneback": (0.3670, 0.2294, 31.93, 24.67, 0.3837, 0.3118, 38.94, 33.29),
    }
    cols = pd.MultiIndex.from_tuples(
        [
            ("BP4D", "EPE"),
            ("BP4D", "AAE"),
            ("BP4D", "EPE impr. %"),
            ("BP4D", "AAE impr. %"),
            ("CK+", "EPE"),
            ("CK+", "AAE"),
            ("CK+", "EPE impr. %"),
            ("CK+", "AAE impr. %"),
        ]
    )
    return pd.DataFrame(list(rows.values()), index=pd.Index(list(rows), name="method"), columns=cols)


_MER_METRICS = ["P_M", "R_M", "F1_M", "F1_mu", "G_M"]
_MER_METHODS = [
    "TVL1",
    "Exp1",
    "Exp2I",
    "Exp2II",
    "Exp3I",
    "Exp3II",
    "Farneback",
    "FlowNet2.0",
    "FlowNet3.0-CSS",
    "LiteFlowNet",
    "PWC-Net",
]


def table5() -> pd.DataFrame:
    """Table 5: aggregated (mean over LOSO subjects) MER metrics on SAMM and on SMIC.

    The deltas printed in the paper are derivable (distance to the column's best) and are not
    stored; :func:`faceflow.mer.deltas` recomputes them.
    """
    samm = [
        (0.800, 0.777, 0.773, 0.698, 0.513),
        (0.888, 0.737, 0.794, 0.727, 0.429),
        (0.763, 0.713, 0.722, 0.636, 0.411),
        (0.849, 0.745, 0.784, 0.713, 0.487),
        (0.765, 0.735, 0.738, 0.653, 0.457),
        (0.816, 0.770, 0.780, 0.715, 0.516),
        (0.719, 0.696, 0.690, 0.608, 0.412),
        (0.724, 0.717, 0.695, 0.650, 0.431),
        (0.813, 0.764, 0.773, 0.711, 0.528),
        (0.767, 0.761, 0.749, 0.694, 0.514),
        (0.742, 0.738, 0.722, 0.676, 0.485),
    ]
    smic = [
        (0.612, 0.606, 0.589, 0.549, 0.385),
        (0.480, 0.518, 0.489, 0.404, 0.263),
        (0.610, 0.585, 0.581, 0.518, 0.395),
        (0.582, 0.543, 0.546, 0.432, 0.280),
        (0.621, 0.591, 0.593, 0.538, 0.350),
        (0.603, 0.580, 0.577, 0.514, 0.364),
        (0.570, 0.479, 0.505, 0.387, 0.217),
        (0.641, 0.627, 0.622, 0.552, 0.420),
        (0.633, 0.659, 0.636, 0.592, 0.493),
        (0.635, 0.658, 0.637, 0.607, 0.438),
        (0.501, 0.525, 0.501, 0.422, 0.249),
    ]
    cols = pd.MultiIndex.from_product([["SAMM", "SMIC"], _MER_METRICS])
    data = [s + m for s, m in zip(samm, smic)]
    return pd.DataFrame(data, index=pd.Index(_MER_METHODS, name="method"), columns=cols)


def table6() -> pd.DataFrame:
    """Table 6: aggregated MER metrics on the combined SAMM + SMIC set."""
    data = [
        (0.740, 0.714, 0.711, 0.662, 0.491),
        (0.692, 0.601, 0.622, 0.548, 0.307),
        (0.726, 0.700, 0.694, 0.635, 0.465),
        (0.757, 0.674, 0.702, 0.614, 0.342),
        (0.726, 0.706, 0.702, 0.661, 0.459),
        (0.704, 0.678, 0.676, 0.592, 0.447),
        (0.720, 0.700, 0.690, 0.629, 0.472),
        (0.745, 0.709, 0.709, 0.636, 0.459),
        (0.725, 0.727, 0.713, 0.665, 0.511),
        (0.717, 0.717, 0.702, 0.650, 0.446),
        (0.704, 0.693, 0.687, 0.631, 0.482),
    ]
    cols = pd.MultiIndex.from_product([["SAMM+SMIC"], _MER_METRICS])
    return pd.DataFrame(data, index=pd.Index(_MER_METHODS, name="method"), columns=cols)


#: STSTNet training of Sec. 4.4.2: "a learning rate of 5e-5 and maximum epochs set to 500".
STSTNET_LR = 5e-5
STSTNET_EPOCHS = 500

#: Published STSTNet figures on the 442 composite-set images with the per-subject weights
#: (STSTNet authors; see the shared data README): pooled over all subjects.
STSTNET_PUBLISHED = {"accuracy": 0.7398, "UF1": 0.7209, "UAR": 0.7250}

#: Published EPE (px) of the pretrained substitutes of chapter 04, on the full datasets: RAFT-small
#: (C+T) on Sintel training, clean and final passes (Teed & Deng 2020, Table 1); SPyNet on the
#: FlyingChairs test split (Ranjan & Black 2017, Table 1).
PRETRAINED_PUBLISHED = {
    "RAFT-small (C+T)": {"Sintel clean train": 2.21, "Sintel final train": 3.35},
    "SPyNet (Chairs)": {"FlyingChairs test": 2.63},
}


def pretrained_published_text() -> str:
    """:data:`PRETRAINED_PUBLISHED` as a phrase for a page.

    Returns
    -------
    str
        E.g. ``"RAFT-small (C+T) 2.21 px on Sintel clean train, ..."``.
    """
    return "; ".join(
        f"{net} " + ", ".join(f"{v:.2f} px on {k}" for k, v in sets.items())
        for net, sets in PRETRAINED_PUBLISHED.items()
    )


#: Sec. 3: 325,720 frames in about five days on four processes.
GT_PAPER_FRAMES = 325_720
GT_PAPER_SECONDS_PER_FRAME_PER_PROCESS = 5 * 24 * 3600 * 4 / GT_PAPER_FRAMES
