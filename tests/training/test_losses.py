"""Losses of Sec. 4.3: hand-worked values and gradchecks on tiny inputs."""

from __future__ import annotations

import math

import pytest
import torch

from faceflow.training import losses as L

torch.set_default_dtype(torch.float32)


def test_huber_by_hand():
    x = torch.tensor([0.5, 2.0, -3.0, 0.0])
    # 0.5*0.25 ; 0.5 + 1*(2-1) ; 0.5 + (3-1) ; 0
    assert torch.allclose(L.huber(x, 1.0), torch.tensor([0.125, 1.5, 2.5, 0.0]))
    # d = 2: 0.125 ; 2 ; 2 + 2*(3-2) = 4
    assert torch.allclose(L.huber(x, 2.0), torch.tensor([0.125, 2.0, 4.0, 0.0]))
    with pytest.raises(ValueError):
        L.huber(x, 0.0)


def test_text_scale_weights_sum_to_lambda1():
    w = L.text_scale_weights(1.0)
    assert w == pytest.approx([16 / 31, 8 / 31, 4 / 31, 2 / 31, 1 / 31])
    assert sum(L.text_scale_weights(0.4)) == pytest.approx(0.4)


def test_downsample_flow_scales_values():
    gt = torch.zeros(1, 2, 8, 8)
    gt[:, 0], gt[:, 1] = 2.0, 4.0
    d1 = L.downsample_flow(gt, 1)
    assert d1.shape == (1, 2, 4, 4)
    assert torch.allclose(d1[:, 0], torch.full((1, 4, 4), 1.0))
    assert torch.allclose(d1[:, 1], torch.full((1, 4, 4), 2.0))
    assert torch.allclose(L.downsample_flow(gt, 3)[:, 1], torch.full((1, 1, 1), 0.5))


