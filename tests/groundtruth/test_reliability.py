"""Issue 14, rows 1, 3, 4 and 5: bad input to ``faceflow gt`` never gives a silent wrong number.

* row 1, some pairs fail to write (disk full, ENOSPC): the reason names the file, rc 1, the
  manifest records them, the dataset is never "complete", a rerun finishes it;
* row 3, a truncated JPEG or video: decode check, the frame's pairs fail with the reason;
* row 4, landmark tracker drift (a jump, a flow of the wrong sign): pairs marked ``suspect``,
  which the training and evaluation readers skip;
* row 5, collinear or coincident landmarks: a one-line error naming sequence and frame, the
  other sequences go on, an all-degenerate pair fails.
"""

from __future__ import annotations

import errno
import os

import cv2
import numpy as np
import pytest

from faceflow.cli.main import main as cli
from faceflow.groundtruth import dataset as gtdataset
from faceflow.groundtruth import mesh as gt
from faceflow.io import layouts

from .conftest import grid_landmarks, texture, tree_digest

GEN = dict(size=(48, 64), progress=False, verbose=False)


# ----------------------------------------------------------------------------- row 1
def _disk_full_for(monkeypatch, *parts):
    """From now on, fsync of a file whose path holds one of ``parts`` fails with ENOSPC."""
    real = os.fsync

    def fsync(fd):
        if any(p in os.readlink(f"/proc/self/fd/{fd}") for p in parts):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_disk_full_fails_pairs_naming_the_file_and_a_rerun_finishes(tmp_path, ckplus, monkeypatch, capsys):
    src = ckplus(tmp_path / "ck", n_seq=2, n_frames=5)
    clean = tmp_path / "clean"
    gtdataset.generate(src, clean, **GEN)
    dst = tmp_path / "full"
    with monkeypatch.context() as m:
        _disk_full_for(m, f"{os.sep}flow{os.sep}.000002")
        df = gtdataset.generate(src, dst, **GEN)
        failed = df[df.status == "failed"]
        assert list(failed.pair) == [2, 2]  # pair 2 of both sequences
        for r in failed.itertuples():
            assert "No space left on device" in r.reason and str(dst / r.sequence / "flow" / "000002") in r.reason
        assert gtdataset.has_failures(dst) and not gtdataset.is_complete(dst, size=(48, 64))
        assert (gtdataset.read_manifest(dst).status == "failed").sum() == 2
        assert cli(["gt", str(src), str(dst), "--size", "48x64", "--no-progress"]) == 1
        assert "2 pair(s) failed" in capsys.readouterr().out
    # space freed: the same command finishes the dataset, byte for byte the clean run
    assert cli(["gt", str(src), str(dst), "--size", "48x64", "--no-progress"]) == 0
    assert tree_digest(dst) == tree_digest(clean)
    assert gtdataset.is_complete(dst, size=(48, 64))


def test_atomic_write_error_names_the_file(tmp_path, monkeypatch):
    from faceflow.io.atomic import atomic_write_bytes

    _disk_full_for(monkeypatch, "x.bin")
    with pytest.raises(OSError, match="No space left on device") as err:
        atomic_write_bytes(tmp_path / "x.bin", b"123")
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(tmp_path / "x.bin")
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


# ----------------------------------------------------------------------------- row 3
def _jpeg_sequence(folder, n=6, shape=(120, 160), truncate=None):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    base, p0 = texture(rng, shape), grid_landmarks(rng, shape)
    for k in range(n):
        path = folder / f"{k:03d}.jpg"
        cv2.imwrite(str(path), np.roll(base, k, axis=1), [cv2.IMWRITE_JPEG_QUALITY, 95])
        if k == truncate:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    np.save(folder.parent / "lm.npy", np.stack([p0 + [k, 0] for k in range(n)]))
    return folder, folder.parent / "lm.npy"


def test_truncated_jpeg_fails_its_pairs_with_the_reason(tmp_path):
    src, lm = _jpeg_sequence(tmp_path / "seq", truncate=3)
    df = gtdataset.generate(src, tmp_path / "out", landmarks=lm, **GEN)
    assert list(df.status) == ["ok", "ok", "failed", "failed", "ok"]
    for r in df[df.status == "failed"].itertuples():
        assert "003.jpg" in r.reason and "truncated JPEG" in r.reason
    with pytest.raises(ValueError, match="truncated JPEG"):
        from faceflow.io.images import read_image

        read_image(src / "003.jpg")
    _jpeg_sequence(tmp_path / "fixed")  # the repaired frame: a rerun picks it up
    (src / "003.jpg").write_bytes((tmp_path / "fixed" / "003.jpg").read_bytes())
    df = gtdataset.generate(src, tmp_path / "out", landmarks=lm, **GEN)
    assert (df.status == "ok").all()


def _avi(path, n=12, shape=(120, 160)):
    rng = np.random.default_rng(1)
    base = texture(rng, shape)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (shape[1], shape[0]))
    for k in range(n):
        vw.write(np.roll(base, k, axis=1))
    vw.release()
    return grid_landmarks(rng, shape)


