"""Every LOSO fold (and seed) of a protocol trained at once: one batched STSTNet, same results.

:func:`faceflow.mer.loso.train_fold` trains one STSTNet per held-out subject: 500 full-batch Adam
steps of a network whose tensors are tiny, so most of its time is per-operation overhead. Here the
``K`` models of a protocol (one per held-out subject and seed) are trained together, each exactly
as :func:`~faceflow.mer.loso.train_fold` trains it: the same initial weights (``torch.manual_seed``
of the fold seed, then ``STSTNet()``), the same dropout masks (:func:`faceflow.mer.stst.dropout_keep`
on a generator seeded with the fold seed, one draw per epoch), batch-norm statistics and the loss
over the fold's own training samples, and one Adam step per epoch. Adam works element by element, so
one optimizer over the stacked parameters makes each model's own update. Results equal the
fold-by-fold ones up to float32 round-off (``tests/mer/test_batched.py``).

How one epoch is computed (``P``: the 27 input values under each 3x3 window plus a 1 for the
bias, shared by all models because every fold trains on the same images):

1. Forward, in chunks of a few images: ``Z = P @ W`` for the 16 channels of all ``K`` models at
   once (one GEMM), the held-out subject's block of its own models set to zero, ``R = relu(Z)``,
   the 3x3/3 max-pool (with its arg-max), ``U = P^T R`` and ``V = P^T [R > 0]`` (``V`` exactly:
   :func:`active_sums`). Batch norm with a positive scale is increasing, so max-pooling before it selects the same
   values; the batch-norm sums are ``s1 = sum R`` (the bias row of ``U``) and
   ``s2 = sum R^2 = sum R Z = w . U`` per channel.
2. The rest of the network on the pooled 10x10 maps (batch norm from ``s1, s2``, dropout, 2x2
   average pool, per-model linear layer by ``bmm``, each model's mean cross-entropy over its
   training samples), differentiated by autograd: the gradients of the small layers, of ``s1``,
   ``s2`` and of the pooled values.
3. Backward, in the same chunks: the pooled gradient routed to each window's arg-max
   (max-pool backward) and ``dW = P^T E + g_s1 V + 2 g_s2 U``, the exact convolution gradient.

So per epoch the convolution costs four GEMMs over the ``(images x 900 positions) x 16K`` maps
plus a few memory passes: the work grows with images x models, as in the loop, but in a few large
matrix products instead of many small operations. Speed:
``benchmarks/mer_loso_batched.py`` (ratio against the loop, measured in the same run).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from faceflow.mer.stst import STSTNet, dropout_keep, images_to_input

#: Channels of the fused convolution (conv1 3 + conv2 5 + conv3 8), values under one 3x3 window
#: of the 3-channel input, positions of the 30x30 convolution output, of the 10x10 pooled map.
CHANNELS, TAPS, POSITIONS, POOLED = 16, 27, 900, 100
#: Convolution-output values per chunk (images x positions x channels of all models): a few MB
#: keeps each chunk in cache between the steps that read it.
CHUNK_VALUES = 2_000_000


@dataclass(frozen=True)
class Fold:
    """One model of a batch: the held-out subject, the run seed and the fold's own seed."""

    subject: str
    seed: int
    fold_seed: int


