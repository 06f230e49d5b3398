"""FlowNetS speed on the CPU at the paper's 384 x 512 (prints figures; not a test).

Measures, in one run on the same machine:
* training steps/s (Adam, Exp2-style loss: multi-scale EPE + cyclic) at batch ``--batch-size``;
* inference pairs/s (batch 1, no grad) and the achieved GFLOP/s of inference (convolution FLOPs
  counted by :func:`inference_flops` below);
* the machine's float32 matmul GFLOP/s (torch, same threads) as the reference peak;
* Farneback (OpenCV, the authors' parameters of :mod:`faceflow.methods.classical`) pairs/s on the same
  pairs, and the FlowNetS / Farneback speed ratio.

Pairs: the real FlyingChairs samples (384 x 512) under the data root when present, else
generated flying-shapes pairs.

    .venv/bin/python benchmarks/flownets_speed.py [--width 1.0] [--batch-size 16] [--steps 2]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of a network.

    Parameters
    ----------
    model : torch.nn.Module
        Any network.

    Returns
    -------
    int
    """
    return sum(p.numel() for p in model.parameters())


def inference_flops(model, h: int, w: int) -> int:
    """Multiply-accumulate operations x 2 of one forward pass at (h, w) (convolutions only).

    Parameters
    ----------
    model : faceflow.methods.flownets.FlowNetS
        The network.
    h, w : int
        Input size.

    Returns
    -------
    int
        Floating-point operations of the convolutions and transposed convolutions.
    """
    flops = 0

    def hook(mod, inp, out):
        nonlocal flops
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            flops += 2 * out.numel() * (mod.in_channels // mod.groups) * kh * kw
        elif isinstance(mod, nn.ConvTranspose2d):
            kh, kw = mod.kernel_size
            flops += 2 * inp[0].numel() * mod.out_channels * kh * kw

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.no_grad():
            x = torch.zeros(1, 3, h, w, device=next(model.parameters()).device)
            model(x, x)
    finally:
        for hk in hooks:
            hk.remove()
    return flops


def best_time(fn, repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)


def matmul_gflops(n: int = 2048, repeat: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    return 2 * n**3 / best_time(lambda: torch.mm(a, b), repeat) / 1e9


def load_pairs(n: int, size=(384, 512)):
    from faceflow.flow.synthetic import flying_shapes_pair
    from faceflow.io.datasets import locate
    from faceflow.training import datasets

    if locate("chairs") is None:
        return [flying_shapes_pair(i, size) for i in range(n)], "flying shapes (generated)"
    ds = datasets.chairs_dataset(None, None)
    pairs = [datasets.resize_pair(ds.pair(i), size) for i in range(min(n, len(ds)))]
    return pairs, "FlyingChairs samples"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--steps", type=int, default=2, help="timed training steps (after one warm-up)")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--height", type=int, default=384)
    ap.add_argument("--width-px", type=int, default=512)
    args = ap.parse_args(argv)

    from faceflow.methods.classical import farneback
    from faceflow.methods.flownets import FlowNetS, predict_flow, to_tensor
    from faceflow.training.losses import LossConfig, total_loss

    torch.manual_seed(0)
    h, w = args.height, args.width_px
    pairs, source = load_pairs(args.pairs, (h, w))
    model = FlowNetS(width=args.width)
    flops = inference_flops(model, h, w)
    print(
        f"FlowNetS width={args.width}: {count_parameters(model) / 1e6:.1f} M parameters, "
        f"{flops / 1e9:.1f} GFLOP per {h}x{w} pair; torch threads={torch.get_num_threads()}; pairs: {source}"
    )

    peak = matmul_gflops()
    print(f"matmul (2048^2 float32): {peak:.1f} GFLOP/s")

    # inference, batch 1
    model.eval()
    x1 = [to_tensor(p.img1) for p in pairs]
    x2 = [to_tensor(p.img2) for p in pairs]
    with torch.no_grad():
        model(x1[0], x2[0])
        t_inf = best_time(lambda: [model(a, b) for a, b in zip(x1, x2)], 2) / len(pairs)
    t_pred = best_time(lambda: [predict_flow(model, p.img1, p.img2) for p in pairs], 1) / len(pairs)
    gfs = flops / t_inf / 1e9
    print(
        f"inference: {1 / t_inf:.3f} pairs/s ({t_inf * 1e3:.0f} ms/pair), {gfs:.1f} GFLOP/s "
        f"= {100 * gfs / peak:.0f}% of matmul; predict_flow (with resizing) {1 / t_pred:.3f} pairs/s"
    )

    # Farneback on the same pairs
    farneback(pairs[0].img1, pairs[0].img2)
    t_fb = best_time(lambda: [farneback(p.img1, p.img2) for p in pairs], 2) / len(pairs)
    print(
        f"Farneback: {1 / t_fb:.3f} pairs/s ({t_fb * 1e3:.0f} ms/pair); "
        f"Farneback / FlowNetS inference pairs/s ratio: {t_inf / t_fb:.1f}"
    )

    # training
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-6)
    bs = args.batch_size
    idx = [i % len(pairs) for i in range(bs)]
    img1 = torch.cat([x1[i] for i in idx])
    img2 = torch.cat([x2[i] for i in idx])
    gt = torch.stack([torch.from_numpy(pairs[i].flow).permute(2, 0, 1) for i in idx])
    cfg = LossConfig(lambda1=0.75, lambda2=0.25)

    def step():
        loss, _ = total_loss(model(img1, img2), gt, img1, img2, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t_step = best_time(step, args.steps)
    print(
        f"training: {1 / t_step:.4f} steps/s at batch {bs} ({t_step:.1f} s/step, "
        f"{bs / t_step:.2f} pairs/s; ~3x inference FLOPs per pair -> "
        f"{3 * flops * bs / t_step / 1e9:.1f} GFLOP/s)"
    )


if __name__ == "__main__":
    main()
