"""RAFT-small (Teed & Deng, ECCV 2020) in PyTorch, loading the official ``raft-small.pth``.

The small model, from the paper (Sec. 3 and the supplement), with module names and shapes such
that the official state dict loads with ``strict=True``:

* feature encoder ``fnet`` and context encoder ``cnet``: a 7x7 stride-2 convolution (3 -> 32),
  three stages of two bottleneck residual blocks (32, 64 / 2, 96 / 2 channels, bottleneck a
  quarter wide), a 1x1 convolution to 128 (fnet) or 160 = 96 hidden + 64 context (cnet). fnet
  uses instance normalisation without affine parameters, cnet none. Output at 1/8 resolution.
* the all-pairs correlation ``<f1(x), f2(y)> / sqrt(128)``, pooled into a 4-level pyramid over
  the second image's axes (2x2 average pooling) and looked up with radius 3 around the current
  estimate (bilinear, zeros outside): 4 x 7 x 7 = 196 channels.
* the update block: a motion encoder (1x1 convolution of the correlation 196 -> 96; 7x7 and 3x3
  convolutions of the flow 2 -> 64 -> 32; 3x3 128 -> 80; plus the flow: 82 channels), a
  convolutional GRU (3x3, hidden 96, input 64 context + 82 motion) and a flow head (3x3
  96 -> 128 -> 2).
* no convex upsampling in the small model: the 1/8 flow is upsampled x8 bilinearly (corners
  aligned) and multiplied by 8.

Conventions of the released weights (princeton-vl/RAFT@2888e15: ``core/raft.py``,
``core/corr.py``, ``core/utils/utils.py``, ``evaluate.py``): input RGB 0..255 mapped to
[-1, 1]; images replicate-padded (centred) to a multiple of 8; the 49 channels of the 7x7 lookup
window are ordered with the x offset as the slow index (with y slow the FlyingChairs EPE goes
from 1.6 to 58 px); flow channel 0 is u (x), 1 is v (y). :func:`raft_flow` runs 12 iterations by
default (``RAFT.forward``'s default); the authors' evaluation used 24 on Chairs and 32 on Sintel.

The code is written from the paper and these facts; it copies no implementation. The weight file
is registered in :mod:`faceflow.methods.weights` and checksummed before it is read.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceflow.methods.network_input import image_tensor
from faceflow.methods.registry import check_pair
from faceflow.methods.weights import WeightsError, checked_path, verify, weight_file
from faceflow.runtime import load_weights_file

CORR_LEVELS = 4
CORR_RADIUS = 3
HIDDEN_DIM = 96
CONTEXT_DIM = 64
FEATURE_DIM = 128
#: Parameters of RAFT-small (and of the official file).
NUM_PARAMETERS = 990_162
#: Smallest padded side: the 1/8 resolution must survive three halvings of the correlation pyramid.
MIN_SIZE = 8 * 2 ** (CORR_LEVELS - 1)
#: Recurrent iterations of :func:`raft_flow` (the official ``RAFT.forward`` default).
ITERS = 12


class Bottleneck(nn.Module):
    """Residual bottleneck: 1x1 -> 3x3 (stride) -> 1x1 convolutions, each followed by norm and ReLU.

    Parameters
    ----------
    cin, cout : int
        Input and output channels; the bottleneck is ``cout // 4`` wide.
    stride : int
        Stride of the 3x3 convolution; with ``stride != 1`` a strided 1x1 projection (+ norm)
        forms the shortcut.
    instance_norm : bool
        Instance normalisation without affine parameters after each convolution, else none.
    """

    def __init__(self, cin: int, cout: int, stride: int, instance_norm: bool) -> None:
        super().__init__()
        mid = cout // 4
        self.conv1 = nn.Conv2d(cin, mid, 1)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1)
        self.conv3 = nn.Conv2d(mid, cout, 1)

        def norm(c: int) -> nn.Module:
            return nn.InstanceNorm2d(c) if instance_norm else nn.Identity()

        self.norm1, self.norm2, self.norm3 = norm(mid), norm(mid), norm(cout)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride), norm(cout)) if stride != 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, cin, H, W)``.

        Returns
        -------
        torch.Tensor
            ``(B, cout, H / stride, W / stride)``.
        """
        y = F.relu(self.norm1(self.conv1(x)))
        y = F.relu(self.norm2(self.conv2(y)))
        y = F.relu(self.norm3(self.conv3(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return F.relu(x + y)


class SmallEncoder(nn.Module):
    """The RAFT-small encoder, output at 1/8 resolution.

    Parameters
    ----------
    out_dim : int
        Output channels.
    instance_norm : bool
        Instance normalisation (feature encoder) or none (context encoder).
    """

    def __init__(self, out_dim: int, instance_norm: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 7, stride=2, padding=3)
        self.norm1 = nn.InstanceNorm2d(32) if instance_norm else nn.Identity()
        stages, cin = [], 32
        for cout, stride in ((32, 1), (64, 2), (96, 2)):
            stages.append(
                nn.Sequential(Bottleneck(cin, cout, stride, instance_norm), Bottleneck(cout, cout, 1, instance_norm))
            )
            cin = cout
        self.layer1, self.layer2, self.layer3 = stages
        self.conv2 = nn.Conv2d(96, out_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode images.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, 3, H, W)`` in [-1, 1].

        Returns
        -------
        torch.Tensor
            ``(B, out_dim, H / 8, W / 8)``.
        """
        x = F.relu(self.norm1(self.conv1(x)))
        return self.conv2(self.layer3(self.layer2(self.layer1(x))))


class MotionEncoder(nn.Module):
    """Encodes the correlation features and the current flow into 82 channels."""

    def __init__(self) -> None:
        super().__init__()
        self.convc1 = nn.Conv2d(CORR_LEVELS * (2 * CORR_RADIUS + 1) ** 2, 96, 1)
        self.convf1 = nn.Conv2d(2, 64, 7, padding=3)
        self.convf2 = nn.Conv2d(64, 32, 3, padding=1)
        self.conv = nn.Conv2d(128, 80, 3, padding=1)

    def forward(self, flow: torch.Tensor, corr: torch.Tensor) -> torch.Tensor:
        """Motion features.

        Parameters
        ----------
        flow : torch.Tensor
            ``(B, 2, h, w)`` current flow at 1/8 resolution.
        corr : torch.Tensor
            ``(B, 196, h, w)`` looked-up correlation.

        Returns
        -------
        torch.Tensor
            ``(B, 82, h, w)``: 80 encoded channels and the flow.
        """
        c = F.relu(self.convc1(corr))
        f = F.relu(self.convf2(F.relu(self.convf1(flow))))
        return torch.cat((F.relu(self.conv(torch.cat((c, f), dim=1))), flow), dim=1)


class ConvGRU(nn.Module):
    """Convolutional GRU cell with 3x3 gates.

    Parameters
    ----------
    hidden : int
        Hidden channels.
    inp : int
        Input channels.
    """

    def __init__(self, hidden: int, inp: int) -> None:
        super().__init__()
        self.convz = nn.Conv2d(hidden + inp, hidden, 3, padding=1)
        self.convr = nn.Conv2d(hidden + inp, hidden, 3, padding=1)
        self.convq = nn.Conv2d(hidden + inp, hidden, 3, padding=1)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """One GRU step.

        Parameters
        ----------
        h : torch.Tensor
            Hidden state.
        x : torch.Tensor
            Input.

        Returns
        -------
        torch.Tensor
            The new hidden state.
        """
        hx = torch.cat((h, x), dim=1)
        z = torch.sigmoid(self.convz(hx))
        r = torch.sigmoid(self.convr(hx))
        q = torch.tanh(self.convq(torch.cat((r * h, x), dim=1)))
        return (1 - z) * h + z * q


class FlowHead(nn.Module):
    """Two 3x3 convolutions from the hidden state to a flow update.

    Parameters
    ----------
    hidden : int
        Input channels.
    mid : int
        Channels between the two convolutions.
    """

    def __init__(self, hidden: int, mid: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(hidden, mid, 3, padding=1)
        self.conv2 = nn.Conv2d(mid, 2, 3, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """The flow update.

        Parameters
        ----------
        h : torch.Tensor
            Hidden state.

        Returns
        -------
        torch.Tensor
            ``(B, 2, h, w)``.
        """
        return self.conv2(F.relu(self.conv1(h)))


class UpdateBlock(nn.Module):
    """The small update block: motion encoder, ConvGRU, flow head."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = MotionEncoder()
        self.gru = ConvGRU(HIDDEN_DIM, CONTEXT_DIM + 82)
        self.flow_head = FlowHead(HIDDEN_DIM, 128)

    def forward(
        self, h: torch.Tensor, ctx: torch.Tensor, corr: torch.Tensor, flow: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One recurrent update.

        Parameters
        ----------
        h : torch.Tensor
            Hidden state.
        ctx : torch.Tensor
            Context features.
        corr : torch.Tensor
            Looked-up correlation.
        flow : torch.Tensor
            Current flow at 1/8 resolution.

        Returns
        -------
        (torch.Tensor, torch.Tensor)
            The new hidden state and the flow update.
        """
        h = self.gru(h, torch.cat((ctx, self.encoder(flow, corr)), dim=1))
        return h, self.flow_head(h)


def correlation_pyramid(f1: torch.Tensor, f2: torch.Tensor, levels: int = CORR_LEVELS) -> list[torch.Tensor]:
    """The all-pairs correlation volume and its pooled pyramid.

    Parameters
    ----------
    f1, f2 : torch.Tensor
        ``(B, D, H, W)`` feature maps.
    levels : int
        Pyramid levels.

    Returns
    -------
    list of torch.Tensor
        Level ``l`` is ``(B*H*W, 1, H / 2**l, W / 2**l)``: for every pixel of image 1, its
        correlation with every (pooled) pixel of image 2, divided by ``sqrt(D)``.
    """
    b, d, h, w = f1.shape
    corr = torch.einsum("bdp,bdq->bpq", f1.reshape(b, d, h * w), f2.reshape(b, d, h * w)) / d**0.5
    pyr = [corr.reshape(b * h * w, 1, h, w)]
    for _ in range(levels - 1):
        pyr.append(F.avg_pool2d(pyr[-1], 2, stride=2))
    return pyr


def lookup(pyr: list[torch.Tensor], coords: torch.Tensor, radius: int = CORR_RADIUS) -> torch.Tensor:
    """Sample each correlation level in a ``(2r+1)^2`` window around ``coords / 2**l``.

    Parameters
    ----------
    pyr : list of torch.Tensor
        From :func:`correlation_pyramid`.
    coords : torch.Tensor
        ``(B, 2, H, W)`` positions (x, y) in image-2 pixels at 1/8 resolution.
    radius : int
        Window radius ``r``.

    Returns
    -------
    torch.Tensor
        ``(B, levels*(2r+1)^2, H, W)``. Within a level, channel ``i*(2r+1) + j`` holds offset
        ``(dx, dy) = (i - r, j - r)`` (the x offset is the slow index), bilinear, 0 outside.
    """
    b, _, h, w = coords.shape
    k = 2 * radius + 1
    off = torch.arange(-radius, radius + 1, dtype=coords.dtype, device=coords.device)
    dx, dy = torch.meshgrid(off, off, indexing="ij")  # window[i, j] = (dx_i, dy_j)
    window = torch.stack((dx, dy), dim=-1).view(1, k, k, 2)
    centre = coords.permute(0, 2, 3, 1).reshape(b * h * w, 1, 1, 2)
    out = []
    for lvl, corr in enumerate(pyr):
        hh, ww = corr.shape[-2:]
        scale = torch.tensor([2.0 / max(ww - 1, 1), 2.0 / max(hh - 1, 1)], dtype=coords.dtype, device=coords.device)
        grid = (centre / 2**lvl + window) * scale - 1.0
        sampled = F.grid_sample(corr, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        out.append(sampled.view(b, h, w, k * k))
    return torch.cat(out, dim=-1).permute(0, 3, 1, 2).contiguous()


class RAFTSmall(nn.Module):
    """RAFT-small: encoders, correlation pyramid, recurrent updates, x8 bilinear upsampling."""

    def __init__(self) -> None:
        super().__init__()
        self.fnet = SmallEncoder(FEATURE_DIM, instance_norm=True)
        self.cnet = SmallEncoder(HIDDEN_DIM + CONTEXT_DIM, instance_norm=False)
        self.update_block = UpdateBlock()

    def forward(
        self, img1: torch.Tensor, img2: torch.Tensor, iters: int = ITERS, all_iters: bool = False
    ) -> torch.Tensor | list[torch.Tensor]:
        """Flow from ``img1`` to ``img2``.

        Parameters
        ----------
        img1, img2 : torch.Tensor
            ``(B, 3, H, W)`` RGB in 0..255, ``H`` and ``W`` multiples of 8 and at least
            :data:`MIN_SIZE`.
        iters : int
            Recurrent updates.
        all_iters : bool
            Return the upsampled flow after every update (for the training loss), not only the last.

        Returns
        -------
        torch.Tensor or list of torch.Tensor
            ``(B, 2, H, W)`` flow in pixels (a list of ``iters`` of them with ``all_iters``).

        Raises
        ------
        ValueError
            The tensors differ in shape, are not ``(B, 3, H, W)``, or have a bad size.
        """
        if img1.shape != img2.shape or img1.ndim != 4 or img1.shape[1] != 3:
            raise ValueError(
                f"expected two (B, 3, H, W) tensors of equal shape, got {tuple(img1.shape)} and {tuple(img2.shape)}"
            )
        b, _, h, w = img1.shape
        if h % 8 or w % 8 or min(h, w) < MIN_SIZE:
            raise ValueError(f"image size {h}x{w} must be a multiple of 8 and at least {MIN_SIZE} (pad first)")
        x1, x2 = img1 / 127.5 - 1.0, img2 / 127.5 - 1.0
        feats = self.fnet(torch.cat((x1, x2), dim=0))
        pyr = correlation_pyramid(feats[:b], feats[b:])
        hidden, ctx = torch.split(self.cnet(x1), (HIDDEN_DIM, CONTEXT_DIM), dim=1)
        hidden, ctx = torch.tanh(hidden), F.relu(ctx)
        ys, xs = torch.meshgrid(
            torch.arange(h // 8, dtype=x1.dtype, device=x1.device),
            torch.arange(w // 8, dtype=x1.dtype, device=x1.device),
            indexing="ij",
        )
        coords0 = torch.stack((xs, ys))[None].expand(b, 2, h // 8, w // 8)
        flow = torch.zeros_like(coords0)
        outputs = []
        for it in range(iters):
            hidden, delta = self.update_block(hidden, ctx, lookup(pyr, coords0 + flow.detach()), flow.detach())
            flow = flow.detach() + delta
            if all_iters or it == iters - 1:
                outputs.append(8.0 * F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=True))
        return outputs if all_iters else outputs[-1]


def state_dict_problems(state: dict, model: nn.Module) -> list[str]:
    """Key and shape differences between a state dict and a model's.

    Parameters
    ----------
    state : dict of str to torch.Tensor
        The file's state dict (prefix already stripped).
    model : torch.nn.Module
        The network it should fit.

    Returns
    -------
    list of str
        Empty when every key and shape matches.
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    bad = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and state[k].shape != v.shape
    ]
    out = []
    if missing:
        out.append(f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if unexpected:
        out.append(f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
    if bad:
        out.append("shape " + ", ".join(bad[:5]))
    return out


def read_raft_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The state dict in a RAFT file (``module.`` prefix removed), read with ``weights_only=True``.

    Parameters
    ----------
    path : path-like
        A verified file (no arbitrary object is ever unpickled).

    Returns
    -------
    dict of str to torch.Tensor

    Raises
    ------
    WeightsError
        Not a readable torch file or not a dict of tensors.
    """
    try:
        raw = load_weights_file(path, "RAFT state dict")
    except ValueError as exc:
        raise WeightsError(str(exc)) from None
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise WeightsError(f"{path}: expected a state dict of tensors, got {type(raw).__name__}")
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in raw.items()}


def load_raft_small(root: str | os.PathLike | None = None, path: str | os.PathLike | None = None) -> RAFTSmall:
    """Build :class:`RAFTSmall` and load the official weights, checksummed, with strict key and shape checks.

    Parameters
    ----------
    root : path-like, optional
        The data root (the file is ``<root>/weights/raft/raft-small.pth``).
    path : path-like, optional
        The file elsewhere (still checksummed).

    Returns
    -------
    RAFTSmall
        In eval mode.

    Raises
    ------
    WeightsError
        The file is missing or corrupt, or its keys, shapes or parameter count differ (one line).
    """
    path = checked_path("raft-small", root) if path is None else verify(weight_file("raft-small"), path)
    return load_raft_state(read_raft_state(path), where=str(path))


def load_raft_state(state: dict[str, torch.Tensor], where: str = "state dict") -> RAFTSmall:
    """A :class:`RAFTSmall` holding ``state``, after strict key, shape and size checks.

    Parameters
    ----------
    state : dict of str to torch.Tensor
        Official or fine-tuned weights without the ``module.`` prefix.
    where : str
        Names the source in errors.

    Returns
    -------
    RAFTSmall
        In eval mode.

    Raises
    ------
    WeightsError
        Keys, shapes or the parameter count differ.
    """
    model = RAFTSmall()
    problems = state_dict_problems(state, model)
    if problems:
        raise WeightsError(f"{where}: not a RAFT-small state dict: " + "; ".join(problems))
    count = sum(v.numel() for v in state.values())
    if count != NUM_PARAMETERS:
        raise WeightsError(f"{where}: {count} parameters, expected {NUM_PARAMETERS}")
    model.load_state_dict(state, strict=True)
    return model.eval()


def pad_to_eight(t: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Replicate-pad (centred) to a multiple of 8 and at least :data:`MIN_SIZE` per side.

    Parameters
    ----------
    t : torch.Tensor
        ``(B, C, H, W)``.

    Returns
    -------
    (torch.Tensor, tuple of int)
        The padded tensor and the padding ``(left, right, top, bottom)``.
    """
    h, w = t.shape[-2:]
    ph, pw = max(-h % 8, MIN_SIZE - h), max(-w % 8, MIN_SIZE - w)
    pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
    return (F.pad(t, pad, mode="replicate") if ph or pw else t), pad


def raft_flow(
    model: RAFTSmall, img1: np.ndarray, img2: np.ndarray, iters: int = ITERS, device: str = "cpu"
) -> np.ndarray:
    """Flow from ``img1`` to ``img2`` by a loaded RAFT-small, at the input size.

    Parameters
    ----------
    model : RAFTSmall
        A loaded network (:func:`load_raft_small`).
    img1, img2 : numpy.ndarray
        uint8 RGB (H, W, 3) or gray (H, W) frames of the same shape (any size: padded inside).
    iters : int
        Recurrent updates.
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
    t1, pad = pad_to_eight(image_tensor(img1, "rgb", unit=1.0).to(device))
    t2, _ = pad_to_eight(image_tensor(img2, "rgb", unit=1.0).to(device))
    model = model.to(device).eval()
    with torch.inference_mode():
        flow = model(t1, t2, iters=iters)
    h, w = np.shape(img1)[:2]
    flow = flow[0, :, pad[2] : pad[2] + h, pad[0] : pad[0] + w]
    return flow.permute(1, 2, 0).cpu().numpy().astype(np.float32)