def initial_model(fold_seed: int) -> STSTNet:
    """The STSTNet :func:`faceflow.mer.loso.train_fold` starts from, and its dropout generator.

    ``torch.manual_seed(fold_seed)`` then ``STSTNet()``, inside :func:`torch.random.fork_rng`
    (the caller's generator is left as it was); ``dropout_rng`` is
    ``numpy.random.default_rng(fold_seed)``.

    Parameters
    ----------
    fold_seed : int
        Seed of the fold.

    Returns
    -------
    STSTNet
        In training mode, with ``dropout_rng`` set.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(fold_seed))
        model = STSTNet()
    model.dropout_rng = np.random.default_rng(int(fold_seed))
    return model.train()


def fused_parameters(model: STSTNet) -> dict[str, torch.Tensor]:
    """The 16-channel convolution, batch norm and linear layer of one STSTNet, as in its fused forward.

    Parameters
    ----------
    model : STSTNet

    Returns
    -------
    dict
        ``weight`` (16, 27), ``bias``, ``gamma``, ``beta``, ``running_mean``, ``running_var`` (16,),
        ``fc_weight`` (3, 400), ``fc_bias`` (3,); copies.
    """
    streams = model._streams()
    bns = [bn for _, bn in streams]
    cat = torch.cat
    return {
        "weight": cat([c.weight.detach().reshape(c.out_channels, -1) for c, _ in streams]).clone(),
        "bias": cat([c.bias.detach() for c, _ in streams]).clone(),
        "gamma": cat([bn.weight.detach() for bn in bns]).clone(),
        "beta": cat([bn.bias.detach() for bn in bns]).clone(),
        "running_mean": cat([bn.running_mean for bn in bns]).clone(),
        "running_var": cat([bn.running_var for bn in bns]).clone(),
        "fc_weight": model.fc.weight.detach().clone(),
        "fc_bias": model.fc.bias.detach().clone(),
    }


def load_fused(model: STSTNet, params: dict[str, torch.Tensor], batches: int) -> STSTNet:
    """Write fused parameters (:func:`fused_parameters` layout) back into an STSTNet's streams.

    Parameters
    ----------
    model : STSTNet
        Modified in place.
    params : dict
        One model's parameters.
    batches : int
        ``num_batches_tracked`` of its batch norms (the epochs trained).

    Returns
    -------
    STSTNet
        ``model``.
    """
    i = 0
    with torch.no_grad():
        for conv, bn in model._streams():
            n = conv.out_channels
            conv.weight.copy_(params["weight"][i : i + n].reshape(conv.weight.shape))
            conv.bias.copy_(params["bias"][i : i + n])
            bn.weight.copy_(params["gamma"][i : i + n])
            bn.bias.copy_(params["beta"][i : i + n])
            bn.running_mean.copy_(params["running_mean"][i : i + n])
            bn.running_var.copy_(params["running_var"][i : i + n])
            bn.num_batches_tracked.fill_(int(batches))
            i += n
        model.fc.weight.copy_(params["fc_weight"])
        model.fc.bias.copy_(params["fc_bias"])
    return model


def _patches(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, 28, 28) input -> (N * 900, 28): the 27 values under each 3x3 window (padding 2) and a 1."""
    cols = F.unfold(x, kernel_size=3, padding=2).transpose(1, 2)  # (N, 900, 27), order (c, kh, kw)
    ones = torch.ones(*cols.shape[:2], 1, dtype=cols.dtype)
    return torch.cat([cols, ones], 2).reshape(-1, TAPS + 1).contiguous()


#: Rows of one float32 GEMM in :func:`active_sums`: with values of at most 255 every partial sum
#: stays below 2**24, so float32 adds these integers exactly, in any order.
EXACT_ROWS = 2**16


