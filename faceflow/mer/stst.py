"""STSTNet (Liong et al. 2019), exactly as published, and its published per-subject weights.

Architecture: three parallel 3x3 convolution streams with 3, 5 and 8 output channels (padding 2,
so a 28x28 input gives 30x30); each stream applies ReLU, batch norm, a 3x3 max-pool with stride 3
(padding 1, giving 10x10) and dropout 0.5; the 16 channels are concatenated, average-pooled 2x2
(5x5) and a linear layer maps the 400 values to the 3 classes (0 negative, 1 positive,
2 surprise). Layer names (``conv1..3``, ``bn1..3``, ``fc``) match the authors' state dicts, so
their weights load with ``strict=True``.

Input convention (verified against the published weights, see ``tests/test_stst.py``): the
authors read the 8-bit feature PNGs with ``cv2.imread``, i.e. in **BGR** order, and feed the raw
values in **[0, 255]** without any further scaling or normalisation. With the RGB ``(u, v, |e|)``
images of :mod:`faceflow.flow.strain` the network therefore sees the channels ``(|e|, v, u)`` scaled
by 255. :func:`images_to_input` does exactly this; scaling to [0, 1] or keeping RGB order breaks
the published weights (accuracy drops to chance).

Dropout masks: by default torch's own dropout (its global generator). With ``dropout_rng`` set
to a :class:`numpy.random.Generator`, the masks are drawn from it instead by :func:`dropout_keep`
(one bit per value, in the channels-last memory order of the pooled 16-channel map), which is
how LOSO training draws them (:func:`faceflow.mer.loso.train_fold`): the batched engine
(:mod:`faceflow.mer.batched`) draws the very same masks for all folds at once, about 30 times
faster than torch's ``bernoulli_``.

Speed: the three streams read the same input and every later step up to the concatenation is
per-channel, so the forward pass runs them as one 16-channel convolution, batch norm and pool
(``fused=True``, the default). This is the same function (checked by a test); ``fused=False``
runs the three streams literally.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceflow.io.datasets import DATASETS, DataNotFoundError, find_dataset, stst_samples
from faceflow.io.images import read_image
from faceflow.io.paths import safe_name
from faceflow.runtime import load_weights_file

#: Class names of the MEGC 2019 three-class task, by label index.
CLASSES = ("negative", "positive", "surprise")

#: Scale of the network input (the authors feed raw 8-bit values).
INPUT_SCALE = 255.0


class STSTNet(nn.Module):
    """Shallow Triple Stream Three-dimensional CNN (the authors' PyTorch layout)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, dropout: float = 0.5, fused: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 3, kernel_size=3, padding=2)
        self.conv2 = nn.Conv2d(in_channels, 5, kernel_size=3, padding=2)
        self.conv3 = nn.Conv2d(in_channels, 8, kernel_size=3, padding=2)
        self.bn1 = nn.BatchNorm2d(3)
        self.bn2 = nn.BatchNorm2d(5)
        self.bn3 = nn.BatchNorm2d(8)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=3, padding=1)
        self.avgpool = nn.AvgPool2d(kernel_size=2, stride=2, padding=0)
        self.dropout = nn.Dropout(p=dropout)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(5 * 5 * 16, out_channels)
        self.fused = fused
        #: Source of the dropout masks in training mode (None: torch's dropout); see dropout_keep.
        self.dropout_rng: np.random.Generator | None = None

    def _streams(self):
        return ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3))

    def _drop(self, z: torch.Tensor) -> torch.Tensor:
        """Dropout of the pooled (N, 16, 10, 10) map, from ``dropout_rng`` when it is set."""
        if self.dropout_rng is None or not self.training:
            return self.dropout(z)
        p = self.dropout.p
        n, c, h, w = z.shape
        keep = torch.from_numpy(dropout_keep(self.dropout_rng, (n, h, w, c), p)).to(z.device)
        return z * (keep.permute(0, 3, 1, 2) * (1.0 / (1.0 - p)))

    def _forward_streams(self, x: torch.Tensor) -> torch.Tensor:
        if self.dropout_rng is not None:  # one mask for the 16 channels, as in the fused forward
            outs = [self.maxpool(bn(self.relu(conv(x)))) for conv, bn in self._streams()]
            return self._drop(torch.cat(outs, 1))
        outs = []
        for conv, bn in self._streams():
            outs.append(self.dropout(self.maxpool(bn(self.relu(conv(x))))))
        return torch.cat(outs, 1)

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        streams = self._streams()
        w = torch.cat([c.weight for c, _ in streams])
        b = torch.cat([c.bias for c, _ in streams])
        z = F.relu(F.conv2d(x, w, b, padding=2))
        bns = [bn for _, bn in streams]
        gamma = torch.cat([bn.weight for bn in bns])
        beta = torch.cat([bn.bias for bn in bns])
        bn0 = bns[0]
        mean = torch.cat([bn.running_mean for bn in bns])
        var = torch.cat([bn.running_var for bn in bns])
        z = F.batch_norm(z, mean, var, gamma, beta, self.training, bn0.momentum, bn0.eps)
        if self.training:
            with torch.no_grad():  # write the updated running statistics back per stream
                i = 0
                for bn in bns:
                    n = bn.num_features
                    bn.running_mean.copy_(mean[i : i + n])
                    bn.running_var.copy_(var[i : i + n])
                    bn.num_batches_tracked += 1
                    i += n
        return self._drop(self.maxpool(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of a batch of feature images.

        Parameters
        ----------
        x : torch.Tensor
            (N, 3, 28, 28) input (:func:`images_to_input`).

        Returns
        -------
        torch.Tensor
            (N, 3) logits.

        Raises
        ------
        ValueError
            The input is not (N, 3, 28, 28).
        """
        if x.ndim != 4 or x.shape[1] != self.conv1.in_channels or x.shape[2:] != (28, 28):
            raise ValueError(f"STSTNet expects (N, 3, 28, 28) input, got {tuple(x.shape)}")
        z = self._forward_fused(x) if self.fused else self._forward_streams(x)
        z = self.avgpool(z)
        return self.fc(z.flatten(1))


def dropout_keep(rng: np.random.Generator, shape: tuple[int, ...], p: float = 0.5) -> np.ndarray:
    """Keep flags (1 = kept) of one dropout mask, drawn from ``rng``.

    With ``p = 0.5`` every flag is one random bit (``rng.bytes``, most significant bit first);
    otherwise a flag is ``rng.random() >= p``. The flags fill ``shape`` in C order, so one call
    per training step on a generator seeded per fold gives the same masks wherever they are drawn.

    Parameters
    ----------
    rng : numpy.random.Generator
        The fold's generator (advanced by the draw).
    shape : tuple of int
        Shape of the mask.
    p : float
        Dropout probability, in [0, 1).

    Returns
    -------
    numpy.ndarray
        uint8 array of ``shape``, values 0 and 1.

    Raises
    ------
    ValueError
        ``p`` outside [0, 1).
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    n = int(np.prod(shape))
    if p == 0.5:
        bits = np.unpackbits(np.frombuffer(rng.bytes((n + 7) // 8), dtype=np.uint8), count=n)
    else:
        bits = (rng.random(n) >= p).astype(np.uint8)
    return bits.reshape(shape)


def images_to_input(images: np.ndarray) -> torch.Tensor:
    """(N, 28, 28, 3) RGB uint8 feature images -> (N, 3, 28, 28) float tensor as the authors feed it.

    Channel order reversed (RGB -> BGR, as ``cv2.imread`` reads), values kept in [0, 255].

    Parameters
    ----------
    images : numpy.ndarray
        (N, 28, 28, 3) or one (28, 28, 3) uint8 RGB image.

    Returns
    -------
    torch.Tensor
        (N, 3, 28, 28) float32.

    Raises
    ------
    ValueError
        Not (N, H, W, 3) or not uint8.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be (N, H, W, 3), got shape {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (8-bit feature images), got {images.dtype}")
    x = torch.from_numpy(np.ascontiguousarray(images[..., ::-1])).float()
    return x.permute(0, 3, 1, 2).contiguous()


def weights_dir(root: str | os.PathLike | None = None) -> Path:
    """Folder of the published per-subject weights under the data root.

    Parameters
    ----------
    root : path-like, optional
        Data root.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        The folder is absent.
    """
    return find_dataset("stst_weights", root)


def load_published(subject: str, root: str | os.PathLike | None = None, device: str = "cpu") -> STSTNet:
    """STSTNet with the authors' weights for held-out ``subject``, loaded strictly, in eval mode.

    The files are plain state dicts, read with ``torch.load(weights_only=True)`` (no code runs).

    Parameters
    ----------
    subject : str
        Held-out subject (e.g. ``"006"``, ``"s03"``, ``"sub17"``).
    root : path-like, optional
        Data root.
    device : str
        Torch device.

    Returns
    -------
    STSTNet

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        No weight file for ``subject``.
    """
    path = weights_dir(root) / f"{safe_name(subject, 'STSTNet weights', 'subject')}.pth"
    if not path.is_file():
        raise DataNotFoundError(
            f"{path}: no published weights for subject {subject!r}. {DATASETS['stst_weights'].hint}"
        )
    state = load_weights_file(path, "STSTNet weights file", device)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: not an STSTNet weights file (not a state dict of tensors)")
    model = STSTNet().to(device)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # load_state_dict's report of missing/unexpected keys or shapes
        raise ValueError(f"{path}: not STSTNet weights ({' '.join(str(exc).split())[:300]})") from None
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, device: str = "cpu") -> np.ndarray:
    """Predicted class indices for RGB uint8 feature images (model switched to eval mode).

    Parameters
    ----------
    model : torch.nn.Module
        An STSTNet.
    images : numpy.ndarray
        (N, 28, 28, 3) uint8 RGB feature images.
    device : str
        Torch device of ``model``.

    Returns
    -------
    numpy.ndarray
        (N,) int64 classes.
    """
    model.eval()
    logits = model(images_to_input(images).to(device))
    return logits.argmax(1).cpu().numpy()


def published_predictions(root: str | os.PathLike | None = None, device: str = "cpu", progress: bool = False):
    """Apply each subject's published weights to that subject's images in ``mer/stst_uvos``.

    Parameters
    ----------
    root : path-like, optional
        Data root.
    device : str
        Torch device.
    progress : bool
        Show a tqdm bar over the subjects.

    Returns
    -------
    pandas.DataFrame
        One row per image: file, dataset, subject, label, pred.
    """
    df = stst_samples(root).copy()
    preds = np.empty(len(df), dtype=np.int64)
    from tqdm.auto import tqdm

    groups = df.groupby("subject", sort=False).indices
    for subject, idx in tqdm(groups.items(), total=len(groups), desc="subjects", disable=not progress, leave=False):
        imgs = np.stack([read_image(df["path"].iloc[i]) for i in idx])
        preds[idx] = predict(load_published(subject, root, device), imgs, device)
    df["pred"] = preds
    return df.drop(columns=["path"])
