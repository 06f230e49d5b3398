"""SPyNet (Ranjan & Black, CVPR 2017) in PyTorch, loading the authors' Torch7 level models.

SPyNet estimates flow coarse to fine over an image pyramid. At pyramid level ``k`` a small CNN
``G_k`` (five 7x7 convolutions, 8 -> 32 -> 64 -> 32 -> 16 -> 2 channels, ReLU between) receives
the first image, the second image warped backward by the upsampled coarser flow, and that
upsampled flow, and predicts a residual that is added to it (paper, Sec. 3).

Conventions of the published models (anuragranj/spynet@7c4a3f7: ``spynet.lua``,
``transforms.lua``, the bilinear sampler and scaling kernels), each checked on real ground truth
(a change of warp direction or of the normalisation multiplies the FlyingChairs EPE by 2-5):

* images are RGB in [0, 1], each channel of both images normalised with the ImageNet mean
  (0.485, 0.456, 0.406) and standard deviation (0.229, 0.224, 0.225);
* the pair is resized bilinearly so that height and width are multiples of 32;
* the pyramid depth follows the longer side of the resized image: up to 32 px 1 level, 64 -> 2,
  128 -> 3, 256 -> 4, 512 -> 5, longer -> 6; coarser levels are 2x2 average pooling;
* the FlyingChairs set (``_4``) has 5 level models and reuses the fifth for a sixth level; the
  Sintel-final set (``_F``) has 6;
* the coarse flow is upsampled x2 bilinearly with aligned corners and doubled;
* image 2 is warped backward, ``I2(x + u, y + v)``, bilinear, positions clamped to the image
  (:func:`faceflow.flow.warp.warp_backward_torch`);
* network input channels: image 1 (3), warped image 2 (3), upsampled flow (2); flow channel 0 is
  u (x, right), 1 is v (y, down), in pixels of the level;
* the output flow is resized to the input size, u and v scaled by the width and height ratios.

The code is written from the paper and these facts; it copies no implementation. The weight
files are registered in :mod:`faceflow.methods.weights` and checksummed before they are read.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceflow.flow.warp import warp_backward_torch
from faceflow.methods.network_input import image_tensor
from faceflow.methods.registry import check_pair
from faceflow.methods.weights import SPYNET_SETS, WeightsError, checked_path, spynet_file_names, verify, weight_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Channels of a level network's convolutions.
CHANNELS = (8, 32, 64, 32, 16, 2)
KERNEL = 7
MAX_LEVELS = 6
#: Input sides are resized to a multiple of this.
SIZE_MULTIPLE = 32


class SpyLevel(nn.Module):
    """One pyramid-level network ``G_k``: five 7x7 convolutions with ReLU between them.

    Input ``(B, 8, H, W)`` = image 1, warped image 2, upsampled flow; output ``(B, 2, H, W)``.
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(itertools.pairwise(CHANNELS)):
            layers.append(nn.Conv2d(cin, cout, KERNEL, stride=1, padding=KERNEL // 2))
            if i < len(CHANNELS) - 2:
                layers.append(nn.ReLU(inplace=False))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The residual flow.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, 8, H, W)``.

        Returns
        -------
        torch.Tensor
            ``(B, 2, H, W)``.

        Raises
        ------
        ValueError
            ``x`` is not ``(B, 8, H, W)``.
        """
        if x.ndim != 4 or x.shape[1] != CHANNELS[0]:
            raise ValueError(f"SpyLevel expects (B, 8, H, W) input, got {tuple(x.shape)}")
        return self.body(x)


def pyramid_depth(height: int, width: int) -> int:
    """The pyramid depth the published SPyNet uses for a (32-multiple) image size.

    Parameters
    ----------
    height, width : int
        The resized image size.

    Returns
    -------
    int
        1 to :data:`MAX_LEVELS`.
    """
    longest = max(height, width)
    for depth, limit in enumerate((32, 64, 128, 256, 512), start=1):
        if longest <= limit:
            return depth
    return MAX_LEVELS


class SPyNet(nn.Module):
    """Spatial pyramid network with one :class:`SpyLevel` per level, coarsest first.

    Parameters
    ----------
    num_models : int
        Level models (5 for the FlyingChairs set, 6 for Sintel). When an image needs more levels
        than there are models, the last model is reused, as the authors' code does.
    """

    def __init__(self, num_models: int = MAX_LEVELS) -> None:
        super().__init__()
        if not 1 <= num_models <= MAX_LEVELS:
            raise ValueError(f"num_models must be in 1..{MAX_LEVELS}, got {num_models}")
        self.levels = nn.ModuleList(SpyLevel() for _ in range(num_models))

    def forward(self, img1: torch.Tensor, img2: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """Flow from ``img1`` to ``img2``.

        Parameters
        ----------
        img1, img2 : torch.Tensor
            ``(B, 3, H, W)`` normalised RGB; ``H`` and ``W`` divisible by ``2**(depth - 1)``.
        depth : int, optional
            Pyramid depth (default :func:`pyramid_depth` of ``(H, W)``).

        Returns
        -------
        torch.Tensor
            ``(B, 2, H, W)`` flow in pixels (u, v).

        Raises
        ------
        ValueError
            The tensors differ in shape, are not ``(B, 3, H, W)``, or do not divide into ``depth`` levels.
        """
        if img1.shape != img2.shape or img1.ndim != 4 or img1.shape[1] != 3:
            raise ValueError(
                f"expected two (B, 3, H, W) tensors of equal shape, got {tuple(img1.shape)} and {tuple(img2.shape)}"
            )
        h, w = img1.shape[-2:]
        depth = pyramid_depth(h, w) if depth is None else depth
        step = 2 ** (depth - 1)
        if h % step or w % step:
            raise ValueError(f"image size {h}x{w} is not divisible by {step} (needed for {depth} levels)")
        pyr1, pyr2 = [img1], [img2]
        for _ in range(depth - 1):
            pyr1.insert(0, F.avg_pool2d(pyr1[0], 2))
            pyr2.insert(0, F.avg_pool2d(pyr2[0], 2))
        b, _, h0, w0 = pyr1[0].shape
        flow = img1.new_zeros(b, 2, h0, w0)
        for k, (i1, i2) in enumerate(zip(pyr1, pyr2, strict=True)):
            if k > 0:
                flow = 2.0 * F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True)
            warped = i2 if k == 0 else warp_backward_torch(i2, flow)
            net = self.levels[min(k, len(self.levels) - 1)]
            flow = flow + net(torch.cat((i1, warped, flow), dim=1))
        return flow


# --------------------------------------------------------------------------------------------
# Torch7 files
# --------------------------------------------------------------------------------------------


def _t7_field(obj: object, key: str, where: str) -> object:
    attrs = getattr(obj, "_obj", None)
    if attrs is None:
        raise WeightsError(f"{where}: not a Torch7 object ({type(obj).__name__})")
    if key.encode() not in attrs:
        raise WeightsError(f"{where}: missing field {key!r}")
    return attrs[key.encode()]


def _t7_type(obj: object) -> str:
    name = obj.torch_typename() if hasattr(obj, "torch_typename") else None
    return name.decode() if isinstance(name, bytes) else str(name)


def load_t7_level(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read one SPyNet Torch7 level file into a :class:`SpyLevel` state dict, checking its structure.

    The file must hold an ``nn.Sequential`` of five ``SpatialConvolution`` modules (7x7, stride 1,
    padding 3, channels :data:`CHANNELS`) with ``ReLU`` between them. ``torchfile`` reads the
    Torch7 format itself (no pickle, no code runs).

    Parameters
    ----------
    path : path-like
        The ``.t7`` file (verify its checksum first, :func:`faceflow.methods.weights.verify`).

    Returns
    -------
    dict of str to torch.Tensor
        Keys ``body.{0,2,4,6,8}.{weight,bias}``.

    Raises
    ------
    WeightsError
        The structure, a hyper-parameter or a shape differs; the message names the file and it.
    """
    import torchfile

    where = str(path)
    root = torchfile.load(where)
    if _t7_type(root) != "nn.Sequential":
        raise WeightsError(f"{where}: top-level module is {_t7_type(root)!r}, expected 'nn.Sequential'")
    modules = list(_t7_field(root, "modules", where))
    kinds = [_t7_type(m).split(".")[-1] for m in modules]
    expected = ["SpatialConvolution", "ReLU"] * 4 + ["SpatialConvolution"]
    if kinds != expected:
        raise WeightsError(f"{where}: module sequence {kinds} differs from {expected}")
    state: dict[str, torch.Tensor] = {}
    for i, (cin, cout) in enumerate(itertools.pairwise(CHANNELS)):
        conv, cw = modules[2 * i], f"{where} convolution {i + 1}"
        for key, want in (
            ("kW", KERNEL),
            ("kH", KERNEL),
            ("dW", 1),
            ("dH", 1),
            ("padW", KERNEL // 2),
            ("padH", KERNEL // 2),
            ("nInputPlane", cin),
            ("nOutputPlane", cout),
        ):
            got = _t7_field(conv, key, cw)
            if got != want:
                raise WeightsError(f"{cw}: {key} = {got}, expected {want}")
        weight = np.asarray(_t7_field(conv, "weight", cw), dtype=np.float32)
        bias = np.asarray(_t7_field(conv, "bias", cw), dtype=np.float32)
        shape = (cout, cin, KERNEL, KERNEL)
        if weight.shape == (cout, cin * KERNEL * KERNEL):  # SpatialConvolutionMM layout
            weight = weight.reshape(shape)
        if weight.shape != shape or bias.shape != (cout,):
            raise WeightsError(f"{cw}: weight {weight.shape}, bias {bias.shape}; expected {shape}, ({cout},)")
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            raise WeightsError(f"{cw}: non-finite weights")
        state[f"body.{2 * i}.weight"] = torch.from_numpy(weight.copy())
        state[f"body.{2 * i}.bias"] = torch.from_numpy(bias.copy())
    return state


def load_spynet(variant: str, root: str | os.PathLike | None = None, folder: str | os.PathLike | None = None) -> SPyNet:
    """Build :class:`SPyNet` and load the published level models strictly, each checksummed first.

    Parameters
    ----------
    variant : {"chairs", "sintel"}
        ``"chairs"``: ``modelL1..5_4.t7`` (FlyingChairs); ``"sintel"``: ``modelL1..6_F.t7``
        (fine-tuned on Sintel final).
    root : path-like, optional
        The data root (files under ``<root>/weights/spynet/``).
    folder : path-like, optional
        A folder holding the ``.t7`` files instead (still checksummed).

    Returns
    -------
    SPyNet
        In eval mode.

    Raises
    ------
    WeightsError
        A file is missing, corrupt or not a SPyNet level model (one line each).
    ValueError
        Unknown variant.
    """
    names = spynet_file_names(variant)
    model = SPyNet(num_models=SPYNET_SETS[variant][2])
    for level, name in enumerate(names):
        entry = weight_file(name)
        path = checked_path(name, root) if folder is None else verify(entry, Path(folder) / Path(entry.relpath).name)
        model.levels[level].load_state_dict(load_t7_level(path), strict=True)
    return model.eval()


def normalised(img: np.ndarray) -> torch.Tensor:
    """A uint8 RGB (or gray) image as the ImageNet-normalised (1, 3, H, W) tensor SPyNet reads.

    Parameters
    ----------
    img : numpy.ndarray
        uint8 RGB (H, W, 3) or gray (H, W).

    Returns
    -------
    torch.Tensor
    """
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (image_tensor(img, "rgb") - mean) / std


def spynet_flow(model: SPyNet, img1: np.ndarray, img2: np.ndarray, device: str = "cpu") -> np.ndarray:
    """Flow from ``img1`` to ``img2`` by a loaded SPyNet, at the input size.

    The pair is resized to the next multiples of 32, the flow resized back and its u and v
    scaled by the width and height ratios.

    Parameters
    ----------
    model : SPyNet
        A loaded network (:func:`load_spynet`).
    img1, img2 : numpy.ndarray
        uint8 RGB (H, W, 3) or gray (H, W) frames of the same shape.
    device : str
        Torch device.

    Returns
    -------
    numpy.ndarray
        (H, W, 2) float32 flow in pixels.

    Raises
    ------
    ValueError
        The shapes differ or an image is not uint8 RGB or gray.
    """
    check_pair(img1, img2)
    t1, t2 = normalised(img1).to(device), normalised(img2).to(device)
    h, w = t1.shape[-2:]
    hh, ww = -(-h // SIZE_MULTIPLE) * SIZE_MULTIPLE, -(-w // SIZE_MULTIPLE) * SIZE_MULTIPLE
    if (hh, ww) != (h, w):
        t1 = F.interpolate(t1, size=(hh, ww), mode="bilinear", align_corners=False)
        t2 = F.interpolate(t2, size=(hh, ww), mode="bilinear", align_corners=False)
    model = model.to(device).eval()
    with torch.inference_mode():
        flow = model(t1, t2)
        if (hh, ww) != (h, w):
            flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
            flow = flow * torch.tensor([w / ww, h / hh], dtype=flow.dtype, device=flow.device).view(1, 2, 1, 1)
    return flow[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
