"""``faceflow flow``: one flow by any registered method; ``faceflow compare``: Table 3 on a face set and
every method by region (:mod:`faceflow.cli.region_report`).

Examples::

    faceflow flow farneback a.png b.png -o out.flo --png out.png
    faceflow flow Exp2II a.png b.png -o out.flo --runs outputs/default/runs/faces
    faceflow flow raft-small a.png b.png -o out.flo        # weights under <data root>/weights
    faceflow flow --list --runs outputs/default/runs/faces
    faceflow compare --face-dir outputs/default/datasets/openface --runs outputs/default/runs/faces
"""

from __future__ import annotations

import sys
from pathlib import Path

from faceflow.cli.options import add_convention, add_data_root, add_output_dir, add_profile, add_quiet, positive_int
from faceflow.cli.region_report import add_jitter_floor, jitter_floor, print_by_region, units


def _register(args) -> list:
    """Register the trained runs and the pretrained networks; the statuses of the paper's CNNs and the networks."""
    from faceflow.methods.flownets_checkpoints import register_checkpoints
    from faceflow.methods.pretrained import paper_cnn_status, register_pretrained

    if getattr(args, "runs", None):
        if not Path(args.runs).is_dir():
            raise FileNotFoundError(f"{args.runs}: no such runs folder")
        register_checkpoints(args.runs)
    return paper_cnn_status() + register_pretrained(getattr(args, "data_root", None))


def _unavailable(args, statuses) -> dict[str, tuple[str, str]]:
    """``{name: (kind, why)}`` of every known method that is not registered now."""
    from faceflow.methods import available_methods
    from faceflow.methods.pretrained import PRETRAINED
    from faceflow.training.experiments import NAMES

    kind = {st.name: "pretrained" if st.name in PRETRAINED else "cnn" for st in statuses}
    out = {st.name: (kind[st.name], st.reason) for st in statuses if not st.available}
    runs = getattr(args, "runs", None)
    for exp in NAMES:
        if exp not in available_methods():
            why = f"no checkpoint {Path(runs) / exp / 'last.pt'}" if runs else "a trained network: give --runs FOLDER"
            why = f"not available: {why}"
            out.setdefault(exp, ("ours", why))
    return out


def _check_methods(names, unavailable: dict) -> None:
    """One-line errors for method names that are unknown or cannot run now."""
    from faceflow.methods import available_methods

    for name in names:
        if name in available_methods():
            continue
        if name in unavailable:
            raise RuntimeError(f"{name}: {unavailable[name][1]}")
        known = sorted(set(available_methods()) | set(unavailable))
        raise ValueError(f"unknown flow method {name!r}; known: {', '.join(known)} (see `faceflow flow --list`)")


def _list(args) -> int:
    from faceflow.methods import available_methods, get_method

    unavailable = _unavailable(args, _register(args))
    for name in available_methods():
        m = get_method(name)
        print(f"  {name:16s} {m.kind:10s} {m.description}")
    for name, (kind, why) in unavailable.items():
        print(f"  {name:16s} {kind:10s} {why}")
    return 0


def _flow(args) -> int:
    from faceflow.flow.viz import flow_to_rgb
    from faceflow.io.atomic import atomic_write_bytes
    from faceflow.io.flo import write_flo
    from faceflow.io.images import IMAGE_EXTS, encode_image, read_image
    from faceflow.io.paths import refuse_output_over_input, same_file
    from faceflow.methods import timed_flow

    if args.list:
        return _list(args)
    if not (args.method and args.img1 and args.img2 and args.output):
        raise ValueError("usage: faceflow flow METHOD IMG1 IMG2 -o OUT.flo (or --list)")
    _check_methods([args.method], _unavailable(args, _register(args)))
    if args.png and Path(args.png).suffix.lower() not in IMAGE_EXTS:
        raise ValueError(f"{args.png}: --png must end in one of {', '.join(IMAGE_EXTS)}")
    refuse_output_over_input(args.output, [args.img1, args.img2], "-o")
    refuse_output_over_input(args.png, [args.img1, args.img2], "--png")
    if args.png and same_file(args.png, args.output):
        raise ValueError(f"--png {args.png} and -o {args.output} are the same file; give two names")
    a, b = read_image(args.img1), read_image(args.img2)
    if a.shape != b.shape:
        raise ValueError(
            f"{args.img1} is {a.shape[1]}x{a.shape[0]} px but {args.img2} is {b.shape[1]}x{b.shape[0]}; "
            "the two frames must have one size"
        )
    if not args.quiet:
        print(f"{args.method}: flow of a {a.shape[1]}x{a.shape[0]} pair ...", file=sys.stderr, flush=True)
    flow, secs = timed_flow(args.method, a, b)
    png = encode_image(flow_to_rgb(flow), Path(args.png).suffix, args.png) if args.png else None
    write_flo(args.output, flow)
    msg = f"{args.method}: {flow.shape[1]}x{flow.shape[0]} flow in {1000 * secs:.0f} ms -> {args.output}"
    if png is not None:
        atomic_write_bytes(args.png, png)
        msg += f" (+ {args.png})"
    print(msg)
    return 0


