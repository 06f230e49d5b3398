"""Issue 15: ``faceflow gt`` on Dask (local cluster, ``--scheduler``, a killed worker) and compact flow storage."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from faceflow.cli.main import main as cli
from faceflow.groundtruth import dataset as gtdataset
from faceflow.io.flo import FloFormatError, read_flo, read_flow

from .conftest import tree_digest


def test_compact_flow_is_float16_behind_the_one_reader(tmp_path, ckplus):
    src = ckplus(tmp_path / "ck", n_seq=1, n_frames=4)
    flo = gtdataset.generate(src, tmp_path / "flo", size=(48, 64), progress=False, verbose=False)
    f16 = gtdataset.generate(src, tmp_path / "f16", size=(48, 64), flow_format="f16", progress=False, verbose=False)
    assert all(p.endswith(".npz") for p in f16.flow) and all(p.endswith(".flo") for p in flo.flow)
    refs = gtdataset.manifest_refs(gtdataset.read_manifest(tmp_path / "f16", usable_only=True, absolute=True))
    for ref, rel in zip(refs, flo.flow):
        exact = read_flo(tmp_path / "flo" / rel)
        compact = ref.load().flow  # the loading path every consumer uses
        assert compact.dtype == np.float32 and compact.shape == exact.shape
        assert np.all(np.abs(compact - exact) <= np.abs(exact) * 2.0**-11 + 1e-7)  # float16 rounding only
        assert ref.flow.stat().st_size < (tmp_path / "flo" / rel).stat().st_size
    assert "flow_format" in (tmp_path / "f16" / "gt_options.json").read_text()
    assert "flow_format" not in (tmp_path / "flo" / "gt_options.json").read_text()  # default: file unchanged
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(FloFormatError, match="bad.npz"):
        read_flow(bad)


@pytest.mark.slow
def test_local_dask_cluster_gives_the_serial_bytes(tmp_path, ckplus):
    src = ckplus(tmp_path / "ck", n_seq=3, n_frames=5)
    gtdataset.generate(src, tmp_path / "serial", size=(48, 64), progress=False, verbose=False)
    gtdataset.generate(src, tmp_path / "dask", size=(48, 64), workers=2, progress=False, verbose=False)
    assert tree_digest(tmp_path / "dask") == tree_digest(tmp_path / "serial")


@pytest.mark.slow
def test_scheduler_address_and_a_worker_killed_mid_run(tmp_path, ckplus):
    """``faceflow gt --scheduler``: SIGKILL a worker while it runs a sequence; Dask runs the task
    again (the nanny restarts the worker) and the output equals the serial run's, byte for byte."""
    from dask.distributed import Client, LocalCluster

    src = ckplus(tmp_path / "ck", n_seq=4, n_frames=40, shape=(240, 320))
    args = ["--size", "96x128", "--mode", "paper", "--no-progress"]
    assert cli(["gt", str(src), str(tmp_path / "serial"), *args]) == 0
    dst = tmp_path / "dask"
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        rc: list[int] = []
        run = threading.Thread(
            target=lambda: rc.append(cli(["gt", str(src), str(dst), *args, "--scheduler", cluster.scheduler_address]))
        )
        run.start()
        killed = None
        t0 = time.time()
        while killed is None and run.is_alive() and time.time() - t0 < 300:
            busy = [w for w, tasks in client.processing().items() if tasks]
            flows = list(dst.glob("*/flow/*.flo")) if dst.is_dir() else []
            if busy and flows:
                killed = busy[0]
                os.kill(pids[killed], signal.SIGKILL)
            time.sleep(0.05)
        run.join(timeout=600)
    assert killed is not None, "the run ended before a worker could be killed"
    assert rc == [0]
    assert tree_digest(dst) == tree_digest(tmp_path / "serial")
