"""Generated data with exact flow, used when real data is absent (always labelled as generated).

* affine pairs of one image (:func:`affine_pair`);
* "flying shapes" (:func:`flying_shapes_pair`): textured shapes and background with random affine
  motions, the stand-in for FlyingChairs training pairs;
* generated face pairs (:func:`generated_face_pairs`): the astronaut's face with global, local and mixed
  motion, the stand-in for the face test set.
"""

from __future__ import annotations

import numpy as np

from faceflow.io.datasets import FlowPair


def fallback_image() -> np.ndarray:
    """scikit-image's astronaut photo (always available offline), RGB uint8 512x512.

    Returns
    -------
    ndarray, shape (512, 512, 3), uint8
    """
    from skimage import data as skdata

    return skdata.astronaut()


def affine_flow(shape: tuple[int, int], A: np.ndarray) -> np.ndarray:
    """Flow of the affine map ``p -> A @ [x, y, 1]`` on an (H, W) grid: ``A p - p``.

    Parameters
    ----------
    shape : (H, W)
    A : ndarray, shape (2, 3)

    Returns
    -------
    ndarray, shape (H, W, 2), float32

    Raises
    ------
    ValueError
        ``A`` is not 2x3.
    """
    A = np.asarray(A, dtype=np.float64)
    if A.shape != (2, 3):
        raise ValueError(f"A must be a 2x3 affine matrix, got shape {A.shape}")
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    u = A[0, 0] * xs + A[0, 1] * ys + A[0, 2] - xs
    v = A[1, 0] * xs + A[1, 1] * ys + A[1, 2] - ys
    return np.stack([u, v], axis=-1).astype(np.float32)


