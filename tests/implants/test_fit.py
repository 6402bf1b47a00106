"""Tests for fusionwatch.implants.fit: the model-based lateral screw search on low-contrast films."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from fusionwatch.anatomy import Level
from fusionwatch.implants.detection import _scale_px, body_polygons
from fusionwatch.implants.fit import fit_lateral_screw
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import Facing, Radiograph, View
from fusionwatch.units import Spacing, SpacingSource

MM = 0.4  # mm per px: a 45 mm screw is 112 px, 6.5 mm wide is 16 px
TIP, HEAD = np.array([95.0, 170.0]), np.array([205.0, 192.0])  # S1 screw, patient facing image-left
BONE, BACKGROUND = 1.0, 0.2


def _film(contrast: float, seed: int = 0) -> tuple[Radiograph, Landmarks]:
    """A 300 x 320 lateral film: L5, cage and S1 in one dense column on a steep bright ramp (sacrum and ilium), noise,
    and an S1 screw standing only ``contrast`` x (bone - background) above its surroundings (0 = no screw)."""
    rng = np.random.default_rng(seed)
    h, w = 300, 320
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    img = BACKGROUND + 0.6 * (BONE - BACKGROUND) * yy / h + 0.3 * xx / w
    bone = np.zeros((h, w))
    # L5, the disc space (holding a cage about as dense as bone), S1 and, posteriorly, pedicles, facets and lamina:
    # one dense column, as where the ilium overlaps the sacrum
    bone[60:280, 60:300] = 1.0
    img += 0.5 * ndimage.gaussian_filter(bone, 1.0)
    if contrast > 0:
        u = (TIP - HEAD) / np.hypot(*(TIP - HEAD))
        t = np.clip((xx - HEAD[0]) * u[0] + (yy - HEAD[1]) * u[1], 0, np.hypot(*(TIP - HEAD)))
        dist = np.hypot(xx - (HEAD[0] + t * u[0]), yy - (HEAD[1] + t * u[1]))
        img += contrast * (BONE - BACKGROUND) * (dist <= 3.25 / MM)
    img = ndimage.gaussian_filter(img, 1.0) + rng.normal(0, 0.03, (h, w))
    points = {
        "L5.superior.anterior": (60.0, 60.0),
        "L5.superior.posterior": (160.0, 60.0),
        "L5.inferior.anterior": (60.0, 130.0),
        "L5.inferior.posterior": (160.0, 130.0),
        "S1.superior.anterior": (60.0, 150.0),
        "S1.superior.posterior": (160.0, 150.0),
    }
    film = Radiograph(
        img.astype(np.float32), Spacing.isotropic(MM, SpacingSource.PATIENT_PLANE), View.LATERAL, Facing.LEFT
    )
    return film, Landmarks(points, w, h, View.LATERAL, source="synthetic:truth")


def _fit(contrast: float, seed: int = 0):
    film, lm = _film(contrast, seed)
    bodies = body_polygons(lm)
    return fit_lateral_screw(film, lm, bodies, Level.S1, _scale_px(bodies, film.pixels.shape), (1.5, BACKGROUND))


def test_faint_screw_on_a_ramp_is_found() -> None:
    """A screw only 6 % of the bone contrast above a steep ramp in dense bone: tip within 1.5 mm of the metal end
    (the drawn capsule reaches one radius beyond its end point), axis within 3 deg, head within 3 mm."""
    u = (TIP - HEAD) / np.hypot(*(TIP - HEAD))
    radius = 3.25 / MM
    for seed in (0, 1):
        fit = _fit(0.06, seed)
        assert fit is not None
        assert math.dist(fit.tip, TIP + u * radius) * MM < 1.5
        axis = (fit.tip - fit.head) / np.hypot(*(fit.tip - fit.head))
        assert math.degrees(math.acos(min(1.0, float(axis @ u)))) < 3.0
        assert math.dist(fit.head, HEAD - u * radius) * MM < 3.0


def test_no_screw_no_fit() -> None:
    """Ramp, bodies and noise but no metal: nothing passes the contrast and noise rules."""
    for seed in (0, 1, 2):
        assert _fit(0.0, seed) is None
