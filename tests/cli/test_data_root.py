"""Issue 23 part 4: one data root for every command.

With only ``FACEFLOW_DATA`` set (no ``--data-root`` / ``--root``), each command that reads the
data root must read the one the variable names, here a tiny generated data root in tmp_path.
Each case checks a sign that the command used that root (it names a file under it, or counts
what it holds), not just that it ran.
"""

from __future__ import annotations

import hashlib
import json
from argparse import Namespace

import numpy as np
import pandas as pd
import pytest
import torch

#: Clips of the project's subject table the tiny corpus is named after: two per split.
_SPLITS = ("train", "val", "test", "cross")


def _table_clips() -> list:
    from faceflow.io.datasets import face_subjects

    t = face_subjects()
    t = t[t["exclude"] == ""]
    return [r for s in _SPLITS for r in t[t["split"] == s].head(2).itertuples()]


def _write_flo_pair(folder, stem_a, stem_b, flo, size=(64, 64), seed=0):
    import cv2

    from faceflow.io.flo import write_flo

    rng = np.random.default_rng(seed)
    a = cv2.GaussianBlur(rng.integers(0, 255, (*size, 3), dtype=np.uint8), (0, 0), 2)
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / stem_a), a)
    cv2.imwrite(str(folder / stem_b), np.roll(a, 1, axis=1))
    flow = np.zeros((*size, 2), np.float32)
    flow[..., 0] = 1.0
    flo.parent.mkdir(parents=True, exist_ok=True)
    write_flo(flo, flow)


@pytest.fixture
def tiny_root(tmp_path, monkeypatch):
    """A data root with a few of every kind, ``FACEFLOW_DATA`` pointing at it, the cwd elsewhere."""
    from faceflow.mer.stst import STSTNet

    root = tmp_path / "tiny data"
    # the face corpus: names of the subject table (the files are not decoded by the cases below)
    for r in _table_clips():
        (root / r.clip).parent.mkdir(parents=True, exist_ok=True)
        (root / r.clip).write_bytes(b"not decoded here")
    # one FlyingChairs sample pair and one Sintel pair
    _write_flo_pair(root / "flyingchairs", "0000001-img0.ppm", "0000001-img1.ppm", root / "flyingchairs/0000001-gt.flo")
    scene = root / "sintel" / "alley_1"
    for dstype in ("clean", "final"):
        _write_flo_pair(scene / dstype, "frame_0001.png", "frame_0002.png", scene / "flow" / "frame_0001.flo")
    # STSTNet images of two subjects, with (untrained) per-subject weights
    stst = root / "mer" / "stst_uvos"
    stst.mkdir(parents=True)
    rows = ["file,dataset,subject,label"]
    rng = np.random.default_rng(1)
    import cv2

    for subj in ("006", "007"):
        for k in range(3):
            name = f"{subj}_{k}.png"
            cv2.imwrite(str(stst / name), rng.integers(0, 255, (28, 28, 3), dtype=np.uint8))
            rows.append(f"{name},samm,{subj},{k}")
        (root / "mer" / "stst_weights").mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        torch.save(STSTNet().state_dict(), root / "mer" / "stst_weights" / f"{subj}.pth")
    (stst / "labels.csv").write_text("\n".join(rows) + "\n")
    # SOURCES.csv naming one file of the root
    data = (stst / "labels.csv").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    (root / "SOURCES.csv").write_text(
        f"file,kind,repo,commit,path,sha256,bytes\nmer/stst_uvos/labels.csv,labels,o/r,abc,l.csv,{sha},{len(data)}\n"
    )
    monkeypatch.setenv("FACEFLOW_DATA", str(root))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # no ./data here
    return root.resolve()


def _rc_text(result) -> tuple[int, str]:
    """``(rc, stdout + stderr)`` of a ``cli(...)`` result."""
    rc, out, err = result
    return rc, out + err


def _fake_corpus_gt(out_dir, fake_gt):
    """The smoke profile's corpus ground truth of the tiny corpus, as `faceflow gt` leaves it."""
    from faceflow import profiles
    from faceflow.groundtruth.dataset import OPTIONS, GTOptions
    from faceflow.io.datasets import face_sequence_name

    dst = out_dir / "datasets" / "faces"
    seqs = {face_sequence_name(r.clip): (r.subject, 2) for r in _table_clips()}
    fake_gt(dst, seqs, size=(64, 64), failed=0)
    frames = profiles.get("smoke").groundtruth.corpus_frames
    (dst / OPTIONS).write_text(GTOptions(max_frames=frames, layout="faces").to_json())
    return dst


