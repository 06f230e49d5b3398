"""CNN optical-flow baselines of the paper (Sec. 5.2): PWC-Net and LiteFlowNet in plain PyTorch.

The paper compares against FlowNet2.0, FlowNet3.0-CSS, LiteFlowNet and PWC-Net with their
published weights. Those weights cannot be downloaded from inside this project, so this module
offers two routes, both taking the weights from a path the user gives:

1. **Our own PyTorch implementations** of PWC-Net (Sun et al., CVPR 2018) and LiteFlowNet
   (Hui et al., CVPR 2018), written so that their ``state_dict`` key names and tensor shapes are
   those of the widely used PyTorch ports (``pytorch-pwc`` and ``pytorch-liteflownet``, file names
   ``network-default.pytorch``; older files use the ``module`` prefix, newer code ``net``; both
   load). :func:`load_port_checkpoint` loads such a file with ``strict=True``. The cost volume is
   computed in plain PyTorch (no CUDA kernel), so both run on a CPU.
2. **An adapter to ptlflow** (the field's model zoo) for all four networks, used only when the
   ``ptlflow`` package is importable and a checkpoint path is given. ptlflow is *not* a
   dependency: it pulls a second OpenCV (``opencv-python``, which shadows the contrib build that
   provides ``cv2.optflow``) and, unpinned, a CUDA build of a newer torch (see the book, chapter 04).

:data:`CNN_BASELINES` describes each paper network: how it is run here, which file to get, and
where from. :func:`cnn_status` says, for a weights folder, which of them can run.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceflow.methods.weights import WeightsError
from faceflow.runtime import load_weights_file

#: Environment variable naming the folder with CNN baseline weights (see :func:`weights_dir`).
WEIGHTS_ENV = "FACEFLOW_CNN_WEIGHTS"


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------


def correlation(f1: torch.Tensor, f2: torch.Tensor, max_disp: int = 4, stride: int = 1) -> torch.Tensor:
    """FlowNet-style cost volume (kernel size 1), averaged over channels.

    Output channel ``(dy + r) * (2r + 1) + (dx + r)`` for displacements ``dx, dy`` in
    ``{-r..r}`` (``r = max_disp``), each scaled by ``stride``, holds
    ``mean_c f1[c, y, x] * f2[c, y + dy*stride, x + dx*stride]`` with zeros outside ``f2``.
    With ``stride > 1`` the output is also subsampled: position ``(i, j)`` is input
    ``(i*stride, j*stride)`` and the size is ``ceil(H / stride) x ceil(W / stride)``.

    Parameters
    ----------
    f1, f2 : torch.Tensor
        (B, C, H, W) feature maps.
    max_disp : int
        Largest displacement ``r`` (in steps of ``stride``).
    stride : int
        Displacement step and output subsampling.

    Returns
    -------
    torch.Tensor
        (B, (2r+1)^2, ceil(H/stride), ceil(W/stride)).

    Raises
    ------
    ValueError
        The feature maps differ in shape.
    """
    if f1.shape != f2.shape:
        raise ValueError(f"feature shapes differ: {tuple(f1.shape)} vs {tuple(f2.shape)}")
    b, c, h, w = f1.shape
    pad = max_disp * stride
    f2p = F.pad(f2, (pad, pad, pad, pad))
    a = f1[:, :, ::stride, ::stride]
    ho, wo = a.shape[2], a.shape[3]
    out = []
    for dy in range(-max_disp, max_disp + 1):
        y0 = pad + dy * stride
        for dx in range(-max_disp, max_disp + 1):
            x0 = pad + dx * stride
            shifted = f2p[:, :, y0 : y0 + h : stride, x0 : x0 + w : stride]
            out.append((a * shifted).mean(dim=1))
    vol = torch.stack(out, dim=1)
    assert vol.shape[2:] == (ho, wo)
    return vol


def backwarp(x: torch.Tensor, flow: torch.Tensor, mask: bool = False) -> torch.Tensor:
    """Sample ``x`` at ``p + flow(p)`` (bilinear, zeros outside), as the PyTorch ports do.

    Grid and flow normalisation follow the ports (pixel-centred grid, flow divided by
    ``(size - 1) / 2``). With ``mask=True`` pixels whose bilinear footprint leaves the image are
    zeroed (PWC-Net's variant).

    Parameters
    ----------
    x : torch.Tensor
        (B, C, H, W) to sample.
    flow : torch.Tensor
        (B, 2, H, W) flow in pixels.
    mask : bool
        Zero the pixels whose footprint leaves the image.

    Returns
    -------
    torch.Tensor
        (B, C, H, W).
    """
    b, _, h, w = flow.shape
    gx = torch.linspace(-1.0 + 1.0 / w, 1.0 - 1.0 / w, w, device=flow.device, dtype=flow.dtype)
    gy = torch.linspace(-1.0 + 1.0 / h, 1.0 - 1.0 / h, h, device=flow.device, dtype=flow.dtype)
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=0)[None]
    nflow = torch.cat([flow[:, :1] / ((x.shape[3] - 1.0) / 2.0), flow[:, 1:] / ((x.shape[2] - 1.0) / 2.0)], 1)
    coords = (grid + nflow).permute(0, 2, 3, 1)
    if not mask:
        return F.grid_sample(x, coords, mode="bilinear", padding_mode="zeros", align_corners=False)
    ones = x.new_ones(x.shape[0], 1, x.shape[2], x.shape[3])
    out = F.grid_sample(torch.cat([x, ones], 1), coords, mode="bilinear", padding_mode="zeros", align_corners=False)
    valid = (out[:, -1:] > 0.999).to(x.dtype)
    return out[:, :-1] * valid


def _lrelu() -> nn.Module:
    return nn.LeakyReLU(negative_slope=0.1, inplace=False)


def _conv_stack(channels: list[int], strides: list[int], kernel: int = 3) -> nn.Sequential:
    """Conv + LeakyReLU pairs: channels[i] -> channels[i+1] with strides[i]."""
    layers: list[nn.Module] = []
    for cin, cout, s in zip(channels[:-1], channels[1:], strides):
        layers += [nn.Conv2d(cin, cout, kernel, s, kernel // 2), _lrelu()]
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------------
# PWC-Net
# --------------------------------------------------------------------------------------------

_PWC_LEVEL_CH = {1: 16, 2: 32, 3: 64, 4: 96, 5: 128, 6: 196}  # feature pyramid channels
_PWC_DENSE = (128, 128, 96, 64, 32)  # DenseNet-style decoder layers


class _PWCExtractor(nn.Module):
    """Six-level feature pyramid: three 3x3 convs per level, the first with stride 2."""

    def __init__(self):
        super().__init__()
        names = ["netOne", "netTwo", "netThr", "netFou", "netFiv", "netSix"]
        cin = 3
        for level, name in enumerate(names, start=1):
            c = _PWC_LEVEL_CH[level]
            setattr(self, name, _conv_stack([cin, c, c, c], [2, 1, 1]))
            cin = c
        self._names = names

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for name in self._names:
            x = getattr(self, name)(x)
            feats.append(x)
        return feats


def _pwc_input_channels(level: int) -> int:
    """Channels entering a decoder: cost volume (81) [+ features + flow + upsampled feature]."""
    if level == 6:
        return 81
    return 81 + _PWC_LEVEL_CH[level] + 2 + 2


class _PWCDecoder(nn.Module):
    """Flow estimator at one pyramid level (densely connected convs on the cost volume)."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level
        cur = _pwc_input_channels(level)
        if level < 6:
            prev = _pwc_input_channels(level + 1) + sum(_PWC_DENSE)
            self.netUpflow = nn.ConvTranspose2d(2, 2, 4, 2, 1)
            self.netUpfeat = nn.ConvTranspose2d(prev, 2, 4, 2, 1)
            # flow is kept in units of 1/20 full-resolution pixels: scale for this level
            self.warp_scale = 20.0 / 2**level
        names = ["netOne", "netTwo", "netThr", "netFou", "netFiv"]
        cin = cur
        for name, cout in zip(names, _PWC_DENSE):
            setattr(self, name, nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1), _lrelu()))
            cin += cout
        self.netSix = nn.Sequential(nn.Conv2d(cin, 2, 3, 1, 1))
        self._dense = names

    def forward(self, f1, f2, previous):
        if previous is None:
            feat = F.leaky_relu(correlation(f1, f2, 4), 0.1)
        else:
            flow = self.netUpflow(previous["flow"])
            upfeat = self.netUpfeat(previous["feat"])
            vol = F.leaky_relu(correlation(f1, backwarp(f2, flow * self.warp_scale, mask=True), 4), 0.1)
            feat = torch.cat([vol, f1, flow, upfeat], 1)
        for name in self._dense:
            feat = torch.cat([getattr(self, name)(feat), feat], 1)
        return {"flow": self.netSix(feat), "feat": feat}


