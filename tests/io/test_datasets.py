"""The data root and the readers for the sample and real layouts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceflow.io import datasets as data
from faceflow.io import images
from faceflow.io.flo import write_flo


def test_root_resolution_order(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.setenv(data.ENV_VAR, str(b))
    assert data.resolve_root(a) == a.resolve()
    assert data.resolve_root() == b.resolve()
    monkeypatch.delenv(data.ENV_VAR)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(data.DataNotFoundError, match="does not exist"):
        data.resolve_root()
    (tmp_path / "data").mkdir()
    assert data.resolve_root() == (tmp_path / "data").resolve()


def test_locate_checks_without_raising(tmp_path):
    assert data.locate("sintel", tmp_path) is None
    assert data.locate("sintel", tmp_path / "absent-root") is None
    (tmp_path / "MPI-Sintel").mkdir()
    assert data.locate("sintel", tmp_path) == tmp_path / "MPI-Sintel"
    (tmp_path / "sintel").mkdir()  # the first candidate wins
    assert data.locate("sintel", tmp_path) == tmp_path / "sintel"
    with pytest.raises(KeyError, match="unknown dataset key 'nope'"):
        data.locate("nope", tmp_path)


def test_missing_root_reason_matches_resolve_root(tmp_path):
    assert data.missing_root_reason(tmp_path) is None
    why = data.missing_root_reason(tmp_path / "absent")
    assert str(tmp_path / "absent") in why and "argument" in why
    with pytest.raises(data.DataNotFoundError) as exc:
        data.resolve_root(tmp_path / "absent")
    assert str(exc.value) == why
    assert data.root_or_none(tmp_path / "absent") is None


def test_missing_dataset_says_what_and_where(tmp_path):
    with pytest.raises(data.DataNotFoundError) as exc:
        data.sintel_pairs(tmp_path)
    msg = str(exc.value)
    assert "MPI-Sintel" in msg and str(tmp_path) in msg and "Download" in msg
    with pytest.raises(data.DataNotFoundError, match="STSTNet"):
        data.stst_samples(tmp_path)


def _img(path, h=8, w=12, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), value, np.uint8))


def test_real_sintel_layout(tmp_path):
    for i in (1, 2, 3):
        _img(tmp_path / "sintel/training/clean/market_2" / f"frame_{i:04d}.png", value=i)
    for i in (1, 2):
        write_flo(tmp_path / "sintel/training/flow/market_2" / f"frame_{i:04d}.flo", np.full((8, 12, 2), i, np.float32))
    pairs = data.sintel_pairs(tmp_path)
    assert [p.name for p in pairs] == ["market_2/0001", "market_2/0002"]
    loaded = pairs[1].load()
    assert loaded.img1[0, 0, 0] == 2 and loaded.img2[0, 0, 0] == 3 and loaded.flow[0, 0, 0] == 2


def test_real_chairs_layout_with_split(tmp_path):
    base = tmp_path / "FlyingChairs_release" / "data"
    for i in (1, 2, 3):
        _img(base / f"{i:05d}_img1.ppm")
        _img(base / f"{i:05d}_img2.ppm")
        write_flo(base / f"{i:05d}_flow.flo", np.zeros((8, 12, 2), np.float32))
    (base.parent / "FlyingChairs_train_val.txt").write_text("1\n2\n1\n")
    assert [p.name for p in data.chairs_pairs(tmp_path)] == ["00001", "00002", "00003"]
    assert [p.name for p in data.chairs_pairs(tmp_path, split="train")] == ["00001", "00003"]
    assert [p.name for p in data.chairs_pairs(tmp_path, split="val")] == ["00002"]


def test_size_mismatch_is_reported(tmp_path):
    base = tmp_path / "flyingchairs"
    _img(base / "0000000-img0.ppm")
    _img(base / "0000000-img1.ppm")
    write_flo(base / "0000000-gt.flo", np.zeros((5, 5, 2), np.float32))
    with pytest.raises(ValueError, match="0000000-gt.flo"):
        data.chairs_pairs(tmp_path)[0].load()


def test_unreadable_image_names_file(tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="x.png"):
        images.read_image(bad)


def test_sample_data(data_root):
    sintel = data.sintel_pairs(data_root)
    assert len(sintel) == 4
    p = sintel[0].load()
    assert p.img1.shape == (436, 1024, 3) and p.flow.shape == (436, 1024, 2)
    chairs = data.chairs_pairs(data_root)
    assert len(chairs) == 3 and chairs[0].load().flow.shape == (384, 512, 2)
    assert len(data.openface_frames(data_root)) == 30
    assert {v.name for v in data.openface_videos(data_root)} >= {"default.wmv", "multi_face.avi"}
    df = data.stst_samples(data_root)
    assert len(df) == 442 and set(df["label"]) == {0, 1, 2}
    frames = images.read_video_frames(data_root / "openface/default.wmv", max_frames=3, step=2)
    assert len(frames) == 3 and frames[0].shape == (480, 640, 3)


def _tiny_video(path, n=4, size=(32, 32)):
    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, size)
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), 40 * i, np.uint8))
    w.release()


def _subject_table(path, rows):
    import pandas as pd

    pd.DataFrame(rows, columns=["clip", "source", "subject", "split", "exclude", "note"]).to_csv(path, index=False)
    return data.face_subjects(path)


def test_face_corpus_reader_on_a_tiny_layout(tmp_path):
    root = tmp_path / "root"
    for rel in ("mead/M003_happy.mp4", "styletalk/obama_clip1.mp4", "styletalk/obama_clip2.mp4", "hdtf/new.mp4"):
        _tiny_video(root / "faces" / rel)
    (root / "faces" / "README.md").write_text("not a video")
    table = _subject_table(
        tmp_path / "subjects.csv",
        [
            ("faces/mead/M003_happy.mp4", "mead", "mead-M003", "cross", "", ""),
            ("faces/styletalk/obama_clip1.mp4", "styletalk", "S01", "train", "", "name hint"),
            ("faces/styletalk/obama_clip2.mp4", "styletalk", "S01", "train", "re-encoded duplicate", ""),
        ],
    )
    assert data.locate("faces", root) == root / "faces"
    clips = data.face_clips(root, table)
    assert [c.clip for c in clips] == [
        "faces/hdtf/new.mp4",
        "faces/mead/M003_happy.mp4",
        "faces/styletalk/obama_clip1.mp4",
    ]
    new, mead, obama = clips
    assert (mead.subject, mead.split, mead.sequence) == ("mead-M003", "cross", "mead-M003_happy")
    assert (obama.subject, obama.split) == ("S01", "train") and obama.path.is_file()
    assert (new.subject, new.split) == ("hdtf-new", "")  # not in the table: its own subject, no split
    every = data.face_clips(root, table, include_excluded=True)
    assert [c.exclude for c in every if c.clip.endswith("clip2.mp4")] == ["re-encoded duplicate"]
    with pytest.raises(data.DataNotFoundError, match="face video corpus not found"):
        data.face_clips(tmp_path, table)


def test_subject_table_is_checked(tmp_path):
    rows = [("faces/a/x.mp4", "a", "S1", "train", "", ""), ("faces/a/y.mp4", "a", "S1", "test", "", "")]
    with pytest.raises(ValueError, match="S1 has clips in several splits"):
        _subject_table(tmp_path / "t.csv", rows)
    with pytest.raises(ValueError, match="unknown split"):
        _subject_table(tmp_path / "t.csv", [("faces/a/x.mp4", "a", "S1", "holdout", "", "")])
    with pytest.raises(ValueError, match="listed twice"):
        _subject_table(tmp_path / "t.csv", [rows[0], rows[0]])
    with pytest.raises(FileNotFoundError, match="faceflow faces subjects"):
        data.face_subjects(tmp_path / "absent.csv")


@pytest.mark.data
def test_real_face_corpus(data_root):
    clips = data.face_clips(data_root)
    # 97 videos of 55 people; 2 clips excluded, one of them its person's only clip
    assert len(clips) == 95 and len({c.subject for c in clips}) == 54
    assert {c.split for c in clips} == set(data.FACE_SPLITS)


def _stst_folder(tmp_path, rows):
    folder = tmp_path / "mer" / "stst_uvos"
    folder.mkdir(parents=True)
    lines = ["file,dataset,subject,label"]
    for f, ds, subj, lab in rows:
        if f:
            _img(folder / f)
        lines.append(f"{f},{ds},{subj},{lab}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder / "labels.csv"


def test_stst_labels_read_typed(tmp_path):
    _stst_folder(tmp_path, [("a.png", "samm", "006", 0), ("b.png", "smic", "s3", 2)])
    df = data.stst_samples(tmp_path)
    assert df["label"].tolist() == [0, 2] and df["subject"].tolist() == ["006", "s3"]  # leading zero kept


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (("b.png", "smic", "s3", "5"), "line 3: label '5' of b.png is not one of 0, 1, 2"),
        (("b.png", "smic", "s3", "x"), "line 3: label 'x' of b.png is not one of 0, 1, 2"),
        (("b.png", "smic", "s3", ""), "line 3: label '' of b.png is not one of 0, 1, 2"),
        (("b.png", "smic", "s3", "1.5"), "line 3: label '1.5'"),
        (("b.png", "smic", "", "1"), "line 3: empty subject (file 'b.png')"),
        (("b.png", "", "s3", "1"), "line 3: empty dataset"),
        (("", "smic", "s3", "1"), "line 3: empty file"),
    ],
)
def test_stst_labels_with_a_bad_value_name_file_line_and_value(tmp_path, bad, message):
    """Issue 14 row 6: labels.csv is validated when it is read."""
    labels = _stst_folder(tmp_path, [("a.png", "samm", "006", 0), bad])
    with pytest.raises(ValueError) as exc:
        data.stst_samples(tmp_path)
    assert str(exc.value).startswith(f"{labels}: ") and message in str(exc.value)
