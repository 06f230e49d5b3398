"""Bytes per ground-truth pair on disk: frames once per sequence (``crop="sequence"``) against two
images per pair (``crop="pair"``, the layout before), on the same real clip in one run.

    .venv/bin/python benchmarks/gt_storage.py [--clip faces/hdtf/WDA_KatieHill_000.mp4] [--frames 40]

Prints, for each layout, bytes per usable pair of the frame images, of the flow files and in all,
and the ratio sequence / pair. Uses ``exact`` mode (the storage does not depend on the mode).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from faceflow.groundtruth.dataset import generate, read_manifest
from faceflow.io.datasets import resolve_root


def bytes_per_pair(dst: Path) -> dict[str, float]:
    n = len(read_manifest(dst, usable_only=True))
    size = lambda pattern: sum(p.stat().st_size for p in dst.glob(pattern))  # noqa: E731
    images, flow = size("*/frames/*"), size("*/flow/*")
    return {"pairs": n, "images": images / n, "flow": flow / n, "total": (images + flow) / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", default="faces/hdtf/WDA_KatieHill_000.mp4", help="video relative to the data root")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()
    src = resolve_root(args.data_root) / args.clip
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for crop in ("pair", "sequence"):
            dst = Path(tmp) / crop
            generate(src, dst, mode="exact", max_frames=args.frames, crop=crop, progress=False, verbose=False)
            out[crop] = bytes_per_pair(dst)
    print(f"{src.name}, {args.frames} frames, 384 x 512 crops")
    for crop, b in out.items():
        print(
            f"  crop={crop:8s} {b['pairs']} pairs: images {b['images'] / 1e3:8.1f} kB/pair, "
            f"flow {b['flow'] / 1e3:8.1f} kB/pair, total {b['total'] / 1e3:8.1f} kB/pair"
        )
    for k in ("images", "total"):
        print(f"  {k}: sequence / pair = {out['sequence'][k] / out['pair'][k]:.3f}")


if __name__ == "__main__":
    main()
