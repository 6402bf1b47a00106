"""A small synthetic post-operative lateral film with known implant geometry (pixels), for the implant tests.

Layout (patient facing image-left, 0.2 mm/px): L5 body x 150..350, y 150..280; S1 superior endplate at y 330 with its
body below; one L5 and one S1 pedicle screw (head posterior, image-right); a rod through the screw heads; three cage
marker pins in the L5-S1 disc space. Capsules are drawn with :func:`fusionwatch.motion.synth.draw_capsule`: the metal
extends ``radius`` beyond each end point.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from fusionwatch.landmarks import Landmarks
from fusionwatch.motion.synth import draw_capsule
from fusionwatch.radiograph import Facing, Radiograph, View
from fusionwatch.units import Spacing, SpacingSource

SPACING_MM = 0.2
SCREW_RADIUS = 16.0  # px: 6.4 mm screw
ROD_RADIUS = 14.0  # px: 5.6 mm rod
PIN_RADIUS = 3.0
METAL = 2.5
L5_SCREW = ((420.0, 215.0), (190.0, 200.0))  # head, tip (capsule end points)
S1_SCREW = ((420.0, 365.0), (200.0, 385.0))
PINS = ((200.0, 305.0), (250.0, 305.0), (300.0, 305.0))


def _rotate(p: tuple[float, float], about: tuple[float, float], deg: float) -> tuple[float, float]:
    a = math.radians(deg)
    dx, dy = p[0] - about[0], p[1] - about[1]
    return (about[0] + dx * math.cos(a) - dy * math.sin(a), about[1] + dx * math.sin(a) + dy * math.cos(a))


def postop_film(
    *,
    seed: int = 0,
    l5_screw_turn_deg: float = 0.0,
    halo_mm: float = 0.0,
    rod_gap_px: float = 0.0,
    broken_screw_gap_px: float = 0.0,
    cage_shift_px: tuple[float, float] = (0.0, 0.0),
    solid_cage: bool = False,
    metal: bool = True,
    spacing: bool = True,
    saturate_at: float | None = None,
) -> tuple[Radiograph, Landmarks, dict]:
    """Draw the film; return it, its true landmarks and the true implant geometry (capsule end points, px).

    ``saturate_at``: clip the film there (as consoles show titanium: near-opaque, flat-topped); bone is ~1.0."""
    rng = np.random.default_rng(seed)
    h, w = 560, 600
    img = np.full((h, w), 0.3) + 0.05 * ndimage.gaussian_filter(rng.normal(size=(h, w)), 6)
    bone = np.zeros((h, w))
    bone[150:281, 150:351] = 1.0
    bone[330:540, 150:351] = 1.0
    bone = ndimage.gaussian_filter(bone, 1.0)
    img += bone * (0.7 + 0.1 * ndimage.gaussian_filter(rng.normal(size=(h, w)), 2) / 0.14)
    truth: dict = {"screws": [], "rod": None, "pins": []}
    if metal:
        l5_head, l5_tip = L5_SCREW
        l5_tip = _rotate(l5_tip, l5_head, l5_screw_turn_deg)
        if halo_mm > 0:
            draw_capsule(img, np.array(l5_head), np.array(l5_tip), SCREW_RADIUS + halo_mm / SPACING_MM, -0.35)
        draw_capsule(img, np.array(l5_head), np.array(l5_tip), SCREW_RADIUS, METAL + (0.35 if halo_mm > 0 else 0.0))
        truth["screws"].append({"level": "L5", "head": l5_head, "tip": l5_tip})
        s1_head, s1_tip = (np.array(p) for p in S1_SCREW)
        if broken_screw_gap_px > 0:
            mid = (s1_head + s1_tip) / 2
            u = (s1_tip - s1_head) / np.hypot(*(s1_tip - s1_head))
            a_end = mid - u * (broken_screw_gap_px / 2 + SCREW_RADIUS)
            b_start = mid + u * (broken_screw_gap_px / 2 + SCREW_RADIUS)
            draw_capsule(img, s1_head, a_end, SCREW_RADIUS, METAL)
            draw_capsule(img, b_start, s1_tip, SCREW_RADIUS, METAL)
        else:
            draw_capsule(img, s1_head, s1_tip, SCREW_RADIUS, METAL)
        truth["screws"].append({"level": "S1", "head": S1_SCREW[0], "tip": S1_SCREW[1]})
        top, bottom = np.array([440.0, 160.0]), np.array([440.0, 420.0])
        if rod_gap_px > 0:
            mid = (top + bottom) / 2
            draw_capsule(img, top, mid - [0, rod_gap_px / 2 + ROD_RADIUS], ROD_RADIUS, METAL)
            draw_capsule(img, mid + [0, rod_gap_px / 2 + ROD_RADIUS], bottom, ROD_RADIUS, METAL)
        else:
            draw_capsule(img, top, bottom, ROD_RADIUS, METAL)
        truth["rod"] = (tuple(top), tuple(bottom))
        if solid_cage:
            c = np.array([250.0 + cage_shift_px[0], 305.0 + cage_shift_px[1]])
            draw_capsule(img, c - [45, 0], c + [45, 0], 18.0, METAL)
            truth["cage_centre"] = tuple(c)
        else:
            for x, y in PINS:
                p = np.array([x + cage_shift_px[0], y + cage_shift_px[1]])
                draw_capsule(
                    img, p - [0, 8], p + [0, 8], PIN_RADIUS, METAL + 0.7
                )  # tantalum: as bright as screws in bone
                truth["pins"].append(tuple(p))
            truth["cage_centre"] = tuple(np.mean(truth["pins"], axis=0))
    img = ndimage.gaussian_filter(img, 0.8) + rng.normal(0, 0.02, (h, w))
    if saturate_at is not None:
        img = np.minimum(img, saturate_at)
    points = {
        "L5.superior.anterior": (150.0, 150.0),
        "L5.superior.posterior": (350.0, 150.0),
        "L5.inferior.anterior": (150.0, 280.0),
        "L5.inferior.posterior": (350.0, 280.0),
        "S1.superior.anterior": (150.0, 330.0),
        "S1.superior.posterior": (350.0, 330.0),
    }
    sp = Spacing.isotropic(SPACING_MM, SpacingSource.PATIENT_PLANE) if spacing else None
    film = Radiograph(img.astype(np.float32), sp, View.LATERAL, Facing.LEFT, source=f"postop-{seed}")
    return film, Landmarks(points, w, h, View.LATERAL, source="synthetic:truth"), truth


AP_MM = 0.8
"""AP film pixel size (mm): the simulator's 400 x 500 px films, where a 1.5 mm rod break is ~2 px wide."""


