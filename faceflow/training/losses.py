"""The paper's training losses (Sec. 4.3, Eqs. 4-9), all on channel-first torch tensors.

* :func:`multiscale_epe` (Eq. 4): ``sum_k w_k * mean_j ||y_jk - ŷ_jk||_2`` over the five scales,
  ``w_k = 2^-k`` normalised to sum to ``lambda_1``. The ground truth is downsampled to each
  scale (area average) and its values scaled by ``2^-k`` so that they are in that scale's pixels,
  the unit of the network's scale-k output (:mod:`faceflow.methods.flownets`).
* :func:`reconstruct_second`: the warping layer of Sec. 4.2 (bilinear ``grid_sample``,
  :func:`faceflow.flow.warp.warp_backward_torch`), applied to ``X_i`` with the finest flow
  upsampled to full resolution.
* :func:`huber` and :func:`cyclic_loss` (Eq. 5), with the threshold ``d`` as a parameter.
  The text calls the Huber penalty "a variant of the L1 loss": it is one only when typical
  residuals exceed ``d``. :data:`CYCLIC_HUBER_D` (one grey level on 0-255 intensities) puts them
  there; :func:`faceflow.studies.ablations.huber_zones` measures where they fall.
* :func:`smoothness_loss` (Eq. 7) on ``du/dx, du/dy, dv/dx, dv/dy`` of the largest (k = 1)
  prediction, in its own pixels: the Huber penalty with threshold :data:`SMOOTH_HUBER_D`, or the
  generalised Charbonnier ``(g^2 + eps^2)^alpha`` of the authors' released code. The paper prints
  ``dv/dy`` twice; we use ``dv/dx`` for the third term (documented fix).
* :func:`angular_loss` (Eq. 8) on the finest prediction at full resolution (or on the k = 1 grid,
  as the released code does).
* :func:`released_scale_weights`: the multi-scale weights of the released code, next to the
  text's :func:`text_scale_weights`.
* :class:`LossConfig` and :func:`total_loss` (Eqs. 6 and 9).

**Masked loss (beyond the paper, ``LossConfig.masked``).** The landmark ground truth is defined
only inside the face mesh (:mod:`faceflow.io.masks`); outside, the paper's zero is an assumption.
With ``masked=True`` every term is averaged over the valid mask instead of the whole crop:

* Eq. 4: at scale k, over the cells whose whole ``2^k`` block is valid (:func:`scale_mask`, the
  rule of :func:`faceflow.flow.fields.resize_mask`);
* Eq. 5: over the valid pixels of the full-resolution reconstruction (and all three channels);
* Eq. 7: over the forward differences whose two pixels are both valid on the k = 1 grid;
* Eq. 8: over the valid pixels of the grid it is computed on.

Each masked mean is the sum over the valid entries of the batch divided by their count, so a
pixel outside the mask has no gradient at all. The paper's unmasked loss stays the default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from faceflow.flow.metrics import angular_error_map_torch, epe_map_torch
from faceflow.flow.warp import warp_backward_torch
from faceflow.methods.flownets import full_resolution

#: Threshold d of the cyclic loss's Huber penalty (Eq. 5), in grey levels of 0-255 intensities
#: (``LossConfig.intensity_scale = 255``): one grey level, the quantisation step of the images, so
#: that residuals of a grey level or more (the typical ones) are penalised linearly, as "an L1
#: variant" (Sec. 4.3.2) should be. Chapter 03 shows the residual histogram against it.
CYCLIC_HUBER_D = 1.0
#: Threshold d of the smoothness Huber penalty (Eq. 7), in pixels of the k = 1 grid per pixel.
#: The non-zero gradients of face ground truth have a median of about 0.01 px/px; d = 0.001 puts
#: about nine in ten of them in the linear zone (chapter 03 shows the histogram). The penalty's
#: slope there is d, so Eq. 7 as printed weighs little beside the EPE term.
SMOOTH_HUBER_D = 0.001
#: Smoothness penalties: the text's Huber, or the released code's generalised Charbonnier.
SMOOTH_PENALTIES = ("huber", "charbonnier")


def text_scale_weights(lambda1: float = 1.0, n_scales: int = 5) -> list[float]:
    """The paper's ``w_k = 2^-k`` (k = 1..n) normalised to sum to ``lambda1``."""
    raw = [2.0**-k for k in range(1, n_scales + 1)]
    s = sum(raw)
    return [lambda1 * r / s for r in raw]