def active_sums(p: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """``p^T active`` computed exactly: the ``V = P^T [R > 0]`` of the convolution gradient.

    ``p`` holds integers 0..255 (pixel values and the bias's 1) and ``active`` 0 or 1, so each
    entry is an integer; float32 GEMMs over at most :data:`EXACT_ROWS` rows add them without
    round-off (an int8 GEMM gives the same numbers but is many times slower on CPUs without
    int8 dot-product instructions).

    Parameters
    ----------
    p : torch.Tensor
        (rows, 28) float32 patches.
    active : torch.Tensor
        (rows, C) float32 of 0 and 1.

    Returns
    -------
    torch.Tensor
        (28, C) float64.
    """
    out = torch.zeros(p.shape[1], active.shape[1], dtype=torch.float64)
    for a in range(0, p.shape[0], EXACT_ROWS):
        out += torch.mm(p[a : a + EXACT_ROWS].t(), active[a : a + EXACT_ROWS])
    return out


def _pair_sums(t: torch.Tensor) -> torch.Tensor:
    """(n, 10, 10, C) -> (n, 5, 5, C): sums over the 2x2 cells of the average pool."""
    n, c = t.shape[0], t.shape[-1]
    rows = t.view(n, 5, 2, 10, c)
    rows = rows[:, :, 0] + rows[:, :, 1]
    cols = rows.view(n, 5, 5, 2, c)
    return cols[:, :, :, 0] + cols[:, :, :, 1]


class BatchedSTST:
    """``K`` STSTNet LOSO folds over one image set, trained together (see the module docstring).

    Parameters
    ----------
    images : numpy.ndarray
        (N, 28, 28, 3) uint8 RGB feature images of the protocol.
    labels : array-like
        (N,) classes 0..2.
    subjects : array-like
        (N,) subject of every image.
    folds : sequence of Fold
        The models: each holds out ``subject`` and starts from :func:`initial_model` of ``fold_seed``.
    lr : float
        Adam learning rate.

    Raises
    ------
    ValueError
        Shapes disagree, a fold's subject is not in ``subjects`` or a fold would have no training data.
    """

    def __init__(self, images, labels, subjects, folds: Sequence[Fold], lr: float = 5e-5):
        images = np.asarray(images)
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        self.subjects = np.asarray(subjects).astype(str)
        n = len(images)
        if len(self.labels) != n or len(self.subjects) != n:
            raise ValueError(f"{n} images but {len(self.labels)} labels and {len(self.subjects)} subjects")
        self.folds = list(folds)
        unknown = sorted({f.subject for f in self.folds} - set(self.subjects.tolist()))
        if unknown:
            raise ValueError(f"held-out subjects not in the data: {unknown}")
        if any((self.subjects != f.subject).sum() == 0 for f in self.folds):
            raise ValueError("a fold would train on no sample (only one subject)")
        self.x = images_to_input(images)
        self.n, self.k = n, len(self.folds)
        self.width = CHANNELS * self.k
        # training samples of each model, in dataset order (the order train_fold sees them)
        self.train = np.stack([self.subjects != f.subject for f in self.folds])  # (K, N)
        self.n_train = self.train.sum(1)
        self.weight = torch.from_numpy(self.train / self.n_train[:, None]).float()  # loss weights (K, N)
        self.count = torch.from_numpy(np.repeat(self.n_train * POSITIONS, CHANNELS)).double()  # (16K,)
        self._chunks()
        self.P = _patches(self.x)
        models = [initial_model(f.fold_seed) for f in self.folds]
        self.rngs = [m.dropout_rng for m in models]
        p = [fused_parameters(m) for m in models]
        stack = {key: torch.stack([q[key] for q in p]) for key in p[0]}
        self.params = {
            key: stack[key].requires_grad_() for key in ("weight", "bias", "gamma", "beta", "fc_weight", "fc_bias")
        }
        self.running = {key: stack[key] for key in ("running_mean", "running_var")}
        self.momentum, self.eps = models[0].bn1.momentum, models[0].bn1.eps
        self.p_drop = models[0].dropout.p
        self.opt = torch.optim.Adam(list(self.params.values()), lr=lr)
        self.epoch = 0
        self.keep = np.zeros((n, POOLED, self.k, CHANNELS), np.uint8)  # dropout flags, held-out rows stay 0

    def _chunks(self) -> None:
        """Runs of images of one subject, at most ``CHUNK_VALUES`` conv outputs each; column blocks per subject."""
        per = max(1, CHUNK_VALUES // (POSITIONS * self.width))
        self.chunks = []  # (first image, end, subject)
        a = 0
        while a < self.n:
            s = self.subjects[a]
            b = a + 1
            while b < self.n and b - a < per and self.subjects[b] == s:
                b += 1
            self.chunks.append((a, b, s))
            a = b
        # the models holding out subject s: their columns are zeroed on s's images
        self.held = {}
        for j, f in enumerate(self.folds):
            self.held.setdefault(f.subject, []).append(j)
        self.held_cols = {
            s: torch.cat([torch.arange(j * CHANNELS, (j + 1) * CHANNELS) for j in js]) for s, js in self.held.items()
        }

    def _conv_weight(self) -> torch.Tensor:
        """(28, 16K) GEMM weight: the 27 taps of every channel of every model, then the biases."""
        w = self.params["weight"].detach().reshape(self.width, TAPS)
        return torch.cat([w.t(), self.params["bias"].detach().reshape(1, self.width)]).contiguous()

    def _draw_dropout(self) -> None:
        """One dropout mask per model (its generator's next draw) into ``self.keep``."""
        for j, rng in enumerate(self.rngs):
            flags = dropout_keep(rng, (int(self.n_train[j]), POOLED, CHANNELS), self.p_drop)
            self.keep[self.train[j], :, j, :] = flags

    def step(self) -> None:
        """One epoch: one full-batch Adam step of every model.

        Returns
        -------
        None

        Raises
        ------
        RuntimeError
            A batch-norm scale is not positive (max-pool and batch norm then do not commute).
        """
        if not bool((self.params["gamma"] > 0).all()):
            raise RuntimeError(
                "a batch-norm scale is not positive; the batched engine needs gamma > 0 (use engine='loop')"
            )
        n, width = self.n, self.width
        wc = self._conv_weight()
        self._draw_dropout()
        keep = torch.from_numpy(self.keep).view(n, 10, 10, width)
        cells = torch.empty(n, 5, 5, width)  # 2x2 sums of the kept pooled values
        kept = torch.empty(n, 5, 5, width)  # 2x2 counts of kept values
        active = torch.empty(n, 10, 10, width, dtype=torch.bool)  # kept and relu active at the arg-max
        argmax = torch.empty(n, 10, 10, width, dtype=torch.int16)
        u = torch.zeros(TAPS + 1, width, dtype=torch.float64)
        vt = torch.zeros(TAPS + 1, width, dtype=torch.float64)
        # buffers reused by every chunk: fresh multi-MB tensors would cost a page fault per page
        most = max(b - a for a, b, _ in self.chunks)
        buf = torch.empty(most * POSITIONS, width)
        positive = torch.empty(most * POSITIONS, width)
        for a, b, s in self.chunks:
            z = buf[: (b - a) * POSITIONS]
            p = self.P[a * POSITIONS : b * POSITIONS]
            torch.mm(p, wc, out=z)
            cols = self.held_cols.get(s)
            if cols is not None:  # the held-out subject's images do not reach its own models
                z.index_fill_(1, cols, 0.0)
            z.relu_()
            m, idx = F.max_pool2d(z.view(b - a, 30, 30, width).permute(0, 3, 1, 2), 3, 3, 1, return_indices=True)
            m = m.permute(0, 2, 3, 1).mul_(keep[a:b])
            torch.gt(m, 0.0, out=active[a:b])
            cells[a:b] = _pair_sums(m)
            kept[a:b] = _pair_sums(keep[a:b].float())
            argmax[a:b] = idx.permute(0, 2, 3, 1)
            u += torch.mm(p.t(), z)
            vt += active_sums(p, torch.sign(z, out=positive[: (b - a) * POSITIONS]))  # z >= 0: 1 where active
        # the batch-norm sums from U
        s1 = u[TAPS].clone().requires_grad_()
        s2 = (wc.double() * u).sum(0).requires_grad_()
        # the rest of the network, differentiated by autograd
        cells.requires_grad_()
        mean = s1 / self.count
        var = s2 / self.count - mean * mean
        invstd = torch.rsqrt(var + self.eps)
        scale = self.params["gamma"].reshape(width) * invstd
        shift = self.params["beta"].reshape(width) - mean * scale
        f = 0.25 / (1.0 - self.p_drop)  # 2x2 average of values scaled by 1 / (1 - p)
        feat = f * (scale.float() * cells + shift.float() * kept)  # (n, 5, 5, 16K)
        feat = feat.reshape(n, 25, self.k, CHANNELS).permute(2, 0, 3, 1).reshape(self.k, n, 400)
        logits = torch.baddbmm(self.params["fc_bias"].unsqueeze(1), feat, self.params["fc_weight"].transpose(1, 2))
        ce = F.cross_entropy(logits.reshape(-1, 3), self.labels.repeat(self.k), reduction="none")
        loss = (ce.view(self.k, n) * self.weight).sum()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            unbiased = var * self.count / (self.count - 1)
            rm, rv = self.running["running_mean"], self.running["running_var"]
            rm.mul_(1 - self.momentum).add_(self.momentum * mean.detach().float().view_as(rm))
            rv.mul_(1 - self.momentum).add_(self.momentum * unbiased.detach().float().view_as(rv))
        # backward through the max-pool (to each window's arg-max) and the convolution
        gcells = cells.grad.view(n, 5, 1, 5, 1, width)
        dw = torch.zeros(TAPS + 1, width, dtype=torch.float64)
        routed = torch.empty(most, 5, 2, 5, 2, width)
        where = torch.empty(most, 10, 10, width, dtype=torch.int64)
        grad_z = torch.empty(most * POSITIONS, width)
        for a, b, _ in self.chunks:
            g = torch.mul(
                gcells[a:b].expand(b - a, 5, 2, 5, 2, width),
                active[a:b].view(b - a, 5, 2, 5, 2, width),
                out=routed[: b - a],
            )
            e = grad_z[: (b - a) * POSITIONS]
            torch.ops.aten.max_pool2d_with_indices_backward.grad_input(
                g.view(b - a, 10, 10, width).permute(0, 3, 1, 2),
                buf[: (b - a) * POSITIONS].view(b - a, 30, 30, width).permute(0, 3, 1, 2),
                [3, 3],
                [3, 3],
                [1, 1],
                [1, 1],
                False,
                where[: b - a].copy_(argmax[a:b]).permute(0, 3, 1, 2),
                grad_input=e.view(b - a, 30, 30, width).permute(0, 3, 1, 2),
            )
            dw += torch.mm(self.P[a * POSITIONS : b * POSITIONS].t(), e)
        dw += s1.grad * vt + 2.0 * s2.grad * u
        self.params["weight"].grad = dw[:TAPS].t().reshape(self.k, CHANNELS, TAPS).float()
        self.params["bias"].grad = dw[TAPS].reshape(self.k, CHANNELS).float()
        self.opt.step()
        self.epoch += 1

    def model(self, j: int) -> STSTNet:
        """Model ``j`` as an ordinary STSTNet (eval mode).

        Parameters
        ----------
        j : int
            Index into ``folds``.

        Returns
        -------
        STSTNet
        """
        params = {key: t[j].detach() for key, t in {**self.params, **self.running}.items()}
        return load_fused(STSTNet(), params, self.epoch).eval()

    @torch.no_grad()
    def predict(self) -> list[np.ndarray]:
        """Classes each model predicts for its held-out subject's images (dataset order).

        Returns
        -------
        list of numpy.ndarray
            One (n_test,) int64 array per fold.
        """
        out = []
        for j in range(self.k):
            x = self.x[~self.train[j]].contiguous(memory_format=torch.channels_last)
            out.append(self.model(j)(x).argmax(1).numpy())
        return out

    def state(self) -> dict:
        """Everything needed to resume: parameters, running statistics, Adam, generators, epoch.

        Returns
        -------
        dict
        """
        return {
            "epoch": self.epoch,
            "params": {k: v.detach().clone() for k, v in self.params.items()},
            "running": {k: v.clone() for k, v in self.running.items()},
            "opt": copy.deepcopy(self.opt.state_dict()),  # its tensors are updated in place
            "rngs": [r.bit_generator.state for r in self.rngs],
        }

    def load_state(self, state: dict) -> None:
        """Resume from :meth:`state`.

        Parameters
        ----------
        state : dict

        Returns
        -------
        None
        """
        with torch.no_grad():
            for k, v in state["params"].items():
                self.params[k].copy_(v)
            for k, v in state["running"].items():
                self.running[k].copy_(v)
        self.opt.load_state_dict(state["opt"])
        for r, st in zip(self.rngs, state["rngs"]):
            r.bit_generator.state = st
        self.epoch = int(state["epoch"])
