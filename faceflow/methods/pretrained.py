"""Published pretrained flow networks: those whose weights are here, and the paper's CNNs, which do not run.

SPyNet (two sets) and RAFT-small stand in for the paper's CNN rows (FlowNet2.0, FlowNet3.0-CSS,
LiteFlowNet, PWC-Net), whose weights cannot be had here; the tables label them as substitutes.
:data:`PRETRAINED` describes each substitute; :func:`register_pretrained` puts those whose weight
files are present and intact into the flow-method registry (kind ``pretrained``), so they work in
``faceflow flow``, ``faceflow compare``, the chapters and the MER features like every other
method, and says for the others what is missing, where it comes from and where it goes.

:data:`PAPER_CNNS` is the one place that says, for each of the paper's four CNNs, where its
published weights come from and why it is not run here (:data:`PAPER_CNN_WHY`);
:func:`paper_cnn_status` turns that into the "not available" line that Table 3, chapter 04,
``faceflow flow --list``, ``faceflow compare`` and ``faceflow weights`` show.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from faceflow.methods.registry import methods_of_kind, register, unregister
from faceflow.methods.weights import spynet_file_names, weights_status

#: Registry name of RAFT-small fine-tuned on face ground truth (:mod:`faceflow.training.finetune`).
FINETUNED_NAME = "raft-small-faces"


@dataclass(frozen=True)
class PretrainedNet:
    """One published pretrained network.

    Attributes
    ----------
    name : str
        Registry name (``faceflow flow NAME``).
    label : str
        Name printed in the tables.
    weights : tuple of str
        Its files in :data:`faceflow.methods.weights.WEIGHTS`.
    description : str
        What it is and what it was trained on.
    min_size : int
        Smallest image side it runs on without padding or stretching the images past recognition.
    """

    name: str
    label: str
    weights: tuple[str, ...]
    description: str
    min_size: int = 1


#: Smallest sides (px): RAFT-small pads smaller images (replicating their border) up to
#: :data:`faceflow.methods.raft.MIN_SIZE` (1/8-resolution features, four correlation levels);
#: SPyNet stretches them to its :data:`~faceflow.methods.spynet.SIZE_MULTIPLE`. Below these the
#: flow describes the padding or the stretch, not the images (kept here: no torch import).
RAFT_MIN_SIZE = 64
SPYNET_MIN_SIZE = 32

PRETRAINED: dict[str, PretrainedNet] = {
    n.name: n
    for n in [
        PretrainedNet(
            "spynet-chairs",
            "SPyNet (Chairs)",
            tuple(spynet_file_names("chairs")),
            "SPyNet (Ranjan & Black 2017), published weights trained on FlyingChairs",
            SPYNET_MIN_SIZE,
        ),
        PretrainedNet(
            "spynet-sintel",
            "SPyNet (Sintel)",
            tuple(spynet_file_names("sintel")),
            "SPyNet (Ranjan & Black 2017), published weights fine-tuned on Sintel final",
            SPYNET_MIN_SIZE,
        ),
        PretrainedNet(
            "raft-small",
            "RAFT-small (C+T)",
            ("raft-small",),
            "RAFT-small (Teed & Deng 2020), official weights trained on FlyingChairs + FlyingThings, 12 iterations",
            RAFT_MIN_SIZE,
        ),
    ]
}


@dataclass(frozen=True)
class PaperCNN:
    """One of the paper's CNNs (a Table 3 row) that does not run here.

    Attributes
    ----------
    name : str
        The paper's name of the network (its Table 3 row).
    weights : str
        Where its published weights come from.
    """

    name: str
    weights: str


#: Why none of the paper's CNNs runs here.
PAPER_CNN_WHY = (
    "their published weights are not in the data root and nothing is downloaded at run time, so no "
    "implementation here could be checked against them (a strict load and a published EPE)"
)

#: The paper's CNNs (Sec. 5.2, Table 3), in the order their rows say "weights not available".
PAPER_CNNS: dict[str, PaperCNN] = {
    c.name: c
    for c in [
        PaperCNN(
            "FlowNet2.0",
            "lmb-freiburg/flownet2 (Caffe models; FlowNet2_checkpoint.pth.tar of NVIDIA/flownet2-pytorch in PyTorch)",
        ),
        PaperCNN("FlowNet3.0-CSS", "lmb-freiburg/netdef_models (TensorFlow FlowNet3 CSS; no PyTorch release)"),
        PaperCNN(
            "LiteFlowNet",
            "twhui/LiteFlowNet (Caffe models; network-default.pytorch of sniklaus/pytorch-liteflownet in PyTorch)",
        ),
        PaperCNN(
            "PWC-Net",
            "NVlabs/PWC-Net (Caffe and PyTorch models; network-default.pytorch of sniklaus/pytorch-pwc)",
        ),
    ]
}


@dataclass
class PretrainedStatus:
    """Whether a pretrained network can run here.

    Attributes
    ----------
    name : str
        Registry name.
    available : bool
        Every weight file is present and intact.
    reason : str
        Why not (the first problem file, where it comes from and where it goes); empty when available.
    """

    name: str
    available: bool
    reason: str = ""


def pretrained_status(root: str | os.PathLike | None = None) -> list[PretrainedStatus]:
    """For each network of :data:`PRETRAINED`: are its weight files present and intact?

    Parameters
    ----------
    root : path-like, optional
        The data root (default ``$FACEFLOW_DATA`` or ``./data``).

    Returns
    -------
    list of PretrainedStatus
    """
    from faceflow.methods.weights import weight_file

    out = []
    for net in PRETRAINED.values():
        table = weights_status(root, net.weights)
        bad = table[table["status"] != "present"]
        if bad.empty:
            out.append(PretrainedStatus(net.name, True))
            continue
        first = bad.index[0]
        entry = weight_file(first)
        reason = (
            f"weights not available: {bad.loc[first, 'path']} is {bad.loc[first, 'detail']}"
            f"{f' (and {len(bad) - 1} more of its files)' if len(bad) > 1 else ''}; "
            f"{entry.fetch_hint(bad.loc[first, 'path'])}"
        )
        out.append(PretrainedStatus(net.name, False, reason))
    return out


def paper_cnn_status() -> list[PretrainedStatus]:
    """The paper's CNNs (:data:`PAPER_CNNS`), none available, each with why and where its weights come from.

    Returns
    -------
    list of PretrainedStatus
        One per network of :data:`PAPER_CNNS`, in its order; ``reason`` starts with
        "weights not available".
    """
    return [
        PretrainedStatus(c.name, False, f"weights not available: {PAPER_CNN_WHY}. Published weights: {c.weights}.")
        for c in PAPER_CNNS.values()
    ]


def flow_function(name: str, root: str | os.PathLike | None = None, device: str = "cpu") -> Callable:
    """A flow function for pretrained network ``name``; the weights load (checksummed) on the first call.

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED`.
    root : path-like, optional
        The data root.
    device : str
        Torch device.

    Returns
    -------
    callable
        ``fn(img1, img2) -> (H, W, 2)`` float32 flow.

    Raises
    ------
    KeyError
        Unknown name.
    """
    if name not in PRETRAINED:
        raise KeyError(f"unknown pretrained network {name!r}; known: {', '.join(PRETRAINED)}")
    cache: dict = {}

    def fn(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
        if name == "raft-small":
            from faceflow.methods.raft import load_raft_small, raft_flow

            if "model" not in cache:
                cache["model"] = load_raft_small(root)
            return raft_flow(cache["model"], img1, img2, device=device)
        from faceflow.methods.spynet import load_spynet, spynet_flow

        if "model" not in cache:
            cache["model"] = load_spynet(name.split("-")[1], root)
        return spynet_flow(cache["model"], img1, img2, device=device)

    return fn


def register_pretrained(
    root: str | os.PathLike | None = None, device: str = "cpu", replace: bool = True
) -> list[PretrainedStatus]:
    """Register every pretrained network whose weight files are present and intact under ``root``.

    A network registered earlier (from another root) whose files are not under ``root`` is
    unregistered, so the registry says what runs from this root.

    Parameters
    ----------
    root : path-like, optional
        The data root.
    device : str
        Torch device.
    replace : bool
        Replace methods already registered under the same names.

    Returns
    -------
    list of PretrainedStatus
        Every network of :data:`PRETRAINED`, registered or not, so callers can say why one is missing.
    """
    statuses = pretrained_status(root)
    for st in statuses:
        net = PRETRAINED[st.name]
        if st.available:
            fn = flow_function(net.name, root, device)
            register(net.name, fn, net.description, "pretrained", replace, min_size=net.min_size)
        elif net.name in methods_of_kind("pretrained"):
            unregister(net.name)  # registered earlier from another root: not runnable from this one
    return statuses