class _PWCRefiner(nn.Module):
    """Context network: dilated convolutions (1, 2, 4, 8, 16, 1) refining the level-2 flow."""

    def __init__(self):
        super().__init__()
        cin = _pwc_input_channels(2) + sum(_PWC_DENSE)
        spec = [(128, 1), (128, 2), (128, 4), (96, 8), (64, 16), (32, 1)]
        layers: list[nn.Module] = []
        for cout, d in spec:
            layers += [nn.Conv2d(cin, cout, 3, 1, d, dilation=d), _lrelu()]
            cin = cout
        layers.append(nn.Conv2d(cin, 2, 3, 1, 1))
        self.netMain = nn.Sequential(*layers)

    def forward(self, x):
        return self.netMain(x)


class PWCNet(nn.Module):
    """PWC-Net (Sun et al. 2018) with the state_dict layout of the ``pytorch-pwc`` port.

    ``forward(img1, img2)`` takes BGR images in ``[0, 1]``, (B, 3, H, W) with H and W multiples
    of 64, and returns the flow at 1/4 resolution in units of full-resolution pixels / 20 (the
    port's convention; :func:`run_network` handles resizing and scaling).
    """

    size_multiple = 64
    output_scale = 20.0
    name = "PWC-Net"

    def __init__(self):
        super().__init__()
        self.netExtractor = _PWCExtractor()
        self.netTwo = _PWCDecoder(2)
        self.netThr = _PWCDecoder(3)
        self.netFou = _PWCDecoder(4)
        self.netFiv = _PWCDecoder(5)
        self.netSix = _PWCDecoder(6)
        self.netRefiner = _PWCRefiner()

    def forward(self, img1: torch.Tensor, img2: torch.Tensor) -> torch.Tensor:
        p1, p2 = self.netExtractor(img1), self.netExtractor(img2)
        est = None
        for idx, dec in zip([-1, -2, -3, -4, -5], [self.netSix, self.netFiv, self.netFou, self.netThr, self.netTwo]):
            est = dec(p1[idx], p2[idx], est)
        return est["flow"] + self.netRefiner(est["feat"])


