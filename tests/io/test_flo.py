"""Middlebury .flo reading/writing: round trips, real files, and hostile bytes."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceflow.io.flo import MAGIC, FloFormatError, decode_flo, encode_flo, read_flo, unknown_mask, write_flo


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    flow = rng.normal(size=(7, 11, 2)).astype(np.float32)
    path = tmp_path / "a.flo"
    write_flo(path, flow)
    back = read_flo(path)
    assert back.dtype == np.float32 and back.shape == (7, 11, 2)
    np.testing.assert_array_equal(back, flow)
    # exact size: header + payload
    assert path.stat().st_size == 12 + 7 * 11 * 2 * 4


def test_layout_is_interleaved_u_v(tmp_path):
    flow = np.zeros((1, 2, 2), np.float32)
    flow[0, 0] = (1, 2)
    flow[0, 1] = (3, 4)
    data = encode_flo(flow)
    assert struct.unpack("<f", data[:4])[0] == MAGIC
    assert struct.unpack("<ii", data[4:12]) == (2, 1)  # width, height
    assert struct.unpack("<4f", data[12:]) == (1, 2, 3, 4)


def test_write_is_atomic_on_failure(tmp_path):
    path = tmp_path / "keep.flo"
    good = np.ones((2, 3, 2), np.float32)
    write_flo(path, good)
    with pytest.raises(ValueError):
        write_flo(path, np.ones((2, 3, 3)))  # wrong shape: nothing written
    np.testing.assert_array_equal(read_flo(path), good)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.flo"]  # no temp files left


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: b"XXXX" + d[4:], "bad magic"),
        (lambda d: d[:-4], "truncated"),
        (lambda d: d + b"\0", "trailing"),
        (lambda d: d[:4] + struct.pack("<ii", -1, 3) + d[12:], "bad size"),
        (lambda d: d[:4] + struct.pack("<ii", 0, 3) + d[12:], "bad size"),
        (lambda d: d[:8], "truncated header"),
    ],
)
def test_malformed_files_raise_with_name(tmp_path, mutate, message):
    data = encode_flo(np.zeros((3, 4, 2), np.float32))
    path = tmp_path / "bad.flo"
    path.write_bytes(mutate(data))
    with pytest.raises(FloFormatError) as exc:
        read_flo(path)
    assert str(path) in str(exc.value)
    assert message in str(exc.value)


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.flo"):
        read_flo(tmp_path / "nope.flo")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_floformaterror(data):
    try:
        flow = decode_flo(data)
    except FloFormatError:
        return
    # If it decoded, it must be self-consistent.
    assert flow.ndim == 3 and flow.shape[2] == 2
    assert len(data) == 12 + flow.size * 4


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.binary(min_size=0, max_size=300))
def test_valid_header_with_arbitrary_payload(w, h, payload):
    data = struct.pack("<f", MAGIC) + struct.pack("<ii", w, h) + payload
    if len(payload) == w * h * 8:
        assert decode_flo(data, unknown="keep").shape == (h, w, 2)
    else:
        with pytest.raises(FloFormatError):
            decode_flo(data, unknown="keep")


@pytest.mark.parametrize(
    "rel, shape",
    [
        ("sintel/alley_1/flow/frame_0001.flo", (436, 1024, 2)),
        ("sintel/cave_2/flow/frame_0002.flo", (436, 1024, 2)),
        ("flyingchairs/0000000-gt.flo", (384, 512, 2)),
        ("flyingchairs/0000002-gt.flo", (384, 512, 2)),
    ],
)
def test_real_files_agree_with_opencv(data_root, rel, shape):
    path = data_root / rel
    ours = read_flo(path)
    theirs = cv2.readOpticalFlow(str(path))
    assert ours.shape == shape
    np.testing.assert_array_equal(ours, theirs)
    assert np.isfinite(ours).all()


@pytest.mark.parametrize(
    ("value", "what"), [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "-inf"), (2e9, "Middlebury unknown")]
)
def test_unknown_flow_is_an_error_naming_the_file_by_default(tmp_path, value, what):
    """Issue 14 row 2: a ground truth with NaN/inf/unknown pixels is never read silently."""
    flow = np.ones((3, 5, 2), np.float32)
    flow[1, 2, 0] = value
    flow[2, 4, 1] = value
    path = tmp_path / "gt.flo"
    write_flo(path, flow)
    with pytest.raises(FloFormatError, match=r"gt\.flo: 2 of 15 pixels have unknown flow .*first at x=2, y=1"):
        read_flo(path)


def test_unknown_flow_can_be_read_as_nan_or_kept(tmp_path):
    flow = np.ones((3, 5, 2), np.float32)
    flow[1, 2] = (np.nan, 0.5)
    flow[0, 0] = (0.0, -3e9)
    path = tmp_path / "gt.flo"
    write_flo(path, flow)
    expect = np.zeros((3, 5), bool)
    expect[1, 2] = expect[0, 0] = True
    masked = read_flo(path, unknown="nan")
    np.testing.assert_array_equal(unknown_mask(flow), expect)
    np.testing.assert_array_equal(np.isnan(masked).all(axis=-1), expect)  # both components marked
    np.testing.assert_array_equal(masked[~expect], flow[~expect])
    np.testing.assert_array_equal(read_flo(path, unknown="keep"), flow)
    with pytest.raises(ValueError, match="unknown must be one of"):
        read_flo(path, unknown="ignore")
