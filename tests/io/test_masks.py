"""Valid-mask files: write then read gives the same bits; anything else is refused in one line."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from faceflow.io.masks import MaskFormatError, decode_mask, encode_mask, read_mask, write_mask


@settings(max_examples=30, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 40))))
def test_write_then_read_gives_the_same_bits(mask):
    assert np.array_equal(decode_mask(encode_mask(mask)), mask)


def test_round_trip_through_a_file_into_a_missing_folder(tmp_path):
    m = np.zeros((384, 512), bool)
    m[60:300, 100:420] = True
    path = tmp_path / "seq" / "mask" / "000000.png"
    write_mask(path, m)
    assert np.array_equal(read_mask(path), m)
    assert path.stat().st_size < 4000  # one bit per pixel, compressed: compact beside a 1.5 MB .flo


def test_files_that_are_not_masks_are_one_line_errors(tmp_path):
    import cv2

    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.arange(64, dtype=np.uint8).reshape(8, 8))
    colour = tmp_path / "colour.png"
    cv2.imwrite(str(colour), np.zeros((4, 4, 3), np.uint8))
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a png")
    for path, why in ((grey, "grey values"), (colour, "one channel"), (junk, "cannot be decoded")):
        with pytest.raises(MaskFormatError, match=why) as err:
            read_mask(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(FileNotFoundError, match="no such mask"):
        read_mask(tmp_path / "absent.png")
    with pytest.raises(ValueError, match="non-empty"):
        encode_mask(np.zeros((0, 3), bool))
