"""Synthetic flexion-extension pairs with known motion, for tests and benchmarks of the registration.

Draws L4, L5 and S1 (with a pelvis block that moves with S1) as textured bodies with a cortical rim on a smooth
soft-tissue background, in a flexion pose and in an extension pose that differs by known segmental rotations and
translations plus a global repositioning of the patient; optional pedicle screws (rigid with their body), rods (redrawn
between the moving screw heads) and an interbody cage with marker pins. This is not the product's radiograph simulator
(:mod:`fusionwatch.sim`): it exists so that the motion code can be tested without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from fusionwatch.anatomy import Corner, Endplate, Level, corner_name
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import Facing, Radiograph, View
from fusionwatch.units import Spacing, SpacingSource

__all__ = ["SyntheticPair", "synthetic_pair", "draw_capsule", "rigid"]


def rigid(angle_deg: float, tx: float, ty: float) -> np.ndarray:
    """3 x 3 rigid transform: rotation by ``angle_deg`` (image axes, clockwise on screen positive) then shift."""
    a = math.radians(angle_deg)
    return np.array([[math.cos(a), -math.sin(a), tx], [math.sin(a), math.cos(a), ty], [0.0, 0.0, 1.0]])


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return np.asarray(pts, float) @ m[:2, :2].T + m[:2, 2]


def draw_capsule(img: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float, value: float) -> None:
    """Add ``value`` inside a capsule (segment a-b thickened by ``radius`` px), anti-aliased, in place."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    lo = np.floor(np.minimum(a, b) - radius - 2).astype(int)
    hi = np.ceil(np.maximum(a, b) + radius + 2).astype(int)
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], img.shape[1]), min(hi[1], img.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(float)
    d = b - a
    t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(float(d @ d), 1e-9), 0.0, 1.0)
    dist = np.hypot(xx - (a[0] + t * d[0]), yy - (a[1] + t * d[1]))
    img[y0:y1, x0:x1] += value * np.clip(radius - dist + 0.5, 0.0, 1.0)


@dataclass
class _Body:
    level: Level
    width: float  # px, AP depth
    height: float  # px
    texture: np.ndarray
    taper: float = 0.0  # bottom edge narrower by this fraction (S1)

    def corners_local(self) -> np.ndarray:
        w, h = self.width / 2, self.height / 2
        wb = w * (1 - self.taper)
        # superior-anterior, superior-posterior, inferior-posterior, inferior-anterior (anterior = image left)
        return np.array([[-w, -h], [w, -h], [wb, h], [-wb, h]])

    def render(self, img: np.ndarray, pose: np.ndarray, value: float) -> None:
        c = _apply(pose, self.corners_local())
        pad = 4
        x0, y0 = np.floor(c.min(0) - pad).astype(int)
        x1, y1 = np.ceil(c.max(0) + pad).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, img.shape[1]), min(y1, img.shape[0])
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(float)
        inv = np.linalg.inv(pose)
        lx = inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]
        ly = inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]
        w, h = self.width / 2, self.height / 2
        half_w = w * (1 - self.taper * (ly + h) / (2 * h))
        inside = np.minimum(half_w - np.abs(lx), h - np.abs(ly))
        alpha = np.clip(inside + 0.5, 0.0, 1.0)
        rim = np.exp(-np.clip(inside, 0, None) / 4.0)  # cortical shell, ~4 px
        th, tw = self.texture.shape
        tex = ndimage.map_coordinates(self.texture, [ly + th / 2, lx + tw / 2], order=1, mode="reflect")
        img[y0:y1, x0:x1] += value * alpha * (0.75 + 0.6 * rim + tex)


