"""Chapter time budgets that hold on any machine: chapter seconds over a reference computation's.

A chapter's budget (:attr:`faceflow.profiles.Profile.budgets`) is a number of *reference units*:
the seconds it may take from nothing (an empty ``outputs/``) divided by the seconds of
:func:`reference_workload` timed on the same machine just before and just after it ran (the mean;
:func:`time_reference`). A machine twice as fast runs both twice as fast, so the ratio, and the
check, do not depend on the machine; a load that slows both alike cancels too.

The workload mixes what the chapters spend their time on: a small convolutional network's forward
and backward pass in torch (the FlowNetS and STSTNet training), dense optical flow in OpenCV (the
classical methods, the ground truth) and NumPy array work, all on fixed inputs.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from faceflow.profiles import ChapterBudget


def reference_workload() -> None:
    """The fixed computation that is the unit of the chapter budgets (about 0.3 s on 2 cores).

    Returns
    -------
    None
    """
    import cv2
    import numpy as np
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        x = torch.randn(4, 6, 96, 128)
        w1 = (0.1 * torch.randn(32, 6, 3, 3)).requires_grad_()
        w2 = (0.1 * torch.randn(64, 32, 3, 3)).requires_grad_()
        w3 = (0.1 * torch.randn(2, 64, 3, 3)).requires_grad_()
    for _ in range(2):
        h = F.relu(F.conv2d(x, w1, padding=1, stride=2))
        h = F.relu(F.conv2d(h, w2, padding=1, stride=2))
        F.conv2d(h, w3, padding=1).square().mean().backward()
    a = cv2.GaussianBlur(rng.integers(0, 256, (192, 256), dtype=np.uint8), (7, 7), 2)
    b = np.roll(a, (1, 2), axis=(0, 1))
    cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(a, b, None)
    cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    m = rng.random((384, 384))
    np.sort(np.fft.rfft2(m @ m.T).real, axis=None)


@dataclass(frozen=True)
class ReferenceTime:
    """The reference computation timed here: median ``seconds`` (wall) and ``cpu_seconds`` of ``repeats``."""

    seconds: float
    cpu_seconds: float
    repeats: int


def time_reference(repeats: int = 3) -> ReferenceTime:
    """Time :func:`reference_workload` (after one untimed warm-up run).

    Parameters
    ----------
    repeats : int
        Timed runs; the medians are returned.

    Returns
    -------
    ReferenceTime
    """
    reference_workload()
    wall, cpu = [], []
    for _ in range(max(1, repeats)):
        t0, c0 = time.perf_counter(), time.process_time()
        reference_workload()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return ReferenceTime(statistics.median(wall), statistics.median(cpu), max(1, repeats))


@dataclass(frozen=True)
class BudgetCheck:
    """One chapter's first-run time against its budget: ``units`` = seconds / reference seconds."""

    chapter: str
    seconds: float
    reference_seconds: float
    budget: ChapterBudget | None

    @property
    def units(self) -> float:
        """The chapter's time in reference units."""
        return self.seconds / self.reference_seconds

    @property
    def over(self) -> bool:
        """Whether it took longer than its budget (a chapter without a budget never is)."""
        return self.budget is not None and self.units > self.budget.units

    def describe(self) -> str:
        """One line: the chapter, its seconds and units against the budget, and the budget's reason.

        Returns
        -------
        str
        """
        reference = f"the reference ({self.reference_seconds:.3f} s)"
        head = f"{self.chapter}: {self.seconds:.1f} s = {self.units:.0f} x {reference}"
        if self.budget is None:
            return head + ", no budget"
        verdict = "OVER" if self.over else "within"
        return f"{head}, {verdict} its budget of {self.budget.units:g} ({self.budget.reason})"


def check_records(rows: list[dict], budgets: dict[str, ChapterBudget]) -> list[BudgetCheck]:
    """The budget checks of the first-run records among ``rows`` (timing records of one profile).

    Parameters
    ----------
    rows : list of dict
        Records of :func:`faceflow.book.publish.read_timings`; only ``cache == "first run"`` rows
        with a reference time are checked (a chapter that reused results is faster than its budget
        says nothing about).
    budgets : dict
        Chapter -> budget (:attr:`faceflow.profiles.Profile.budgets`).

    Returns
    -------
    list of BudgetCheck
        In the order of ``rows``.
    """
    out = []
    for row in rows:
        if row.get("cache") != "first run" or not row.get("reference_seconds"):
            continue
        ref = float(row["reference_seconds"])
        out.append(BudgetCheck(row["chapter"], float(row["seconds"]), ref, budgets.get(row["chapter"])))
    return out