def test_truncated_video_fails_the_pairs_it_cannot_decode(tmp_path):
    video = tmp_path / "clip.avi"
    p0 = _avi(video)
    lm = tmp_path / "lm.npy"
    np.save(lm, np.stack([p0 + [k, 0] for k in range(12)]))
    video.write_bytes(video.read_bytes()[: int(video.stat().st_size * 0.6)])
    df = gtdataset.generate(video, tmp_path / "out", landmarks=lm, **GEN)
    assert len(df) == 11  # every declared pair has a row
    failed = df[df.status == "failed"]
    assert len(failed) >= 1 and (df.status == "ok").any()
    assert all("truncated video" in r for r in failed.reason)
    assert failed.pair.min() == df[df.status == "ok"].pair.max() + 1  # the decoded head is kept


@pytest.mark.data
def test_the_truncated_sample_video_is_detected_and_an_estimated_count_is_not(data_root):
    seq = layouts.SequenceSource("sad", "sad", video=data_root / "faces" / "eamm" / "sad.mp4")
    errors: dict = {}
    n = sum(1 for _ in seq.iter_frames(errors=errors))
    assert n == 110 and min(errors) == 109 and max(errors) == 156
    assert "110 of the 157 frames" in errors[109]
    # changeLighting.wmv declares 90 frames (an estimate of the WMV header) and decodes all 88 it has
    wmv = layouts.SequenceSource("cl", "cl", video=data_root / "openface" / "changeLighting.wmv")
    errors = {}
    assert sum(1 for _ in wmv.iter_frames(errors=errors)) == 88 and errors == {}


# ----------------------------------------------------------------------------- row 4
def test_tracker_drift_marks_pairs_suspect_and_readers_skip_them(tmp_path, ckplus):
    def drift(s, k, p):
        if s == 0 and k == 3:  # the tracker jumps onto "another face" for one frame
            return p + [40.0, 0.0]
        if s == 1:  # landmarks move against the image: flow of the wrong sign
            return p - [2 * k, 0.0]
        return p

    src = ckplus(tmp_path / "ck", n_seq=2, n_frames=5, landmarks_of=drift, shape=(120, 160))
    dst = tmp_path / "out"
    gtdataset.generate(src, dst, size=(120, 160), progress=False, verbose=False)
    man = gtdataset.read_manifest(dst)
    s1 = man[man.sequence == "S001_001"].set_index("pair")
    assert s1.loc[2, "suspect"] and s1.loc[3, "suspect"] and "jump" in s1.loc[2, "check"]
    assert not s1.loc[0, "suspect"] and not s1.loc[1, "suspect"]
    s2 = man[man.sequence == "S002_001"].set_index("pair")
    assert s2["suspect"].all() and all("warp error" in c for c in s2["check"])
    usable = gtdataset.read_manifest(dst, usable_only=True)
    assert set(usable.sequence) == {"S001_001"} and set(usable.pair) == {0, 1}
    assert "6 ok pair(s) suspect" in gtdataset.summary(man)


def test_check_pair_passes_a_consistent_pair():
    from faceflow.groundtruth.checks import check_pair

    rng = np.random.default_rng(0)
    img = texture(rng, (96, 128))
    flow = np.zeros((96, 128, 2), np.float32)
    flow[20:80, 30:100, 0] = 2.0
    moved = np.roll(img, 2, axis=1)
    p = grid_landmarks(rng, (96, 128))
    ok = check_pair(p, p + [2, 0], img, moved, flow)
    assert not ok.suspect and ok.photo_gt < ok.photo_zero
    wrong = check_pair(p, p + [2, 0], img, moved, -flow)
    assert wrong.suspect and "warp error" in wrong.reason


# ----------------------------------------------------------------------------- row 5
def test_collinear_landmarks_fail_one_sequence_with_a_one_line_error(tmp_path, ckplus):
    def collinear(s, k, p):
        if s == 0:
            return np.stack([np.linspace(20, 100, 68), np.full(68, 50.0)], 1)
        return p

    src = ckplus(tmp_path / "ck", n_seq=2, n_frames=4, landmarks_of=collinear)
    df = gtdataset.generate(src, tmp_path / "out", **GEN)
    bad = df[df.sequence == "S001_001"]
    assert list(bad.status) == ["failed"] and list(bad.pair) == [-1]
    reason = bad.reason.iloc[0]
    assert "\n" not in reason and "S001_001" in reason and "frame 0" in reason and "collinear" in reason
    assert (df[df.sequence == "S002_001"].status == "ok").all()
    with pytest.raises(gt.DegenerateMeshError, match="collinear or coincide"):
        gt.triangulate(np.zeros((68, 2)))


def test_an_all_degenerate_middle_frame_fails_its_pair(tmp_path, ckplus):
    def collapse(s, k, p):
        return np.full_like(p, 60.0) if k == 2 else p

    src = ckplus(tmp_path / "ck", n_seq=1, n_frames=5, landmarks_of=collapse)
    df = gtdataset.generate(src, tmp_path / "out", **GEN).set_index("pair")
    assert df.loc[2, "status"] == "failed" and "all" in df.loc[2, "reason"] and "degenerate" in df.loc[2, "reason"]
    assert df.loc[0, "status"] == "ok"
    for mode in gt.MODES:
        lm = np.stack([grid_landmarks(np.random.default_rng(0), (120, 160)) + [k, 0] for k in range(4)])
        lm[2] = 60.0
        out = {o.pair: o for o in gt.sequence_flows(lm, (120, 160), mode)}
        assert out[2].status == "failed" and out[1].status == "ok"
