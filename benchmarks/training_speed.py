"""FlowNetS training steps/s at the default profile's settings: today's loop against its faster variants, one run.

Every variant trains the same network (the profile's width, resolution and batch size, Exp. 1
loss) on the same in-memory pairs from the same initial weights, and the script prints steps/s
and the ratio to the baseline measured in the same run:

* ``baseline``: the loop as it was: per-sample dicts (uint8 -> float per sample), stacked per
  batch, NCHW tensors;
* ``bank``: the pairs held as one uint8 tensor per frame and a float flow tensor; a batch is an
  index into them (what :class:`faceflow.training.datasets.TensorBank` does);
* ``channels_last``: model and batches in channels-last memory format;
* ``bank+channels_last``: both (what :func:`faceflow.training.loop.train` does now).

    .venv/bin/python benchmarks/training_speed.py [--profile default] [--steps 6] [--pairs 64]
"""

from __future__ import annotations

import argparse
import time

import torch


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--steps", type=int, default=6, help="timed steps per variant (after 2 warm-up steps)")
    ap.add_argument("--pairs", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2, help="each variant is timed this many times, interleaved")
    args = ap.parse_args(argv)

    from faceflow import profiles
    from faceflow.training import datasets, experiments, loop
    from faceflow.training.checkpoints import build_model
    from faceflow.training.losses import total_loss

    cfg = experiments.for_profile("Exp1", "chairs", args.profile)
    ds = datasets.FlyingShapes(args.pairs, cfg.resolution, seed=0)
    bank = datasets.TensorBank.from_dataset(ds)
    print(
        f"profile {args.profile}: {cfg.resolution[0]}x{cfg.resolution[1]}, width {cfg.model['width']}, "
        f"batch {cfg.batch_size}; torch threads {torch.get_num_threads()}; {args.pairs} generated pairs"
    )
    torch.manual_seed(0)
    init = build_model(cfg).state_dict()
    loss_cfg = cfg.loss_config()

    def run(use_bank: bool, channels_last: bool, steps: int) -> float:
        model = build_model(cfg)
        model.load_state_dict(init)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        model = model.to(memory_format=fmt)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        times = []
        for step in range(steps + 2):
            t = time.perf_counter()
            idx = loop.batch_indices(len(ds), cfg.batch_size, step, 0)
            if use_bank:
                img1, img2, gt = bank.batch(idx)
            else:
                b = loop.collate([ds[i] for i in idx])
                img1, img2, gt = b["img1"], b["img2"], b["flow"]
            img1, img2 = img1.contiguous(memory_format=fmt), img2.contiguous(memory_format=fmt)
            loss, _ = total_loss(model(img1, img2), gt, img1, img2, loss_cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t)
        return steps / sum(times[2:])

    variants = {
        "baseline": (False, False),
        "bank": (True, False),
        "channels_last": (False, True),
        "bank+channels_last": (True, True),
    }
    best = dict.fromkeys(variants, 0.0)
    for _ in range(args.rounds):
        for name, (b, cl) in variants.items():
            best[name] = max(best[name], run(b, cl, args.steps))
    for name, sps in best.items():
        print(f"  {name:20s} {sps:7.3f} steps/s   x{sps / best['baseline']:.2f} of baseline")
    del profiles


if __name__ == "__main__":
    main()
