"""Which results of earlier builds a chapter read: the kernel's read log against the snapshot."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np

from faceflow.book import cachelog

#: A process that installs the read log, then reads, writes and lists files in and out of ``out``.
SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import numpy as np
    from faceflow.book import cachelog
    from faceflow.io.atomic import atomic_write_text

    out, log, elsewhere = map(Path, sys.argv[1:4])
    cachelog.install(out, log)
    open(out / "a.csv").read()                      # read
    np.load(out / "runs" / "b.npy")                   # read (numpy)
    (out / "c.txt").read_bytes()                    # read (pathlib)
    os.close(os.open(out / "d.bin", os.O_RDONLY))   # read (os.open)
    atomic_write_text(out / "e.txt", "new")          # rewritten ...
    (out / "e.txt").read_text()                     # ... then read: not a cached result
    (out / "f.txt").write_text("made now")           # written ...
    (out / "f.txt").read_text()                     # ... then read: not a cached result
    with open(out / "a.csv", "a") as fh:             # opened for writing only
        pass
    sorted((out / "runs").iterdir())                 # a listed folder with cached files
    sorted((out / "empty").glob("*"))                # a listed folder without any
    os.chdir(out)
    open("c.txt").read()                             # relative to the working directory
    open(elsewhere).read()                           # outside the output folder
    open(out / "missing.txt", "a").close()           # a new file opened for appending
    """
)


def _outputs(tmp_path):
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    (out / "empty").mkdir()
    (out / "a.csv").write_text("x\n1\n")
    np.save(out / "runs" / "b.npy", np.arange(3))
    (out / "c.txt").write_text("c")
    (out / "d.bin").write_bytes(b"d")
    (out / "e.txt").write_text("old")
    (tmp_path / "elsewhere.txt").write_text("not an output")
    return out


def test_a_process_logs_its_reads_of_the_output_folder_only(tmp_path):
    out = _outputs(tmp_path)
    before = cachelog.snapshot(out)
    assert set(before) == {"a.csv", "runs/b.npy", "c.txt", "d.bin", "e.txt"}
    log = tmp_path / "reads.log"
    subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out), str(log), str(tmp_path / "elsewhere.txt")],
        check=True,
        cwd=tmp_path,
    )
    lines = log.read_text().splitlines()
    assert lines[0] == f"start\t{out}"
    opened = {line.split("\t")[1] for line in lines if line.startswith("open")}
    assert opened == {"a.csv", "runs/b.npy", "c.txt", "d.bin", "e.txt", "f.txt"}  # never elsewhere.txt
    assert len([line for line in lines if line.startswith("open\tc.txt")]) == 1  # logged once
    assert {line for line in lines if line.startswith("list")} == {"list\truns", "list\tempty"}
    # the earlier build's files read unchanged, and the listed folder that held some
    assert cachelog.cached_reads(log, before) == ["a.csv", "c.txt", "d.bin", "runs/", "runs/b.npy"]


def test_nothing_read_from_an_empty_output_folder_is_cached(tmp_path):
    out = _outputs(tmp_path)
    log = tmp_path / "reads.log"
    log.write_text(f"start\t{out}\nopen\ta.csv\t4\t1\nlist\truns\n")
    assert cachelog.cached_reads(log, {}) == []  # a build from nothing: no earlier result exists
    assert cachelog.cached_reads(tmp_path / "no.log", cachelog.snapshot(out)) == []


def test_a_read_counts_only_when_size_and_time_are_the_snapshots(tmp_path):
    before = {"runs/x/last.pt": (10, 1000), "datasets/f/0.flo": (5, 2000)}
    log = tmp_path / "reads.log"
    log.write_text("open\truns/x/last.pt\t10\t1000\nopen\tdatasets/f/0.flo\t5\t2001\nlist\t.\nlist\tdatasets/g\n")
    assert cachelog.cached_reads(log, before) == ["./", "runs/x/last.pt"]
    assert cachelog.held_files(before, "runs") and cachelog.held_files(before, "runs/x/")
    assert not cachelog.held_files(before, "run") and not cachelog.held_files(before, "05_micro_expressions")


def test_write_modes_are_not_reads():
    assert not cachelog.reads_for_writing("r", 0) and not cachelog.reads_for_writing("rb", 0)
    assert all(cachelog.reads_for_writing(m, 0) for m in ("w", "wb", "a", "x", "r+", "rb+"))
    assert not cachelog.reads_for_writing(None, os.O_RDONLY)
    assert cachelog.reads_for_writing(None, os.O_WRONLY | os.O_CREAT)
    assert cachelog.reads_for_writing(None, os.O_RDWR)
