"""Process-wide runtime settings shared by the engine: the torch device, seeding, loading weights."""

from __future__ import annotations

import os
import pickle
import random
import struct
import warnings
from pathlib import Path

import numpy as np

#: What ``torch.load(weights_only=True)`` raises on a file that is not a complete torch file (found
#: by mutating real checkpoints: tests/test_runtime.py): the unpickler's refusal, truncated zip
#: archives, and whatever the pickle machinery trips over in random bytes.
TORCH_LOAD_ERRORS = (
    pickle.UnpicklingError,
    RuntimeError,
    EOFError,
    ValueError,  # includes UnicodeDecodeError
    IndexError,
    KeyError,
    TypeError,
    AssertionError,
    struct.error,
)


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; validates explicit choices."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' requested but torch sees no CUDA device")
    return device


def load_weights_file(path: str | os.PathLike, what: str, map_location="cpu"):
    """The content of a torch file read with ``torch.load(weights_only=True)``: no code in it runs.

    Parameters
    ----------
    path : path-like
        A ``.pt`` / ``.pth`` file.
    what : str
        What the file should be, for the messages (e.g. ``"faceflow checkpoint"``).
    map_location : str or torch.device

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        One line ``<path>: not a <what> (...)``: a file that is not a torch file, a truncated or
        corrupt one, or one holding Python objects the weights-only loader refuses to build.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {what}")
    try:
        with warnings.catch_warnings():  # garbage often claims an odd protocol: the error says it all
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        why = "not a readable torch file, or one holding objects the safe weights-only loader refuses"
    except (RuntimeError, EOFError):
        why = "not a readable torch file: truncated or corrupt"
    except TORCH_LOAD_ERRORS as exc:
        why = f"not a readable torch file: corrupt ({type(exc).__name__})"
    raise ValueError(f"{path}: not a {what} ({why})")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    import torch

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds the legacy global generator third-party code may use
    torch.manual_seed(seed)