def released_scale_weights(
    lambda1: float = 1.0, coarse_share: float = 1 / 6, first_coarse: float = 0.5, n_scales: int = 5
) -> list[float]:
    """The multi-scale EPE weights of the authors' released code (``get_weights``, train 1079-1103).

    The finest scale (k = 1) gets ``(1 - coarse_share) * lambda1``; the other ``coarse_share *
    lambda1`` is spread over k = 2..n along a straight line that starts at ``first_coarse`` of it
    and sums to it. With the code's values (1/6, 0.5) this is ``[5/6, 1/12, 1/18, 1/36, 0] * lambda1``.

    Parameters
    ----------
    lambda1 : float
        Sum of the weights.
    coarse_share, first_coarse : float
        The code's ``F_flows`` and ``high_frac``.
    n_scales : int
        Number of scales (k = 1..n).

    Returns
    -------
    list of float
        ``n_scales`` weights, k = 1 first.
    """
    m = n_scales - 1
    coarse = coarse_share * lambda1
    a = first_coarse * coarse
    b = (coarse - m * a) / (m * (m - 1) / 2)
    return [(1 - coarse_share) * lambda1] + [round(a + b * j, 12) for j in range(m)]


def downsample_flow(flow: torch.Tensor, k: int) -> torch.Tensor:
    """Area-average a full-resolution (B, 2, H, W) flow by ``2^k`` and scale its values by ``2^-k``."""
    if k == 0:
        return flow
    f = 2**k
    h, w = flow.shape[-2:]
    if h % f or w % f:
        raise ValueError(f"flow size {h}x{w} not divisible by 2^{k}")
    return F.avg_pool2d(flow, kernel_size=f, stride=f) / f


def scale_mask(mask: torch.Tensor, k: int) -> torch.Tensor:
    """A full-resolution (B, 1, H, W) valid mask on the scale-k grid: a cell is valid (1) when its
    whole ``2^k x 2^k`` block is (the rule of :func:`faceflow.flow.fields.resize_mask`)."""
    if k == 0:
        return mask
    f = 2**k
    h, w = mask.shape[-2:]
    if h % f or w % f:
        raise ValueError(f"mask size {h}x{w} not divisible by 2^{k}")
    return (F.avg_pool2d(mask.float(), kernel_size=f, stride=f) >= 1.0 - 1e-6).to(mask.dtype)


