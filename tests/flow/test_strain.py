"""Optical strain (Eq. 10-11) and the STSTNet feature image."""

import numpy as np
import pytest

from faceflow.flow import strain


def _grid(h=20, w=30):
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return xs, ys


def test_translation_has_zero_strain():
    flow = np.zeros((16, 16, 2)) + np.array([1.5, -0.7])
    assert np.allclose(strain.strain_magnitude(flow), 0.0)


def test_linear_field_exact_strain():
    # u = a x + b y, v = c x + d y: exact derivatives everywhere (central and one-sided agree).
    a, b, c, d = 0.1, 0.3, -0.2, 0.05
    xs, ys = _grid()
    flow = np.stack([a * xs + b * ys, c * xs + d * ys], -1)
    exx, eyy, exy = strain.strain_tensor(flow)
    assert np.allclose(exx, a) and np.allclose(eyy, d) and np.allclose(exy, 0.5 * (b + c))
    mag = strain.strain_magnitude(flow)
    assert np.allclose(mag, np.sqrt(a**2 + d**2 + 2 * (0.5 * (b + c)) ** 2))


def test_rotation_has_zero_strain():
    # infinitesimal rotation: u = -w y, v = w x -> antisymmetric gradient, no strain
    xs, ys = _grid()
    w = 0.01
    flow = np.stack([-w * ys, w * xs], -1)
    assert np.allclose(strain.strain_magnitude(flow), 0.0)


def test_central_differences_interior():
    xs, ys = _grid()
    flow = np.stack([xs**2, np.zeros_like(xs)], -1)
    exx, _, _ = strain.strain_tensor(flow)
    assert np.allclose(exx[:, 1:-1], 2 * xs[:, 1:-1])  # central difference of x^2 is exact
    assert np.allclose(exx[:, 0], 1.0)  # one-sided on the border: (1 - 0) / 1


def test_features_shape_range_and_channels():
    rng = np.random.default_rng(0)
    flow = rng.normal(size=(60, 50, 2))
    f = strain.stst_features(flow)
    assert f.shape == (28, 28, 3) and f.dtype == np.float32
    for c in range(3):
        assert f[..., c].min() == 0.0 and f[..., c].max() == pytest.approx(1.0)
    img = strain.stst_image(flow)
    assert img.dtype == np.uint8 and img.min() == 0 and img.max() == 255
    # channel 0 is u: a flow with u only varying along x gives a u channel increasing along x
    xs, _ = _grid(40, 40)
    f2 = strain.stst_features(np.stack([xs, np.zeros_like(xs)], -1))
    assert np.all(np.diff(f2[0, :, 0]) > 0) and np.all(f2[..., 1] == 0)


def test_constant_channel_is_zero_and_bad_input():
    assert np.all(strain.minmax(np.ones((3, 3))) == 0)
    with pytest.raises(ValueError):
        strain.strain_magnitude(np.zeros((5, 5)))
    with pytest.raises(ValueError):
        strain.strain_magnitude(np.full((5, 5, 2), np.nan))
