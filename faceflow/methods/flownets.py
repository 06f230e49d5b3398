"""FlowNetS (Dosovitskiy et al. 2015) with the paper's five output scales (Sec. 4.1, 4.3).

The two RGB frames are concatenated into 6 channels and pass an encoder ``conv1 .. conv6_1``
(LeakyReLU 0.1, as in FlowNetS). The decoder refines the flow with deconvolutions and skip
connections and predicts it at five scales ``k = 1..5``: an input of H x W gives predictions of
``(H / 2^k, W / 2^k)``, i.e. ``(384 * 2^-k, 512 * 2^-k)`` for the paper's 384 x 512 input.
Compared with the original FlowNetS (predictions at 1/4 .. 1/64) the decoder has one more
refinement stage, to 1/2, that uses the ``conv1`` features, and no 1/64 prediction: this is how
we read the paper's "(H_k, W_k) = (384·2^-k, 512·2^-k), k = 1..5" (see the book's choices page).

Units. The network's raw outputs are the flow in *input-resolution pixels* divided by
``flow_scale`` (FlowNet's ``div_flow``, 20), at every scale, so that the upsampled coarse flows fed
to the next stage have consistent values. :meth:`FlowNetS.forward` returns each prediction in the
pixel units *of its own scale* (the input-resolution flow times ``2^-k``), which is the unit in
which the multi-scale loss compares it with the ground truth downsampled to that scale.

Input normalisation. Images enter as float tensors in ``[0, 1]`` (B, 3, H, W); the network sees
``(x - input_mean) / input_std`` per channel (``input_mean = 0``, ``input_std = 1/255`` gives the raw
0-255 values of the authors' released code).

The authors' released code (``facialof_train.py``, ``getModels``, lines 478-704 at a10d548) builds a
different network, selectable here (:class:`FlowNetSConfig`): ``encoder="siamese"`` applies
``conv1 .. conv3`` with shared weights to each frame, then concatenates a 1x1 ``conv_redir`` of the
first frame's ``conv3`` with both ``conv3`` maps (no correlation layer) before ``conv3_1``
(lines 487-563); ``decoder="released"`` is its decoder (1x1 ReLU fusion convolutions, flows upsampled
bilinearly and doubled, outputs in each scale's own pixels, no ``div_flow``; lines 615-681);
``padding="tf-same"`` pads stride-2 convolutions as TensorFlow's ``'same'`` does (the extra pixel at
the bottom and right); ``init="keras"`` is Keras' default initialisation (Glorot-uniform kernels,
zero biases).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: Number of prediction scales (k = 1..5).
N_SCALES = 5
#: Input sizes must be divisible by this (six stride-2 convolutions).
SIZE_MULTIPLE = 64
#: How the two frames meet: stacked into 6 channels (FlowNetS) or siamese towers to conv3 (released code).
ENCODERS = ("stacked", "siamese")
#: Decoders: ours (FlowNetS with a fifth refinement stage) or the released code's.
DECODERS = ("faceflow", "released")
#: Convolution padding: PyTorch's symmetric ``(k - 1) // 2`` or TensorFlow's ``'same'``.
PADDINGS = ("symmetric", "tf-same")
#: Weight initialisation: ours (Kaiming, small predictors) or Keras' defaults (Glorot-uniform, zero bias).
INITS = ("faceflow", "keras")


@dataclass
class FlowNetSConfig:
    """Architecture parameters (saved in checkpoints).

    width : channel multiplier; 1.0 is the full FlowNetS. Smaller values exist only so the
        ``smoke``/``default`` profiles run on a CPU.
    flow_scale : FlowNet's ``div_flow``: raw outputs are flow / flow_scale.
    input_mean, input_std : per-channel normalisation of ``[0, 1]`` RGB input.
    batch_norm : FlowNetS has none; kept as an option.
    encoder, decoder, padding, init : one of :data:`ENCODERS`, :data:`DECODERS`, :data:`PADDINGS`,
        :data:`INITS`; the second values are the authors' released code (module docstring).
        ``flow_scale`` is not used by the released decoder (its outputs are in pixels).
    """

    width: float = 1.0
    flow_scale: float = 20.0
    input_mean: tuple = (0.45, 0.432, 0.411)
    input_std: tuple = (1.0, 1.0, 1.0)
    batch_norm: bool = False
    encoder: str = "stacked"
    decoder: str = "faceflow"
    padding: str = "symmetric"
    init: str = "faceflow"

    def __post_init__(self):
        for name, allowed in (
            ("encoder", ENCODERS),
            ("decoder", DECODERS),
            ("padding", PADDINGS),
            ("init", INITS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"FlowNetSConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_mean"] = list(d["input_mean"])
        d["input_std"] = list(d["input_std"])
        return d


def _conv(cin, cout, k, stride, bn, padding="symmetric", act="leaky"):
    if padding == "tf-same" and stride == 2:
        # TensorFlow 'same' on an even size: k - 2 pixels of padding, the extra one at the bottom/right
        lo, hi = (k - 2) // 2, (k - 2) - (k - 2) // 2
        layers = [nn.ZeroPad2d((lo, hi, lo, hi)), nn.Conv2d(cin, cout, k, stride, 0, bias=not bn)]
    else:
        layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.1, inplace=True) if act == "leaky" else nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def upsample2x_tf1(x: torch.Tensor) -> torch.Tensor:
    """Bilinear x2 upsampling as TensorFlow 1's ``resize_bilinear`` (Keras ``UpSampling2D``) does it.

    Output pixel ``i`` samples the input at ``i / 2`` (no half-pixel offset, clamped at the end):
    ``out[2j] = in[j]``, ``out[2j + 1] = (in[j] + in[j + 1]) / 2``, ``out[-1] = in[-1]``.
    """

    def along(t, dim):
        n = t.shape[dim]
        nxt = torch.cat([t.narrow(dim, 1, n - 1), t.narrow(dim, n - 1, 1)], dim)
        return torch.stack([t, 0.5 * (t + nxt)], dim + 1).flatten(dim, dim + 1)

    return along(along(x, 2), 3)


def _deconv(cin, cout):
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.LeakyReLU(0.1, inplace=True))


def _predict(cin):
    return nn.Conv2d(cin, 2, 3, 1, 1, bias=False)


def _up_flow():
    return nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=False)


class FlowNetS(nn.Module):
    """FlowNetS with predictions at 1/2, 1/4, 1/8, 1/16, 1/32 of the input size.

    ``forward(img1, img2)`` takes two (B, 3, H, W) float tensors in ``[0, 1]`` with H and W
    divisible by 64 and returns a list of five (B, 2, H/2^k, W/2^k) flows, finest (k=1) first,
    each in pixels of its own scale.
    """

    def __init__(self, config: FlowNetSConfig | None = None, **kwargs):
        super().__init__()
        if config is None:
            config = FlowNetSConfig(**kwargs)
        elif kwargs:
            raise TypeError("pass either a FlowNetSConfig or keyword arguments, not both")
        if not config.width > 0:
            raise ValueError(f"width must be > 0, got {config.width}")
        self.config = config
        bn, pad = config.batch_norm, config.padding

        def c(n):
            return max(2, int(round(n * config.width)))

        c1, c2, c3, c4, c5, c6 = c(64), c(128), c(256), c(512), c(512), c(1024)
        if config.encoder == "stacked":
            self.conv1 = _conv(6, c1, 7, 2, bn, pad)
            self.conv2 = _conv(c1, c2, 5, 2, bn, pad)
            self.conv3 = _conv(c2, c3, 5, 2, bn, pad)
            self.conv3_1 = _conv(c3, c3, 3, 1, bn, pad)
        else:  # siamese: conv1..conv3 shared by both frames, fused after conv3 (released code)
            self.conv1 = _conv(3, c1, 7, 2, bn, pad)
            self.conv2 = _conv(c1, c2, 5, 2, bn, pad)
            self.conv3 = _conv(c2, c3, 5, 2, bn, pad)
            self.conv_redir = _conv(c3, c(32), 1, 1, bn, pad)
            self.conv3_1 = _conv(c(32) + 2 * c3, c3, 3, 1, bn, pad)
        self.conv4 = _conv(c3, c4, 3, 2, bn, pad)
        self.conv4_1 = _conv(c4, c4, 3, 1, bn, pad)
        self.conv5 = _conv(c4, c5, 3, 2, bn, pad)
        self.conv5_1 = _conv(c5, c5, 3, 1, bn, pad)
        self.conv6 = _conv(c5, c6, 3, 2, bn, pad)
        released = config.decoder == "released"
        self.conv6_1 = _conv(c6, c6, 3, 1, bn, pad, act="relu" if released else "leaky")
        if released:
            self._build_released_decoder(c)
        else:
            # decoder: 1/64 -> 1/32 (k=5) -> ... -> 1/2 (k=1)
            d5, d4, d3, d2, d1 = c(512), c(256), c(128), c(64), c(32)
            self.deconv5 = _deconv(c6, d5)
            self.predict5 = _predict(c5 + d5)
            self.up5 = _up_flow()
            self.deconv4 = _deconv(c5 + d5, d4)
            self.predict4 = _predict(c4 + d4 + 2)
            self.up4 = _up_flow()
            self.deconv3 = _deconv(c4 + d4 + 2, d3)
            self.predict3 = _predict(c3 + d3 + 2)
            self.up3 = _up_flow()
            self.deconv2 = _deconv(c3 + d3 + 2, d2)
            self.predict2 = _predict(c2 + d2 + 2)
            self.up2 = _up_flow()
            self.deconv1 = _deconv(c2 + d2 + 2, d1)
            self.predict1 = _predict(c1 + d1 + 2)
        self.register_buffer(
            "mean", torch.tensor(config.input_mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(config.input_std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False
        )
        if config.init == "keras":
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.xavier_uniform_(m.weight)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
        else:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.kaiming_normal_(m.weight, a=0.1, nonlinearity="leaky_relu")
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
            for p in (self.predict1, self.predict2, self.predict3, self.predict4, self.predict5):
                nn.init.normal_(p.weight, std=1e-3)

    def _build_released_decoder(self, c) -> None:
        """The released code's decoder (facialof_train.py 633-681): deconvolutions with LeakyReLU,
        1x1 ReLU fusions after the three coarsest stages, linear 3x3 predictors with bias."""
        c1, c2, c3, c4, c5, c6 = c(64), c(128), c(256), c(512), c(512), c(1024)

        def deconv(cin, cout):
            return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.1, inplace=True))

        def fuse(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 1), nn.ReLU(inplace=True))

        f5, f4, f3 = c(1024), c(1024), c(512)
        self.predict6 = nn.Conv2d(c6, 2, 3, 1, 1)
        self.deconv5 = deconv(c6, c5)
        self.fuse5 = fuse(c5 + c5 + 2, f5)
        self.predict5 = nn.Conv2d(f5, 2, 3, 1, 1)
        self.deconv4 = deconv(f5, c4)
        self.fuse4 = fuse(c4 + c4 + 2, f4)
        self.predict4 = nn.Conv2d(f4, 2, 3, 1, 1)
        self.deconv3 = deconv(f4, c3)
        self.fuse3 = fuse(c3 + c3 + 2, f3)
        self.predict3 = nn.Conv2d(f3, 2, 3, 1, 1)
        self.deconv2 = deconv(f3, c2)
        self.predict2 = nn.Conv2d(2 * c2 + 2, 2, 3, 1, 1)
        self.deconv1 = deconv(2 * c2 + 2, c1)
        self.predict1 = nn.Conv2d(2 * c1 + 2, 2, 3, 1, 1)

    @staticmethod
    def check_size(h: int, w: int) -> None:
        """Check that an input size suits the network.

        Parameters
        ----------
        h, w : int
            Input height and width.

        Raises
        ------
        ValueError
            A side is not a positive multiple of :data:`SIZE_MULTIPLE`.
        """
        if h % SIZE_MULTIPLE or w % SIZE_MULTIPLE or h <= 0 or w <= 0:
            raise ValueError(
                f"FlowNetS input size {h}x{w} is not divisible by {SIZE_MULTIPLE}; resize or pad "
                f"to a multiple of {SIZE_MULTIPLE} (predict_flow does this for you)"
            )

    def encode(self, img1: torch.Tensor, img2: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Encoder features ``(o1, o2, o3, o4, o5, o6)`` (skips and bottleneck) of a normalised pair.

        Stacked: the frames enter as 6 channels. Siamese: ``conv1 .. conv3`` run on each frame
        with the same weights; ``o1``, ``o2`` are the first frame's, and ``o3`` is ``conv3_1`` of
        ``[conv_redir(conv3(X1)), conv3(X1), conv3(X2)]`` (no correlation).
        """
        if self.config.encoder == "stacked":
            o1 = self.conv1(torch.cat([img1, img2], dim=1))
            o2 = self.conv2(o1)
            o3 = self.conv3_1(self.conv3(o2))
        else:
            b = img1.shape[0]
            t1 = self.conv1(torch.cat([img1, img2], dim=0))  # both frames through the shared tower
            t2 = self.conv2(t1)
            t3 = self.conv3(t2)
            a3, b3 = t3[:b], t3[b:]
            o1, o2 = t1[:b], t2[:b]
            o3 = self.conv3_1(torch.cat([self.conv_redir(a3), a3, b3], dim=1))
        o4 = self.conv4_1(self.conv4(o3))
        o5 = self.conv5_1(self.conv5(o4))
        o6 = self.conv6_1(self.conv6(o5))
        return o1, o2, o3, o4, o5, o6

    def forward_raw(self, img1: torch.Tensor, img2: torch.Tensor) -> list[torch.Tensor]:
        """Raw outputs, finest first: flow in input pixels / flow_scale (``decoder="faceflow"``) or
        in pixels of each output's own scale (``decoder="released"``).

        Parameters
        ----------
        img1, img2 : torch.Tensor
            (B, 3, H, W) RGB in [0, 1], H and W multiples of :data:`SIZE_MULTIPLE`.

        Returns
        -------
        list of torch.Tensor
            The five predictions, scale 1 (H/2) first.

        Raises
        ------
        ValueError
            The tensors differ in shape, are not (B, 3, H, W), or have a bad size.
        """
        if img1.shape != img2.shape or img1.ndim != 4 or img1.shape[1] != 3:
            raise ValueError(
                f"expected two (B, 3, H, W) tensors of equal shape, got {tuple(img1.shape)} and {tuple(img2.shape)}"
            )
        self.check_size(img1.shape[-2], img1.shape[-1])
        o1, o2, o3, o4, o5, o6 = self.encode((img1 - self.mean) / self.std, (img2 - self.mean) / self.std)
        if self.config.decoder == "released":
            return self._decode_released(o1, o2, o3, o4, o5, o6)
        cat5 = torch.cat([o5, self.deconv5(o6)], 1)
        f5 = self.predict5(cat5)
        cat4 = torch.cat([o4, self.deconv4(cat5), self.up5(f5)], 1)
        f4 = self.predict4(cat4)
        cat3 = torch.cat([o3, self.deconv3(cat4), self.up4(f4)], 1)
        f3 = self.predict3(cat3)
        cat2 = torch.cat([o2, self.deconv2(cat3), self.up3(f3)], 1)
        f2 = self.predict2(cat2)
        cat1 = torch.cat([o1, self.deconv1(cat2), self.up2(f2)], 1)
        f1 = self.predict1(cat1)
        return [f1, f2, f3, f4, f5]

    def _decode_released(self, o1, o2, o3, o4, o5, o6) -> list[torch.Tensor]:
        def up(f):  # a scale-k flow in scale-(k-1) pixels: bilinear x2 (TF1), values doubled
            return 2.0 * upsample2x_tf1(f)

        f6 = self.predict6(o6)
        d5 = self.fuse5(torch.cat([o5, self.deconv5(o6), up(f6)], 1))
        f5 = self.predict5(d5)
        d4 = self.fuse4(torch.cat([o4, self.deconv4(d5), up(f5)], 1))
        f4 = self.predict4(d4)
        d3 = self.fuse3(torch.cat([o3, self.deconv3(d4), up(f4)], 1))
        f3 = self.predict3(d3)
        d2 = torch.cat([o2, self.deconv2(d3), up(f3)], 1)
        f2 = self.predict2(d2)
        d1 = torch.cat([o1, self.deconv1(d2), up(f2)], 1)
        f1 = self.predict1(d1)
        return [f1, f2, f3, f4, f5]

    def forward(self, img1: torch.Tensor, img2: torch.Tensor) -> list[torch.Tensor]:
        """The five predictions in input pixels of their own scale, finest first.

        Parameters
        ----------
        img1, img2 : torch.Tensor
            As :meth:`forward_raw`.

        Returns
        -------
        list of torch.Tensor
            Prediction ``k`` (1..5) is (B, 2, H/2^k, W/2^k) in pixels of that scale.
        """
        raw = self.forward_raw(img1, img2)
        if self.config.decoder == "released":
            return raw
        s = self.config.flow_scale
        return [f * (s / 2**k) for k, f in enumerate(raw, start=1)]


