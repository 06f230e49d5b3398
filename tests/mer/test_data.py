"""Micro-expression readers (real layouts, MEGC 2019 mapping), GIF pairs and the generated set."""

import numpy as np
import pandas as pd
import pytest

from faceflow.mer import data as merdata


def test_megc2019_mapping():
    assert merdata.megc2019_label("samm", "Anger") == 0
    assert merdata.megc2019_label("samm", "Happiness") == 1
    assert merdata.megc2019_label("samm", "Other") is None
    assert merdata.megc2019_label("casme2", "repression") == 0
    assert merdata.megc2019_label("casme2", "fear") is None
    assert merdata.megc2019_label("smic", "surprise") == 2
    with pytest.raises(ValueError):
        merdata.megc2019_label("bogus", "anger")


def _write_frames(folder, numbers, prefix, ext=".jpg", shape=(40, 30)):
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        cv2.imwrite(str(folder / f"{prefix}{n}{ext}"), np.full(shape + (3,), n % 255, np.uint8))


def test_samm_layout_with_title_rows(tmp_path):
    base = tmp_path / "SAMM"
    _write_frames(base / "006" / "006_1_2", range(5560, 5570), "006_0")
    _write_frames(base / "007" / "007_3_1", range(100, 110), "007_00")
    rows = [
        ["SAMM metadata", None, None, None, None, None],
        [None] * 6,
        ["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Estimated Emotion"],
        [6, "006_1_2", 5562, 5566, 5569, "Anger"],
        [7, "007_3_1", 101, 105, 109, "Other"],
    ]
    pd.DataFrame(rows).to_excel(base / "SAMM_Micro_FACS_Codes_v2.xlsx", header=False, index=False)
    s = merdata.read_samm(tmp_path, crop=False)
    assert len(s) == 1 and s[0].subject == "006" and s[0].label == 0
    assert s[0].onset.name == "006_05562.jpg" and s[0].apex.name == "006_05566.jpg"
    a, b = s[0].load()
    assert a.shape == (40, 30, 3) and a[0, 0, 0] == 5562 % 255


def test_casme2_layout(tmp_path):
    base = tmp_path / "CASME2"
    _write_frames(base / "sub01" / "EP02_01f", range(40, 60), "img")
    rows = [
        ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion"],
        ["1", "EP02_01f", "40", "/", "58", "happiness"],
    ]
    pd.DataFrame(rows).to_excel(base / "CASME2-coding-20140508.xlsx", header=False, index=False)
    s = merdata.read_casme2(tmp_path, crop=False)
    assert len(s) == 1 and s[0].subject == "sub01" and s[0].label == 1
    assert s[0].apex.name == "img49.jpg"  # no apex annotated -> middle of onset and offset


def test_smic_layout_and_apex_csv(tmp_path):
    base = tmp_path / "SMIC" / "HS"
    _write_frames(base / "s3" / "micro" / "positive" / "s3_po_11", range(1000, 1011), "image0", ".bmp")
    _write_frames(base / "s3" / "micro" / "surprise" / "s3_sur_01", range(1, 5), "image", ".bmp")
    s = merdata.read_smic_hs(tmp_path, crop=False)
    assert [x.label for x in s] == [1, 2] and s[0].subject == "s03"
    assert s[0].onset.name == "image01000.bmp" and s[0].apex.name == "image01005.bmp"
    pd.DataFrame(dict(clip=["s3_po_11"], apex=[2])).to_csv(base / "smic_apex.csv", index=False)
    s = merdata.read_smic_hs(tmp_path, crop=False)
    assert s[0].apex.name == "image01002.bmp" and s[0].meta["apex_from"] == "csv"


def test_missing_datasets_are_reported(tmp_path):
    samples, missing = merdata.real_samples(tmp_path)
    assert samples == [] and set(missing) == {"samm", "smic", "casme2"}