# --------------------------------------------------------------------------------------------
# LiteFlowNet
# --------------------------------------------------------------------------------------------

_LFN_FEAT_CH = [32, 32, 64, 96, 128, 192]  # NetC pyramid, levels 1..6 (level 1 full resolution)
_LFN_KERNEL = {2: 7, 3: 5, 4: 5, 5: 3, 6: 3}  # flow-prediction kernel per level
_LFN_MEAN_1 = (0.411618, 0.434631, 0.454253)  # BGR means subtracted by the port
_LFN_MEAN_2 = (0.410782, 0.433645, 0.452793)


class _LFNFeatures(nn.Module):
    """NetC: a 7x7 stem, then five stride-2 stages (3, 2, 2, 1, 1 convs)."""

    def __init__(self):
        super().__init__()
        self.netOne = _conv_stack([3, 32], [1], kernel=7)
        self.netTwo = _conv_stack([32, 32, 32, 32], [2, 1, 1])
        self.netThr = _conv_stack([32, 64, 64], [2, 1])
        self.netFou = _conv_stack([64, 96, 96], [2, 1])
        self.netFiv = _conv_stack([96, 128], [2])
        self.netSix = _conv_stack([128, 192], [2])

    def forward(self, x):
        out = []
        for m in [self.netOne, self.netTwo, self.netThr, self.netFou, self.netFiv, self.netSix]:
            x = m(x)
            out.append(x)
        return out


