"""Issue 23 part 2: no path read from a data file leaves its root (faceflow.io.paths and its users).

Every refusal is checked twice, once with the outside target present and once without: the two
messages must be the same (nothing about the world outside the root leaks), one line, and
nothing may have been written.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from faceflow.cli.main import main
from faceflow.io.paths import UnsafePathError, inside_root, refuse_output_over_input, safe_name, unsafe_reason

BAD_NAMES = ["../secret.png", "a/../../secret.png", "/etc/secret.png", "..\\secret.png", "C:\\secret.png", ".."]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_that_leave_the_root_are_refused_by_their_text_alone(tmp_path, name):
    with pytest.raises(UnsafePathError) as exc:
        inside_root(tmp_path, name, "labels.csv: line 2")
    msg = str(exc.value)
    assert msg.startswith("labels.csv: line 2: refused path ") and repr(name) in msg and "\n" not in msg


@pytest.mark.parametrize("name", ["a.png", "seq/frames/0000_000001.png", "a..b.png", "frame 12:30.png", "..a/b"])
def test_names_inside_the_root_are_kept(tmp_path, name):
    assert unsafe_reason(name) is None
    assert inside_root(tmp_path, name, "x") == tmp_path / name


@pytest.mark.parametrize("name", ["a/b", "..", ".", "", "x\\y", "/abs"])
def test_a_file_name_must_be_one_plain_component(name):
    with pytest.raises(UnsafePathError, match="must be a plain name"):
        safe_name(name, "labels.csv: line 3", "subject")
    assert safe_name("s03", "x") == "s03"


def test_output_over_input_compares_resolved_paths(tmp_path, monkeypatch):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "link.png").symlink_to(tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    for out in ("a.png", "./a.png", tmp_path / "a.png", "link.png", "sub/../a.png"):
        with pytest.raises(ValueError, match="refusing to overwrite an input"):
            refuse_output_over_input(out, [None, "b.png", tmp_path / "a.png"], "-o")
    refuse_output_over_input("c.png", ["a.png", "b.png"], "-o")  # a new file: fine
    refuse_output_over_input(None, ["a.png"], "-o")


# ----------------------------------------------------------------------------- the data files
def _both(tmp_path, make, read):
    """``read`` on a data file made by ``make(base)`` whose bad path exists and whose does not: the
    two one-line messages, with the folder names replaced, and the files under each base before/after."""
    messages = []
    for i, present in enumerate((True, False)):
        base = tmp_path / f"case{i}"
        root = base / "root"
        root.mkdir(parents=True)
        if present:
            (base / "secret.png").write_bytes(b"outside the root")
        make(root)
        before = sorted(p.relative_to(base) for p in base.rglob("*"))
        with pytest.raises(ValueError) as exc:
            read(root)
        assert sorted(p.relative_to(base) for p in base.rglob("*")) == before, "something was written"
        msg = str(exc.value)
        assert "\n" not in msg and "refused" in msg, msg
        messages.append(msg.replace(str(base), "<base>"))
    assert messages[0] == messages[1], messages
    return messages[0]


def _manifest(root, column="img1", value="../secret.png", fake=None):
    fake(root, {"s": ("s1", 2)}, size=(16, 16), failed=0)
    df = pd.read_csv(root / "manifest.csv")
    df.loc[1, column] = value
    df.to_csv(root / "manifest.csv", index=False)


@pytest.mark.parametrize("column", ["img1", "img2", "flow"])
@pytest.mark.parametrize("value", ["../secret.png", "/ABS/secret.png"])
def test_manifest_paths_stay_in_the_dataset(tmp_path, fake_gt, column, value):
    from faceflow.groundtruth.dataset import read_manifest

    if value.startswith("/ABS"):
        value = str(tmp_path / "case{}" / "secret.png")  # made absolute per case below

    def make(root):
        v = value.replace("case{}", root.parent.name)
        _manifest(root, column, v, fake_gt)

    msg = _both(tmp_path, make, lambda root: read_manifest(root, usable_only=True, absolute=True))
    assert "manifest.csv: row 3, column " + column in msg


def test_compare_refuses_a_manifest_leaving_its_folder(tmp_path, fake_gt, capsys):
    _manifest(tmp_path, "flow", "../../etc/passwd", fake_gt)
    rc = main(["compare", "--face-dir", str(tmp_path), "--methods", "zero", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "refused path '../../etc/passwd'" in err


def _stst(root, file="b.png", subject="s1"):
    folder = root / "mer" / "stst_uvos"
    folder.mkdir(parents=True)
    from faceflow.io.images import write_image

    for name in ("a.png", "b.png"):
        write_image(folder / name, np.zeros((28, 28, 3), np.uint8))
    (folder / "labels.csv").write_text(f"file,dataset,subject,label\na.png,samm,s0,0\n{file},samm,{subject},1\n")


@pytest.mark.parametrize("file", ["../../../secret.png", "/ABS"])
def test_stst_label_files_stay_in_their_folder(tmp_path, file):
    from faceflow.io.datasets import stst_samples

    def make(root):
        _stst(root, file if file != "/ABS" else str(root.parent / "secret.png"))

    msg = _both(tmp_path, make, stst_samples)
    assert "labels.csv: line 3, column file: refused path" in msg


def test_stst_subjects_are_plain_names(tmp_path):
    from faceflow.io.datasets import stst_samples

    msg = _both(tmp_path, lambda root: _stst(root, subject="../../secret"), stst_samples)
    assert "labels.csv: line 3: refused subject '../../secret'" in msg


def test_duplicated_label_rows_name_both_lines(tmp_path):
    from faceflow.io.datasets import stst_samples

    _stst(tmp_path, file="a.png")
    with pytest.raises(ValueError, match=r"labels.csv: line 3: a.png is listed twice \(first on line 2\)"):
        stst_samples(tmp_path)


def test_loso_subjects_never_name_a_file_outside_its_cache(tmp_path, toy_mer_set):
    from faceflow.mer.loso import LosoConfig, run_loso

    ds = toy_mer_set(n_subj=2, per=3)
    ds.subjects = np.where(ds.subjects == "s1", "../../evil", ds.subjects)
    with pytest.raises(ValueError, match="refused subject '../../evil'"):
        run_loso(ds, LosoConfig(epochs=1), tmp_path / "cache" / "loso", progress=False)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "evil.csv").exists()


def _registry(path, file):
    from faceflow.io.fetch import REGISTRY_FIELDS

    path.write_text(",".join(REGISTRY_FIELDS) + f"\n{file},o/r,abc,x.txt,{'0' * 64},3,\n")


@pytest.mark.parametrize("file", ["../secret.png", "/ABS"])
def test_the_sample_registry_never_writes_outside_the_data_root(tmp_path, file):
    from faceflow.io.fetch import fetch

    def make(root):
        _registry(root.parent / "samples.csv", file if file != "/ABS" else str(root.parent / "secret.png"))

    msg = _both(tmp_path, make, lambda root: fetch(root, registry=root.parent / "samples.csv", progress=False))
    assert "samples.csv:2: file: refused path" in msg


def test_fetch_cli_refuses_a_registry_leaving_the_root(tmp_path, capsys):
    _registry(tmp_path / "samples.csv", "../../x.txt")
    rc = main(["data", "fetch", "--root", str(tmp_path / "data"), "--registry", str(tmp_path / "samples.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "refused path '../../x.txt'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()


def test_sources_names_never_reach_the_registry(tmp_path):
    from faceflow.io.fetch import write_registry

    def make(root):
        (root / "SOURCES.csv").write_text(
            f"file,kind,repo,commit,path,sha256,bytes\n../secret.png,x,o/r,abc,p,{'0' * 64},3\n"
        )

    msg = _both(tmp_path, make, lambda root: write_registry(root / "SOURCES.csv", root / "samples.csv"))
    assert "SOURCES.csv:2: file: refused path '../secret.png'" in msg


def test_samm_workbook_names_stay_in_the_dataset(tmp_path):
    from faceflow.mer.data import read_samm

    def make(root):
        samm = root / "SAMM"
        (samm / "006" / "006_1_2").mkdir(parents=True)
        pd.DataFrame(
            {
                "Subject": ["006"],
                "Filename": ["../../../secret.png"],
                "Onset Frame": [1],
                "Apex Frame": [2],
                "Estimated Emotion": ["Happiness"],
            }
        ).to_excel(samm / "SAMM_Micro_FACS_Codes_v2.xlsx", index=False)

    msg = _both(tmp_path, make, read_samm)
    assert "SAMM_Micro_FACS_Codes_v2.xlsx: data row 1, column filename: refused path" in msg


def test_no_path_from_a_data_file_is_joined_unchecked():
    """Every module that joins a name read from a data file uses the one check (a guard against
    a new reader forgetting it): the modules that read manifests, registries and labels import it."""
    from pathlib import Path

    import faceflow

    pkg = Path(faceflow.__file__).parent
    for rel in ("groundtruth/dataset.py", "io/datasets.py", "io/fetch.py", "mer/data.py", "mer/loso.py", "mer/stst.py"):
        assert "from faceflow.io.paths import" in (pkg / rel).read_text(), rel
    assert os.sep == "/"  # the lexical check is written for POSIX paths (and refuses Windows ones)