def test_expression_flow_is_subtle_and_class_specific():
    lm = np.zeros((68, 2))
    lm[:, 0] = np.linspace(20, 80, 68)
    lm[:, 1] = 50
    lm[17:27, 1] = 30  # brows
    lm[48:68, 1] = 75  # mouth
    f0 = merdata.expression_flow(lm, 0, 1.5, 100)
    f1 = merdata.expression_flow(lm, 1, 1.5, 100)
    assert np.linalg.norm(f0, axis=2).max() == pytest.approx(1.5, rel=1e-5)
    # negative moves the brows down (+y); positive moves the mouth corners up (-y)
    assert f0[30, :, 1].max() > 0.5 and np.abs(f0[75, :, :]).max() < 0.2
    assert f1[75, :, 1].min() < -0.5
    with pytest.raises(ValueError):
        merdata.expression_flow(lm, 5, 1.0, 100)


def test_generated_samples_fallback(tmp_path):
    s, note = merdata.generated_samples(tmp_path, per_class=1, size=64)
    assert "astronaut" in note
    assert len(s) == 12 and {x.label for x in s} == {0, 1, 2} and s[0].dataset == "generated"
    assert len({x.subject for x in s}) == 4  # pseudo-identities: LOSO still has training subjects
    a, b = s[0].load()
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8 and not np.array_equal(a, b)


@pytest.mark.data
def test_onset_apex_gifs(data_root):
    gifs = merdata.onset_apex_gifs(data_root)
    assert len(gifs) == 3
    for g in gifs:
        a, b = merdata.read_onset_apex_gif(g)
        assert a.shape == b.shape and min(a.shape[:2]) > 80
        assert 240 not in (a[0, 0, 0], a[-1, -1, 0]) or a.std() > 10  # not the canvas


def test_cli_mer_features_and_parser(tmp_path):
    import cv2

    from faceflow.cli.main import build_parser, main

    args = build_parser().parse_args(["mer", "loso", "--epochs", "3", "--protocol", "SAMM"])
    assert args.epochs == 3 and args.protocol == ["SAMM"] and args.lr == 5e-5
    a = np.random.default_rng(0).integers(0, 255, (48, 48, 3), dtype=np.uint8)
    b = np.roll(a, 1, axis=1)
    cv2.imwrite(str(tmp_path / "a.png"), a)
    cv2.imwrite(str(tmp_path / "b.png"), b)
    out = tmp_path / "f.png"
    rc = main(
        [
            "mer",
            "features",
            "--onset",
            str(tmp_path / "a.png"),
            "--apex",
            str(tmp_path / "b.png"),
            "--no-crop",
            "--method",
            "farneback",
            str(out),
        ]
    )
    assert rc == 0 and cv2.imread(str(out)).shape == (28, 28, 3)
    assert main(["mer", "features", str(out)]) == 2  # neither --gif nor a pair: clear error


@pytest.mark.parametrize(
    "stem, dataset, subject, sample, label",
    [
        ("018_3_1", "samm", "018", "018_018_3_1", None),
        ("1_5-Positive_022_3_3", "samm", "022", "022_022_3_3", 1),
        ("1_6-Surprise_007_7_1", "samm", "007", "007_007_7_1", 2),
        ("s3_po_05", "smic", "s03", "s03_s03_po_05", 1),  # SMIC ids carry the class
        ("1_7-Negative_s11_ne_02", "smic", "s11", "s11_s11_ne_02", 0),
        ("sub17_EP01_13", "casme2", "sub17", "sub17_EP01_13", None),
        ("sub19_EP01_01f", "casme2", "sub19", "sub19_EP01_01f", None),
    ],
)
def test_parse_clip_name(stem, dataset, subject, sample, label):
    n = merdata.parse_clip_name(stem)
    assert (n.dataset, n.subject, n.sample, n.label) == (dataset, subject, sample, label)


def test_parse_clip_name_rejects():
    with pytest.raises(ValueError, match="not a SAMM"):
        merdata.parse_clip_name("holiday_video")
    with pytest.raises(ValueError, match="unknown class"):
        merdata.parse_clip_name("1_5-Happy_022_3_3")
    with pytest.raises(ValueError, match="disagree"):
        merdata.parse_clip_name("1_8-Negative_s3_po_05")


def _write_gif(path, frames, duration=40):
    from PIL import Image

    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=duration, loop=0)