def ap_postop_film(
    *, seed: int = 0, rod_gap_px: float = 0.0, metal: bool = True, bright_beyond_tip: float = 0.0
) -> tuple[Radiograph, Landmarks, dict]:
    """A small AP post-operative film (0.8 mm/px) with opaque (saturating) metal, as consoles show titanium.

    L5 body x 170..230, y 120..170; S1 endplate at y 180 (x 165..235). Per side a rod at x = 140 / 260 from y 105 to
    205 with a head blob at each screw, and two screws converging from the heads into the L5 and S1 bodies. With
    ``rod_gap_px`` the left rod (image left) is cut at y 150 by a gap that narrow a blur fills partly. The pixel values
    saturate at 1.0 (metal), bone ~0.55-0.7, soft tissue ~0.3. ``bright_beyond_tip``: a spot of dense bone (cortex;
    this brightness, 3 px radius) touching each screw's metal end, e.g. 0.85: above the bone, under the metal. Returns
    the film, its AP landmarks and the true screw tips (px: capsule end points; the metal ends 3 px beyond them)."""
    rng = np.random.default_rng(seed)
    h, w = 260, 400
    img = np.full((h, w), 0.3) + 0.03 * ndimage.gaussian_filter(rng.normal(size=(h, w)), 4)
    bone = np.zeros((h, w))
    bone[120:171, 170:231] = 1.0
    bone[180:240, 165:236] = 1.0
    img += 0.3 * ndimage.gaussian_filter(bone, 1.0) * (1 + 0.2 * ndimage.gaussian_filter(rng.normal(size=(h, w)), 2))
    truth: dict = {"tips": []}
    m = np.zeros((h, w))
    if metal:
        for x_rod, sign in ((140.0, 1.0), (260.0, -1.0)):
            heads = [np.array([x_rod, 130.0]), np.array([x_rod, 190.0])]
            for head, tip_y in zip(heads, (160.0, 215.0), strict=True):
                tip = np.array([200.0 - sign * 12.0, tip_y])
                draw_capsule(m, head, tip, 3.0, 1.0)
                draw_capsule(m, head, head, 7.0, 1.0)
                truth["tips"].append(tuple(tip))
                if bright_beyond_tip > 0:
                    u = (tip - head) / np.hypot(*(tip - head))
                    spot = tip + u * 6.0  # its centre 3 px beyond the metal's end: the two touch
                    yy, xx = np.mgrid[0:h, 0:w]
                    img = np.where(np.hypot(xx - spot[0], yy - spot[1]) <= 3.0, np.maximum(img, bright_beyond_tip), img)
            top, bottom = np.array([x_rod, 105.0]), np.array([x_rod, 205.0])
            if rod_gap_px > 0 and sign > 0:
                mid = np.array([x_rod, 160.0])
                draw_capsule(m, top, mid - [0, rod_gap_px / 2 + 3.0], 3.0, 1.0)
                draw_capsule(m, mid + [0, rod_gap_px / 2 + 3.0], bottom, 3.0, 1.0)
            else:
                draw_capsule(m, top, bottom, 3.0, 1.0)
        m = np.clip(m, 0.0, 1.0)
    # opaque metal: the console shows it white, above every bone, with the detector blur
    img = np.where(m > 0, np.maximum(img, 0.6 + 0.4 * m), img)
    img = ndimage.gaussian_filter(img, 0.9) + rng.normal(0, 0.004, (h, w))
    img = np.clip(img, 0.0, 1.0)
    points = {
        "L5.superior.left": (170.0, 120.0),
        "L5.superior.right": (230.0, 120.0),
        "L5.inferior.left": (170.0, 170.0),
        "L5.inferior.right": (230.0, 170.0),
        "S1.superior.left": (165.0, 180.0),
        "S1.superior.right": (235.0, 180.0),
    }
    sp = Spacing.isotropic(AP_MM, SpacingSource.PATIENT_PLANE)
    film = Radiograph(img.astype(np.float32), sp, View.AP, None, source=f"ap-postop-{seed}")
    return film, Landmarks(points, w, h, View.AP, source="synthetic:truth"), truth
