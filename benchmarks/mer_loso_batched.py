"""The batched LOSO engine against today's fold-by-fold loop, measured in the same run.

Usage: OMP_WAIT_POLICY=PASSIVE python benchmarks/mer_loso_batched.py [--epochs 3] [--folds 3] [--rounds 2]

Today's loop is main's :func:`faceflow.mer.loso.train_fold` before the batched engine (torch's
own dropout; the loop engine now draws its masks from numpy, also timed), one torch thread per
fold, ``--folds`` folds of the 68-subject composite set (the published STSTNet images under
``$FACEFLOW_DATA``, or random images of the same sizes). The batched engine trains all 68 folds
at once on ``--threads`` threads. Rounds alternate loop and batched, so a change of load on a
shared machine hits both; the ratio is of the medians.

Printed: milliseconds per fold-epoch (wall and CPU) of each, their ratio, and an
**extrapolation** (not a measurement) to the paper's 68 folds x 500 epochs: the loop with two
worker processes at perfect scaling (wall = CPU / 2), the batched engine at its measured wall
time per epoch; and the default profile's chapter-05 protocols (SAMM, SMIC, SAMM+SMIC) per
seed at 500 epochs, whose cost grows with images x folds.
"""

import argparse
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from faceflow.mer import batched, features, loso
from faceflow.mer.stst import STSTNet, images_to_input


def composite_set():
    """(images, labels, subjects) of the 442-sample, 68-subject set (random if the data is absent)."""
    root = os.environ.get("FACEFLOW_DATA")
    from faceflow.io.datasets import locate

    if root and locate("stst_images", root) is not None:
        ds = features.from_stst_images(root)
        return ds.images, ds.labels, ds.subjects, "published STSTNet images"
    rng = np.random.default_rng(0)
    subjects = np.repeat([f"s{i:02d}" for i in range(68)], 7)[:442]
    images = rng.integers(0, 256, (442, 28, 28, 3), dtype=np.uint8)
    return images, rng.integers(0, 3, 442), subjects, "random images (no data root)"


def todays_train_fold(x, y, epochs: int, seed: int) -> None:
    """main's train_fold before this engine: torch.manual_seed, STSTNet(), torch dropout, Adam."""
    torch.manual_seed(seed)
    model = STSTNet()
    opt = torch.optim.Adam(model.parameters(), lr=5e-5)
    model.train()
    for _ in range(epochs):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()


def time_loop(images, labels, subjects, folds, epochs, fn) -> tuple[float, float]:
    """(wall, cpu) seconds per fold-epoch of ``fn`` on one thread."""
    torch.set_num_threads(1)
    wall = cpu = 0.0
    warm = subjects != folds[0]  # one untimed epoch first: oneDNN sets up its kernels on the first call
    fn(images_to_input(images[warm]).contiguous(memory_format=torch.channels_last), torch.tensor(labels)[warm], 1, 0)
    for s in folds:
        train = subjects != s
        x = images_to_input(images[train]).contiguous(memory_format=torch.channels_last)
        y = torch.from_numpy(np.asarray(labels[train]))
        w, c = time.perf_counter(), time.process_time()
        fn(x, y, epochs, loso.fold_seed(0, s))
        wall += time.perf_counter() - w
        cpu += time.process_time() - c
    return wall / (len(folds) * epochs), cpu / (len(folds) * epochs)


def time_batched(images, labels, subjects, epochs, threads) -> tuple[float, float, float]:
    """(wall, cpu) seconds per fold-epoch and wall seconds per epoch of all 68 folds."""
    torch.set_num_threads(threads)
    subs = list(dict.fromkeys(subjects.tolist()))
    model = batched.BatchedSTST(images, labels, subjects, [batched.Fold(s, 0, loso.fold_seed(0, s)) for s in subs])
    model.step()  # warm-up
    w, c = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        model.step()
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    return wall / (epochs * len(subs)), cpu / (epochs * len(subs)), wall / epochs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3, help="epochs timed per fold / per batched run")
    ap.add_argument("--folds", type=int, default=3, help="folds of today's loop timed per round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="threads of the batched engine")
    a = ap.parse_args()
    images, labels, subjects, what = composite_set()
    subs = list(dict.fromkeys(subjects.tolist()))
    print(
        f"torch {torch.__version__}; {len(images)} samples, {len(subs)} subjects ({what}); "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; loadavg {os.getloadavg()[0]:.1f}"
    )

    def new_loop(x, y, epochs, seed):
        loso.train_fold(x, y, loso.LosoConfig(epochs=epochs), seed)

    def old_loop(x, y, epochs, seed):
        todays_train_fold(x, y, epochs, seed)

    rows = []
    for r in range(a.rounds):
        folds = subs[r * a.folds : (r + 1) * a.folds]
        old = time_loop(images, labels, subjects, folds, a.epochs, old_loop)
        new = time_loop(images, labels, subjects, folds, a.epochs, new_loop)
        bat = time_batched(images, labels, subjects, a.epochs, a.threads)
        rows.append((*old, *new, *bat))
        print(
            f"round {r}: ms per fold-epoch, wall/cpu: today's loop {old[0] * 1e3:.1f}/{old[1] * 1e3:.1f}, "
            f"loop engine (numpy dropout) {new[0] * 1e3:.1f}/{new[1] * 1e3:.1f}, "
            f"batched ({a.threads} threads, {bat[2]:.2f} s per 68-fold epoch) {bat[0] * 1e3:.1f}/{bat[1] * 1e3:.1f}",
            flush=True,
        )
    ow, oc, nw, nc, bw, bc, be = np.median(np.array(rows), axis=0)
    print(
        f"median ratio today's loop / batched: cpu {oc / bc:.2f}x; wall vs the loop on 2 workers "
        f"(cpu / 2) {oc / 2 / bw:.2f}x; loop engine / batched cpu {nc / bc:.2f}x"
    )
    work = 68 * 500
    print(
        f"EXTRAPOLATED to 68 folds x 500 epochs (not measured): today's loop {work * oc / 2:.0f} s on 2 workers "
        f"({work * oc:.0f} cpu-s), batched {500 * be:.0f} s wall ({work * bc:.0f} cpu-s); target 180 s"
    )
    n_full = len(images)
    for name, (n, k) in {"SAMM": (133, 28), "SMIC": (164, 16), "SAMM+SMIC": (297, 44)}.items():
        secs = 500 * be * n * k / (n_full * 68)
        print(f"  EXTRAPOLATED {name} ({k} folds of {n} samples), 500 epochs, one seed: batched ~{secs:.0f} s")


if __name__ == "__main__":
    main()
