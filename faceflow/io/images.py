"""Images and videos as arrays: decoding with errors that name the file, gray conversion, listing.

Frames are RGB ``uint8`` arrays of shape (H, W, 3) everywhere in faceflow.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from faceflow.io.atomic import atomic_write_bytes

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff")
VIDEO_EXTS = (".avi", ".wmv", ".mp4", ".mov", ".mkv", ".mpg")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as RGB uint8 (H, W, 3); clear error naming the file when unreadable.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8 RGB.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        OpenCV cannot decode it, or a JPEG is truncated (:func:`jpeg_complete`).
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    data = path.read_bytes()
    if path.suffix.lower() in (".jpg", ".jpeg") and not jpeg_complete(data):
        raise ValueError(f"{path}: truncated JPEG (no end-of-image marker; it would decode partly grey)")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: not a readable image (OpenCV could not decode it)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def jpeg_complete(data: bytes) -> bool:
    """Whether JPEG bytes end with the end-of-image marker ``FF D9`` (trailing padding allowed).

    A JPEG cut short decodes without an error in libjpeg (the missing rows come out grey, with
    only a warning); the marker cannot occur inside entropy-coded data, so its absence near the
    end means the file is truncated.

    Parameters
    ----------
    data : bytes
        The file's content.

    Returns
    -------
    bool
    """
    return data[:2] == b"\xff\xd8" and b"\xff\xd9" in data[-1024:]


def encode_image(img: np.ndarray, ext: str = ".png", name: str = "<image>") -> bytes:
    """The bytes of an RGB (H, W, 3) or gray (H, W) uint8 image in the format of ``ext``.

    Parameters
    ----------
    img : numpy.ndarray
        RGB (H, W, 3) or gray (H, W) uint8.
    ext : str
        File extension naming the format (``.png``, ``.jpg``, ...).
    name : str
        Used in error messages.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        An extension OpenCV cannot write, a wrong dtype or shape, or a failed encoding; the
        message names ``name``.
    """
    import cv2

    img = np.asarray(img)
    if ext.lower() not in IMAGE_EXTS:
        raise ValueError(f"{name}: cannot write images as {ext!r}; use one of {', '.join(IMAGE_EXTS)}")
    if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise ValueError(f"{name}: image must be uint8 (H, W) or (H, W, 3), got {img.dtype} {img.shape}")
    ok, buf = cv2.imencode(ext.lower(), cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img)
    if not ok:
        raise ValueError(f"{name}: OpenCV could not encode the image as {ext}")
    return buf.tobytes()


def write_image(path: str | os.PathLike, img: np.ndarray) -> Path:
    """Write an RGB (H, W, 3) or gray (H, W) uint8 image; the format follows the extension.

    The image is encoded first (the result checked, unlike ``cv2.imwrite``'s ignored return
    value), then written atomically; the parent folder is made when missing.

    Parameters
    ----------
    path : path-like
        Destination; its extension names the format.
    img : numpy.ndarray
        RGB (H, W, 3) or gray (H, W) uint8.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        See :func:`encode_image`.
    OSError
        The file cannot be written (e.g. the parent is a file, no permission, disk full).
    """
    path = Path(path)
    atomic_write_bytes(path, encode_image(img, path.suffix, str(path)))
    return path


def to_gray(img: np.ndarray) -> np.ndarray:
    """An RGB (H, W, 3) or gray (H, W) uint8 image as gray uint8 (H, W); errors name the shape.

    Parameters
    ----------
    img : numpy.ndarray

    Returns
    -------
    numpy.ndarray
        (H, W) uint8; a gray input is returned as it is.

    Raises
    ------
    ValueError
        Not uint8, or not (H, W) / (H, W, 3).
    """
    import cv2

    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if img.ndim == 2:
        return img
    raise ValueError(f"image must be (H, W) or (H, W, 3), got shape {img.shape}")


_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str | os.PathLike) -> tuple:
    """Sort key of a file name in natural order: ``frame2`` before ``frame10``.

    Runs of digits compare as numbers, the rest as text; names equal as numbers (``f01``,
    ``f1``) fall back to the plain name, so the order is total and stable.

    Parameters
    ----------
    path : path-like
        The file name (or path: only its name counts).

    Returns
    -------
    tuple
    """
    name = Path(path).name
    parts = _DIGITS.split(name)
    return tuple(int(t) if i % 2 else t for i, t in enumerate(parts)), name


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files in ``folder``, in natural order of their names (``frame2`` before ``frame10``).

    Parameters
    ----------
    folder : path-like

    Returns
    -------
    list of pathlib.Path
        Files with an extension of :data:`IMAGE_EXTS` (any case).

    Raises
    ------
    FileNotFoundError
        ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of frames")
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS), key=natural_key)


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """``(width, height)`` of an image file from its header (nothing decoded), None when unreadable.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    (int, int) or None
        None for a file Pillow cannot identify (the decode check reports it later).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.size
    except (UnidentifiedImageError, OSError):
        return None


