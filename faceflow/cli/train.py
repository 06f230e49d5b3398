"""``faceflow train CONFIG`` and ``faceflow eval CHECKPOINT``: FlowNetS runs of Sec. 4.3.

CONFIG is an experiment name (Exp1, Exp2I, Exp2II, Exp3I, Exp3II) or a JSON file holding a
:class:`faceflow.training.experiments.TrainConfig`. Runs live in
``outputs/<profile>/runs/<train_set>/<experiment>/last.pt`` unless ``--run-dir`` says otherwise;
training is idempotent (finished runs are reused, partial ones resumed).
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

from faceflow.cli.options import (
    add_convention,
    add_data_root,
    add_device,
    add_output_dir,
    add_profile,
    add_quiet,
    image_side,
    positive_float,
    positive_int,
)
from faceflow.cli.region_report import add_jitter_floor, jitter_floor, print_by_region


def _face_data(args):
    """``(face folder, run data dict)``: ``--face-dir`` split by sequences (``--exclude`` held out), else
    the face corpus of the profile (generated once) split by the project's subject table."""
    from faceflow import profiles
    from faceflow.groundtruth.splits import SplitOptions
    from faceflow.io.datasets import DataNotFoundError
    from faceflow.studies import plans

    if args.face_dir:
        return Path(args.face_dir), SplitOptions(tuple(args.exclude)).to_data()
    face = plans.face_data(args.profile, args.data_root, profiles.outputs(args.profile, args.output_dir), extra=False)
    if not face.ready:
        raise DataNotFoundError(" ".join(face.missing.values()) + " Pass --face-dir for another `faceflow gt` folder.")
    return face.face_dir, face.run_data()


def _face_dir(args) -> Path:
    """The face ground-truth folder: ``--face-dir``, else the profile's corpus dataset."""
    return Path(args.face_dir) if args.face_dir else _face_data(args)[0]


def _read_config(path: Path, overrides: dict):
    """The :class:`TrainConfig` of a JSON file with ``overrides``; one-line errors naming the file."""
    import dataclasses

    from faceflow.training.experiments import TrainConfig

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON config ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config must be a JSON object of TrainConfig fields, got {type(data).__name__}")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    if set(data) - fields:
        raise ValueError(f"{path}: unknown config keys {sorted(set(data) - fields)}; known: {sorted(fields)}")
    merged = {**data, **overrides}
    for key in ("loss", "model"):  # an option changes one setting of these, not the file's others
        if key in overrides and isinstance(data.get(key), dict):
            merged[key] = {**data[key], **overrides[key]}
    try:
        cfg = TrainConfig.from_dict(merged)
        cfg.loss_config()  # unknown loss settings: said here, not after the face data is made
    except (TypeError, ValueError) as exc:  # a bad value in the file, e.g. "steps": "x"
        raise ValueError(f"{path}: bad config value ({exc})") from None
    return cfg


def _train(args: argparse.Namespace) -> int:
    from faceflow import profiles
    from faceflow.methods.flownets_checkpoints import checkpoint_status
    from faceflow.training import experiments
    from faceflow.training.loop import ensure_trained

    overrides = {}
    if args.steps is not None:
        overrides["steps"] = args.steps
    if args.resolution is not None:
        overrides["resolution"] = tuple(args.resolution)
    if args.width is not None:
        overrides["model"] = {"width": args.width}
    if args.lr_multiplier is not None:
        overrides["lr_multiplier"] = args.lr_multiplier
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    if args.masked_loss:
        overrides["loss"] = {"masked": True}
    if Path(args.config).suffix == ".json":
        cfg = _read_config(Path(args.config), overrides)
        _check_masked(args.masked_loss, cfg.train_set)
    else:
        if args.config not in experiments.NAMES:  # before the face data is made (minutes)
            raise ValueError(f"unknown experiment {args.config!r}; choose from {experiments.NAMES}")
        _check_masked(args.masked_loss, args.train_set)
        data = _face_data(args)[1] if args.train_set == "faces" else {}
        cfg = experiments.for_profile(args.config, args.train_set, args.profile, args.variant, data=data, **overrides)
    # a masked run never replaces the paper-loss run of the same experiment (nor the reverse)
    name = cfg.experiment + ("-masked" if cfg.loss_config().masked else "")
    run_dir = (
        Path(args.run_dir)
        if args.run_dir
        else (profiles.outputs(args.profile, args.output_dir).runs(cfg.train_set, cfg.variant) / name)
    )
    face_dir = _face_dir(args) if cfg.train_set == "faces" else None  # made above: reused
    path = ensure_trained(
        cfg,
        run_dir,
        data_root=args.data_root,
        face_dir=face_dir,
        device=args.device,
        progress=not args.quiet,
        replace=args.replace,
    )
    st = checkpoint_status(path)
    print(f"train: {path} (step {st['step']}/{cfg.steps}, finished={st['finished']})")
    return 0


def _data_files(ds) -> list:
    """The image and flow files a dataset of pairs reads (none for generated pairs)."""
    refs = (getattr(r, k, None) for r in getattr(ds, "items", []) for k in ("img1", "img2", "flow"))
    return [p for p in refs if isinstance(p, Path)]


def _check_masked(masked: bool, train_set: str) -> None:
    """``--masked-loss`` needs ground truth with a valid mask: the face sets."""
    if masked and train_set != "faces":
        raise ValueError(
            f"--masked-loss needs ground truth with a valid mask (the faces); {train_set}'s is defined "
            "everywhere, so the masked loss would equal the paper's"
        )