def affine_pair(img: np.ndarray, A: np.ndarray, name: str = "generated-affine") -> FlowPair:
    """Second frame = ``img`` moved by the affine map ``A`` (2x3); exact flow from frame 1 to 2.

    Parameters
    ----------
    img : ndarray
        Frame 1.
    A : ndarray, shape (2, 3)
    name : str

    Returns
    -------
    FlowPair
        Source ``generated``; frame 2 by ``cv2.warpAffine`` (bilinear, reflected border).

    Raises
    ------
    ValueError
        ``A`` is not 2x3.
    """
    import cv2

    img = np.asarray(img)
    h, w = img.shape[:2]
    img2 = cv2.warpAffine(img, np.asarray(A, np.float64), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return FlowPair(name, img, img2, affine_flow((h, w), A), source="generated")


def similarity(
    scale: float = 1.0,
    angle_deg: float = 0.0,
    tx: float = 0.0,
    ty: float = 0.0,
    center: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """2x3 matrix of a rotation/scale about ``center`` followed by a translation.

    Parameters
    ----------
    scale : float
    angle_deg : float
        Rotation, degrees (counter-clockwise in x-right/y-up, i.e. clockwise on screen).
    tx, ty : float
        Translation, px.
    center : (x, y)

    Returns
    -------
    ndarray, shape (2, 3)
    """
    a = np.deg2rad(angle_deg)
    c, s = scale * np.cos(a), scale * np.sin(a)
    cx, cy = center
    R = np.array([[c, -s], [s, c]])
    t = np.array([cx, cy]) - R @ np.array([cx, cy]) + np.array([tx, ty])
    return np.hstack([R, t[:, None]])


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random colour texture: blurred multi-scale noise plus a few sinusoidal stripes, uint8."""
    import cv2

    img = np.zeros((h, w, 3), np.float32)
    for scale in (4, 16, 48):
        sh, sw = max(2, h // scale + 2), max(2, w // scale + 2)
        noise = rng.random((sh, sw, 3), dtype=np.float32)
        img += cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC) * (scale / 48 + 0.3)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(2):
        f = rng.uniform(0.05, 0.4)
        a = rng.uniform(0, np.pi)
        img += 0.4 * np.sin(f * (np.cos(a) * xs + np.sin(a) * ys))[..., None] * rng.random(3, dtype=np.float32)
    img -= img.min()
    img /= max(float(img.max()), 1e-6)
    return (img * 255).astype(np.uint8)


def _random_affine(rng, h, w, max_shift, max_rot_deg, max_scale, center) -> np.ndarray:

    s = float(np.exp(rng.uniform(-max_scale, max_scale)))
    ang = float(rng.uniform(-max_rot_deg, max_rot_deg))
    tx, ty = (rng.uniform(-max_shift, max_shift, 2) * np.array([w, h])).tolist()
    A = similarity(s, ang, tx, ty, center)
    A[:, :2] += rng.normal(0, 0.01, (2, 2))  # a little shear
    return A


def flying_shapes_pair(
    seed: int,
    size=(384, 512),
    n_shapes=(2, 5),
    max_shift: float = 0.04,
    max_rot_deg: float = 8.0,
    max_scale: float = 0.08,
    name: str | None = None,
) -> FlowPair:
    """One generated pair: textured shapes with random affine motions over a textured background.

    The background moves with a small affine motion of its own, each shape with a larger one;
    the flow at a pixel of frame 1 is the affine motion of the topmost layer covering it
    (``A p - p``), exact by construction. Shifts are fractions of the image size.

    Parameters
    ----------
    seed : int
    size : (H, W)
    n_shapes : (int, int)
        Smallest and largest number of shapes.
    max_shift, max_rot_deg, max_scale : float
        Largest shift (fraction of the size), rotation (degrees) and log-scale of a shape.
    name : str, optional
        Default ``shapes-<seed>``.

    Returns
    -------
    FlowPair
        Source ``generated``.
    """
    import cv2

    rng = np.random.default_rng(seed)
    h, w = size
    bg = _texture(rng, h, w)
    A_bg = _random_affine(rng, h, w, max_shift / 3, max_rot_deg / 3, max_scale / 3, (w / 2, h / 2))
    img1 = bg.copy()
    img2 = cv2.warpAffine(bg, A_bg, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    flow = affine_flow((h, w), A_bg)
    for _ in range(int(rng.integers(n_shapes[0], n_shapes[1] + 1))):
        tex = _texture(rng, h, w)
        mask = np.zeros((h, w), np.uint8)
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        r = rng.uniform(0.08, 0.22) * min(h, w)
        if rng.random() < 0.5:
            cv2.ellipse(
                mask,
                (int(cx), int(cy)),
                (int(r), int(r * rng.uniform(0.5, 1.0))),
                float(rng.uniform(0, 180)),
                0,
                360,
                255,
                -1,
            )
        else:
            k = int(rng.integers(3, 7))
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            rad = r * rng.uniform(0.6, 1.2, k)
            pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)
            cv2.fillPoly(mask, [pts], 255)
        A = _random_affine(rng, h, w, max_shift, max_rot_deg, max_scale, (cx, cy))
        m1 = mask > 127
        img1[m1] = tex[m1]
        tex2 = cv2.warpAffine(tex, A, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        m2 = cv2.warpAffine(mask, A, (w, h), flags=cv2.INTER_NEAREST) > 127
        img2[m2] = tex2[m2]
        flow[m1] = affine_flow((h, w), A)[m1]
    return FlowPair(name or f"shapes-{seed}", img1, img2, flow.astype(np.float32), source="generated")


def generated_face_pairs(n: int = 6, size=(192, 256), seed: int = 0) -> list:
    """Generated stand-in for the face test set (always labelled ``generated``).

    The astronaut's face with exact flow of three motion types: global (similarity), local (eye
    and mouth bumps) and both. Frame 1 is frame 2 sampled at ``p + f(p)`` (``cv2.remap``), so
    ``f`` is exactly the flow from frame 1 to frame 2. The flow is zero outside an ellipse around
    the face, like the mesh-based ground truth.

    Parameters
    ----------
    n : int
        Pairs.
    size : (H, W)
    seed : int

    Returns
    -------
    list of FlowPair
    """
    import cv2

    rng = np.random.default_rng(seed)
    h, w = size
    base = cv2.resize(fallback_image()[20:260, 110:430], (w, h), interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = 0.52 * w, 0.5 * h
    face = ((xs - cx) / (0.3 * w)) ** 2 + ((ys - cy) / (0.45 * h)) ** 2 <= 1.0
    parts = [(0.42 * w, 0.4 * h), (0.62 * w, 0.4 * h), (0.52 * w, 0.72 * h)]  # eyes, mouth
    pairs = []
    for i in range(n):
        kind = ("global", "local", "both")[i % 3]
        flow = np.zeros((h, w, 2), np.float32)
        if kind in ("global", "both"):
            A = similarity(
                1 + rng.uniform(-0.02, 0.02), rng.uniform(-3, 3), rng.uniform(-2, 2), rng.uniform(-2, 2), (cx, cy)
            )
            flow += (0.12 if kind == "both" else 1.0) * affine_flow((h, w), A)
        if kind in ("local", "both"):
            for px, py in parts:
                amp = rng.uniform(1.0, 2.5) * rng.choice([-1, 1])
                g = np.exp(-((xs - px) ** 2 + (ys - py) ** 2) / (2 * (0.05 * w) ** 2))
                flow[..., 1] += amp * g
                flow[..., 0] += 0.3 * amp * g * rng.uniform(-1, 1)
        flow[~face] = 0
        img1 = cv2.remap(base, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        pairs.append(FlowPair(f"generated-{kind}-{i}", img1, base.copy(), flow, "generated"))
    return pairs
