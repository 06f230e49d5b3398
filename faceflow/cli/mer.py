"""``faceflow mer ...``: micro-expression recognition with STSTNet (paper Sec. 4.4 / 5.3).

Sub-commands:

* ``published``  apply the authors' per-subject weights to the real STSTNet images (pooled figures);
* ``loso``       train STSTNet leave-one-subject-out on the real STSTNet images (the TVL1 rows);
* ``generated``  the same protocol on the generated micro-expression set, for each flow method;
* ``features``   write the STSTNet feature image of one onset/apex pair (images or a 2-frame GIF);
* ``clips``      features of the real onset-to-offset clips, compared with the published images.
"""

from __future__ import annotations

from pathlib import Path

from faceflow.cli.options import add_data_root, add_quiet, image_side, nonnegative_int, positive_float, positive_int


def _cfg(args):
    from faceflow.mer.loso import LosoConfig

    return LosoConfig(
        epochs=args.epochs,
        lr=args.lr,
        device=args.device,
        threads=args.threads,
        workers=args.workers,
        engine=args.engine,
    )


def _print_summary(summary) -> None:
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(summary.round(4).to_string())


def _published(args) -> int:
    from faceflow import paper
    from faceflow.io.atomic import atomic_write_text
    from faceflow.io.datasets import find_dataset, stst_samples
    from faceflow.io.paths import refuse_output_over_input
    from faceflow.mer.metrics import pooled_metrics
    from faceflow.mer.stst import published_predictions

    if args.out:
        samples = stst_samples(args.data_root)
        labels = find_dataset("stst_images", args.data_root) / "labels.csv"
        refuse_output_over_input(args.out, [labels, *samples["path"]], "--out")
    df = published_predictions(args.data_root, progress=not args.quiet)
    pooled = pooled_metrics(df["label"], df["pred"])
    print(f"{pooled['n']} predictions with the published per-subject weights")
    for k in ("accuracy", "UF1", "UAR"):
        print(f"  {k:8s} ours {pooled[k]:.4f}   published {paper.STSTNET_PUBLISHED[k]:.4f}")
    if args.out:
        atomic_write_text(args.out, df.to_csv(index=False))
        print(f"predictions: {args.out}")
    return 0


def _loso(args) -> int:
    from faceflow.mer.loso import PROTOCOLS, real_tvl1_experiment
    from faceflow.mer.metrics import summarize

    protocols = {p: PROTOCOLS[p] for p in args.protocol} if args.protocol else PROTOCOLS
    preds, summary = real_tvl1_experiment(
        args.data_root, args.seeds, _cfg(args), args.out, not args.quiet, args.max_folds, protocols
    )
    summary = summarize(preds, absent=args.absent)
    _print_summary(summary)
    print(f"training time (sum of fold times): {summary['fold_seconds'].sum():.1f} s")
    print(f"per-subject predictions: {Path(args.out) / 'tvl1_real'}")
    return 0


def _generated(args) -> int:
    from faceflow.mer.data import generated_samples
    from faceflow.mer.features import flow_methods
    from faceflow.mer.loso import generated_experiment
    from faceflow.methods import get_method

    for m in args.methods or []:
        get_method(m)  # an unknown name fails here, before the clips are generated
    samples, note = generated_samples(
        args.data_root, per_class=args.per_class, size=args.size, max_identities=args.identities, seed=args.data_seed
    )
    print(f"generated set: {len(samples)} clips of {len({s.subject for s in samples})} identities ({note})")
    methods = args.methods or flow_methods()
    preds, summary, secs = generated_experiment(
        samples, methods, args.seeds, _cfg(args), args.out, not args.quiet, args.max_folds
    )
    _print_summary(summary)
    for m, s in secs.items():
        print(f"  features {m}: {s:.1f} s")
    return 0


def _features(args) -> int:
    from faceflow.flow.strain import stst_image
    from faceflow.io.images import write_image
    from faceflow.io.paths import refuse_output_over_input
    from faceflow.mer.data import MESample, read_onset_apex_gif
    from faceflow.methods import estimate_flow

    refuse_output_over_input(args.output, [args.gif, args.onset, args.apex], "output")
    if args.gif:
        a, b = read_onset_apex_gif(args.gif)
    elif args.onset and args.apex:
        a, b = MESample("pair", "", "", 0, Path(args.onset), Path(args.apex), crop=not args.no_crop).load()
    else:
        raise ValueError("give --gif or both --onset and --apex")
    img = stst_image(estimate_flow(args.method, a, b))
    write_image(args.output, img)
    print(f"{args.output}: 28x28 RGB (u, v, strain) from {args.method}")
    return 0


