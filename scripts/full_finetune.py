"""Fine-tune RAFT-small on the face ground truth at full scale (a GPU), and keep the result as files.

The book's default profile fine-tunes for minutes on a CPU; this script runs the ``full`` profile's
fine-tuning (:class:`faceflow.profiles.FinetuneProfile`: 10,000 steps of 8 crops of 368x496) and the
comparison with the pretrained RAFT-small on the face test sets of Table 3. It writes, under
``outputs/<profile>/finetune/``:

* ``raft-small-faces/last.pt``: the fine-tuned weights (never into git);
* ``finetune_table.csv``: EPE, AAE and EPE on the face, per test set, before and after;
* ``finetune_history.csv``: the training loss per step;
* ``finetune_regions.csv``: RAFT-small before and after (and with ``--masked`` after the masked
  fine-tuning) and zero flow by region, per test set: :func:`faceflow.evaluation.regions.view_means`
  of the paper's convention (EPE in px of the k = 1 grid), pairs split at the profile's jitter floor;
* ``finetune_run.json``: config, git commit, device, date, training time, jitter floor.

``--masked`` (beyond the paper) also fine-tunes with the masked loss (the sequence loss over the
face's valid mask only, :class:`faceflow.training.finetune.FinetuneConfig`) from the same
pretrained weights on the same crops, into ``raft-small-faces-masked/`` (history
``finetune_masked_history.csv``).

Usage (from the project root, with the data root holding ``weights/raft/raft-small.pth``)::

    .venv/bin/python scripts/full_finetune.py --device cuda --masked
    .venv/bin/python scripts/full_finetune.py --profile default --steps 5 --device cpu   # quick check

The face dataset (``outputs/<profile>/datasets/openface``) is generated first when it is absent.
Existing FlowNetS runs of the profile only provide the split; none is trained here.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import subprocess
import sys

#: Registry name of RAFT-small fine-tuned with the masked loss.
MASKED_NAME = "raft-small-faces-masked"


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from faceflow import profiles
    from faceflow.evaluation import baselines
    from faceflow.evaluation.evaluate import evaluate
    from faceflow.evaluation.regions import view_means
    from faceflow.evaluation.testsets import load_test_sets
    from faceflow.groundtruth.jitter import profile_floor
    from faceflow.io.atomic import atomic_write_text
    from faceflow.io.datasets import resolve_root
    from faceflow.methods.pretrained import FINETUNED_NAME
    from faceflow.runtime import resolve_device
    from faceflow.studies.baselines import face_source, finetune_on_faces
    from faceflow.training.finetune import FinetuneConfig, finetune_raft, read_finetuned, register_finetuned

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="full", choices=list(profiles.PROFILES))
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--data-root", default=None)
    p.add_argument("--steps", type=int, default=None, help="override the profile's fine-tuning steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--masked",
        action="store_true",
        help="beyond the paper: also fine-tune with the sequence loss over the face's valid mask only",
    )
    args = p.parse_args(argv)

    device = resolve_device(args.device)
    root = resolve_root(args.data_root)
    settings = profiles.get(args.profile)
    ft_settings = settings.baselines.finetune
    if args.steps is not None:
        ft_settings = dataclasses.replace(ft_settings, steps=args.steps)
    out = profiles.outputs(args.profile)
    face_dir, face_split = face_source(args.profile, root, out)
    test_sets = load_test_sets(face_dir, out.runs("faces"), root, settings, args.seed, face_split)
    if test_sets.generated:
        print(f"no real face data: {test_sets.missing}", file=sys.stderr)
        return 1
    methods = baselines.comparison_methods(
        out.runs("faces"),
        test_sets,
        args.profile,
        data_root=root,
        device=device,
        pretrained=("raft-small",),
    )
    folder = out.root / "finetune"
    result = finetune_on_faces(
        test_sets, methods, None, ft_settings, folder / "raft-small-faces", root, device, args.seed
    )
    if result.table is None:
        print(f"not run: {result.missing}", file=sys.stderr)
        return 1
    result.table.to_csv(folder / "finetune_table.csv")
    result.history.to_csv(folder / "finetune_history.csv", index=False)
    names = ["raft-small", FINETUNED_NAME, "zero"]
    masked = {}
    if args.masked:
        cfg = FinetuneConfig.from_settings(ft_settings, test_sets.split.to_data(), args.seed, masked=True)
        ckpt = finetune_raft(cfg, test_sets.face_dir, folder / MASKED_NAME, root, device, progress=True)
        register_finetuned(ckpt, device, name=MASKED_NAME)
        done = read_finetuned(ckpt)
        pd.DataFrame(done["extra"]["history"]).to_csv(folder / "finetune_masked_history.csv", index=False)
        masked = dict(config=done["config"], seconds=done["extra"]["seconds"])
        names.insert(2, MASKED_NAME)
    floor = profile_floor(args.profile, root, out).floor
    per_pair = pd.concat([evaluate(names, pairs, s, convention="paper") for s, pairs in test_sets.sets.items()])
    regions = view_means(per_pair, floor)
    regions.to_csv(folder / "finetune_regions.csv")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    name = device
    if device == "cuda":
        import torch

        name = torch.cuda.get_device_name(0)
    run = dict(
        profile=args.profile,
        config=result.config,
        commit=commit,
        device=name,
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        seconds=result.seconds,
        change_percent=result.change,
        test_pairs={k: len(v) for k, v in test_sets.sets.items()},
        jitter_floor=floor,
        masked=masked,
    )
    atomic_write_text(folder / "finetune_run.json", json.dumps(run, indent=1))
    print(result.table.round(4).to_string())
    print(f"by region (EPE px of the k = 1 grid, jitter floor {floor:.3f} px):")
    print(regions.round(4).to_string())
    print(f"RAFT-small EPE change: {result.change_text}; files in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
