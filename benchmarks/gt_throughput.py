"""Throughput of the Sec. 3 ground-truth generator against the pre-issue-15 kernels (a script, not a test).

Everything runs on one core (OpenCV and BLAS limited to one thread) at the paper's 512x384 and
is timed in CPU seconds of this process (``time.process_time``), so that other jobs on a shared
machine inflate the numbers less than wall-clock time would; speeds are frames per second per
core. Each line sets today's code against the code before the speed-up, measured in the same
run on the same frames (the old kernels are kept, for this comparison only, in
``benchmarks/gt_reference_kernels.py``):

* ``exact`` and ``paper`` flow, landmarks given;
* landmarks with tracking: dlib detection on the first frame, tracked fits, LK stabilisation
  (before: tracking and stabilisation each decode the frames; now one pass);
* end to end: decode a JPEG frame, landmarks, flow, the Sec. 4.3 crop/resize, PNG + ``.flo``
  encoding (the writer's work per pair, file-system time aside; today's also runs the per-pair
  consistency check against tracker drift, which the old writer did not have);

and prints the issue-15 targets. Real frames of the OpenFace sample video are used (resized to
512x384); without the data root, the astronaut photo under a generated motion, said so.

    python benchmarks/gt_throughput.py [--frames 60] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

SIZE = (384, 512)  # H, W
TARGETS = {"exact": 300.0, "paper": 60.0, "landmarks": 150.0, "end to end": 50.0}


def _frames(n: int):
    import cv2

    from faceflow.io.images import read_video_frames
    from faceflow.studies.ground_truth.analysis import generated_sequence, sample_video

    video = sample_video(None)
    if video is not None:
        frames, label = read_video_frames(video, max_frames=n), f"{video.name} (real)"
    else:
        frames, label = generated_sequence(n), "astronaut with generated motion (no data root)"
    frames = [cv2.resize(f, (SIZE[1], SIZE[0]), interpolation=cv2.INTER_AREA) for f in frames]
    return frames, label


def _cpu(fn, repeats: int) -> tuple[float, object]:
    """Best CPU seconds of ``repeats`` calls, and the last result."""
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def _old_landmarks(paths):
    from faceflow.groundtruth import landmarks
    from faceflow.io.images import read_image

    tr = landmarks.track_sequence(read_image(p) for p in paths)
    return landmarks.stabilize((read_image(p) for p in paths), tr.landmarks, "lk")


def _new_landmarks(paths):
    from faceflow.groundtruth import landmarks
    from faceflow.io.images import read_image

    return landmarks.track_and_stabilize(read_image(p) for p in paths)[1]


def _end_to_end(paths, mode: str, kernels, landmarks_fn, check: bool = False) -> int:
    """The writer's work for a sequence of JPEG files, without touching the file system.

    ``check``: also the per-pair consistency check (today's writer runs it on every pair).
    """
    import cv2

    from faceflow.flow.fields import resize_flow
    from faceflow.groundtruth import mesh
    from faceflow.groundtruth.checks import check_pair
    from faceflow.io.flo import encode_flo
    from faceflow.io.images import read_image

    lms = landmarks_fn(paths)
    shape = SIZE
    box = mesh.crop_box(lms, shape)
    n = 0
    frame = read_image(paths[0])
    a = cv2.resize(frame[box[1] : box[3], box[0] : box[2]], (SIZE[1], SIZE[0]))
    for out in kernels.sequence_flows(lms, shape, mode):
        nxt = read_image(paths[out.pair + 1])
        b = cv2.resize(nxt[box[1] : box[3], box[0] : box[2]], (SIZE[1], SIZE[0]))  # stored once, reused
        f = resize_flow(out.result.flow[box[1] : box[3], box[0] : box[2]], SIZE)
        if check:
            check_pair(lms[out.pair], lms[out.pair + 1], a, b, f)
        cv2.imencode(".png", cv2.cvtColor(a, cv2.COLOR_RGB2BGR))
        encode_flo(f)
        a = b
        n += 1
    return n


def main(argv=None) -> int:
    import cv2
    import gt_reference_kernels as old

    from faceflow.groundtruth import landmarks
    from faceflow.groundtruth import mesh as new
    from faceflow.paper import GT_PAPER_SECONDS_PER_FRAME_PER_PROCESS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)

    frames, label = _frames(args.frames)
    n = len(frames)
    print(f"source: {label}, {n} frames {SIZE[1]}x{SIZE[0]}; one core, CPU time, best of {args.repeats}")
    landmarks._dlib_models()  # load the models outside the timings
    lms = landmarks.track_and_stabilize(frames)[1]
    S = new.triangulate(lms[0])
    rows = []

    def line(name, t_old, t_new, per):
        fps_old, fps_new = per / t_old, per / t_new
        target = TARGETS[name]
        rows.append((name, fps_old, fps_new))
        print(
            f"{name:11s} today {fps_new:7.1f} frames/s/core, before {fps_old:7.1f}: {fps_new / fps_old:5.2f}x; "
            f"target >= {target:.0f}: {'met' if fps_new >= target else 'NOT met'}"
        )

    for mode in new.MODES:
        t_old, a = _cpu(lambda mode=mode: list(old.sequence_flows(lms, SIZE, mode, simplices=S)), args.repeats)
        t_new, b = _cpu(lambda mode=mode: list(new.sequence_flows(lms, SIZE, mode, simplices=S)), args.repeats)
        diff = max(float(np.abs(x.result.flow - y.result.flow).max()) for x, y in zip(a, b))
        mean = float(np.mean([np.abs(x.result.flow - y.result.flow).mean() for x, y in zip(a, b)]))
        line(mode, t_old, t_new, n - 1)
        print(f"{'':11s} today - before: mean |diff| {mean:.1e} px, max {diff:.2e} px (owner of overlapping triangles)")

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, f in enumerate(frames):
            paths.append(Path(tmp) / f"{i:04d}.jpg")
            cv2.imwrite(str(paths[-1]), cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        t_old, _ = _cpu(lambda: _old_landmarks(paths), args.repeats)
        t_new, _ = _cpu(lambda: _new_landmarks(paths), args.repeats)
        line("landmarks", t_old, t_new, n)
        for mode in new.MODES:
            t_old, _ = _cpu(lambda mode=mode: _end_to_end(paths, mode, old, _old_landmarks), args.repeats)
            t_new, _ = _cpu(lambda mode=mode: _end_to_end(paths, mode, new, _new_landmarks, True), args.repeats)
            print(f"end to end, {mode} mode:")
            line("end to end", t_old, t_new, n - 1)
    print(
        f"paper (Sec. 3): 325,720 frames in ~5 days on 4 processes = "
        f"{GT_PAPER_SECONDS_PER_FRAME_PER_PROCESS:.2f} s per frame per process "
        f"({1 / GT_PAPER_SECONDS_PER_FRAME_PER_PROCESS:.2f} frames/s/process)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
