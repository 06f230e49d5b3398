"""Fine-tuning RAFT-small on face ground truth: the loss, the crops, a resumed run equals an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceflow.training import finetune


def test_sequence_loss_by_hand():
    gt = torch.zeros(1, 2, 4, 4)
    preds = [gt + 1.0, gt + 2.0]
    # first update weighs gamma = 0.5, the last 1: 0.5 * 1 + 1 * 2
    assert float(finetune.sequence_loss(preds, gt, gamma=0.5)) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="prediction"):
        finetune.sequence_loss([torch.zeros(1, 2, 4, 5)], gt)


def test_masked_sequence_loss_ignores_pixels_outside_the_mask():
    gt = torch.zeros(1, 2, 2, 2)
    mask = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]])
    # the three valid pixels are off by 1 in u and 0 in v; the invalid one by 5 in both
    first = torch.tensor([[[[1.0, 5.0], [1.0, 1.0]], [[0.0, 5.0], [0.0, 0.0]]]], requires_grad=True)
    last = (2 * first).detach().requires_grad_(True)
    loss = finetune.sequence_loss([first, last], gt, gamma=0.5, mask=mask)
    # each update: mean over the 6 valid entries (3 pixels x 2 components): 3 / 6 and 6 / 6
    assert float(loss.detach()) == pytest.approx(0.5 * 0.5 + 1.0)
    loss.backward()
    for p in (first, last):
        assert torch.all(p.grad[0, :, 0, 1] == 0)  # outside the mask: no gradient at all
        assert torch.all(p.grad[0, 0][mask[0, 0] > 0] > 0)  # inside: pulls u towards the ground truth
    assert float(finetune.sequence_loss([first, last], gt, gamma=0.5).detach()) > float(loss.detach())  # sees the 5s
    with pytest.raises(ValueError, match="mask"):
        finetune.sequence_loss([first], gt, mask=torch.ones(1, 2, 2, 2))


def test_masked_sequence_loss_with_a_mask_of_ones_is_the_plain_loss():
    g = torch.Generator().manual_seed(0)
    gt = torch.randn(3, 2, 8, 12, generator=g)
    preds = [torch.randn(3, 2, 8, 12, generator=g).requires_grad_(True) for _ in range(4)]
    plain = finetune.sequence_loss(preds, gt)
    plain_grads = torch.autograd.grad(plain, preds)
    masked = finetune.sequence_loss(preds, gt, mask=torch.ones(3, 1, 8, 12))
    masked_grads = torch.autograd.grad(masked, preds)
    assert float(masked) == pytest.approx(float(plain), rel=1e-6)
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-9) for a, b in zip(plain_grads, masked_grads))


def test_crop_carries_the_mask_with_the_flow():
    # every pixel's flow v is its own index; the mask marks the indices divisible by 3
    h, w = 8, 10
    index = torch.arange(h * w, dtype=torch.float32).view(1, h, w)
    flow = torch.cat([torch.full((1, h, w), 2.0), index])
    sample = {"img1": index.expand(3, h, w), "img2": index.expand(3, h, w), "flow": flow, "name": "p"}
    with_mask = {**sample, "mask": (index % 3 == 0).float()}
    for seed in range(20):
        out = finetune.crop_sample(with_mask, (4, 6), np.random.default_rng(seed), flip=True)
        plain = finetune.crop_sample(sample, (4, 6), np.random.default_rng(seed), flip=True)
        assert torch.equal(out["flow"], plain["flow"]) and torch.equal(out["img1"], plain["img1"])  # same draws
        assert out["mask"].shape == (1, 4, 6)
        assert torch.equal(out["mask"], (out["flow"][1:] % 3 == 0).float())  # same crop and flip as the flow
    assert "mask" not in plain


def test_flipped_crop_negates_u_and_mirrors():
    img = torch.arange(2 * 8 * 10, dtype=torch.float32).view(2, 8, 10)[:1].expand(3, 8, 10)
    flow = torch.stack([torch.full((8, 10), 2.0), torch.full((8, 10), -1.0)])
    sample = {"img1": img, "img2": img + 1, "flow": flow, "name": "p"}
    seen_flip = seen_plain = False
    for seed in range(20):
        out = finetune.crop_sample(sample, (4, 6), np.random.default_rng(seed), flip=True)
        assert out["img1"].shape == (3, 4, 6) and out["flow"].shape == (2, 4, 6)
        flipped = bool(out["flow"][0, 0, 0] < 0)
        seen_flip |= flipped
        seen_plain |= not flipped
        assert torch.all(out["flow"][1] == -1.0)
        row = out["img1"][0, 0]
        assert bool((row[1:] < row[:-1]).all()) == flipped  # a mirrored ramp decreases
    assert seen_flip and seen_plain
    with pytest.raises(ValueError, match="smaller than"):
        finetune.crop_sample(sample, (16, 16), np.random.default_rng(0), flip=False)


def test_config_checks_its_values():
    assert finetune.FinetuneConfig(steps=1, crop=[64, 128]).to_dict()["crop"] == [64, 128]
    # the plain run's config is what it was before the masked option (its runs are reused)
    assert "masked" not in finetune.FinetuneConfig(steps=1).to_dict()
    masked = finetune.FinetuneConfig(steps=1, masked=True).to_dict()
    assert masked["masked"] is True and finetune.FinetuneConfig(**masked) == finetune.FinetuneConfig(
        steps=1, masked=True
    )
    with pytest.raises(ValueError, match="multiples of 8"):
        finetune.FinetuneConfig(steps=1, crop=(60, 64))
    with pytest.raises(ValueError, match=">= 1"):
        finetune.FinetuneConfig(steps=0)


@pytest.mark.data
def test_resumed_run_equals_uninterrupted_run(tmp_path, fake_gt, data_root):
    face_dir = fake_gt(tmp_path / "gt", {f"seq{i}": (f"s{i}", 3) for i in range(4)}, size=(64, 96))
    cfg = finetune.FinetuneConfig(steps=2, batch_size=1, crop=(64, 64), iters=2, train_pairs=2)
    whole = finetune.finetune_raft(cfg, face_dir, tmp_path / "whole", data_root, device="cpu")
    part = finetune.finetune_raft(cfg, face_dir, tmp_path / "part", data_root, device="cpu", stop_after=1)
    assert finetune.read_finetuned(part)["step"] == 1 and not finetune.read_finetuned(part)["extra"]["finished"]
    part = finetune.finetune_raft(cfg, face_dir, tmp_path / "part", data_root, device="cpu")
    a, b = finetune.read_finetuned(whole), finetune.read_finetuned(part)
    assert a["step"] == b["step"] == 2 and b["extra"]["finished"]
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert (tmp_path / "whole" / "history.csv").is_file()
    name = finetune.register_finetuned(whole)
    from faceflow.methods import registry

    try:
        img = np.zeros((64, 80, 3), np.uint8)  # RAFT-small works on 64 px and up
        assert registry.estimate_flow(name, img, img).shape == (64, 80, 2)
    finally:
        registry.unregister(name)
    with pytest.raises(ValueError, match="not a fine-tuning checkpoint"):
        finetune.read_finetuned(face_dir / "manifest.csv")


@pytest.mark.data
def test_masked_run_records_its_loss_and_never_reuses_the_plain_run(tmp_path, fake_gt, data_root):
    from faceflow import profiles

    # crops of the whole frame, so each holds the masks' 4 invalid columns
    face_dir = fake_gt(tmp_path / "gt", {f"seq{i}": (f"s{i}", 3) for i in range(4)}, size=(64, 64))
    settings = profiles.FinetuneProfile(steps=2, batch_size=1, crop=(64, 64), iters=2, lr=1e-4, train_pairs=2)
    plain = finetune.FinetuneConfig.from_settings(settings, {}, seed=3)
    masked = finetune.FinetuneConfig.from_settings(settings, {}, seed=3, masked=True)
    assert plain.steps == 2 and plain.seed == 3 and not plain.masked and masked.masked
    run = tmp_path / "run"
    finetune.finetune_raft(plain, face_dir, run, data_root, device="cpu")
    before = finetune.read_finetuned(run / "last.pt")
    finetune.finetune_raft(masked, face_dir, run, data_root, device="cpu")
    after = finetune.read_finetuned(run / "last.pt")
    assert before["config"] == plain.to_dict() and after["config"] == masked.to_dict()
    assert not all(torch.equal(before["model"][k], after["model"][k]) for k in before["model"])
    # the same first prediction (same weights and crops), scored over the valid mask or the whole crop
    first_plain, first_masked = before["extra"]["history"][0], after["extra"]["history"][0]
    assert first_masked["epe"] == first_plain["epe"] and first_masked["epe_valid"] == first_plain["epe_valid"]
    assert first_masked["epe_valid"] != first_masked["epe"] and first_masked["loss"] != first_plain["loss"]