def _zero_preds(h=32, w=32):
    return [torch.zeros(1, 2, h // 2**k, w // 2**k) for k in range(1, 6)]


def test_multiscale_epe_by_hand():
    gt = torch.zeros(1, 2, 32, 32)
    gt[:, 0], gt[:, 1] = 3.0, 4.0  # |gt| = 5 px at full resolution -> 5 / 2^k at scale k
    preds = _zero_preds()
    assert float(L.multiscale_epe(preds, gt, [1, 0, 0, 0, 0])) == pytest.approx(2.5)
    assert float(L.multiscale_epe(preds, gt, [0, 0, 0, 0, 1])) == pytest.approx(5 / 32)
    w = L.text_scale_weights(1.0)
    expected = sum(wk * 5 / 2**k for k, wk in enumerate(w, start=1))  # = 5 * 341/992
    assert float(L.multiscale_epe(preds, gt, w)) == pytest.approx(expected)
    assert expected == pytest.approx(5 * (16 / 2 + 8 / 4 + 4 / 8 + 2 / 16 + 1 / 32) / 31)


def test_reconstruct_second_translation():
    x1 = torch.rand(1, 3, 6, 7)
    x2 = torch.zeros_like(x1)
    x2[..., :, 1:] = x1[..., :, :-1]  # content moves one pixel right: flow u = +1
    flow = torch.zeros(1, 2, 6, 7)
    flow[:, 0] = 1.0
    rec = L.reconstruct_second(x1, flow)
    assert torch.allclose(rec[..., :, 1:], x2[..., :, 1:], atol=1e-6)


def test_cyclic_loss_by_hand():
    a = torch.zeros(2, 3, 4, 4)
    b = torch.full((2, 3, 4, 4), 2.0)
    assert float(L.cyclic_loss(a, b, d=1.0)) == pytest.approx(1.5)
    b[:, 0] = 0.5  # channel 0: 0.125, channels 1-2: 1.5 -> mean (0.125 + 3) / 3
    assert float(L.cyclic_loss(a, b, d=1.0)) == pytest.approx((0.125 + 3.0) / 3)


def test_smoothness_by_hand_uses_all_four_derivatives():
    h, w = 5, 6
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    flow = torch.stack([0.5 * xs, 3.0 * ys])[None]  # du/dx = 0.5, dv/dy = 3, others 0
    assert float(L.smoothness_loss(flow, d=1.0)) == pytest.approx(0.125 + 2.5)
    flow = torch.stack([torch.zeros_like(xs), 0.5 * xs])[None]  # only dv/dx = 0.5
    assert float(L.smoothness_loss(flow, d=1.0)) == pytest.approx(0.125)  # the paper's typo would give 0
    flow = torch.stack([2.0 * ys, torch.zeros_like(xs)])[None]  # only du/dy = 2
    assert float(L.smoothness_loss(flow, d=1.0)) == pytest.approx(1.5)


def test_angular_loss_by_hand():
    gt = torch.zeros(1, 2, 2, 2)
    pred = torch.zeros(1, 2, 2, 2)
    pred[:, 0] = 1.0  # (1,0,1) vs (0,0,1): 45 degrees
    assert float(L.angular_loss(pred, gt)) == pytest.approx(math.pi / 4, abs=1e-6)
    assert float(L.angular_loss(gt, gt)) == pytest.approx(0.0, abs=1e-6)


def test_total_loss_combination_by_hand():
    gt = torch.zeros(1, 2, 64, 64)
    gt[:, 0], gt[:, 1] = 3.0, 4.0
    preds = _zero_preds(64, 64)
    img = torch.rand(1, 3, 64, 64)
    # zero flow and identical images: L2 = 0; smoothness of zero flow = 0
    cfg = L.LossConfig(lambda1=0.3, lambda2=0.5, lambda3=0.2, third="smooth")
    j, terms = L.total_loss(preds, gt, img, img, cfg)
    l1 = sum(wk * 5 / 2**k for k, wk in enumerate(L.text_scale_weights(0.3), start=1))
    assert float(j) == pytest.approx(l1, rel=1e-5)
    assert terms["L2"] == pytest.approx(0.0, abs=1e-6) and terms["L3"] == pytest.approx(0.0)
    # AAE term: zero prediction vs (3, 4): angle between (0,0,1) and (3,4,1) = atan2(5, 1)
    cfg = L.LossConfig(lambda1=0.3, lambda2=0.0, lambda3=0.2, third="aae")
    j, terms = L.total_loss(preds, gt, img, img, cfg)
    assert terms["L3"] == pytest.approx(math.atan2(5, 1), rel=1e-5)
    assert float(j) == pytest.approx(l1 + 0.2 * math.atan2(5, 1), rel=1e-5)
    # the authors'-code bug: the full-resolution (k=1) EPE term is dropped
    cfg = L.LossConfig(lambda1=0.3, lambda2=0.5, lambda3=0.2, third="smooth", drop_finest_epe=True)
    j, _ = L.total_loss(preds, gt, img, img, cfg)
    w = L.text_scale_weights(0.3)
    assert float(j) == pytest.approx(l1 - w[0] * 2.5, rel=1e-5)


def test_loss_config_validation():
    with pytest.raises(ValueError):
        L.LossConfig(third="tv")
    with pytest.raises(ValueError):
        L.LossConfig(scale_weights=[1, 2])
    assert L.LossConfig(scale_weights=[1, 0, 0, 0, 0]).weights() == [1, 0, 0, 0, 0]


# ---- gradchecks (float64, tiny inputs, away from the Huber kink and integer sample points) ----


def test_gradcheck_huber():
    x = torch.tensor([0.3, -0.7, 1.6, -2.4], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: L.huber(t, 1.0), (x,))


def test_gradcheck_multiscale_epe():
    g = torch.Generator().manual_seed(0)
    gt = torch.randn(1, 2, 32, 32, dtype=torch.float64, generator=g)
    preds = [
        torch.randn(1, 2, 32 // 2**k, 32 // 2**k, dtype=torch.float64, generator=g, requires_grad=True)
        for k in range(1, 6)
    ]
    w = L.text_scale_weights(0.75)
    assert torch.autograd.gradcheck(lambda *p: L.multiscale_epe(list(p), gt, w), tuple(preds))


def test_gradcheck_cyclic_and_warp():
    g = torch.Generator().manual_seed(1)
    img1 = torch.rand(1, 3, 5, 6, dtype=torch.float64, generator=g, requires_grad=True)
    img2 = torch.rand(1, 3, 5, 6, dtype=torch.float64, generator=g)
    flow = (0.3 + 0.4 * torch.rand(1, 2, 5, 6, dtype=torch.float64, generator=g)).requires_grad_(True)
    fn = lambda a, f: L.cyclic_loss(img2 * 4, L.reconstruct_second(a, f) * 4, d=1.0)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (img1, flow))


def test_gradcheck_smoothness():
    g = torch.Generator().manual_seed(2)
    flow = (torch.randn(1, 2, 4, 5, dtype=torch.float64, generator=g) * 2).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: L.smoothness_loss(f, d=1.0), (flow,))


def test_gradcheck_angular():
    g = torch.Generator().manual_seed(3)
    gt = torch.randn(1, 2, 3, 4, dtype=torch.float64, generator=g)
    pred = torch.randn(1, 2, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: L.angular_loss(p, gt), (pred,))


def test_gradcheck_total_loss():
    g = torch.Generator().manual_seed(4)
    gt = torch.randn(1, 2, 32, 32, dtype=torch.float64, generator=g)
    img1 = torch.rand(1, 3, 32, 32, dtype=torch.float64, generator=g)
    img2 = torch.rand(1, 3, 32, 32, dtype=torch.float64, generator=g)
    preds = [
        0.2 + 0.3 * torch.rand(1, 2, 32 // 2**k, 32 // 2**k, dtype=torch.float64, generator=g) for k in range(1, 6)
    ]
    finest = preds[0].clone().requires_grad_(True)  # the finest prediction enters every term
    cfg = L.LossConfig(lambda1=0.3, lambda2=0.5, lambda3=0.2, third="aae", intensity_scale=1.0)
    fn = lambda p: L.total_loss([p, *preds[1:]], gt, img1, img2, cfg)[0]  # noqa: E731
    assert torch.autograd.gradcheck(fn, (finest,), atol=1e-5)
    cfg = L.LossConfig(lambda1=0.3, lambda2=0.5, lambda3=0.2, third="smooth", intensity_scale=1.0)
    assert torch.autograd.gradcheck(fn, (finest,), atol=1e-5)


# ----------------------------------------------------------------------------- Huber d and released-code losses
def test_released_scale_weights_are_the_codes():
    assert L.released_scale_weights(1.0) == pytest.approx([5 / 6, 1 / 12, 1 / 18, 1 / 36, 0.0])
    w = L.released_scale_weights(0.3)
    assert w == pytest.approx([0.25, 0.025, 0.3 / 18, 0.3 / 36, 0.0]) and sum(w) == pytest.approx(0.3)
    assert w[-1] == 0.0  # exactly: the 12x16 scale gets no weight


def test_default_cyclic_penalty_is_linear_for_grey_level_residuals():
    cfg = L.LossConfig(lambda1=0.0, lambda2=1.0)
    assert (cfg.intensity_scale, cfg.huber_d) == (255.0, L.CYCLIC_HUBER_D) == (255.0, 1.0)
    img1 = torch.full((1, 3, 32, 32), 100 / 255)
    img2 = torch.full((1, 3, 32, 32), 110 / 255)  # 10 grey levels apart, zero flow
    _, terms = L.total_loss(_zero_preds(), torch.zeros(1, 2, 32, 32), img1, img2, cfg)
    assert terms["L2"] == pytest.approx(10 - 0.5, rel=1e-4)  # d(|x| - d) + d^2/2 with d = 1: linear zone


def test_smoothness_huber_default_threshold_and_by_hand():
    assert L.SMOOTH_HUBER_D < 0.005  # typical face-flow gradients (about 0.01 px/px) are in the linear zone
    flow = torch.zeros(1, 2, 3, 4)
    flow[0, 0] = torch.arange(4.0) * 0.1  # du/dx = 0.1 everywhere it is defined
    d = 0.01
    expected = d * (0.1 - d) + 0.5 * d * d  # only du/dx is non-zero; mean over its defined pixels
    assert float(L.smoothness_loss(flow, d)) == pytest.approx(expected)


def test_charbonnier_smoothness_as_released():
    eps = 0.01
    const = torch.ones(2, 2, 5, 4)
    assert float(L.smoothness_loss(const, penalty="charbonnier")) == pytest.approx(4 * eps)
    ramp = torch.zeros(1, 2, 3, 4)
    ramp[0, 0] = torch.arange(4.0)  # du/dx = 1 on 3 of 4 columns, 0 on the last (TF image_gradients)
    expected = 0.75 * math.sqrt(1 + eps**2) + 0.25 * eps + 3 * eps
    assert float(L.smoothness_loss(ramp, penalty="charbonnier")) == pytest.approx(expected)
    with pytest.raises(ValueError, match="penalty"):
        L.smoothness_loss(ramp, penalty="tv")


def test_angular_loss_on_k1_grid():
    gt = torch.zeros(1, 2, 32, 32)
    gt[:, 0] = 2.0  # (2, 0) px at full resolution -> (1, 0) on the k = 1 grid
    preds = _zero_preds()
    full = L.LossConfig(lambda1=0.0, lambda3=1.0, third="aae")
    k1 = L.LossConfig(lambda1=0.0, lambda3=1.0, third="aae", aae_grid="k1")
    img = torch.zeros(1, 3, 32, 32)
    _, tf = L.total_loss(preds, gt, img, img, full)
    _, tk = L.total_loss(preds, gt, img, img, k1)
    assert tf["L3"] == pytest.approx(math.atan(2.0)) and tk["L3"] == pytest.approx(math.atan(1.0))


def test_dropped_k1_term_with_released_weights():
    cfg = L.LossConfig(lambda1=0.3, scale_weights=L.released_scale_weights(0.3), drop_finest_epe=True)
    assert cfg.weights() == pytest.approx([0.0, 0.025, 0.3 / 18, 0.3 / 36, 0.0])


def _masked_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    gt = torch.randn(2, 2, 32, 32, generator=g)
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:24, 4:28] = 1.0  # a face in the middle of each crop
    return gt, mask


def test_masked_multiscale_epe_has_no_gradient_outside_the_mask():
    gt, mask = _masked_batch()
    preds = [torch.randn(2, 2, 32 // 2**k, 32 // 2**k, requires_grad=True) for k in range(1, 6)]
    loss = L.multiscale_epe(preds, gt, L.text_scale_weights(1.0), mask)
    loss.backward()
    for k, p in enumerate(preds, start=1):
        inside = L.scale_mask(mask, k).expand_as(p).bool()
        assert (~inside).any() and float(p.grad[~inside].abs().max()) == 0.0
        if k <= 3:  # from 1/16 on, no block lies wholly in this small face: those terms are empty
            assert float(p.grad[inside].abs().max()) > 0
    # a prediction wrong only outside the mask has zero masked loss and a positive plain one
    exact = [L.downsample_flow(gt, k).clone() for k in range(1, 6)]
    for k, p in enumerate(exact, start=1):
        p[~L.scale_mask(mask, k).expand_as(p).bool()] += 3.0
    assert float(L.multiscale_epe(exact, gt, L.text_scale_weights(1.0), mask)) == pytest.approx(0.0, abs=1e-6)
    assert float(L.multiscale_epe(exact, gt, L.text_scale_weights(1.0))) > 1.0


def test_masked_terms_equal_the_plain_ones_with_a_mask_of_ones():
    gt, _ = _masked_batch(1)
    ones = torch.ones(2, 1, 32, 32)
    preds = [torch.randn(2, 2, 32 // 2**k, 32 // 2**k) for k in range(1, 6)]
    img1, img2 = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    for third in ("smooth", "aae"):
        cfg = L.LossConfig(0.3, 0.5, 0.2, third=third)
        masked = L.LossConfig(0.3, 0.5, 0.2, third=third, masked=True)
        j, _ = L.total_loss(preds, gt, img1, img2, cfg)
        jm, _ = L.total_loss(preds, gt, img1, img2, masked, ones)
        assert float(jm) == pytest.approx(float(j), rel=1e-6)
    with pytest.raises(ValueError, match="valid mask"):
        L.total_loss(preds, gt, img1, img2, L.LossConfig(masked=True))


def test_masked_cyclic_smoothness_and_angular_terms_ignore_pixels_outside_the_mask():
    gt, mask = _masked_batch(2)
    flow = torch.randn(2, 2, 32, 32, requires_grad=True)
    img1, img2 = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    outside = ~mask.expand(2, 2, 32, 32).bool()
    for loss in (
        L.cyclic_loss(img2 * 255, L.reconstruct_second(img1, flow) * 255, 1.0, mask),
        L.smoothness_loss(flow, mask=mask),
        L.smoothness_loss(flow, penalty="charbonnier", mask=mask),
        L.angular_loss(flow, gt, mask),
    ):
        flow.grad = None
        loss.backward()
        assert float(flow.grad[outside].abs().max()) == 0.0
        assert float(flow.grad[~outside].abs().max()) > 0