def _eval(args: argparse.Namespace) -> int:
    from faceflow.evaluation.evaluate import evaluate
    from faceflow.groundtruth.dataset import manifest_files, manifest_refs, read_manifest
    from faceflow.groundtruth.splits import SplitOptions
    from faceflow.io.atomic import atomic_write_bytes, atomic_write_text
    from faceflow.io.paths import refuse_output_over_input
    from faceflow.methods.flownets_checkpoints import checkpoint_flow_fn, load_checkpoint
    from faceflow.studies.flow_figures import error_histograms
    from faceflow.training import datasets

    _, cfg, _ = load_checkpoint(args.checkpoint)
    floor, source = jitter_floor(args) if args.on == "faces" else (None, "")  # a bad floor file: before the work
    size = None  # datasets at native size; the net runs at its training resolution
    if args.on == "faces":
        face_dir = _face_dir(args)
        if args.sequences:
            ds = datasets.face_source_dataset(face_dir, args.sequences, size, args.max_pairs)
        else:
            split = SplitOptions.from_data(cfg.get("data")).split(read_manifest(face_dir, True, True))
            ds = datasets.PairDataset(manifest_refs(getattr(split, args.split)), size)
    elif args.on == "chairs":
        ds = datasets.chairs_dataset(args.data_root, size)
    elif args.on == "sintel":
        ds = datasets.sintel_dataset(args.data_root, size, passes=(args.sintel_pass,))
    else:
        ds = datasets.FlyingShapes(args.max_pairs or 32, tuple(cfg["resolution"]), seed=123_456)
    if args.max_pairs and len(ds) > args.max_pairs and hasattr(ds, "items"):
        ds.items = ds.items[: args.max_pairs]
    name = cfg["experiment"]
    paper = args.convention == "paper"
    out = Path(args.out or Path(args.checkpoint).with_name(f"eval_{args.on}.csv"))
    hist = out.with_suffix(".png")
    inputs = [args.checkpoint, *_data_files(ds)]
    if args.on == "faces":  # every file of the dataset, not only the pairs evaluated
        inputs += manifest_files(_face_dir(args))
    for what, path in (("--out", out), ("its histogram", hist)):
        refuse_output_over_input(path, inputs, what)
    fn = checkpoint_flow_fn(args.checkpoint, args.device, largest=paper)
    df = evaluate({name: fn}, ds, args.on, progress=not args.quiet, convention=args.convention)
    atomic_write_text(out, df.to_csv(index=False))
    fig = error_histograms({f"{name} on {args.on}": df})
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write_bytes(hist, buf.getvalue())
    print(f"eval: {len(df)} pairs of {args.on}, {name}" + (" (masked loss)" if _masked(cfg) else ""))
    print_by_region(df, floor, source, args.convention, "eval")
    print(f"\neval: per-pair errors {out}; histograms {hist}")
    return 0


def _masked(cfg: dict) -> bool:
    """Whether a run's config trains with the masked loss (beyond the paper)."""
    return bool((cfg.get("loss") or {}).get("masked"))


def add_cli(sub) -> None:
    common = argparse.ArgumentParser(add_help=False)
    add_profile(common)
    add_data_root(common)
    add_output_dir(common)
    common.add_argument(
        "--face-dir",
        default=None,
        help="a `faceflow gt` folder split by sequence (default: the face corpus of the profile, "
        "outputs/<profile>/datasets/faces, generated once and split by person)",
    )
    add_device(common)
    add_quiet(common)

    p = sub.add_parser("train", parents=[common], help="train FlowNetS with a named experiment (Sec. 4.3)")
    p.add_argument("config", metavar="CONFIG", help="Exp1|Exp2I|Exp2II|Exp3I|Exp3II or a config .json")
    p.add_argument("--train-set", default="faces", choices=["faces", "chairs", "sintel"])
    p.add_argument(
        "--variant",
        default="text",
        choices=["text", "code"],
        help="paper text (default) or the authors'-code differences",
    )
    p.add_argument("--steps", type=positive_int, default=None)
    p.add_argument("--resolution", type=image_side, nargs=2, metavar=("H", "W"), default=None)
    p.add_argument("--width", type=positive_float, default=None, help="channel multiplier (1 = full FlowNetS)")
    p.add_argument("--batch-size", type=positive_int, default=None)
    p.add_argument("--lr-multiplier", type=positive_float, default=None)
    p.add_argument(
        "--exclude", nargs="*", default=["multi_face"], help="with --face-dir: sequences held out of the splits"
    )
    p.add_argument(
        "--masked-loss",
        action="store_true",
        help="beyond the paper: average every loss term over the ground truth's valid mask (the face) "
        "instead of the whole crop (faces only; the run goes to <runs>/<Exp>-masked unless --run-dir; "
        "Exp3's initialisation run keeps the paper's loss)",
    )
    p.add_argument("--run-dir", default=None)
    p.add_argument(
        "--replace",
        action="store_true",
        help="train over a run of another experiment or config in the run folder (default: refuse)",
    )
    p.set_defaults(func=_train)

    e = sub.add_parser(
        "eval",
        parents=[common],
        help="per-pair EPE/AAE of a trained checkpoint, summarised by region (face / outside / whole crop)",
    )
    e.add_argument("checkpoint", help="a last.pt written by `faceflow train`")
    e.add_argument("--on", default="faces", choices=["faces", "chairs", "sintel", "shapes"])
    e.add_argument("--split", default="test", choices=["train", "val", "test"], help="face split")
    e.add_argument("--sequences", nargs="*", default=None, help="evaluate these face sequences instead")
    e.add_argument("--sintel-pass", default="clean", choices=["clean", "final"])
    e.add_argument("--max-pairs", type=positive_int, default=None)
    add_convention(e)
    e.add_argument("--out", default=None, help="CSV of per-pair errors (default: beside the checkpoint)")
    add_jitter_floor(e)
    e.set_defaults(func=_eval)
