"""The sequences of a ground-truth source: frames folders, videos, BP4D, CK+, the face video corpus.

:func:`discover` finds the sequences of a source folder (or one video) and names each sequence
and its subject by the folder's layout (one of :data:`LAYOUTS`; ``auto`` guesses it):

* frames folder ``X/*.png|jpg``: sequence ``X``, subject ``X``;
* video ``X.avi``: sequence ``X``, subject ``X``;
* BP4D-Spontaneous ``Fxxx/Tn/*.jpg`` (or ``Mxxx``): sequence ``Fxxx_Tn``, subject ``Fxxx``;
* CK+ ``cohn-kanade-images/Sxxx/nnn/*.png``: sequence ``Sxxx_nnn``, subject ``Sxxx``; the
  distributed ``Landmarks/Sxxx/nnn/*_landmarks.txt`` are used when present;
* the face video corpus ``faces/<source>/*.mp4``: sequence ``<source>-<stem>``, subject from the
  project's reviewed subject table (:func:`faceflow.io.datasets.face_subjects`); the clips the
  table excludes are left out;
* any other folder (e.g. the OpenFace samples): every sub-folder of frames and every video in it
  is a sequence named after it, and the subject is the sequence name (the samples do not say
  who is filmed).

Each sequence is a :class:`SequenceSource` that streams its frames; the ground-truth writer
(:func:`faceflow.groundtruth.dataset.generate`) converts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from faceflow.io.datasets import corpus_clips
from faceflow.io.images import VIDEO_EXTS, iter_video_frames, list_images, read_image, video_frame_count

#: Layouts :func:`discover` reads (``auto``: guessed from the folder).
LAYOUTS = ("auto", "frames", "video", "bp4d", "ckplus", "folder", "faces")

#: Frames a video may decode fewer than its container declares before it counts as truncated:
#: WMV/AVI headers estimate the count from the duration (the OpenFace sample changeLighting.wmv
#: declares 90 frames and decodes 88), while a cut file loses many (faces/eamm/sad.mp4: 110 of
#: 157). The allowance is this many frames or 2 % of the count, whichever is larger.
VIDEO_COUNT_SLACK = 2


@dataclass
class SequenceSource:
    """One sequence to convert: a video file or a list of frame files."""

    name: str
    subject: str
    video: Path | None = None
    frames: list[Path] | None = None
    landmarks: Path | None = None  # precomputed landmarks (.npy, OpenFace .csv, CK+ folder)

    def expected_frames(self, max_frames: int | None = None, step: int = 1) -> int | None:
        """Frames the source should give (frame files, or the count the video declares).

        Parameters
        ----------
        max_frames : int, optional
        step : int

        Returns
        -------
        int or None
            None when a video declares no frame count.
        """
        if self.frames is not None:
            n = len(self.frames[::step])
        else:
            total = video_frame_count(self.video)
            if total is None:
                return None
            n = len(range(0, total, step))
        return n if max_frames is None else min(n, max_frames)

    def iter_frames(self, max_frames: int | None = None, step: int = 1, errors: dict | None = None):
        """Yield RGB uint8 frames (every ``step``-th, at most ``max_frames``), streaming.

        Parameters
        ----------
        max_frames : int, optional
        step : int
        errors : dict, optional
            Decode check. When given, a frame file that does not decode (or a truncated JPEG)
            yields None and ``errors[k]`` gets the reason; a video that decodes fewer frames
            than it declares (truncated; see :data:`VIDEO_COUNT_SLACK`) gets the reason for its
            last decoded frame (possibly partial) and for every missing one. Without it, an undecodable frame raises.

        Yields
        ------
        ndarray or None
            (H, W, 3) uint8 RGB frame.

        Raises
        ------
        ValueError
            An undecodable frame file (without ``errors``).
        """
        if self.frames is None:
            n = 0
            for frame in iter_video_frames(self.video, max_frames, step=step):
                n += 1
                yield frame
            expected = self.expected_frames(max_frames, step) if errors is not None else None
            if expected is not None and expected - n > max(VIDEO_COUNT_SLACK, 0.02 * expected):
                why = f"{self.video}: truncated video: {n} of the {expected} frames it declares decode"
                errors.update({k: why for k in range(max(n - 1, 0), expected)})
            return
        paths = self.frames[::step]
        if max_frames is not None:
            paths = paths[:max_frames]
        for k, p in enumerate(paths):
            if errors is None:
                yield read_image(p)
                continue
            try:
                frame = read_image(p)
            except ValueError as exc:
                errors[k] = str(exc)
                frame = None
            yield frame


_BP4D_SUBJ = re.compile(r"^[FM]\d{3}$")
_BP4D_TASK = re.compile(r"^T\d+$")


def discover(src, layout: str = "auto", landmarks=None) -> list[SequenceSource]:
    """Sequences of ``src`` (a frames folder, a video, a BP4D or CK+ root, or a folder of those).

    Parameters
    ----------
    src : path-like
    layout : str
        One of :data:`LAYOUTS`; ``auto`` guesses it from the folder.
    landmarks : path-like, optional
        Precomputed landmarks for a single-sequence source (.npy / OpenFace .csv / CK+ folder);
        otherwise landmarks are detected and tracked.

    Returns
    -------
    list of SequenceSource
        Sorted by name; names are unique.

    Raises
    ------
    FileNotFoundError
        ``src`` does not exist.
    ValueError
        Unknown layout, a file that is not a video, no sequence found, duplicate sequence names,
        or ``landmarks`` given for a dataset root.
    """
    src = Path(src)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such file or folder")
    lm = Path(landmarks) if landmarks else None
    if src.is_file():
        if src.suffix.lower() not in VIDEO_EXTS:
            raise ValueError(f"{src}: not a video ({', '.join(VIDEO_EXTS)}) nor a folder")
        return [SequenceSource(src.stem, src.stem, video=src, landmarks=lm)]
    if layout == "auto":
        layout = _guess_layout(src)
    if layout == "frames":
        imgs = list_images(src)
        if not imgs:
            raise ValueError(f"{src}: no image files")
        return [SequenceSource(src.name, src.name, frames=imgs, landmarks=lm)]
    if lm is not None:
        raise ValueError("--landmarks applies to a single frames folder or video, not to a dataset root")
    seqs: list[SequenceSource] = []
    if layout == "ckplus":
        root = src if src.name == "cohn-kanade-images" else src / "cohn-kanade-images"
        lm_root = root.parent / "Landmarks"
        for subj in sorted(p for p in root.iterdir() if p.is_dir()):
            for seq in sorted(p for p in subj.iterdir() if p.is_dir()):
                imgs = list_images(seq)
                if imgs:
                    lmd = lm_root / subj.name / seq.name
                    seqs.append(
                        SequenceSource(
                            f"{subj.name}_{seq.name}", subj.name, frames=imgs, landmarks=lmd if lmd.is_dir() else None
                        )
                    )
    elif layout == "faces":
        for c in corpus_clips(src):
            seqs.append(SequenceSource(c.sequence, c.subject, video=c.path))
    elif layout == "bp4d":
        for subj in sorted(p for p in src.iterdir() if p.is_dir() and _BP4D_SUBJ.match(p.name)):
            for task in sorted(p for p in subj.iterdir() if p.is_dir() and _BP4D_TASK.match(p.name)):
                imgs = list_images(task)
                if imgs:
                    seqs.append(SequenceSource(f"{subj.name}_{task.name}", subj.name, frames=imgs))
    else:  # folder: sub-folders of frames and videos
        for p in sorted(src.iterdir()):
            if p.is_dir() and (imgs := list_images(p)):
                seqs.append(SequenceSource(p.name, p.name, frames=imgs))
            elif p.is_file() and p.suffix.lower() in VIDEO_EXTS:
                seqs.append(SequenceSource(p.stem, p.stem, video=p))
    if not seqs:
        raise ValueError(f"{src}: no sequence found for layout {layout!r}")
    names = [s.name for s in seqs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"{src}: several sequences share the names {sorted(dup)}")
    return seqs


def check_landmark_frames(seq: SequenceSource) -> None:
    """Refuse a precomputed landmark file (``.npy``, OpenFace ``.csv``) that does not list one
    face per frame of its sequence: a frame more or less would silently pair landmarks with the
    wrong frames.

    Parameters
    ----------
    seq : SequenceSource
        A sequence; nothing is checked without a landmark file (or with a CK+ folder, whose files
        are matched to the frames by name).

    Raises
    ------
    ValueError
        One line naming the file, its frame count and the sequence's, or why the file is unreadable.
    """
    from faceflow.io.images import count_video_frames
    from faceflow.io.landmark_files import read_landmarks

    path = seq.landmarks
    if path is None or path.is_dir() or path.suffix.lower() not in (".npy", ".csv"):
        return
    n_lm = len(read_landmarks(path))
    if seq.frames is not None:
        n_src, where = len(seq.frames), seq.frames[0].parent
    else:  # the count the video declares (a truncated file's missing frames fail their pairs), or decodes
        n_src, where = video_frame_count(seq.video), seq.video
        if n_lm != n_src:
            n_src = count_video_frames(seq.video)
    if n_lm != n_src:
        raise ValueError(f"{path}: landmarks for {n_lm} frames, but {where} has {n_src} frames; give one row per frame")


def _guess_layout(src: Path) -> str:
    if src.name == "cohn-kanade-images" or (src / "cohn-kanade-images").is_dir():
        return "ckplus"
    subdirs = [p for p in src.iterdir() if p.is_dir()]
    if (
        subdirs
        and not list_images(src)
        and any(q.suffix.lower() in VIDEO_EXTS for p in subdirs for q in p.iterdir() if q.is_file())
    ):
        return "faces"
    if any(
        _BP4D_SUBJ.match(p.name) and any(_BP4D_TASK.match(q.name) for q in p.iterdir() if q.is_dir()) for p in subdirs
    ):
        return "bp4d"
    if list_images(src):
        return "frames"
    return "folder"
