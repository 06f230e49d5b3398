"""``faceflow flow``: one flow by any registered method; ``faceflow compare``: Table 3 on a face set.

Examples::

    faceflow flow farneback a.png b.png -o out.flo --png out.png
    faceflow flow Exp2II a.png b.png -o out.flo --runs outputs/default/runs/faces
    faceflow flow PWC-Net a.png b.png -o out.flo --cnn-weights ~/flow-weights
    faceflow flow raft-small a.png b.png -o out.flo        # weights under <data root>/weights
    faceflow flow --list --runs outputs/default/runs/faces --cnn-weights ~/flow-weights
    faceflow compare --face-dir outputs/default/datasets/openface --runs outputs/default/runs/faces
"""

from __future__ import annotations

from pathlib import Path

from faceflow.cli.options import add_data_root


def _register(args) -> list:
    """Register the trained runs, the paper's CNNs and the pretrained networks; the unavailable ones."""
    from faceflow.methods.cnn import register_cnn_baselines
    from faceflow.methods.pretrained import register_pretrained
    from faceflow.training.checkpoints import register_checkpoints

    if getattr(args, "runs", None):
        if not Path(args.runs).is_dir():
            raise FileNotFoundError(f"{args.runs}: no such runs folder")
        register_checkpoints(args.runs)
    statuses = register_cnn_baselines(getattr(args, "cnn_weights", None))
    statuses += register_pretrained(getattr(args, "data_root", None))
    return [s for s in statuses if not s.available]


def _list(args) -> int:
    from faceflow.methods import available_methods, get_method

    unavailable = _register(args)
    for name in available_methods():
        m = get_method(name)
        print(f"  {name:16s} {m.kind:10s} {m.description}")
    for st in unavailable:
        print(f"  {st.name:16s} {'missing':10s} {st.reason}")
    return 0


def _flow(args) -> int:
    from faceflow.io.flo import write_flo
    from faceflow.io.images import read_image
    from faceflow.methods import timed_flow

    if args.list:
        return _list(args)
    if not (args.method and args.img1 and args.img2 and args.output):
        raise ValueError("usage: faceflow flow METHOD IMG1 IMG2 -o OUT.flo (or --list)")
    unavailable = {s.name: s.reason for s in _register(args)}
    if args.method in unavailable:
        raise RuntimeError(f"{args.method}: {unavailable[args.method]}")
    a, b = read_image(args.img1), read_image(args.img2)
    flow, secs = timed_flow(args.method, a, b)
    write_flo(args.output, flow)
    msg = f"{args.method}: {flow.shape[1]}x{flow.shape[0]} flow in {1000 * secs:.0f} ms -> {args.output}"
    if args.png:
        import cv2

        from faceflow.flow.viz import flow_to_rgb

        cv2.imwrite(str(args.png), cv2.cvtColor(flow_to_rgb(flow), cv2.COLOR_RGB2BGR))
        msg += f" (+ {args.png})"
    print(msg)
    return 0


def _compare(args) -> int:
    import pandas as pd

    from faceflow.evaluation import tables
    from faceflow.evaluation.evaluate import evaluate
    from faceflow.evaluation.testsets import face_test_sets, split_options
    from faceflow.groundtruth.splits import SplitOptions
    from faceflow.methods import available_methods
    from faceflow.methods.registry import methods_of_kind

    unavailable = {s.name: s.reason for s in _register(args)}
    split = (split_options(args.runs) if args.runs else None) or SplitOptions()
    if args.exclude is not None:
        split = SplitOptions(tuple(args.exclude), split.fractions, split.seed)
    sets, note = face_test_sets(args.face_dir, split, args.max_pairs)
    print(f"split: {note}")
    methods = args.methods or available_methods()
    rows = [evaluate(methods, pairs, name, progress=True) for name, pairs in sets.items()]
    avg = tables.averages(pd.concat(rows, ignore_index=True))
    ours = [m for m in methods_of_kind("ours") if m in methods]
    if ours:
        tab, best = tables.table3(avg, ours, order=tables.PAPER_BASELINES)
        print(f"best of our networks: {best}")
    else:
        tab = avg.rename(index=tables.display_name)
        print("no trained networks (--runs): improvement columns need them")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(tables.format_table(tab, dict.fromkeys(unavailable, "weights not available")))
    for k, why in unavailable.items():
        print(f"{k}: {why}")
    if args.out:
        tab.to_csv(args.out)
        print(f"table: {args.out}")
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
    p.add_argument("--cnn-weights", help="folder with CNN baseline weights (default $FACEFLOW_CNN_WEIGHTS)")
    add_data_root(p)
    p.set_defaults(func=_flow)
    c = sub.add_parser("compare", help="Table 3: every method on the face test set and the held-out face source")
    c.add_argument("--face-dir", required=True, help="a `faceflow gt` output folder (manifest.csv)")
    c.add_argument("--runs", help="runs folder of trained experiments; their split options are re-used")
    c.add_argument("--cnn-weights", help="folder with CNN baseline weights (default $FACEFLOW_CNN_WEIGHTS)")
    c.add_argument("--exclude", nargs="*", help="held-out sequences (default: those the networks were trained without)")
    c.add_argument("--methods", nargs="+", help="methods to compare (default: all registered)")
    c.add_argument("--max-pairs", type=int, default=None, help="evenly spaced pairs per test set")
    c.add_argument("--out", help="write the table as CSV")
    add_data_root(c)
    c.set_defaults(func=_compare)