def _lfn_feat(level: int) -> nn.Sequential:
    """Level 2 lifts its 32 feature channels to 64 before matching; other levels pass through."""
    if level == 2:
        return nn.Sequential(nn.Conv2d(32, 64, 1, 1, 0), _lrelu())
    return nn.Sequential()


def _lfn_head(cin: int, level: int) -> nn.Sequential:
    k = _LFN_KERNEL[level]
    return nn.Sequential(
        nn.Conv2d(cin, 128, 3, 1, 1),
        _lrelu(),
        nn.Conv2d(128, 64, 3, 1, 1),
        _lrelu(),
        nn.Conv2d(64, 32, 3, 1, 1),
        _lrelu(),
        nn.Conv2d(32, 2, k, 1, k // 2),
    )


class _LFNMatching(nn.Module):
    """Descriptor matching: cost volume (7x7 displacements) -> flow increment."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level
        self.warp_scale = 20.0 / 2 ** (level - 1)
        self.netFeat = _lfn_feat(level)
        self.netUpflow = None if level == 6 else nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=False, groups=2)
        # levels 2 and 3 correlate on a stride-2 grid and upsample the volume back
        self.netUpcorr = None if level >= 4 else nn.ConvTranspose2d(49, 49, 4, 2, 1, bias=False, groups=49)
        self.netMain = _lfn_head(49, level)

    def forward(self, img1, img2, f1, f2, flow):
        f1, f2 = self.netFeat(f1), self.netFeat(f2)
        if flow is not None:
            flow = self.netUpflow(flow)
            f2 = backwarp(f2, flow * self.warp_scale)
        if self.netUpcorr is None:
            vol = F.leaky_relu(correlation(f1, f2, 3, 1), 0.1)
        else:
            vol = self.netUpcorr(F.leaky_relu(correlation(f1, f2, 3, 2), 0.1))
            vol = vol[:, :, : f1.shape[2], : f1.shape[3]]
        return (flow if flow is not None else 0.0) + self.netMain(vol)


class _LFNSubpixel(nn.Module):
    """Sub-pixel refinement from both feature maps and the current flow."""

    def __init__(self, level: int):
        super().__init__()
        self.warp_scale = 20.0 / 2 ** (level - 1)
        self.netFeat = _lfn_feat(level)
        ch = max(64, _LFN_FEAT_CH[level - 1])
        self.netMain = _lfn_head(2 * ch + 2, level)

    def forward(self, img1, img2, f1, f2, flow):
        f1, f2 = self.netFeat(f1), self.netFeat(f2)
        f2 = backwarp(f2, flow * self.warp_scale)
        return flow + self.netMain(torch.cat([f1, f2, flow], 1))


class _LFNRegularization(nn.Module):
    """Feature-driven local convolution (f-lcon): a learned, image-adaptive smoothing of the flow."""

    def __init__(self, level: int):
        super().__init__()
        self.warp_scale = 20.0 / 2 ** (level - 1)
        k = _LFN_KERNEL[level]
        self.unfold = k
        cfeat = _LFN_FEAT_CH[level - 1]
        if level >= 5:
            self.netFeat = nn.Sequential()
            cin = 1 + 2 + cfeat
        else:
            self.netFeat = nn.Sequential(nn.Conv2d(cfeat, 128, 1, 1, 0), _lrelu())
            cin = 1 + 2 + 128
        self.netMain = _conv_stack([cin, 128, 128, 64, 64, 32, 32], [1] * 6)
        if level >= 5:
            self.netDist = nn.Sequential(nn.Conv2d(32, k * k, k, 1, k // 2))
        else:  # separable k x 1 then 1 x k
            self.netDist = nn.Sequential(
                nn.Conv2d(32, k * k, (k, 1), 1, (k // 2, 0)),
                nn.Conv2d(k * k, k * k, (1, k), 1, (0, k // 2)),
            )
        self.netScaleX = nn.Conv2d(k * k, 1, 1, 1, 0)
        self.netScaleY = nn.Conv2d(k * k, 1, 1, 1, 0)

    def forward(self, img1, img2, f1, f2, flow):
        diff = (img1 - backwarp(img2, flow * self.warp_scale)).pow(2).sum(1, keepdim=True).sqrt().detach()
        centred = flow - flow.flatten(2).mean(2)[:, :, None, None]
        dist = self.netDist(self.netMain(torch.cat([diff, centred, self.netFeat(f1)], 1)))
        dist = -dist.pow(2)
        dist = (dist - dist.max(1, keepdim=True)[0]).exp()
        divisor = dist.sum(1, keepdim=True).reciprocal()
        k = self.unfold
        ux = F.unfold(flow[:, :1], kernel_size=k, stride=1, padding=k // 2).view_as(dist)
        uy = F.unfold(flow[:, 1:], kernel_size=k, stride=1, padding=k // 2).view_as(dist)
        return torch.cat([self.netScaleX(dist * ux) * divisor, self.netScaleY(dist * uy) * divisor], 1)


class LiteFlowNet(nn.Module):
    """LiteFlowNet (Hui et al. 2018) with the state_dict layout of the ``pytorch-liteflownet`` port.

    ``forward(img1, img2)`` takes BGR images in ``[0, 1]``, (B, 3, H, W) with H and W multiples
    of 32, and returns the flow at 1/2 resolution in full-resolution pixels / 20.
    """

    size_multiple = 32
    output_scale = 20.0
    name = "LiteFlowNet"

    def __init__(self):
        super().__init__()
        self.netFeatures = _LFNFeatures()
        levels = [2, 3, 4, 5, 6]
        self.netMatching = nn.ModuleList([_LFNMatching(lv) for lv in levels])
        self.netSubpixel = nn.ModuleList([_LFNSubpixel(lv) for lv in levels])
        self.netRegularization = nn.ModuleList([_LFNRegularization(lv) for lv in levels])

    def forward(self, img1: torch.Tensor, img2: torch.Tensor) -> torch.Tensor:
        m1 = torch.tensor(_LFN_MEAN_1, dtype=img1.dtype, device=img1.device).view(1, 3, 1, 1)
        m2 = torch.tensor(_LFN_MEAN_2, dtype=img2.dtype, device=img2.device).view(1, 3, 1, 1)
        img1, img2 = img1 - m1, img2 - m2
        f1, f2 = self.netFeatures(img1), self.netFeatures(img2)
        pyr1, pyr2 = [img1], [img2]
        for lv in range(1, 6):
            size = f1[lv].shape[2:]
            pyr1.append(F.interpolate(pyr1[-1], size=size, mode="bilinear", align_corners=False))
            pyr2.append(F.interpolate(pyr2[-1], size=size, mode="bilinear", align_corners=False))
        flow = None
        for idx in [-1, -2, -3, -4, -5]:
            args = (pyr1[idx], pyr2[idx], f1[idx], f2[idx])
            flow = self.netMatching[idx](*args, flow)
            flow = self.netSubpixel[idx](*args, flow)
            flow = self.netRegularization[idx](*args, flow)
        return flow


ARCHITECTURES: dict[str, type[nn.Module]] = {"PWC-Net": PWCNet, "LiteFlowNet": LiteFlowNet}


# --------------------------------------------------------------------------------------------
# checkpoints and inference
# --------------------------------------------------------------------------------------------


def port_state_dict(raw: dict) -> dict[str, torch.Tensor]:
    """Normalise a port checkpoint's keys to ours.

    Accepts a plain state dict or one wrapped as ``{"state_dict": ...}``, strips a DataParallel
    ``module.`` prefix, and renames the old ``moduleXxx`` attributes to ``netXxx`` (the ports'
    own loading rule).

    Parameters
    ----------
    raw : dict
        What ``torch.load`` returned.

    Returns
    -------
    dict of str to torch.Tensor

    Raises
    ------
    WeightsError
        No state dict, or an entry that is not a tensor.
    """
    if isinstance(raw, dict) and "state_dict" in raw and isinstance(raw["state_dict"], dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict) or not raw:
        raise WeightsError("checkpoint holds no state dict")
    out = {}
    for key, value in raw.items():
        if not isinstance(value, torch.Tensor):
            raise WeightsError(f"checkpoint entry {key!r} is not a tensor")
        if key.startswith("module."):
            key = key[len("module.") :]
        out[key.replace("module", "net")] = value
    return out


def load_port_checkpoint(arch: str, path: str | os.PathLike, map_location: str = "cpu") -> nn.Module:
    """Build ``arch`` ("PWC-Net" or "LiteFlowNet") and load a port checkpoint with ``strict=True``.

    Parameters
    ----------
    arch : {"PWC-Net", "LiteFlowNet"}
        The architecture.
    path : path-like
        The port's ``network-default.pytorch`` file.
    map_location : str
        Torch device the tensors are read to.

    Returns
    -------
    torch.nn.Module
        The network in eval mode.

    Raises
    ------
    ValueError
        ``arch`` is unknown.
    ------
    WeightsError
        If the file is missing, unreadable, or its keys/shapes do not match (the message lists
        the first differences).
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such checkpoint file")
    try:
        sd = port_state_dict(load_weights_file(path, f"{arch} port checkpoint", map_location))
    except (ValueError, WeightsError) as exc:
        raise WeightsError(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}") from None
    model = ARCHITECTURES[arch]()
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    bad = sorted(k for k in set(own) & set(sd) if own[k].shape != sd[k].shape)
    if missing or unexpected or bad:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if bad:
            parts.append(
                "shape mismatch " + ", ".join(f"{k}: {tuple(sd[k].shape)} vs {tuple(own[k].shape)}" for k in bad[:5])
            )
        raise WeightsError(f"{path}: not a {arch} port checkpoint: " + "; ".join(parts))
    model.load_state_dict(sd, strict=True)
    return model.eval()


def image_tensor(img: np.ndarray, order: str = "rgb", unit: float = 255.0) -> torch.Tensor:
    """A uint8 RGB (H, W, 3) or gray (H, W) image as a float (1, 3, H, W) tensor of ``values / unit``.

    Parameters
    ----------
    img : numpy.ndarray
        uint8 RGB or gray image (gray is repeated into three channels).
    order : {"rgb", "bgr"}
        Channel order of the tensor.
    unit : float
        Divisor of the 0..255 values (255: range [0, 1]; 1: range 0..255).

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        Not uint8, not (H, W, 3) or (H, W), or an unknown ``order``.
    """
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"images must be (H, W, 3) RGB or (H, W) gray, got {img.shape}")
    if order not in ("rgb", "bgr"):
        raise ValueError(f"order must be 'rgb' or 'bgr', got {order!r}")
    chans = img[:, :, ::-1] if order == "bgr" else img
    return torch.from_numpy(np.ascontiguousarray(chans.transpose(2, 0, 1), dtype=np.float32) / unit)[None]


