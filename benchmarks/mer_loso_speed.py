"""Seconds per STSTNet training epoch (one full-batch Adam step) on this CPU.

Usage: python benchmarks/mer_loso_speed.py [--threads 2] [--compile]
Prints ms/epoch for fold sizes typical of the SAMM, SMIC, SAMM+SMIC and 442-sample protocols,
for the literal three-stream forward and the fused one (same function).
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--compile", action="store_true")
    a = ap.parse_args()
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