@dataclass(frozen=True)
class SyntheticPair:
    """A flexion and an extension film with true landmarks and the true motion of each segment.

    ``truth[level]`` holds ``angle_deg`` (extension minus flexion of the segmental angle, lordosis positive),
    ``translation_mm`` and ``translation_percent`` (slip change, anterior positive), computed from the exact body
    transforms with the same definitions as :func:`fusionwatch.motion.register_motion`. ``transforms[level]`` is the
    true flexion -> extension pixel transform of each body. ``implants`` lists the drawn metal in extension pixels.
    """

    flexion: Radiograph
    extension: Radiograph
    lm_flexion: Landmarks
    lm_extension: Landmarks
    truth: dict[str, dict[str, float | None]]
    transforms: dict[str, np.ndarray]
    implants: dict[str, object] = field(default_factory=dict)


def _texture(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    n = ndimage.gaussian_filter(rng.normal(size=shape), 2.0)
    n /= n.std() + 1e-12
    return (0.12 * np.tanh(1.5 * n)).astype(np.float64)


def synthetic_pair(
    seed: int = 0,
    *,
    angle_deg: dict[str, float] | None = None,
    translation_mm: dict[str, float] | None = None,
    spacing_mm: float | None = 0.25,
    implants: bool = False,
    facing: Facing = Facing.LEFT,
    noise: float = 0.03,
    size: tuple[int, int] = (560, 520),
) -> SyntheticPair:
    """Draw a flexion-extension pair with known motion.

    Parameters
    ----------
    seed : int
        Random seed (textures, poses, noise).
    angle_deg : dict
        Segment -> extension minus flexion change of the segmental angle, degrees, lordosis positive. Default: 8 deg at
        L4-L5, 5 deg at L5-S1.
    translation_mm : dict
        Segment -> anterior shift of the upper body over the lower one along the lower endplate, extension minus
        flexion.
        Default 1 mm at L4-L5, 0.5 mm at L5-S1.
    spacing_mm : float | None
        Pixel size written to the films (``None``: uncalibrated). Drawing always uses 0.25 mm/px anatomy.
    implants : bool
        Add L5 and S1 pedicle screws, rods and an interbody cage with three marker pins at L5-S1.
    facing : Facing
        Which image side the patient faces.
    noise : float
        SD of the white noise added to each film (the bodies' mean contrast is about 1).
    size : (height, width)
        Film size in pixels.
    """
    rng = np.random.default_rng(seed)
    angle_deg = {"L4-L5": 8.0, "L5-S1": 5.0} if angle_deg is None else angle_deg
    translation_mm = {"L4-L5": 1.0, "L5-S1": 0.5} if translation_mm is None else translation_mm
    mm = 1 / 0.25  # px per mm of anatomy
    h_img, w_img = size
    bodies = {
        Level.L4: _Body(
            Level.L4, 42 * mm * rng.uniform(0.95, 1.05), 27 * mm * rng.uniform(0.95, 1.05), _texture(rng, (220, 240))
        ),
        Level.L5: _Body(
            Level.L5, 44 * mm * rng.uniform(0.95, 1.05), 26 * mm * rng.uniform(0.95, 1.05), _texture(rng, (220, 240))
        ),
        Level.S1: _Body(Level.S1, 42 * mm * rng.uniform(0.95, 1.05), 34 * mm, _texture(rng, (240, 240)), taper=0.3),
    }
    pelvis = _Body(Level.S1, 120 * mm, 70 * mm, _texture(rng, (340, 520)))
    disc = 10 * mm

    def poses(lordosis: dict[str, float], shift: dict[str, float]) -> dict[Level, np.ndarray]:
        ss = 38.0
        p = {Level.S1: rigid(-ss, w_img * 0.52, h_img * 0.78)}
        for upper, lower, name in ((Level.L5, Level.S1, "L5-S1"), (Level.L4, Level.L5, "L4-L5")):
            lo = p[lower]
            phi_lo = math.degrees(math.atan2(lo[1, 0], lo[0, 0]))
            phi_up = phi_lo + lordosis[name]
            top_mid = _apply(lo, np.array([[0.0, -bodies[lower].height / 2]]))[0]
            up_dir_lo = _apply(lo, np.array([[0.0, -1.0]]))[0] - lo[:2, 2]
            ap_dir_lo = _apply(lo, np.array([[-1.0, 0.0]]))[0] - lo[:2, 2]  # toward anterior
            mean = math.radians((phi_lo + phi_up) / 2)
            up_mean = np.array([math.sin(mean), -math.cos(mean)])
            bottom_mid = top_mid + disc * up_mean + shift[name] * mm * ap_dir_lo
            up_dir = np.array([math.sin(math.radians(phi_up)), -math.cos(math.radians(phi_up))])
            centre = bottom_mid + up_dir * bodies[upper].height / 2
            p[upper] = rigid(phi_up, *centre)
            del up_dir_lo
        return p

    base = {"L4-L5": 12.0, "L5-S1": 16.0}
    flex_lord = {k: base[k] - angle_deg.get(k, 0.0) / 2 for k in base}
    ext_lord = {k: base[k] + angle_deg.get(k, 0.0) / 2 for k in base}
    zero = {k: 0.0 for k in base}
    pf = poses(flex_lord, zero)
    pe0 = poses(ext_lord, {k: translation_mm.get(k, 0.0) for k in base})
    g = rigid(rng.uniform(-3, 3), rng.uniform(-8, 8), rng.uniform(-8, 8))  # patient repositioning
    centre = np.array([w_img / 2, h_img / 2])
    g = rigid(0, *centre) @ g @ rigid(0, *-centre)
    pe = {lv: g @ m for lv, m in pe0.items()}
    pelvis_local = rigid(0.0, 20 * mm, 38 * mm)  # pelvis block behind and below S1, rigid with it

    background = ndimage.gaussian_filter(rng.normal(size=(h_img // 8 + 2, w_img // 8 + 2)), 2.0)

    def film(p: dict[Level, np.ndarray], gain: float, offset: float, gshift: np.ndarray) -> tuple[np.ndarray, dict]:
        img = np.zeros((h_img, w_img))
        yy, xx = np.mgrid[0:h_img, 0:w_img].astype(float)
        inv = np.linalg.inv(gshift)
        by = (inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]) / 8
        bx = (inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]) / 8
        img += 0.4 + 0.25 * ndimage.map_coordinates(background, [by, bx], order=3, mode="nearest")
        pelvis.render(img, p[Level.S1] @ pelvis_local, 0.35)
        for lv in (Level.S1, Level.L5, Level.L4):
            bodies[lv].render(img, p[lv], 1.0)
        metal: dict = {}
        if implants:
            heads, screws = [], []
            for lv, depth in ((Level.L5, 0.2), (Level.S1, 0.25)):
                b = bodies[lv]
                tip_l = np.array([-b.width * 0.25, -b.height * 0.5 + b.height * depth])
                head_l = tip_l + np.array([45 * mm, 4 * mm])
                tip, head = _apply(p[lv], np.array([tip_l, head_l]))
                draw_capsule(img, head, tip, 3.2 * mm, 2.5)
                draw_capsule(
                    img, head, head + (_apply(p[lv], np.array([[0.0, -1.0]]))[0] - p[lv][:2, 2]) * 8 * mm, 5 * mm, 1.5
                )
                screws.append({"level": lv.value, "head": head.tolist(), "tip": tip.tolist()})
                heads.append(head)
            draw_capsule(img, heads[0], heads[1], 2.75 * mm, 2.5)
            cage_l = np.array([[-4 * mm, -bodies[Level.S1].height / 2 - 5 * mm]])
            cage_c = _apply(p[Level.S1], cage_l)[0]
            pins = []
            for dx in (-10, 0, 10):
                a = _apply(p[Level.S1], cage_l + np.array([[dx * mm, -3 * mm]]))[0]
                bpt = _apply(p[Level.S1], cage_l + np.array([[dx * mm, 3 * mm]]))[0]
                draw_capsule(img, a, bpt, 0.6 * mm, 2.5)
                pins.append(((a + bpt) / 2).tolist())
            metal = {
                "screws": screws,
                "rod": [heads[0].tolist(), heads[1].tolist()],
                "cage_centre": cage_c.tolist(),
                "pins": pins,
            }
        img = ndimage.gaussian_filter(img, 0.7)
        img = gain * img + offset + rng.normal(0, noise * gain, img.shape)
        return img.astype(np.float32), metal

    img_f, _ = film(pf, 1.0, 0.0, np.eye(3))
    img_e, metal = film(pe, rng.uniform(0.8, 1.2), rng.uniform(-0.1, 0.1), g)

    def landmarks(p: dict[Level, np.ndarray], view: View) -> Landmarks:
        pts: dict[str, tuple[float, float]] = {}
        for lv in (Level.L4, Level.L5):
            c = _apply(p[lv], bodies[lv].corners_local())
            pts[corner_name(lv, Endplate.SUPERIOR, Corner.ANTERIOR)] = tuple(c[0])
            pts[corner_name(lv, Endplate.SUPERIOR, Corner.POSTERIOR)] = tuple(c[1])
            pts[corner_name(lv, Endplate.INFERIOR, Corner.POSTERIOR)] = tuple(c[2])
            pts[corner_name(lv, Endplate.INFERIOR, Corner.ANTERIOR)] = tuple(c[3])
        c = _apply(p[Level.S1], bodies[Level.S1].corners_local())
        pts[corner_name(Level.S1, Endplate.SUPERIOR, Corner.ANTERIOR)] = tuple(c[0])
        pts[corner_name(Level.S1, Endplate.SUPERIOR, Corner.POSTERIOR)] = tuple(c[1])
        return Landmarks(
            {k: (float(v[0]), float(v[1])) for k, v in pts.items()}, w_img, h_img, view, source="synthetic:truth"
        )

    lm_f, lm_e = landmarks(pf, View.FLEXION), landmarks(pe, View.EXTENSION)
    transforms = {lv.value: pe[lv] @ np.linalg.inv(pf[lv]) for lv in pf}
    if facing is Facing.RIGHT:
        flip = np.array([[-1.0, 0, w_img - 1], [0, 1, 0], [0, 0, 1]])
        img_f, img_e = img_f[:, ::-1].copy(), img_e[:, ::-1].copy()
        from fusionwatch.landmarks import mirror

        lm_f, lm_e = mirror(lm_f), mirror(lm_e)
        transforms = {k: flip @ m @ flip for k, m in transforms.items()}
        if metal:

            def fx(p: list[float]) -> list[float]:
                return [w_img - 1 - p[0], p[1]]

            metal = {
                "screws": [{**s, "head": fx(s["head"]), "tip": fx(s["tip"])} for s in metal["screws"]],
                "rod": [fx(q) for q in metal["rod"]],
                "cage_centre": fx(metal["cage_centre"]),
                "pins": [fx(q) for q in metal["pins"]],
            }
    spacing = None if spacing_mm is None else Spacing.isotropic(spacing_mm, SpacingSource.PATIENT_PLANE)
    flex = Radiograph(img_f, spacing, View.FLEXION, facing, source=f"synthetic-flexion-{seed}")
    ext = Radiograph(img_e, spacing, View.EXTENSION, facing, source=f"synthetic-extension-{seed}")

    from fusionwatch.motion._geometry import parse_level, segment_points
    from fusionwatch.motion._register import _segment_motion

    sign = 1.0 if facing is Facing.LEFT else -1.0
    truth = {}
    for name in ("L4-L5", "L5-S1"):
        seg = parse_level(name)
        a, t_mm, pct, _, _ = _segment_motion(
            segment_points(lm_f, seg),
            segment_points(lm_e, seg),
            transforms[seg.upper.value],
            transforms[seg.lower.value],
            sign,
            spacing,
            spacing,
        )
        truth[name] = {"angle_deg": a, "translation_mm": t_mm, "translation_percent": pct}
    return SyntheticPair(flex, ext, lm_f, lm_e, truth, transforms, metal)
