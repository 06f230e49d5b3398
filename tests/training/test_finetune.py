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
