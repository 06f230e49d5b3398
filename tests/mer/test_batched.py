"""The batched LOSO engine: the same models as fold-by-fold training, resumable; dropout masks."""

import json

import numpy as np
import pytest
import torch

from faceflow.mer import batched, loso
from faceflow.mer.stst import STSTNet, dropout_keep, images_to_input

EPOCHS, LR = 6, 5e-3  # a large learning rate so that a few epochs move every weight


def _reference(ds, fold):
    """``train_fold`` of one fold, as the loop engine runs it."""
    train = ds.subjects != fold.subject
    x = images_to_input(ds.images[train]).contiguous(memory_format=torch.channels_last)
    y = torch.from_numpy(np.asarray(ds.labels[train]))
    return loso.train_fold(x, y, loso.LosoConfig(epochs=EPOCHS, lr=LR), fold.fold_seed)


def _folds(subjects, seeds):
    return [batched.Fold(s, seed, loso.fold_seed(seed, s)) for s in subjects for seed in seeds]


def test_batched_equals_fold_by_fold(toy_mer_set):
    torch.set_num_threads(1)
    ds = toy_mer_set(n_subj=4, per=6)
    folds = _folds(["s0", "s1", "s3"], [0, 1])
    model = batched.BatchedSTST(ds.images, ds.labels, ds.subjects, folds, lr=LR)
    for _ in range(EPOCHS):
        model.step()
    preds = model.predict()
    for j, fold in enumerate(folds):
        ref = _reference(ds, fold)
        start = batched.initial_model(fold.fold_seed).state_dict()
        mine = model.model(j).state_dict()
        for name, want in ref.state_dict().items():
            if not want.dtype.is_floating_point:
                assert int(mine[name]) == int(want) == EPOCHS, name  # num_batches_tracked
                continue
            scale = float(want.abs().max())
            err = float((mine[name] - want).abs().max())
            moved = float((start[name] - want).abs().max())
            assert err <= 1e-3 * scale, (fold, name, err, scale)
            assert moved > 100 * err, (fold, name, moved, err)  # training moved it far beyond the round-off
        test = ds.subjects == fold.subject
        x = images_to_input(ds.images[test]).contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            want_logits, got_logits = ref(x), model.model(j)(x)
        torch.testing.assert_close(got_logits, want_logits, rtol=1e-3, atol=1e-3 * float(want_logits.abs().max()))
        assert np.array_equal(preds[j], want_logits.argmax(1).numpy())


def test_run_loso_engines_agree_and_resume(tmp_path, toy_mer_set, monkeypatch):
    ds = toy_mer_set(n_subj=4, per=6)
    loop = loso.run_loso(ds, loso.LosoConfig(epochs=20, lr=LR, seed=3, engine="loop"), None, progress=False)
    cfg = loso.LosoConfig(epochs=20, lr=LR, seed=3)
    assert cfg.engine == "batched"
    fast = loso.run_loso(ds, cfg, tmp_path / "run", progress=False)
    assert fast["pred"].tolist() == loop["pred"].tolist()
    assert fast["subject"].tolist() == loop["subject"].tolist() and fast["name"].tolist() == loop["name"].tolist()
    assert not list((tmp_path / "run").glob("batched_state*"))  # removed once the run is done
    shared = loso.run_loso(ds, loso.LosoConfig(epochs=20, lr=LR, seed=3, workers=2), None, progress=False)
    assert shared["pred"].tolist() == loop["pred"].tolist()  # folds shared out between two processes
    # an interrupted run (state saved at epoch 10) resumes to the same predictions
    monkeypatch.setattr(loso, "CHECKPOINT_EPOCHS", 10)
    half = loso.LosoConfig(epochs=20, lr=LR, seed=3)
    folds = _folds(["s0", "s1", "s2", "s3"], [3])
    early = batched.BatchedSTST(ds.images, ds.labels, ds.subjects, folds, lr=LR)
    for _ in range(10):
        early.step()
    key = loso.cache_key(ds, half)
    folder = tmp_path / "resumed"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(key))
    torch.save(
        {"tag": {"key": key, "jobs": ["s0", "s1", "s2", "s3"]}, "state": early.state()}, folder / "batched_state_0.pt"
    )
    resumed = loso.run_loso(ds, half, folder, progress=False)
    assert resumed["pred"].tolist() == fast["pred"].tolist()