def check_same_size(paths: list) -> None:
    """Refuse (one line) a folder of frames whose images differ in size.

    Frames of one sequence are cropped with boxes computed on the first frame's grid, so a frame
    of another size would be cut in the wrong place without any error.

    Parameters
    ----------
    paths : list of path-like
        The frames, in order.

    Raises
    ------
    ValueError
        ``<frame>: WxH, but <first frame> is WxH; the frames of a sequence must have one size``.
    """
    first = None
    for p in paths:
        size = image_size(p)
        if size is None:
            continue
        if first is None:
            first = (p, size)
        elif size != first[1]:
            raise ValueError(
                f"{p}: {size[0]}x{size[1]} px, but {first[0]} is {first[1][0]}x{first[1][1]}; "
                "the frames of a sequence must have one size"
            )


def iter_video_frames(
    path: str | os.PathLike, max_frames: int | None = None, start: int = 0, step: int = 1
) -> Iterator[np.ndarray]:
    """Stream the frames of a video as RGB uint8 arrays.

    Parameters
    ----------
    path : path-like
        Video file (anything OpenCV's FFmpeg backend decodes).
    max_frames : int, optional
        Stop after this many frames have been yielded.
    start, step : int
        Skip the first ``start`` frames, then keep every ``step``-th.

    Yields
    ------
    numpy.ndarray
        (H, W, 3) uint8 RGB frames.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Bad ``start``/``step``, or OpenCV cannot open the file.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    if step < 1 or start < 0:
        raise ValueError(f"start must be >= 0 and step >= 1, got start={start} step={step}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this video")
    n = idx = 0
    try:
        while max_frames is None or n < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            if idx >= start and (idx - start) % step == 0:
                n += 1
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            idx += 1
    finally:
        cap.release()


def read_video_frames(
    path: str | os.PathLike, max_frames: int | None = None, start: int = 0, step: int = 1
) -> list[np.ndarray]:
    """All frames of :func:`iter_video_frames` as a list.

    Parameters
    ----------
    path : path-like
    max_frames : int, optional
    start, step : int
        As :func:`iter_video_frames`.

    Returns
    -------
    list of numpy.ndarray
        (H, W, 3) uint8 RGB frames.

    Raises
    ------
    ValueError
        No frame could be decoded.
    """
    frames = list(iter_video_frames(path, max_frames, start, step))
    if not frames:
        raise ValueError(f"{path}: no frame could be decoded")
    return frames


def count_video_frames(path: str | os.PathLike) -> int:
    """The number of frames a video actually decodes (read with ``grab``, none converted).

    Unlike :func:`video_frame_count` (what the container declares, an estimate for WMV/AVI and
    too many for a truncated file), this walks the stream.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    int
        0 when nothing decodes.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        OpenCV cannot open the file.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this video")
    n = 0
    try:
        while cap.grab():
            n += 1
    finally:
        cap.release()
    return n


def video_frame_count(path: str | os.PathLike) -> int | None:
    """The number of frames a video's container declares, or None when it declares none.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    int or None

    Raises
    ------
    ValueError
        OpenCV cannot open the file.
    """
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this video")
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return n if n > 0 else None