def masked_mean(err: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``err`` (B, H, W) or (B, C, H, W) over the entries where ``mask`` (B, 1, H, W) is 1.

    The sum over valid entries of the whole batch divided by their count (0 when none is valid):
    entries outside the mask get no gradient. ``mask=None`` is the plain mean.
    """
    if mask is None:
        return err.mean()
    m = mask[:, 0] if err.dim() == 3 else mask.expand_as(err)
    if m.shape != err.shape:
        raise ValueError(f"mask {tuple(mask.shape)} does not fit the error {tuple(err.shape)}")
    m = m.to(err.dtype)
    return (err * m).sum() / m.sum().clamp_min(1.0)


def multiscale_epe(
    preds: list[torch.Tensor], gt: torch.Tensor, weights: list[float | None], mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Eq. (4): ``sum_k w_k * mean EPE((Y)_k, (Ŷ)_k)``.

    Parameters
    ----------
    preds : list of (B, 2, H/2^k, W/2^k) tensors, finest (k=1) first, in scale-k pixels.
    gt : (B, 2, H, W) full-resolution ground truth in input pixels.
    weights : one weight per scale; a ``None`` or ``0`` weight drops that term.
    mask : (B, 1, H, W) valid mask, optional: the mean at scale k is then over the valid cells of
        that scale (:func:`scale_mask`), the masked loss (beyond the paper).
    """
    if len(weights) != len(preds):
        raise ValueError(f"{len(preds)} predictions but {len(weights)} weights")
    total = gt.new_zeros(())
    for k, (p, w) in enumerate(zip(preds, weights), start=1):
        if not w:
            continue
        g = downsample_flow(gt, k)
        if g.shape != p.shape:
            raise ValueError(f"scale {k}: prediction {tuple(p.shape)} vs ground truth {tuple(g.shape)}")
        total = total + w * masked_mean(epe_map_torch(p, g), None if mask is None else scale_mask(mask, k))
    return total


def reconstruct_second(img1: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``X̂_{i+1}`` from ``X_i`` and the flow ``F`` from ``X_i`` to ``X_{i+1}``: ``X_i(p - F(p))``.

    This is the backward warp of ``X_i`` by ``-F``, exact for translations and a first-order
    approximation otherwise (the inverse flow is approximated by ``-F``).
    """
    return warp_backward_torch(img1, -flow)


def huber(x: torch.Tensor, d: float = 1.0) -> torch.Tensor:
    """Eq. (5): ``x^2/2`` for ``|x| <= d``, ``d^2/2 + d(|x| - d)`` otherwise (element-wise)."""
    if d <= 0:
        raise ValueError(f"Huber threshold d must be > 0, got {d}")
    a = x.abs()
    return torch.where(a <= d, 0.5 * x * x, 0.5 * d * d + d * (a - d))


def cyclic_loss(
    img2: torch.Tensor, img2_hat: torch.Tensor, d: float = 1.0, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Eq. (5): mean over pixels and the 3 colour channels of ``huber(X_{i+1} - X̂_{i+1})``
    (over the valid pixels of ``mask`` (B, 1, H, W) when given)."""
    if img2.shape != img2_hat.shape:
        raise ValueError(f"shapes differ: {tuple(img2.shape)} vs {tuple(img2_hat.shape)}")
    return masked_mean(huber(img2 - img2_hat, d), mask)


def charbonnier(x: torch.Tensor, eps: float = 0.01, alpha: float = 0.5) -> torch.Tensor:
    """Generalised Charbonnier penalty ``(x^2 + eps^2)^alpha`` (element-wise)."""
    return (x * x + eps * eps) ** alpha


def smoothness_loss(
    flow: torch.Tensor,
    d: float = SMOOTH_HUBER_D,
    penalty: str = "huber",
    eps: float = 0.01,
    alpha: float = 0.5,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. (7) with the fix ``dv/dy -> dv/dx`` in the third term.

    ``penalty="huber"`` (the text): forward differences of u and v along x and y under the Huber
    penalty of threshold ``d``, each averaged over the pixels where it is defined, then summed:
    ``H(du/dx) + H(du/dy) + H(dv/dx) + H(dv/dy)``.

    ``penalty="charbonnier"`` (the released code, train 447-458): ``(g^2 + eps^2)^alpha`` of the
    same four differences as TensorFlow's ``image_gradients`` gives them (zero in the last column /
    row), summed per pixel and averaged over all pixels.

    ``mask`` (B, 1, h, w) on the grid of ``flow``: a difference counts only where both of its
    pixels are valid (the masked loss); the means are over those differences.
    """
    if penalty not in SMOOTH_PENALTIES:
        raise ValueError(f"smoothness penalty must be one of {SMOOTH_PENALTIES}, got {penalty!r}")
    dx = flow[..., :, 1:] - flow[..., :, :-1]
    dy = flow[..., 1:, :] - flow[..., :-1, :]
    mx = my = None
    if mask is not None:
        if mask.shape[-2:] != flow.shape[-2:]:
            raise ValueError(f"mask {tuple(mask.shape)} does not fit the flow {tuple(flow.shape)}")
        mx = mask[..., :, 1:] * mask[..., :, :-1]
        my = mask[..., 1:, :] * mask[..., :-1, :]
    if penalty == "charbonnier":
        dx = F.pad(dx, (0, 1, 0, 0))
        dy = F.pad(dy, (0, 0, 0, 1))
        if mask is None:
            return (charbonnier(dx, eps, alpha).sum(1) + charbonnier(dy, eps, alpha).sum(1)).mean()
        mx, my = F.pad(mx, (0, 1, 0, 0)), F.pad(my, (0, 0, 0, 1))
        per_pixel = (charbonnier(dx, eps, alpha) * mx).sum(1) + (charbonnier(dy, eps, alpha) * my).sum(1)
        return per_pixel.sum() / ((mx + my) > 0).to(flow.dtype).sum().clamp_min(1.0)
    u_x, v_x = dx[:, 0], dx[:, 1]
    u_y, v_y = dy[:, 0], dy[:, 1]
    return sum(masked_mean(huber(g, d), m) for g, m in ((u_x, mx), (u_y, my), (v_x, mx), (v_y, my)))


def angular_loss(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. (8): mean angle (radians) between ``(u, v, 1)`` and ``(û, v̂, 1)`` (over ``mask`` when given)."""
    return masked_mean(angular_error_map_torch(pred, gt), mask)


#: Where the angular loss (Eq. 8) is computed: the k = 1 prediction upsampled to full resolution
#: (ours, as the metric), or on the k = 1 grid itself (the released code).
AAE_GRIDS = ("full", "k1")


@dataclass
class LossConfig:
    """Weights of the total loss J (Eqs. 6, 9).

    Attributes
    ----------
    lambda1, lambda2, lambda3 : float
        Weights of the EPE, cyclic and third term. The multi-scale EPE weights sum to
        ``lambda1`` (Sec. 4.3.2), so J = L1 + lambda2 L2 + lambda3 L3.
    scale_weights : list of float or None
        Explicit per-scale EPE weights (k = 1..5); ``None`` -> the text's ``2^-k`` normalised to
        ``lambda1``. The released code's are :func:`released_scale_weights`.
    third : {None, "smooth", "aae"}
        The third term: smoothness (Eq. 7, Exp3I) or angular (Eq. 8, Exp3II).
    drop_finest_epe : bool
        The released code's Exp3 (a duplicated dict key, train 714-729): the full-resolution
        (k = 1) EPE term is dropped from L1.
    huber_d : float
        Threshold d of the cyclic loss's Huber penalty (Eq. 5), in the units of
        ``intensity_scale``; not given in the paper. Default :data:`CYCLIC_HUBER_D`.
    intensity_scale : float
        Images are in [0, 1]; the cyclic loss compares ``intensity_scale * X``. Not given in the
        paper. Default 255: grey levels, as in the released code (0-255 inputs), so that with
        ``huber_d = 1`` typical residuals sit in the Huber penalty's linear zone.
    smooth_penalty : {"huber", "charbonnier"}
        ``"huber"`` (Eq. 7, threshold ``smooth_d``) or ``"charbonnier"``
        (``(g^2 + charbonnier_eps^2)^charbonnier_alpha``, the released code).
    smooth_d : float
        Threshold of the smoothness Huber penalty, px per px. Default :data:`SMOOTH_HUBER_D`.
    aae_grid : str
        One of :data:`AAE_GRIDS`.
    masked : bool
        Beyond the paper: average every term over the ground truth's valid mask (module
        docstring); ``False`` (default) is the paper's loss over the whole crop.
    """

    lambda1: float = 1.0
    lambda2: float = 0.0
    lambda3: float = 0.0
    scale_weights: list | None = None
    third: str | None = None
    drop_finest_epe: bool = False
    huber_d: float = CYCLIC_HUBER_D
    intensity_scale: float = 255.0
    smooth_penalty: str = "huber"
    smooth_d: float = SMOOTH_HUBER_D
    charbonnier_eps: float = 0.01
    charbonnier_alpha: float = 0.5
    aae_grid: str = "full"
    masked: bool = False

    def __post_init__(self):
        if self.third not in (None, "smooth", "aae"):
            raise ValueError(f"third must be None, 'smooth' or 'aae', got {self.third!r}")
        if self.scale_weights is not None and len(self.scale_weights) != 5:
            raise ValueError(f"scale_weights needs 5 values (k=1..5), got {self.scale_weights}")
        if self.smooth_penalty not in SMOOTH_PENALTIES:
            raise ValueError(f"smooth_penalty must be one of {SMOOTH_PENALTIES}, got {self.smooth_penalty!r}")
        if self.aae_grid not in AAE_GRIDS:
            raise ValueError(f"aae_grid must be one of {AAE_GRIDS}, got {self.aae_grid!r}")
        if self.huber_d <= 0 or self.smooth_d <= 0:
            raise ValueError(f"Huber thresholds must be > 0, got huber_d={self.huber_d}, smooth_d={self.smooth_d}")

    def weights(self) -> list[float]:
        w = list(self.scale_weights) if self.scale_weights is not None else text_scale_weights(self.lambda1)
        if self.drop_finest_epe:
            w[0] = 0.0
        return w

    def to_dict(self) -> dict:
        return asdict(self)


def total_loss(
    preds: list[torch.Tensor],
    gt: torch.Tensor,
    img1: torch.Tensor,
    img2: torch.Tensor,
    cfg: LossConfig,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict]:
    """J of Eqs. (6)/(9) for one batch; returns (J, dict of the float value of each term).

    preds : five predictions, finest first (scale-k pixels); gt : (B, 2, H, W); img1, img2 :
    (B, 3, H, W) in [0, 1]; mask : (B, 1, H, W) valid mask of ``gt``, used when ``cfg.masked``
    (required then).
    """
    if cfg.masked and mask is None:
        raise ValueError("the masked loss (LossConfig.masked) needs the ground truth's valid mask")
    m = mask if cfg.masked else None
    m1 = None if m is None else scale_mask(m, 1)
    terms = {}
    j = multiscale_epe(preds, gt, cfg.weights(), m)
    terms["L1"] = float(j.detach())
    need_full = cfg.lambda2 or (cfg.lambda3 and cfg.third == "aae" and cfg.aae_grid == "full")
    if need_full:
        full = full_resolution(preds[0], 1)
    if cfg.lambda2:
        s = cfg.intensity_scale
        l2 = cyclic_loss(img2 * s, reconstruct_second(img1, full) * s, cfg.huber_d, m)
        terms["L2"] = float(l2.detach())
        j = j + cfg.lambda2 * l2
    if cfg.lambda3 and cfg.third is not None:
        if cfg.third == "smooth":
            l3 = smoothness_loss(
                preds[0], cfg.smooth_d, cfg.smooth_penalty, cfg.charbonnier_eps, cfg.charbonnier_alpha, m1
            )
        elif cfg.aae_grid == "k1":
            l3 = angular_loss(preds[0], downsample_flow(gt, 1), m1)
        else:
            l3 = angular_loss(full, gt, m)
        terms["L3"] = float(l3.detach())
        j = j + cfg.lambda3 * l3
    terms["J"] = float(j.detach())
    return j, terms