def test_state_round_trip_is_exact(toy_mer_set):
    ds = toy_mer_set(n_subj=3, per=6)
    folds = _folds(["s0", "s2"], [0])
    a = batched.BatchedSTST(ds.images, ds.labels, ds.subjects, folds, lr=LR)
    for _ in range(3):
        a.step()
    saved = a.state()
    b = batched.BatchedSTST(ds.images, ds.labels, ds.subjects, folds, lr=LR)
    b.load_state(saved)
    for _ in range(2):
        a.step()
        b.step()
    for name in a.params:
        assert torch.equal(a.params[name], b.params[name]), name
    assert a.epoch == b.epoch == 5


def test_batched_rejects_bad_folds(toy_mer_set):
    ds = toy_mer_set(n_subj=2, per=3)
    with pytest.raises(ValueError, match="not in the data"):
        batched.BatchedSTST(ds.images, ds.labels, ds.subjects, [batched.Fold("nobody", 0, 1)])
    with pytest.raises(ValueError, match="labels"):
        batched.BatchedSTST(ds.images, ds.labels[:-1], ds.subjects, [batched.Fold("s0", 0, 1)])
    one = ds.subjects == "s0"
    with pytest.raises(ValueError, match="no sample"):
        batched.BatchedSTST(ds.images[one], ds.labels[one], ds.subjects[one], [batched.Fold("s0", 0, 1)])
    with pytest.raises(ValueError, match="engine"):
        loso.run_loso(ds, loso.LosoConfig(epochs=1, engine="gpu"), None, progress=False)


def test_dropout_keep_draws_bits_in_order():
    a = dropout_keep(np.random.default_rng(5), (4, 10, 10, 16))
    b = dropout_keep(np.random.default_rng(5), (4, 10, 10, 16))
    assert a.dtype == np.uint8 and a.shape == (4, 10, 10, 16) and set(np.unique(a)) == {0, 1}
    assert np.array_equal(a, b) and 0.45 < a.mean() < 0.55
    # one bit per flag, most significant first: the flags are the generator's bytes
    raw = np.random.default_rng(5).bytes(2)
    assert a.ravel()[:16].tolist() == np.unpackbits(np.frombuffer(raw, np.uint8)).tolist()
    # a draw continues the generator: two draws of half the size give the same flags
    rng = np.random.default_rng(5)
    halves = np.concatenate([dropout_keep(rng, (2, 10, 10, 16)), dropout_keep(rng, (2, 10, 10, 16))])
    assert np.array_equal(halves, a)
    other = dropout_keep(np.random.default_rng(5), (10_000,), p=0.2)
    assert 0.77 < other.mean() < 0.83
    with pytest.raises(ValueError, match="dropout"):
        dropout_keep(np.random.default_rng(0), (3,), p=1.0)


def test_seeded_dropout_same_in_fused_and_stream_forward():
    x = torch.rand(5, 3, 28, 28) * 255
    nets = []
    for fused in (True, False):
        torch.manual_seed(0)
        net = STSTNet(fused=fused).train()
        net.dropout_rng = np.random.default_rng(9)
        nets.append(net)
    torch.testing.assert_close(nets[0](x), nets[1](x), rtol=1e-4, atol=1e-4)
    again = STSTNet(fused=True).train()
    again.load_state_dict(nets[0].state_dict())
    again.dropout_rng = np.random.default_rng(10)  # another generator: other masks
    assert not torch.allclose(again(x), nets[0](x))


def test_active_sums_are_exact_beyond_float32s_integer_range():
    """V = P^T [R > 0] sums integers up to 255 over many rows; one float32 GEMM would round them
    (its sums pass 2**24), the blocks of active_sums do not."""
    rng = np.random.default_rng(0)
    rows = 3 * batched.EXACT_ROWS + 123
    p = torch.from_numpy(rng.integers(200, 256, (rows, batched.TAPS + 1)).astype(np.float32))
    p[:, batched.TAPS] = 1.0
    active = torch.from_numpy((rng.random((rows, 5)) < 0.9).astype(np.float32))
    exact = p.numpy().astype(np.int64).T @ active.numpy().astype(np.int64)
    got = batched.active_sums(p, active)
    assert got.dtype == torch.float64 and exact.max() > 2**24
    assert np.array_equal(got.numpy(), exact.astype(np.float64))
