"""faceflow.runtime: loading torch files safely (issue 14 row 7)."""

from __future__ import annotations

import io
import os
import random

import numpy as np
import pytest
import torch

from faceflow.runtime import load_weights_file


class _Payload:
    """Pickles to a call of os.system: what a malicious checkpoint carries."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _good_bytes(zipfile: bool = True) -> bytes:
    buf = io.BytesIO()
    obj = {"w": torch.arange(12.0).reshape(3, 4), "step": 3, "name": "x"}
    torch.save(obj, buf, _use_new_zipfile_serialization=zipfile)
    return buf.getvalue()


def test_a_good_file_loads(tmp_path):
    (tmp_path / "ok.pt").write_bytes(_good_bytes())
    obj = load_weights_file(tmp_path / "ok.pt", "test file")
    assert obj["step"] == 3 and torch.equal(obj["w"], torch.arange(12.0).reshape(3, 4))


def test_a_malicious_file_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "PWNED"
    torch.save({"w": torch.zeros(2), "x": _Payload(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError) as exc:
        load_weights_file(tmp_path / "evil.pt", "faceflow checkpoint")
    msg = str(exc.value)
    assert msg.startswith(f"{tmp_path / 'evil.pt'}: not a faceflow checkpoint (") and "\n" not in msg
    assert "weights_only=False" not in msg  # never advise the unsafe way
    assert not marker.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"hello world\n", np.random.default_rng(0).bytes(600), b"PIEH" + bytes(40)],
    ids=["empty", "text", "random", "flo"],
)
def test_files_that_are_not_torch_files_are_one_line_errors(tmp_path, content):
    path = tmp_path / "w.pth"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"w\.pth: not a STSTNet weights file \(not a readable torch file") as exc:
        load_weights_file(path, "STSTNet weights file")
    assert "\n" not in str(exc.value)


def test_mutated_checkpoints_either_load_or_raise_the_one_value_error(tmp_path):
    """Truncated, overwritten and spliced copies of a real file: the listed errors cover them all."""
    goods = [_good_bytes(), _good_bytes(zipfile=False)]  # today's format and the legacy one
    rng = random.Random(14)
    path = tmp_path / "m.pt"
    for _ in range(600):
        b = bytearray(rng.choice(goods))
        mode = rng.randrange(3)
        if mode == 0:
            b = b[: rng.randrange(len(b))]
        elif mode == 1:
            for _ in range(rng.randrange(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        else:
            j = rng.randrange(len(b))
            b = b[:j] + bytes(rng.randrange(256) for _ in range(10)) + b[j:]
        path.write_bytes(bytes(b))
        try:
            load_weights_file(path, "checkpoint")
        except ValueError as exc:
            assert str(exc).startswith(f"{path}: not a checkpoint (")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.pt: no such checkpoint"):
        load_weights_file(tmp_path / "nope.pt", "checkpoint")