def _clips(args) -> int:
    import pandas as pd

    from faceflow.mer.features import flow_methods
    from faceflow.studies.micro_expressions.tables import clip_comparison

    cmp = clip_comparison(args.data_root, args.methods or flow_methods(), args.max_clips, progress=not args.quiet)
    for what, why in cmp.missing.items():
        print(f"not available: {what}: {why}")
    if cmp.table is None:
        return 1
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(cmp.table.round(2).to_string())
        print(cmp.methods_table.round(2).to_string())
    return 0


def _train_args(p) -> None:
    add_data_root(p, "--root")
    p.add_argument("--epochs", type=positive_int, default=500, help="epochs per fold (paper: 500)")
    p.add_argument("--lr", type=positive_float, default=5e-5, help="Adam learning rate (paper: 5e-5)")
    p.add_argument("--seeds", type=nonnegative_int, nargs="+", default=[0])
    p.add_argument("--max-folds", type=positive_int, default=None, help="hold out only the first N subjects")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument(
        "--engine",
        default="batched",
        help="LOSO engine: batched (all folds at once on workers x threads CPU threads) or loop (fold by fold)",
    )
    p.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads per fold (per worker)")
    p.add_argument("--workers", type=positive_int, default=1, help="loop engine: folds trained at once (processes)")
    p.add_argument("--out", default="outputs/mer", help="folder for per-subject predictions (cache)")
    p.add_argument(
        "--absent",
        default="present",
        choices=["present", "union", "all"],
        help="classes absent from a subject's test set (see faceflow.mer.metrics)",
    )
    add_quiet(p)


def add_cli(sub) -> None:
    """Add ``faceflow mer`` and its sub-commands.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The top-level sub-parsers.
    """
    p = sub.add_parser("mer", help="micro-expression recognition with STSTNet (Sec. 4.4 / 5.3)")
    s = p.add_subparsers(dest="mer_command", required=True, metavar="MER_COMMAND")

    a = s.add_parser("published", help="published per-subject weights on the real STSTNet images")
    add_data_root(a, "--root")
    a.add_argument("--out", default=None, help="write the 442 predictions to this CSV")
    add_quiet(a)
    a.set_defaults(func=_published)

    b = s.add_parser("loso", help="LOSO training on the real STSTNet (TV-L1) images: the TVL1 rows")
    _train_args(b)
    b.add_argument("--protocol", nargs="+", choices=["SAMM", "SMIC", "SAMM+SMIC"], help="default: all three")
    b.set_defaults(func=_loso)

    c = s.add_parser("generated", help="LOSO on the generated micro-expression set, per flow method")
    _train_args(c)
    c.add_argument("--methods", nargs="+", help="flow methods (default: every registered one but zero)")
    c.add_argument("--per-class", type=positive_int, default=2, help="clips per identity and class")
    c.add_argument("--size", type=image_side, default=112, help="face crop size in pixels")
    c.add_argument("--identities", type=positive_int, default=None, help="at most this many identities")
    c.add_argument("--data-seed", type=nonnegative_int, default=0, help="seed of the generated clips")
    c.set_defaults(func=_generated)

    d = s.add_parser("features", help="STSTNet feature image of one onset/apex pair")
    d.add_argument("--gif", help="a 2-frame GIF (onset, apex) drawn on a plot canvas")
    d.add_argument("--onset")
    d.add_argument("--apex")
    d.add_argument("--no-crop", action="store_true", help="do not crop the face")
    d.add_argument("--method", default="tvl1")
    d.add_argument("output", help="output PNG")
    d.set_defaults(func=_features)

    e = s.add_parser("clips", help="features of the real clips (mer/clips) vs the published TV-L1 images")
    add_data_root(e, "--root")
    e.add_argument("--methods", nargs="+", help="flow methods (default: every registered one but zero)")
    e.add_argument("--max-clips", type=positive_int, default=None, help="use only the first N clips")
    add_quiet(e)
    e.set_defaults(func=_clips)
