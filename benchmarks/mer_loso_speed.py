"""Seconds per STSTNet training epoch (one full-batch Adam step) on this CPU, and the full LOSO.

Usage: python benchmarks/mer_loso_speed.py [--threads 2] [--compile]
Prints ms/epoch for fold sizes typical of the SAMM, SMIC, SAMM+SMIC and 442-sample protocols,
for the literal three-stream forward and the fused one (same function).

``--loso N``: times today's LOSO loop (:func:`faceflow.mer.loso.train_fold`, one thread, the
fold sizes of the 68-subject composite set) for N epochs on a few folds, wall and CPU time, and
projects the paper's 68 folds x 500 epochs and the default profile's three protocols. A faster
engine is to be timed beside it in the same run and reported as a ratio.
"""

import argparse
import time

import torch
import torch.nn.functional as F

from faceflow.mer.stst import STSTNet


def bench(n: int, fused: bool, reps: int, channels_last: bool = False, compiled: bool = False) -> float:
    torch.manual_seed(0)
    m = STSTNet(fused=fused)
    opt = torch.optim.Adam(m.parameters(), lr=5e-5)
    x = torch.rand(n, 3, 28, 28) * 255
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 3, (n,))

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        opt.step()

    fn = torch.compile(step) if compiled else step
    for _ in range(3):
        fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps * 1000


def loso_projection(epochs: int, folds: int, seed: int = 0) -> None:
    """Time :func:`faceflow.mer.loso.train_fold` on real fold sizes and project the full LOSO."""
    import numpy as np

    from faceflow.mer.loso import LosoConfig, train_fold

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    # the composite set: 68 subjects, 442 samples; a fold trains on the other subjects' samples
    sizes = {"68-fold composite": (442, 68), "SAMM": (133, 28), "SMIC": (164, 16), "SAMM+SMIC": (297, 44)}
    per_sample = []
    for n_train in rng.choice(np.arange(420, 442), folds, replace=False):
        x = (torch.rand(int(n_train), 3, 28, 28) * 255).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 3, (int(n_train),))
        w, c = time.perf_counter(), time.process_time()
        train_fold(x, y, LosoConfig(epochs=epochs), seed)
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        per_sample.append((wall / epochs / n_train, cpu / epochs / n_train))
        print(f"fold of {n_train} samples: {wall / epochs * 1000:.1f} ms/epoch wall, {cpu / epochs * 1000:.1f} cpu")
    wall_s, cpu_s = np.median(per_sample, axis=0)
    for name, (n, k) in sizes.items():
        work = k * (n - n / k) * 500  # sample-epochs of all folds, 500 epochs
        print(
            f"{name}: {k} folds x 500 epochs ~ {work * wall_s:.0f} s wall, {work * cpu_s:.0f} cpu-s "
            f"(~{work * cpu_s / 2:.0f} s on 2 idle cores)"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--loso", type=int, default=0, metavar="EPOCHS", help="time today's LOSO loop instead")
    ap.add_argument("--folds", type=int, default=3, help="folds timed with --loso")
    a = ap.parse_args()
    if a.loso:
        loso_projection(a.loso, a.folds)
        return
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}")
    for n in (105, 150, 290, 435):
        row = {
            "streams": bench(n, False, a.reps),
            "fused": bench(n, True, a.reps),
            "fused+CL": bench(n, True, a.reps, channels_last=True),
        }
        if a.compile:
            row["fused+compile"] = bench(n, True, a.reps, compiled=True)
        print(f"n={n:4d} " + "  ".join(f"{k}={v:6.1f} ms" for k, v in row.items()), flush=True)


if __name__ == "__main__":
    main()