def run_network(model: nn.Module, img1: np.ndarray, img2: np.ndarray, device: str = "cpu") -> np.ndarray:
    """Flow (H, W, 2) float32 in pixels from a port-layout network on uint8 RGB images.

    As in the ports: BGR in ``[0, 1]``, bilinear resize to the next multiple of the network's
    ``size_multiple``, output times ``output_scale``, bilinear resize back, u and v rescaled by
    the width and height ratios.

    Parameters
    ----------
    model : torch.nn.Module
        :class:`PWCNet` or :class:`LiteFlowNet`.
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
        The shapes differ, or an image is not uint8 RGB or gray.
    """
    if np.shape(img1) != np.shape(img2):
        raise ValueError(f"image shapes differ: {np.shape(img1)} vs {np.shape(img2)}")
    a, b = image_tensor(img1, "bgr").to(device), image_tensor(img2, "bgr").to(device)
    h, w = a.shape[2:]
    m = int(getattr(model, "size_multiple", 64))
    hp, wp = int(math.ceil(h / m) * m), int(math.ceil(w / m) * m)
    if (hp, wp) != (h, w):
        a = F.interpolate(a, size=(hp, wp), mode="bilinear", align_corners=False)
        b = F.interpolate(b, size=(hp, wp), mode="bilinear", align_corners=False)
    model = model.to(device).eval()
    with torch.no_grad():
        out = model(a, b) * float(getattr(model, "output_scale", 20.0))
        flow = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False)
    flow[:, 0] *= w / wp
    flow[:, 1] *= h / hp
    return flow[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)