def test_read_clip_generated_gif_round_trip(tmp_path):
    # grey frames with few levels survive GIF's palette exactly
    frames = [np.full((20, 16, 3), 10 * k, np.uint8) for k in range(5)]
    frames[2][5:9, 4:8] = 200
    folder = tmp_path / "mer" / "clips"
    folder.mkdir(parents=True)
    _write_gif(folder / "1_9-Surprise_s20_sur_01.gif", frames)
    _write_gif(folder / "sub17_EP01_13.gif", frames[:2])
    back = merdata.read_clip(folder / "1_9-Surprise_s20_sur_01.gif")
    assert back.shape == (5, 20, 16, 3) and back.dtype == np.uint8
    assert np.array_equal(back, np.stack(frames))
    clips = merdata.me_clips(tmp_path)
    assert [c.sample for c in clips] == ["s20_s20_sur_01", "sub17_EP01_13"]
    assert clips[0].name.label == 2 and clips[1].name.label is None
    _write_gif(folder / "s3_po_05.gif", frames[:1])
    with pytest.raises(ValueError, match="at least 2 frames"):
        merdata.read_clip(folder / "s3_po_05.gif")
    with pytest.raises(FileNotFoundError):
        merdata.read_clip(folder / "nope.gif")


def test_me_clips_missing_folder(tmp_path):
    from faceflow.io.datasets import DataNotFoundError

    with pytest.raises(DataNotFoundError):
        merdata.me_clips(tmp_path)


@pytest.mark.parametrize(
    "layout, folder, subject_cell, subject_dir, prefix",
    [
        (merdata.SAMM, "SAMM", lambda n: n, lambda n: f"{n:03d}", "x_"),
        (merdata.CASME2, "CASME2/CASME2-RAW", lambda n: str(n), lambda n: f"sub{n:02d}", "img"),
    ],
)
def test_coded_readers_give_back_the_usable_rows(tmp_path, layout, folder, subject_cell, subject_dir, prefix):
    emotions = {
        "samm": ["Anger", "Happiness", "Surprise", "Other"],
        "casme2": ["disgust", "happiness", "surprise", "fear"],
    }
    written = []  # the rows, in workbook order: subject, clip, onset, apex, emotion
    for k in range(6):
        subj, clip = 1 + k % 3, f"EP{k:02d}_{k}"
        onset, apex, emotion = 10 * k + 1, 10 * k + 4, emotions[layout.key][k % 4]
        _write_frames(tmp_path / folder / subject_dir(subj) / clip, range(10 * k, 10 * k + 9), prefix)
        written.append((subj, clip, onset, apex, emotion))
    written.append((2, "EP99_9", 1, 4, emotions[layout.key][0]))  # its folder does not exist
    header = ["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Estimated Emotion"]
    rows = [["coded clips", None, None, None, None, None], header]
    rows += [[subject_cell(s), c, o, a, a + 2, e] for s, c, o, a, e in written]
    workbook = {"samm": "SAMM_Micro_FACS_Codes_v2.xlsx", "casme2": "CASME2-coding-1.xlsx"}[layout.key]
    pd.DataFrame(rows).to_excel(tmp_path / folder.split("/")[0] / workbook, header=False, index=False)
    samples = merdata.read_coded(layout, tmp_path, crop=False)
    got = [(s.subject, s.onset.parent.name, s.onset.name, s.apex.name, s.emotion, s.label) for s in samples]
    usable = [
        (subject_dir(s), c, f"{prefix}{o}.jpg", f"{prefix}{a}.jpg", e, merdata.megc2019_label(layout.key, e))
        for s, c, o, a, e in written[:-1]
        if merdata.megc2019_label(layout.key, e) is not None
    ]
    assert got == usable and len(usable) == 5  # one row has no MEGC label, one no folder
    assert got == [(s.subject, *g[1:]) for s, g in zip(getattr(merdata, f"read_{layout.key}")(tmp_path, False), got)]
    assert all(s.dataset == layout.key and s.name == f"{s.subject}_{s.onset.parent.name}" for s in samples)