def _compare(args) -> int:
    import pandas as pd

    from faceflow.evaluation import tables
    from faceflow.evaluation.baselines import NO_WEIGHTS, MethodSet, table3
    from faceflow.evaluation.regions import PAPER_VIEW, view_label
    from faceflow.evaluation.testsets import TestSets, face_test_sets, split_options
    from faceflow.groundtruth.dataset import manifest_files
    from faceflow.groundtruth.splits import SplitOptions
    from faceflow.io.atomic import atomic_write_text
    from faceflow.io.paths import refuse_output_over_input
    from faceflow.methods import available_methods
    from faceflow.methods.pretrained import PAPER_CNNS, PRETRAINED
    from faceflow.methods.registry import methods_of_kind

    statuses = _register(args)
    if args.methods:
        _check_methods(args.methods, _unavailable(args, statuses))
    floor, source = jitter_floor(args)
    split = (split_options(args.runs) if args.runs else None) or SplitOptions()
    if args.exclude is not None:
        split = SplitOptions(tuple(args.exclude), split.fractions, split.seed)
    sets, note = face_test_sets(args.face_dir, split, args.max_pairs, progress=not args.quiet)
    inputs = list(manifest_files(args.face_dir)) if args.out or args.table_out else []
    refuse_output_over_input(args.out, inputs, "--out")
    refuse_output_over_input(args.table_out, inputs, "--table-out")
    print(f"split: {note}")
    names = args.methods or available_methods()
    ours = [m for m in methods_of_kind("ours") if m in names]
    methods = MethodSet(
        ours,
        [m for m in names if m not in ours and m not in PRETRAINED],
        [st for st in statuses if st.name in PAPER_CNNS],
        Path(args.runs) if args.runs else Path(),
        pretrained=[m for m in names if m in PRETRAINED],
        pretrained_missing={st.name: st.reason for st in statuses if st.name in PRETRAINED and not st.available},
    )
    test_sets = TestSets(sets, note, False, Path(args.face_dir), split)
    result = table3(
        test_sets,
        methods,
        None,
        views=(PAPER_VIEW,),
        convention=args.convention,
        all_ours=False,
        progress=not args.quiet,
    )
    print(f"\nTable 3, whole crop (the paper's layout): {units(args.convention)}")
    if ours:
        print(f"best of our networks: {result.best}")
    else:
        print("no trained networks (--runs): improvement columns need them")
    # one view: the columns are named without it, as the heading says "whole crop"
    table = result.table.rename(columns=lambda c: c.removesuffix(f" ({view_label(PAPER_VIEW)})"), level=1)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(tables.format_table(table, dict.fromkeys(methods.missing_cnn, NO_WEIGHTS)))
    for k, why in methods.missing_cnn.items():
        print(f"{k}: {why}")
    if args.table_out:
        atomic_write_text(args.table_out, table.to_csv())
        print(f"Table 3: {args.table_out}")
    print("\nBy region:")
    by_region = print_by_region(result.per_pair, floor, source, args.convention, "compare")
    if args.out:
        atomic_write_text(args.out, by_region.to_csv())
        print(f"by region: {args.out}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("flow", help="estimate optical flow between two images with a registered method")
    p.add_argument("method", nargs="?", help="method name (see --list)")
    p.add_argument("img1", nargs="?")
    p.add_argument("img2", nargs="?")
    p.add_argument("-o", "--output", help="output .flo file")
    p.add_argument("--png", help="also write the Middlebury-coloured flow as an image")
    p.add_argument("--list", action="store_true", help="list the methods and why any is unavailable")
    p.add_argument("--runs", help="runs folder of trained experiments (<runs>/<Exp>/last.pt)")
    add_data_root(p)
    add_quiet(p)
    p.set_defaults(func=_flow)
    c = sub.add_parser(
        "compare",
        help="Table 3: every method on the face test set and the held-out face source, "
        "and every method by region (face on moving / still pairs, outside the face, whole crop)",
    )
    c.add_argument("--face-dir", required=True, help="a `faceflow gt` output folder (manifest.csv)")
    c.add_argument("--runs", help="runs folder of trained experiments; their split options are re-used")
    c.add_argument("--exclude", nargs="*", help="held-out sequences (default: those the networks were trained without)")
    c.add_argument("--methods", nargs="+", help="methods to compare (default: all registered)")
    c.add_argument("--max-pairs", type=positive_int, default=None, help="evenly spaced pairs per test set")
    add_convention(c)
    add_jitter_floor(c)
    c.add_argument(
        "--out",
        help="write the mean EPE and AAE by region as CSV: one row per method and test set, columns "
        "pairs_<view>, epe_<view>, aae_<view> (views face@moving, face@still, face, outside; epe and aae "
        "are the whole crop), convention, jitter_floor",
    )
    c.add_argument(
        "--table-out",
        help="write the printed Table 3 (whole crop) as CSV, full precision: one row per method, "
        "columns (test set, EPE | AAE | EPE impr. %% | AAE impr. %%)",
    )
    add_profile(c)
    add_output_dir(c)
    add_data_root(c)
    add_quiet(c)
    c.set_defaults(func=_compare)