# --------------------------------------------------------------------------------------------
# the paper's CNN baselines, and where their weights come from
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CNNBaseline:
    """One CNN network of Table 3 and how to obtain weights for it."""

    name: str  # the paper's name, used as the method name in the registry
    arch: str | None  # our own architecture (ARCHITECTURES key), or None: ptlflow only
    weights_file: str  # expected file name in the weights folder
    ptlflow_model: str  # ptlflow model name
    ptlflow_ckpt: str  # ptlflow checkpoint tag
    how_to_get: str


CNN_BASELINES: dict[str, CNNBaseline] = {
    b.name: b
    for b in [
        CNNBaseline(
            "FlowNet2.0",
            None,
            "flownet2.ckpt",
            "flownet2",
            "things",
            "Runs only through ptlflow: install ptlflow in a separate environment (it pulls its own "
            "torch and opencv-python), put its 'flownet2' 'things' checkpoint into the weights folder "
            "as flownet2.ckpt.",
        ),
        CNNBaseline(
            "FlowNet3.0-CSS",
            None,
            "flownet3-css.ckpt",
            "flownetcss",
            "things",
            "No PyTorch port of FlowNet3.0-CSS ships weights; ptlflow's 'flownetcss' (FlowNet2 family CSS "
            "stack) is the closest; put its checkpoint into the weights folder as flownet3-css.ckpt.",
        ),
        CNNBaseline(
            "LiteFlowNet",
            "LiteFlowNet",
            "liteflownet-default.pytorch",
            "liteflownet",
            "things",
            "Download 'network-default.pytorch' of the pytorch-liteflownet port (its download.bash lists "
            "the URL) and save it in the weights folder as liteflownet-default.pytorch.",
        ),
        CNNBaseline(
            "PWC-Net",
            "PWC-Net",
            "pwc-default.pytorch",
            "pwcnet",
            "things",
            "Download 'network-default.pytorch' of the pytorch-pwc port (its download.bash lists the URL) "
            "and save it in the weights folder as pwc-default.pytorch.",
        ),
    ]
}


