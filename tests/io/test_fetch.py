"""`faceflow data fetch` against a local HTTP server on 127.0.0.1 (no other network traffic).

The server (the ``origin`` fixture of ``tests/conftest.py``) serves a copy of sample files under
``<repo>/<commit>/<path>`` (the layout of the registry's origins), supports HTTP ranges and counts
the requests it answers.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
from pathlib import Path

import pytest

from faceflow.cli.main import main
from faceflow.io import fetch


def _publish(origin, registry: Path, files: dict[str, bytes], derive: dict[str, str] | None = None) -> None:
    """Put ``files`` (data-root name -> bytes) on the origin and write their registry."""
    rows = []
    for i, (name, data) in enumerate(files.items()):
        repo, commit, path = f"owner/repo{i % 2}", f"{i:040x}", f"some dir/{Path(name).name}"
        dest = origin.folder / repo / commit / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        final = data
        kind = (derive or {}).get(name, "")
        if kind:
            final = fetch.DERIVATIONS[kind](data)
        rows.append([name, repo, commit, path, hashlib.sha256(final).hexdigest(), len(final), kind])
    with open(registry, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(fetch.REGISTRY_FIELDS)
        writer.writerows(rows)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILES = {
    "sintel/a/frame_0001.png": b"\x89PNG" + bytes(range(256)) * 40,
    "mer/x.csv": b"a,b\n1,2\n",
    "c.bin": b"x" * 5000,
}


def test_download_checks_checksums_and_a_rerun_downloads_nothing(tmp_path, origin):
    registry = tmp_path / "samples.csv"
    _publish(origin, registry, FILES)
    root = tmp_path / "root"
    report = fetch.fetch(root, base_url=origin.url, registry=registry, progress=False)
    assert sorted(report.downloaded) == sorted(FILES) and not report.failed
    for name, data in FILES.items():
        assert (root / name).read_bytes() == data
        assert (root / name).stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert any("%20" in path for path, _ in origin.requests)  # the space in the origin path is encoded
    assert not (root / fetch.PARTIAL_DIR).exists()
    n = len(origin.requests)
    again = fetch.fetch(root, base_url=origin.url, registry=registry, progress=False)
    assert sorted(again.present) == sorted(FILES) and not again.downloaded
    assert len(origin.requests) == n, "a rerun must not contact the server"


def test_a_corrupted_download_is_refused(tmp_path, origin):
    registry = tmp_path / "samples.csv"
    _publish(origin, registry, FILES)
    bad = next(origin.folder.rglob("frame_0001.png"))
    bad.write_bytes(bad.read_bytes()[:-1] + b"\x00")  # one byte differs from the registered file
    root = tmp_path / "root"
    report = fetch.fetch(root, base_url=origin.url, registry=registry, progress=False)
    assert list(report.failed) == ["sintel/a/frame_0001.png"]
    assert "checksum" in report.failed["sintel/a/frame_0001.png"]
    assert not (root / "sintel/a/frame_0001.png").exists()
    assert sorted(report.downloaded) == ["c.bin", "mer/x.csv"]  # the others are fetched all the same
    # a local file with the wrong content is replaced only by a verified download
    (root / "c.bin").write_bytes(b"tampered")
    report = fetch.fetch(root, only=["c.bin"], base_url=origin.url, registry=registry, progress=False)
    assert report.downloaded == ["c.bin"] and (root / "c.bin").read_bytes() == FILES["c.bin"]


def test_an_interrupted_download_resumes_with_a_range_request(tmp_path, origin):
    registry = tmp_path / "samples.csv"
    _publish(origin, registry, {"c.bin": FILES["c.bin"]})
    root = tmp_path / "root"
    part = root / fetch.PARTIAL_DIR / "c.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(FILES["c.bin"][:1234])  # what an interrupted run left behind
    report = fetch.fetch(root, base_url=origin.url, registry=registry, progress=False)
    assert report.downloaded == ["c.bin"]
    assert (root / "c.bin").read_bytes() == FILES["c.bin"]
    assert origin.requests[-1][1] == "bytes=1234-"
    assert not part.exists()


def test_only_selects_folders_and_rejects_unknown_names(tmp_path, origin):
    registry = tmp_path / "samples.csv"
    _publish(origin, registry, FILES)
    root = tmp_path / "root"
    report = fetch.fetch(root, only=["sintel"], base_url=origin.url, registry=registry, progress=False)
    assert report.downloaded == ["sintel/a/frame_0001.png"]
    with pytest.raises(ValueError, match="--only nope: no sample file there; choose from c.bin, mer, sintel"):
        fetch.fetch(root, only=["nope"], base_url=origin.url, registry=registry, progress=False)


def test_derived_labels_are_checked_after_derivation(tmp_path, origin):
    origin_csv = (
        b"dataset,sub,filename_o,label,apex,imagename,sub_filename\n"
        b"casme2,sub01,EP02_01f,1,,x.jpg,\nsamm,006,006_1_2,0,,y.jpg,\n"
    )
    registry = tmp_path / "samples.csv"
    _publish(
        origin, registry, {"mer/stst_uvos/labels.csv": origin_csv}, derive={"mer/stst_uvos/labels.csv": "stst_labels"}
    )
    root = tmp_path / "root"
    report = fetch.fetch(root, base_url=origin.url, registry=registry, progress=False)
    assert report.downloaded == ["mer/stst_uvos/labels.csv"]
    text = (root / "mer/stst_uvos/labels.csv").read_text()
    assert text.splitlines() == [
        "file,dataset,subject,label",
        "006_006_1_2.png,samm,006,0",
        "sub01_EP02_01f.png,casme2,sub01,1",
    ]


def test_cli_fetch_reports_failures_with_exit_code(tmp_path, origin, capsys):
    registry = tmp_path / "samples.csv"
    _publish(origin, registry, FILES)
    next(origin.folder.rglob("x.csv")).write_bytes(b"changed\n")
    root = tmp_path / "root"
    argv = ["data", "fetch", "--root", str(root), "--base-url", origin.url, "--registry", str(registry), "--quiet"]
    rc = main(argv)
    out = capsys.readouterr().out
    assert rc == 1
    assert "2 files downloaded, 0 already there, 1 failed" in out
    assert "mer/x.csv: checksum mismatch" in out


def test_the_committed_registry_covers_every_file_of_sources(data_root):
    sources = data_root / "SOURCES.csv"
    with open(sources, newline="") as fh:
        pinned = {r["file"]: r for r in csv.DictReader(fh)}
    samples = {s.file: s for s in fetch.read_registry()}
    assert set(samples) == set(pinned), "regenerate with: faceflow data registry"
    for name, row in pinned.items():
        s = samples[name]
        assert (s.repo, s.commit, s.path, s.sha256, s.bytes) == (
            row["repo"],
            row["commit"],
            row["path"],
            row["sha256"],
            int(row["bytes"]),
        ), name
    assert samples["mer/stst_uvos/labels.csv"].derive == "stst_labels"


def test_real_samples_served_locally_arrive_intact(tmp_path, origin, data_root):
    """A few real sample files (one with a space in its origin path) through the real registry rows."""
    wanted = ["sintel/alley_1/flow/frame_0001.flo", "mer/stst_uvos/006_006_1_2.png", "dlib_faces/LICENSE.txt"]
    rows = [s for s in fetch.read_registry() if s.file in wanted]
    assert len(rows) == len(wanted)
    registry = tmp_path / "samples.csv"
    with open(registry, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(fetch.REGISTRY_FIELDS)
        for s in rows:
            dest = origin.folder / s.repo / s.commit / s.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data_root / s.file, dest)
            writer.writerow([s.file, s.repo, s.commit, s.path, s.sha256, s.bytes, s.derive])
    root = tmp_path / "root"
    report = fetch.fetch(root, base_url=origin.url, registry=registry, progress=False)
    assert sorted(report.downloaded) == sorted(wanted)
    for name in wanted:
        assert (root / name).read_bytes() == (data_root / name).read_bytes()


def test_stst_labels_derivation_reproduces_the_data_root_file(data_root):
    """Rebuild an origin CSV in HTNet's layout from labels.csv; deriving it gives the same bytes."""
    labels = (data_root / "mer/stst_uvos/labels.csv").read_bytes()
    rows = list(csv.DictReader(labels.decode().splitlines()))
    lines = ["dataset,sub,filename_o,label,apex,imagename,sub_filename"]
    for r in reversed(rows):  # origin order differs: the derivation sorts
        stem = r["file"].removesuffix(".png").removeprefix(r["subject"] + "_")
        lines.append(f"{r['dataset']},{r['subject']},{stem},{r['label']},,{stem}.jpg,")
    derived = fetch.stst_labels(("\n".join(lines) + "\n").encode())
    assert hashlib.sha256(derived).hexdigest() == fetch.sha256_of(data_root / "mer/stst_uvos/labels.csv")