def full_resolution(flow_k: torch.Tensor, k: int = 1) -> torch.Tensor:
    """Upsample a scale-``k`` prediction (B, 2, H/2^k, W/2^k) bilinearly to (B, 2, H, W), in input pixels.

    Parameters
    ----------
    flow_k : torch.Tensor
        The prediction at scale ``k``.
    k : int
        Its scale (the side is ``1 / 2**k`` of the input's).

    Returns
    -------
    torch.Tensor
        (B, 2, H, W) flow in input pixels.
    """
    f = 2**k
    return F.interpolate(flow_k, scale_factor=f, mode="bilinear", align_corners=False) * f


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 RGB (H, W, 3) -> float (1, 3, H, W) in [0, 1].

    Parameters
    ----------
    img : numpy.ndarray
        (H, W, 3) RGB; uint8 is divided by 255, other types are taken as they are.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        The image is not (H, W, 3).
    """
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {img.shape}")
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float()
    if img.dtype == np.uint8:
        t = t / 255.0
    return t.unsqueeze(0)


def predict_flow(
    model: FlowNetS,
    img1: np.ndarray,
    img2: np.ndarray,
    device: str = "cpu",
    size: tuple[int, int] | None = None,
    largest: bool = False,
) -> np.ndarray:
    """Flow from ``img1`` to ``img2`` (uint8 RGB of any equal size) as (H, W, 2) float32 pixels.

    The pair is resized bilinearly to ``size`` (default: the model's ``input_size`` attribute,
    which :func:`faceflow.training.load_checkpoint` sets to the training resolution, else the
    nearest multiple of 64 of each side, at least 64), the finest prediction is upsampled to that
    size, then resized back to the input size with the u and v values rescaled by the width and
    height ratios.

    With ``largest=True`` the largest prediction (k = 1) is returned as it is: an array of half
    the network's input size, in pixels of that grid (the paper's measurement, Sec. 5.1).

    Parameters
    ----------
    model : FlowNetS
        The network.
    img1, img2 : numpy.ndarray
        uint8 RGB frames of the same shape.
    device : str
        Torch device.
    size : (int, int), optional
        The (H, W) the network runs at.
    largest : bool
        Return the k = 1 prediction on its own grid instead of the flow at the input size.

    Returns
    -------
    numpy.ndarray
        (H, W, 2) float32 flow in input pixels (``largest``: (h/2, w/2, 2) of the network's input
        size, in pixels of that grid).

    Raises
    ------
    ValueError
        The images differ in shape, or ``size`` is not a multiple of :data:`SIZE_MULTIPLE`.
    """
    import cv2

    a, b = np.asarray(img1), np.asarray(img2)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    h, w = a.shape[:2]
    if size is None:
        size = getattr(model, "input_size", None)
    if size is None:
        size = (
            max(SIZE_MULTIPLE, int(round(h / SIZE_MULTIPLE)) * SIZE_MULTIPLE),
            max(SIZE_MULTIPLE, int(round(w / SIZE_MULTIPLE)) * SIZE_MULTIPLE),
        )
    hh, ww = size
    FlowNetS.check_size(hh, ww)
    if (hh, ww) != (h, w):
        a = cv2.resize(a, (ww, hh), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (ww, hh), interpolation=cv2.INTER_LINEAR)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            preds = model(to_tensor(a).to(device), to_tensor(b).to(device))
            if largest:
                return np.ascontiguousarray(preds[0][0].permute(1, 2, 0).cpu().numpy(), dtype=np.float32)
            flow = full_resolution(preds[0], 1)[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
    finally:
        model.train(was_training)
    if (hh, ww) != (h, w):
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
        flow[..., 0] *= w / ww
        flow[..., 1] *= h / hh
    return np.ascontiguousarray(flow, dtype=np.float32)