def weights_dir(path: str | os.PathLike | None = None) -> Path | None:
    """The CNN weights folder: ``path``, else ``$FACEFLOW_CNN_WEIGHTS``, else None.

    Parameters
    ----------
    path : path-like, optional
        An explicit folder.

    Returns
    -------
    pathlib.Path or None
    """
    p = path or os.environ.get(WEIGHTS_ENV) or None
    return Path(p).expanduser() if p else None


def ptlflow_available() -> bool:
    """Whether the ptlflow package can be imported here.

    Returns
    -------
    bool
    """
    import importlib.util

    return importlib.util.find_spec("ptlflow") is not None


def ptlflow_flow_fn(model_name: str, ckpt_path: str | os.PathLike, device: str = "cpu"):
    """A ``fn(img1, img2) -> (H, W, 2)`` running a ptlflow model from a local checkpoint.

    The model is built lazily on the first call.

    Parameters
    ----------
    model_name : str
        ptlflow model name.
    ckpt_path : path-like
        Local checkpoint.
    device : str
        Torch device.

    Returns
    -------
    callable
        ``fn(img1, img2) -> (H, W, 2)`` flow.

    Raises
    ------
    ImportError
        ptlflow is not installed.
    """
    import ptlflow  # noqa: F401 - fail early and clearly

    state: dict = {}

    def fn(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
        from ptlflow.utils.io_adapter import IOAdapter

        if "model" not in state:
            state["model"] = ptlflow.get_model(model_name, ckpt_path=str(ckpt_path)).to(device).eval()
        model = state["model"]
        a, b = np.asarray(img1), np.asarray(img2)
        if a.ndim == 2:
            a, b = np.repeat(a[..., None], 3, 2), np.repeat(b[..., None], 3, 2)
        # ptlflow expects BGR uint8 frames, as read by cv2
        adapter = IOAdapter(model, a.shape[:2])
        inputs = adapter.prepare_inputs([a[:, :, ::-1].copy(), b[:, :, ::-1].copy()])
        inputs = {k: v.to(device) if hasattr(v, "to") else v for k, v in inputs.items()}
        with torch.no_grad():
            preds = model(inputs)
        flow = preds["flows"][0, 0].permute(1, 2, 0).cpu().numpy()
        return flow.astype(np.float32)

    return fn


@dataclass
class CNNStatus:
    """Whether one paper CNN can run here: ``route`` is "port", "ptlflow" or ""; ``reason`` says why not."""

    name: str
    available: bool
    route: str  # "port", "ptlflow" or ""
    path: Path | None
    reason: str


def cnn_status(folder: str | os.PathLike | None = None) -> list[CNNStatus]:
    """For each paper CNN: can it run with the weights in ``folder`` (see :func:`weights_dir`)?

    Parameters
    ----------
    folder : path-like, optional
        The weights folder.

    Returns
    -------
    list of CNNStatus
        One per entry of :data:`CNN_BASELINES`, in its order.
    """
    base = weights_dir(folder)
    out = []
    has_ptl = ptlflow_available()
    for b in CNN_BASELINES.values():
        path = base / b.weights_file if base else None
        if path is None:
            out.append(
                CNNStatus(
                    b.name,
                    False,
                    "",
                    None,
                    f"weights not available: no weights folder given (set ${WEIGHTS_ENV}). {b.how_to_get}",
                )
            )
        elif not path.is_file():
            out.append(
                CNNStatus(b.name, False, "", path, f"weights not available: {path} does not exist. {b.how_to_get}")
            )
        elif b.arch is not None:
            out.append(CNNStatus(b.name, True, "port", path, ""))
        elif has_ptl:
            out.append(CNNStatus(b.name, True, "ptlflow", path, ""))
        else:
            out.append(
                CNNStatus(
                    b.name,
                    False,
                    "ptlflow",
                    path,
                    f"not available: {path} exists but needs the ptlflow package, which is not installed. "
                    f"{b.how_to_get}",
                )
            )
    return out


def flow_fn_for(status: CNNStatus, device: str = "cpu"):
    """A flow function for an available :class:`CNNStatus` (the model loads on first use).

    Parameters
    ----------
    status : CNNStatus
        An available network.
    device : str
        Torch device.

    Returns
    -------
    callable
        ``fn(img1, img2) -> (H, W, 2)`` flow.

    Raises
    ------
    WeightsError
        The network is not available.
    """
    if not status.available:
        raise WeightsError(f"{status.name}: {status.reason}")
    b = CNN_BASELINES[status.name]
    if status.route == "ptlflow":
        return ptlflow_flow_fn(b.ptlflow_model, status.path, device)
    cache: dict = {}

    def fn(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
        if "model" not in cache:
            cache["model"] = load_port_checkpoint(b.arch, status.path)
        return run_network(cache["model"], img1, img2, device)

    return fn


def register_cnn_baselines(
    weights_folder: str | os.PathLike | None = None, device: str = "cpu", replace: bool = True
) -> list[CNNStatus]:
    """Register the paper's CNN baselines whose weights are in ``weights_folder``.

    Parameters
    ----------
    weights_folder : path-like, optional
        Defaults to ``$FACEFLOW_CNN_WEIGHTS``.
    device : str
        Torch device the networks run on.
    replace : bool
        Replace methods already registered under the same names.

    Returns
    -------
    list of CNNStatus
        Every CNN of the paper, registered or not, so callers can show why a row is missing.
    """
    from faceflow.methods.registry import register

    statuses = cnn_status(weights_folder)
    for st in statuses:
        if st.available:
            arch = ARCHITECTURES.get(st.name)  # smaller images would be stretched to its size multiple
            register(
                st.name,
                flow_fn_for(st, device),
                f"{st.name} ({st.route}: {st.path})",
                kind="cnn",
                replace=replace,
                min_size=arch.size_multiple if arch is not None else 1,
            )
    return statuses
