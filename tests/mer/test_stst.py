"""STSTNet architecture and the published per-subject weights."""

import numpy as np
import pytest
import torch

from faceflow.mer import stst


def test_shapes_and_parameter_layout():
    m = stst.STSTNet()
    out = m(torch.rand(4, 3, 28, 28))
    assert out.shape == (4, 3)
    keys = set(m.state_dict())
    assert {"conv1.weight", "conv2.weight", "conv3.weight", "bn3.running_var", "fc.weight"} <= keys
    assert m.fc.in_features == 400
    with pytest.raises(ValueError):
        m(torch.rand(2, 3, 32, 32))


def test_fused_equals_streams():
    torch.manual_seed(0)
    a = stst.STSTNet(dropout=0.0, fused=True)
    b = stst.STSTNet(dropout=0.0, fused=False)
    b.load_state_dict(a.state_dict())
    x = torch.rand(8, 3, 28, 28) * 255
    # training mode: batch statistics, and the running statistics are updated identically
    ya, yb = a.train()(x), b.train()(x)
    assert torch.allclose(ya, yb, atol=1e-4)
    for k, v in a.state_dict().items():
        assert torch.allclose(v.float(), b.state_dict()[k].float(), atol=1e-5), k
    ga = torch.autograd.grad(ya.sum(), a.conv2.weight)[0]
    gb = torch.autograd.grad(yb.sum(), b.conv2.weight)[0]
    assert torch.allclose(ga, gb, rtol=1e-4, atol=1e-3)
    assert torch.allclose(a.eval()(x), b.eval()(x), atol=1e-4)


def test_images_to_input_is_bgr_0_255():
    img = np.zeros((1, 28, 28, 3), np.uint8)
    img[..., 0] = 10  # R
    img[..., 2] = 200  # B
    x = stst.images_to_input(img)
    assert x.shape == (1, 3, 28, 28)
    assert float(x[0, 0, 0, 0]) == 200 and float(x[0, 2, 0, 0]) == 10
    with pytest.raises(ValueError):
        stst.images_to_input(img.astype(np.float32))


@pytest.mark.data
def test_published_weights_reproduce_published_figures(data_root):
    """Each subject's published weights on its own images: 442 predictions, pooled figures."""
    from faceflow import paper
    from faceflow.mer import metrics

    df = stst.published_predictions(data_root)
    assert len(df) == 442
    pooled = metrics.pooled_metrics(df["label"], df["pred"])
    for k in ("accuracy", "UF1", "UAR"):
        assert pooled[k] == pytest.approx(paper.STSTNET_PUBLISHED[k], abs=5e-5), k


@pytest.mark.data
def test_published_weights_load_strict(data_root):
    subjects = sorted(p.stem for p in stst.weights_dir(data_root).glob("*.pth"))
    assert len(subjects) == 68
    m = stst.load_published(subjects[0], data_root)
    assert not m.training


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        ("random", r"006\.pth: not a STSTNet weights file \(not a readable torch file"),
        ("list", r"006\.pth: not an STSTNet weights file \(not a state dict of tensors\)"),
        ("other", r"006\.pth: not STSTNet weights \(Error\(s\) in loading state_dict"),
    ],
)
def test_published_weights_that_are_not_stst_weights_are_one_line_errors(tmp_path, content, expect):
    """Issue 14 row 7: a random or foreign .pth is refused with one line naming the file."""
    import torch

    from faceflow.mer.stst import load_published

    folder = tmp_path / "mer" / "stst_weights"
    folder.mkdir(parents=True)
    path = folder / "006.pth"
    if content == "random":
        path.write_bytes(np.random.default_rng(0).bytes(700))
    elif content == "list":
        torch.save([torch.zeros(2)], path)
    else:
        torch.save({"conv.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(ValueError, match=expect) as exc:
        load_published("006", tmp_path)
    assert "\n" not in str(exc.value)
