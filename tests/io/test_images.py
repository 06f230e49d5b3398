"""Image writing: the folder is made, the encoder's result is checked (issue 14 row 10)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from faceflow.io.images import encode_image, read_image, write_image

PACKAGE = Path(__file__).resolve().parents[2] / "faceflow"


def test_write_image_round_trip_into_a_missing_folder(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    path = write_image(tmp_path / "new" / "deeper" / "a.png", img)
    np.testing.assert_array_equal(read_image(path), img)  # PNG is lossless; RGB order kept


def test_write_image_gray(tmp_path):
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "g.png", img))[..., 0], img)


@pytest.mark.parametrize(
    ("name", "img", "match"),
    [
        ("a.xyz", np.zeros((4, 4, 3), np.uint8), r"a\.xyz: cannot write images as '\.xyz'"),
        ("noext", np.zeros((4, 4, 3), np.uint8), r"noext: cannot write images"),
        ("a.png", np.zeros((4, 4, 3), np.float32), r"a\.png: image must be uint8"),
        ("a.png", np.zeros((4, 4, 4), np.uint8), r"a\.png: image must be uint8 \(H, W\) or \(H, W, 3\)"),
    ],
)
def test_write_image_refuses_what_it_cannot_write(tmp_path, name, img, match):
    with pytest.raises(ValueError, match=match):
        write_image(tmp_path / name, img)
    assert not list(tmp_path.iterdir())


def test_write_image_into_a_file_is_an_os_error(tmp_path):
    (tmp_path / "f").write_text("a file, not a folder")
    with pytest.raises(OSError):
        write_image(tmp_path / "f" / "a.png", np.zeros((2, 2, 3), np.uint8))


def test_encode_image_names_the_target():
    with pytest.raises(ValueError, match="out.gif"):
        encode_image(np.zeros((2, 2, 3), np.uint8), ".gif", "out.gif")


def test_no_unchecked_image_writes_in_the_package():
    """Every image the package writes goes through write_image/encode_image (their result checked)."""
    unchecked = []
    for path in PACKAGE.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\bcv2\.imwrite\(|\bimageio\.\w*write\(|\bImage\.\w+\.save\(", line):
                unchecked.append(f"{path.relative_to(PACKAGE.parent)}:{n}: {line.strip()}")
    assert not unchecked, "use faceflow.io.images.write_image:\n" + "\n".join(unchecked)


def test_frames_are_listed_in_natural_order(tmp_path):
    """Issue 23: ``frame2`` before ``frame10`` (a plain sort puts frame10 second)."""
    from faceflow.io.images import list_images, natural_key

    names = [f"frame{i}.png" for i in (10, 2, 1, 11, 3)] + ["frame02.png", "notes.txt"]
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    got = [p.name for p in list_images(tmp_path)]
    assert got == ["frame1.png", "frame02.png", "frame2.png", "frame3.png", "frame10.png", "frame11.png"]
    # zero-padded names keep the order a plain sort gives them
    padded = [f"{i:06d}.jpg" for i in (7, 12, 100, 3)]
    assert sorted(padded, key=natural_key) == sorted(padded)


def test_frames_of_another_size_are_named(tmp_path):
    from faceflow.io.images import check_same_size

    write_image(tmp_path / "f1.png", np.zeros((8, 10, 3), np.uint8))
    write_image(tmp_path / "f2.png", np.zeros((8, 10, 3), np.uint8))
    write_image(tmp_path / "f10.png", np.zeros((9, 10, 3), np.uint8))
    check_same_size([tmp_path / "f1.png", tmp_path / "f2.png"])
    with pytest.raises(ValueError, match=r"f10.png: 10x9 px, but .*f1.png is 10x8"):
        check_same_size([tmp_path / n for n in ("f1.png", "f2.png", "f10.png")])