def test_every_command_reads_the_root_of_faceflow_data(tiny_root, tmp_path, cli, fake_gt, monkeypatch):
    from faceflow.io import fetch

    root = str(tiny_root)
    # faceflow data: the root and its face corpus
    rc, out = _rc_text(cli(["data"]))
    assert rc == 0 and f"data root: {root}" in out and "ok: 8 videos" in out, out
    # faceflow data fetch: every registry file already there
    registry = tmp_path / "samples.csv"
    fetch.write_registry(tiny_root / "SOURCES.csv", registry)
    rc, out = _rc_text(cli(["data", "fetch", "--registry", registry, "--quiet"]))
    assert rc == 0 and f"data root {root}: 0 files downloaded, 1 already there" in out, out
    # faceflow data registry: from the root's SOURCES.csv (into a registry path of this test)
    regenerated, write = tmp_path / "regenerated.csv", fetch.write_registry
    monkeypatch.setattr(fetch, "REGISTRY", regenerated)  # never the project's samples.csv
    monkeypatch.setattr(fetch, "write_registry", lambda sources, dest=None: write(sources, regenerated))
    rc, out = _rc_text(cli(["data", "registry"]))
    assert rc == 0 and f"1 files from {root}/SOURCES.csv" in out, out
    # faceflow weights / flow / compare: the pretrained weights are looked for under the root
    rc, out = _rc_text(cli(["weights"]))
    assert rc == 0 and f"data root: {root}" in out and f"{root}/weights/raft" in out, out
    a, b = tiny_root / "sintel/alley_1/clean/frame_0001.png", tiny_root / "sintel/alley_1/clean/frame_0002.png"
    rc, out = _rc_text(cli(["flow", "raft-small", a, b, "-o", tmp_path / "o.flo", "--quiet"]))
    assert rc == 2 and f"{root}/weights/raft" in out, out
    face = _fake_corpus_gt(tmp_path / "out", fake_gt)
    rc, out = _rc_text(cli(["compare", "--face-dir", face, "--methods", "raft-small", "--quiet"]))
    assert rc == 2 and f"{root}/weights/raft" in out, out
    # faceflow train / eval: the face corpus of the root (its ground truth already made), Sintel, chairs
    common = ["--profile", "smoke", "--output-dir", tmp_path / "out", "--quiet", "--device", "cpu"]
    rc, out = _rc_text(cli(["train", "Exp1", "--train-set", "faces", "--steps", "1", *common]))
    assert rc == 0 and "finished=True" in out, out
    ckpt = tmp_path / "out" / "runs" / "faces" / "Exp1" / "last.pt"
    rc, out = _rc_text(cli(["eval", ckpt, "--on", "faces", "--split", "train", *common]))
    assert rc == 0 and "eval: " in out, out
    for on, n in (("chairs", 1), ("sintel", 1)):
        rc, out = _rc_text(cli(["eval", ckpt, "--on", on, "--out", tmp_path / f"{on}.csv", *common]))
        assert rc == 0 and f"eval: {n} pairs" in out, out
    rc, out = _rc_text(cli(["train", "Exp1", "--train-set", "sintel", "--steps", "1", *common]))
    assert rc == 0 and "finished=True" in out, out
    # faceflow mer: the STSTNet images and weights of the root
    rc, out = _rc_text(cli(["mer", "published", "--quiet"]))
    assert rc == 0 and "6 predictions" in out, out
    loso = ["--epochs", "1", "--max-folds", "1", "--quiet", "--out", tmp_path / "mer"]
    rc, out = _rc_text(cli(["mer", "loso", "--protocol", "SAMM", *loso]))
    assert rc == 0 and str(tmp_path / "mer" / "tvl1_real") in out, out
    rc, out = _rc_text(cli(["mer", "clips", "--quiet"]))
    assert rc == 1 and "micro-expression clips" in out and "STSTNet" not in out, out  # images and weights found
    rc, out = _rc_text(cli(["mer", "generated", "--methods", "zero", "--identities", "2", "--size", "32", *loso]))
    assert rc == 0 and "generated set:" in out, out
    # faceflow faces subjects: the corpus clips of the root (not decodable here: measured as such)
    rc, out = _rc_text(cli(["faces", "subjects", "--out", tmp_path / "subjects.csv", "--quiet"]))
    assert "8 clips" in out, out
    assert len(pd.read_csv(tmp_path / "subjects.csv")) == 8
    assert json.loads(json.dumps(root))  # the root has a space in its name: quoting is not needed anywhere


def test_the_cli_resolves_the_root_once_for_a_command(tmp_path, monkeypatch):
    from faceflow.cli.main import resolve_data_root
    from faceflow.io.datasets import DataRoot

    arg, env = tmp_path / "arg", tmp_path / "env"
    arg.mkdir()
    env.mkdir()
    monkeypatch.setenv("FACEFLOW_DATA", str(env))
    args = Namespace(data_root=None)
    resolve_data_root(args)
    assert args.resolved_root.source == "$FACEFLOW_DATA"
    assert args.resolved_root.path == env and args.data_root == env
    given = Namespace(data_root=str(arg))
    resolve_data_root(given)
    assert given.data_root == str(arg) and given.resolved_root == DataRoot.resolve(arg)
    untouched = Namespace()
    resolve_data_root(untouched)
    assert not hasattr(untouched, "resolved_root")
