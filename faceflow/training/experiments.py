"""The paper's experiments (Sec. 4.3) as named training configurations, as the text gives them and
as the authors' released code runs them.

=======  ============================================  ====================================  ==============
name     loss (text)                                   learning rate (Adam, beta 0.9/0.999)  init.
=======  ============================================  ====================================  ==============
Exp1     multi-scale EPE only (lambda1 = 1)            1e-4 faces, 5e-5 chairs; FlowNet       scratch
                                                       schedule (halve at 1/2, 2/3, 5/6)
Exp2I    lambda1 = 0.4 (EPE), lambda2 = 0.6 (cyclic)   2.5e-6 faces, 1.25e-6 chairs; const.   scratch
Exp2II   lambda1 = 0.75, lambda2 = 0.25                2.5e-6; constant                       scratch
Exp3I    (0.3, 0.5, 0.2), third = smoothness (Eq. 7)   2.5e-6; constant                       Exp2I
Exp3II   (0.3, 0.5, 0.2), third = AAE (Eq. 8)          2.5e-6; constant                       Exp2I
=======  ============================================  ====================================  ==============

``variant="text"`` (default) follows the paper's text. Exp2 starts from scratch: the text is silent,
but it introduces Exp1 as trained "from scratch ... exactly as in the next two experiments" (Sec.
4.3.1) and names an initialisation only for Exp3 (Sec. 4.3.3).

``variant="code"`` is what the authors' released code (malkaddour/Self-Supervised-Approach-for-
facial-movement-based-optical-flow at a10d548, ``facialof_train.py``) does, line by line:

* loss weights (train 1171-1185): Exp2I (1, 0), because its ``if`` is followed by a separate
  ``if/elif/else`` chain whose ``else`` overwrites it; Exp2II (0.75, 0.25); Exp3I/3II
  (0.3, 0.4, 0.3); Exp1, which the script cannot build as shipped, the same ``else`` branch (1, 0);
* multi-scale weights ``[5/6, 1/12, 1/18, 1/36, 0] * lambda1`` (``get_weights``, 1079-1103);
* Exp3: a duplicated dict key keeps only the third loss on the k = 1 output, dropping its EPE
  term (714-729); the smoothness term is a Charbonnier penalty, eps 0.01, alpha 0.5 (447-458);
  the angular term is on the k = 1 grid;
* the cyclic loss: TensorFlow's Huber, delta 1, on 0-255 intensities (441, 831-833);
* learning rate 2.5e-7, constant, for every experiment (1198-1212); batches of 16 consecutive
  pairs in sorted order, not shuffled (861-866);
* initialisation: Exp2II and Exp3 from the final Exp2I weights (1128-1130); Exp1, Exp2I from scratch;
* the network: siamese ``conv1 .. conv3`` towers fused after ``conv3``, the released decoder,
  TensorFlow padding, Keras initialisation, raw 0-255 inputs (487-704; see
  :mod:`faceflow.methods.flownets`).

:func:`differences` lists every difference for the book (``book/choices.md`` has the full table).
The learning rate of Sintel training is not given in the paper; we use the faces'.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

from faceflow import paper, profiles
from faceflow.training.losses import LossConfig, released_scale_weights

NAMES = paper.EXPERIMENTS
TRAIN_SETS = ("faces", "chairs", "sintel")
VARIANTS = ("text", "code")
#: Largest training resolution side (px): a FlowNetS batch at 4096 x 4096 needs tens of GB.
MAX_RESOLUTION = 4096

#: Text values: (lambda1, lambda2, lambda3), third loss, learning rate by train set, schedule, init.
_TEXT = {
    "Exp1": dict(
        lambdas=(1.0, 0.0, 0.0),
        third=None,
        lr={"faces": 1e-4, "chairs": 5e-5, "sintel": 1e-4},
        schedule="flownet",
        init_from=None,
    ),
    "Exp2I": dict(
        lambdas=(0.4, 0.6, 0.0),
        third=None,
        lr={"faces": 2.5e-6, "chairs": 1.25e-6, "sintel": 2.5e-6},
        schedule="constant",
        init_from=None,
    ),
    "Exp2II": dict(
        lambdas=(0.75, 0.25, 0.0),
        third=None,
        lr={"faces": 2.5e-6, "chairs": 2.5e-6, "sintel": 2.5e-6},
        schedule="constant",
        init_from=None,
    ),
    "Exp3I": dict(
        lambdas=(0.3, 0.5, 0.2),
        third="smooth",
        lr={"faces": 2.5e-6, "chairs": 2.5e-6, "sintel": 2.5e-6},
        schedule="constant",
        init_from="Exp2I",
    ),
    "Exp3II": dict(
        lambdas=(0.3, 0.5, 0.2),
        third="aae",
        lr={"faces": 2.5e-6, "chairs": 2.5e-6, "sintel": 2.5e-6},
        schedule="constant",
        init_from="Exp2I",
    ),
}

#: The released code's learning rate: ``LearningRate / 4`` with ``LearningRate = 0.01 / 10000``,
#: returned by its scheduler at every epoch (train 1198-1212), for every experiment.
CODE_LR = 0.01 / 10000 / 4

#: Released code: (lambda1, lambda2, lambda3) as its branches leave them, and the initialisation.
_CODE = {
    "Exp1": dict(lambdas=(1.0, 0.0, 0.0), init_from=None),
    "Exp2I": dict(lambdas=(1.0, 0.0, 0.0), init_from=None),
    "Exp2II": dict(lambdas=(0.75, 0.25, 0.0), init_from="Exp2I"),
    "Exp3I": dict(lambdas=(0.3, 0.4, 0.3), init_from="Exp2I"),
    "Exp3II": dict(lambdas=(0.3, 0.4, 0.3), init_from="Exp2I"),
}

#: The released code's network (:class:`faceflow.methods.flownets.FlowNetSConfig` fields): siamese
#: towers, its decoder, TensorFlow padding, Keras initialisation, raw 0-255 RGB input.
CODE_MODEL = {
    "encoder": "siamese",
    "decoder": "released",
    "padding": "tf-same",
    "init": "keras",
    "input_mean": [0.0, 0.0, 0.0],
    "input_std": [1 / 255, 1 / 255, 1 / 255],
}


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in its checkpoints, JSON-serialisable).

    Attributes
    ----------
    steps : int
        Optimiser steps.
    resolution : tuple of int
        (H, W) the pairs are resized to (multiple of 64).
    model : dict
        :class:`faceflow.methods.flownets.FlowNetSConfig` fields.
    loss : dict
        :class:`LossConfig` fields.
    init_config : dict or None
        The full config of the run whose final weights initialise this one (Exp3).
    lr_multiplier : float
        Scales the learning rate (1 = paper). The small profiles raise it because they train
        thousands of times fewer steps; the chapters say so.
    shuffle : bool
        Draw each epoch's batches from a seeded permutation (default); ``False`` takes
        consecutive slices of the dataset's order, as the released code does.
    """

    experiment: str = "Exp1"
    train_set: str = "faces"
    variant: str = "text"
    lr: float = 1e-4
    lr_multiplier: float = 1.0
    schedule: str = "flownet"
    betas: tuple = (0.9, 0.999)
    batch_size: int = 16
    steps: int = 1000
    resolution: tuple = (384, 512)
    val_every: int = 100
    val_pairs: int = 64
    seed: int = 0
    model: dict = field(default_factory=lambda: {"width": 1.0})
    loss: dict = field(default_factory=dict)
    init_from: str | None = None
    init_config: dict | None = None
    data: dict = field(default_factory=dict)
    shuffle: bool = True

    def __post_init__(self):
        self.betas = tuple(self.betas)
        self.resolution = tuple(int(x) for x in self.resolution)
        if self.schedule not in ("flownet", "constant"):
            raise ValueError(f"schedule must be 'flownet' or 'constant', got {self.schedule!r}")
        if self.resolution[0] % 64 or self.resolution[1] % 64:
            raise ValueError(f"resolution {self.resolution} must be divisible by 64")
        if not (min(self.resolution) >= 64 and max(self.resolution) <= MAX_RESOLUTION):
            raise ValueError(f"resolution {self.resolution} must have sides 64 to {MAX_RESOLUTION} px")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be >= 1")

    def loss_config(self) -> LossConfig:
        return LossConfig(**self.loss)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        d["resolution"] = list(self.resolution)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return cls(**copy.deepcopy(d))

    def learning_rate(self, step: int) -> float:
        """Learning rate at ``step`` (0-based). ``flownet``: FlowNet's schedule (constant, then
        halved after 300k, 400k and 500k of 600k iterations) scaled to ``steps``."""
        lr = self.lr * self.lr_multiplier
        if self.schedule == "flownet":
            for frac in (1 / 2, 2 / 3, 5 / 6):
                if step >= frac * self.steps:
                    lr /= 2
        return lr


def make(name: str, train_set: str = "faces", variant: str = "text", **overrides) -> TrainConfig:
    """The :class:`TrainConfig` of experiment ``name`` trained on ``train_set``.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`.
    train_set : str
        One of :data:`TRAIN_SETS`.
    variant : str
        ``"text"`` (the paper's text) or ``"code"`` (the authors' released code; module docstring).
    **overrides
        Any :class:`TrainConfig` field (steps, resolution, model, lr_multiplier, ...), applied to
        this run and to its initialisation run (Exp3; Exp2II in the code variant) too. ``loss``
        and ``model`` dicts update the experiment's values instead of replacing them.

    Raises
    ------
    ValueError
        Unknown experiment, training set or variant.
    """
    if name not in NAMES:
        raise ValueError(f"unknown experiment {name!r}; choose from {NAMES}")
    if train_set not in TRAIN_SETS:
        raise ValueError(f"unknown train_set {train_set!r}; choose from {TRAIN_SETS}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    spec = _TEXT[name]
    parent_overrides = {k: v for k, v in copy.deepcopy(overrides).items() if k != "loss"}
    if variant == "text":
        l1, l2, l3 = spec["lambdas"]
        loss = dict(lambda1=l1, lambda2=l2, lambda3=l3, third=spec["third"])
        cfg = dict(lr=spec["lr"][train_set], schedule=spec["schedule"], init_from=spec["init_from"], model={})
    else:
        code = _CODE[name]
        l1, l2, l3 = code["lambdas"]
        loss = dict(
            lambda1=l1,
            lambda2=l2,
            lambda3=l3,
            third=spec["third"],
            scale_weights=released_scale_weights(l1),
            drop_finest_epe=name.startswith("Exp3"),
            huber_d=1.0,
            intensity_scale=255.0,
            smooth_penalty="charbonnier",
            charbonnier_eps=0.01,
            charbonnier_alpha=0.5,
            aae_grid="k1",
        )
        cfg = dict(lr=CODE_LR, schedule="constant", init_from=code["init_from"], model=dict(CODE_MODEL), shuffle=False)
    loss.update(overrides.pop("loss", None) or {})
    # store every loss setting, defaults included, so a changed default invalidates cached runs
    cfg["loss"] = LossConfig(**loss).to_dict()
    cfg["model"] = {"width": 1.0, **cfg["model"], **(overrides.pop("model", None) or {})}
    cfg.update(experiment=name, train_set=train_set, variant=variant)
    cfg.update(overrides)
    if cfg["init_from"]:
        cfg["init_config"] = make(cfg["init_from"], train_set, variant, **parent_overrides).to_dict()
    return TrainConfig(**cfg)


def differences():
    """The training differences between the paper's text and the authors' released code, one row
    each, with the setting that switches it (``book/choices.md`` has the complete table).

    The values are read from :func:`make`'s configurations, so the table cannot drift from them.
    The cyclic loss's Huber penalty is not a row: both variants use d = 1 on 0-255 intensities.
    """
    import pandas as pd

    from faceflow.training.losses import text_scale_weights

    text = {n: make(n) for n in NAMES}
    code = {n: make(n, variant="code") for n in NAMES}
    lam = {
        v: {
            n: "/".join(f"{x:g}" for x in (c.loss["lambda1"], c.loss["lambda2"], c.loss["lambda3"]))
            for n, c in cs.items()
        }
        for v, cs in (("text", text), ("code", code))
    }
    rows = [
        (
            "FlowNetS encoder",
            "model.encoder",
            text["Exp1"].model.get("encoder", "stacked"),
            code["Exp1"].model["encoder"],
            "487-563",
        ),
        ("FlowNetS decoder", "model.decoder", "faceflow", code["Exp1"].model["decoder"], "615-681"),
        ("input range", "model.input_std", "[0, 1] - mean", "0-255", "831-833"),
        (
            "Eq. 4 scale weights (lambda1 = 1)",
            "loss.scale_weights",
            ", ".join(f"{w:.3g}" for w in text_scale_weights(1.0)),
            ", ".join(f"{w:.3g}" for w in code["Exp1"].loss["scale_weights"]),
            "1079-1103",
        ),
        *[(f"{n} lambda1/2/3", "variant", lam["text"][n], lam["code"][n], "1171-1185") for n in ("Exp2I", "Exp3I")],
        ("Exp3 k=1 EPE term", "loss.drop_finest_epe", "kept", "dropped", "714-729"),
        (
            "learning rate",
            "lr, schedule",
            f"{text['Exp1'].lr:g} (Exp1), {text['Exp2I'].lr:g}",
            f"{code['Exp1'].lr:g} constant",
            "1198-1212",
        ),
        (
            "Exp2II initialisation",
            "init_from",
            text["Exp2II"].init_from or "scratch",
            code["Exp2II"].init_from,
            "1128-1130",
        ),
        (
            "Eq. 7 smoothness penalty",
            "loss.smooth_penalty",
            f"Huber d = {text['Exp3I'].loss['smooth_d']:g}",
            f"Charbonnier eps {code['Exp3I'].loss['charbonnier_eps']:g}",
            "447-458",
        ),
        (
            "batch order",
            "shuffle",
            "shuffled" if text["Exp1"].shuffle else "in order",
            "shuffled" if code["Exp1"].shuffle else "in order",
            "861-866",
        ),
    ]
    return pd.DataFrame(rows, columns=["item", "setting", "text (default)", "code", "facialof_train.py lines"])


def for_profile(
    name: str,
    train_set: str = "faces",
    profile: str = "default",
    variant: str = "text",
    data: dict | None = None,
    **overrides,
) -> TrainConfig:
    """:func:`make` with the training settings of ``profile`` (:mod:`faceflow.profiles`); ``overrides`` win.

    Exp3 runs train ``finetune_steps`` from the Exp2I run of the same profile (``steps``), so
    the Exp2I run directory is shared with Table 2's Exp2I row. Exp2II of the code variant also
    starts from Exp2I but trains ``steps``, as long as the others (the code trains it 15 epochs).
    """
    p = profiles.get(profile).training
    data = dict(data or {})
    if train_set == "faces" and p.max_pairs:
        data.setdefault("max_pairs", dict(p.max_pairs))
    if train_set == "chairs":
        data.setdefault("n_shapes", p.n_shapes)
    base = dict(
        resolution=p.resolution,
        model={"width": p.width},
        batch_size=p.batch_size,
        steps=p.steps_for(train_set),
        lr_multiplier=p.lr_multiplier,
        val_every=p.val_every,
        val_pairs=p.val_pairs,
        data=data,
    )
    finetune = overrides.pop("finetune_steps", p.finetune_steps)
    base.update(overrides)
    cfg = make(name, train_set, variant, **base)
    if name.startswith("Exp3"):  # fine-tuned from Exp2I (Exp2II of the code variant trains full length)
        cfg.steps = int(finetune)
        cfg.val_every = min(cfg.val_every, cfg.steps)
    return cfg
