"""Tests for fusionwatch.implants.fit: the model-based lateral screw search on low-contrast films."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from fusionwatch.anatomy import Level
from fusionwatch.implants.detection import _scale_px, body_polygons
from fusionwatch.implants.fit import fit_lateral_screw, refine_screw_edges
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


class TestRefineScrewEdges:
    """refine_screw_edges(): the axis from a screw's metal edges, with its SD."""

    @staticmethod
    def _screw(angle_deg: float, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from fusionwatch.motion.synth import draw_capsule

        rng = np.random.default_rng(seed)
        img = 0.5 + 0.1 * ndimage.gaussian_filter(rng.normal(size=(160, 220)), 3)
        a = math.radians(angle_deg)
        head = np.array([190.0, 80.0])
        tip = head - 140.0 * np.array([math.cos(a), math.sin(a)])
        metal = np.zeros_like(img)
        draw_capsule(metal, head, tip, 8.0, 1.0)
        img = np.maximum(img, ndimage.gaussian_filter(metal, 1.0)) + rng.normal(0, noise, img.shape)
        return img, head, tip

    @pytest.mark.parametrize("angle_deg", [-7.0, 0.0, 4.3])
    def test_recovers_axis(self, angle_deg: float) -> None:
        """A coarse axis 2 deg off is corrected to the drawn one within 0.2 deg; the SD is small but not zero."""
        img, head, tip = self._screw(angle_deg, 0.01, 0)
        u = (tip - head) / np.hypot(*(tip - head))
        rot = np.array([[math.cos(0.035), -math.sin(0.035)], [math.sin(0.035), math.cos(0.035)]])
        got = refine_screw_edges(img, head, head + rot @ u * 140.0, 16.0)
        assert got is not None
        new_head, new_tip, width, sd = got
        d = new_tip - new_head
        diff = math.degrees(math.atan2(d[1], d[0]) - math.atan2(u[1], u[0]))
        assert abs((diff + 180.0) % 360.0 - 180.0) < 0.2
        assert width == pytest.approx(16.0, abs=2.5)  # half-height edges of the blurred, anti-aliased capsule
        assert 0.0 < sd < 0.3

    def test_sd_grows_with_noise_and_covers_the_error(self) -> None:
        """Noisier films give a larger axis SD, and over 8 noisy films the errors stay within 3 SD."""
        sds, z = [], []
        for seed in range(8):
            img, head, tip = self._screw(3.0, 0.25, seed)
            got = refine_screw_edges(img, head, tip, 16.0)
            assert got is not None
            h, t, _, sd = got
            err = math.degrees(math.atan2(*(t - h)[::-1]) - math.atan2(*(tip - head)[::-1]))
            err = (err + 180.0) % 360.0 - 180.0
            sds.append(sd)
            z.append(err / sd)
        quiet = refine_screw_edges(*self._screw(3.0, 0.005, 0), 16.0)
        assert quiet is not None and quiet[3] < float(np.median(sds))
        assert max(abs(v) for v in z) < 3.0


def test_axis_barely_turns_when_the_bone_beside_one_end_brightens() -> None:
    """Bone brightening beside the head end on one side only (a graft maturing, a sclerotic rim) between two films
    must not turn the fitted axis: < 0.05 deg on a 140 px screw (attenuations add; the display saturates)."""
    from fusionwatch.motion.synth import draw_capsule

    rng = np.random.default_rng(3)
    bone = 0.5 + 0.03 * ndimage.gaussian_filter(rng.normal(size=(160, 220)), 2)
    head, tip = np.array([190.0, 80.0]), np.array([50.0, 80.0])
    metal = np.zeros_like(bone)
    draw_capsule(metal, head, tip, 8.0, 1.0)
    patch = np.zeros_like(bone)
    patch[50:72, 140:200] = 0.2  # brighter bone above the screw, near the head only
    later = bone + ndimage.gaussian_filter(patch, 2.0)

    def angle(img: np.ndarray) -> float:
        got = refine_screw_edges(np.minimum(img + ndimage.gaussian_filter(metal, 1.5), 1.2), head, tip, 16.0)
        assert got is not None
        d = got[1] - got[0]
        return math.degrees(math.atan2(d[1], d[0]))

    change = (angle(later) - angle(bone) + 180.0) % 360.0 - 180.0
    assert abs(change) < 0.05


class TestShaftOnlyEdges:
    """refine_screw_edges(..., shaft_only=True): a screw seen nearly end-on (AP film: ~22 px long, 8 px wide) with its
    coarse head inside the tulip head and a rod beside it, its coarse axis 10 deg off (as the route through the metal
    gives it)."""

    @staticmethod
    def _film(angle_deg: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from fusionwatch.motion.synth import draw_capsule

        rng = np.random.default_rng(seed)
        img = 0.5 + 0.03 * ndimage.gaussian_filter(rng.normal(size=(80, 80)), 2)
        a = math.radians(angle_deg)
        u = np.array([math.sin(a), math.cos(a)])  # head -> tip, mostly downwards
        head = np.array([40.0, 25.0])
        metal, tulip, rod = (np.zeros_like(img) for _ in range(3))
        draw_capsule(metal, head, head + 22.0 * u, 4.0, 1.0)
        draw_capsule(tulip, head - 1.0 * u, head - 6.0 * u, 7.8, 1.0)  # the head: ~2 shaft widths across
        c = head - 3.5 * u
        draw_capsule(rod, c + [3.0, -30.0], c + [-1.0, 2.0], 3.4, 1.0)
        m = np.maximum(np.maximum(metal, tulip), rod)
        img = np.minimum(img + ndimage.gaussian_filter(m, 1.2), 1.0) + rng.normal(0, 0.005, img.shape)
        return img, head + 22.0 * u, u

    @pytest.mark.parametrize(("angle_deg", "coarse_deg"), [(-30.0, 10.0), (-20.0, -10.0), (25.0, 10.0)])
    def test_axis_from_the_shaft_alone(self, angle_deg: float, coarse_deg: float) -> None:
        """Shaft profiles only: within 1 deg of the drawn axis; every profile (the tulip and rod included): > 5 deg."""
        img, tip, u = self._film(angle_deg, 0)
        r = math.radians(coarse_deg)
        coarse_head = tip - 25.0 * (np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]]) @ u)

        def error(shaft_only: bool) -> float:
            got = refine_screw_edges(img, coarse_head, tip, 9.0, shaft_only=shaft_only)
            assert got is not None
            d = got[1] - got[0]
            return math.degrees(math.acos(min(1.0, abs(float(d @ u)) / float(np.hypot(*d)))))

        assert error(True) < 1.0
        assert error(False) > 5.0

    def test_long_screw_unchanged_without_head(self) -> None:
        """A long screw without a head: the shaft-only fit agrees with the full fit within 0.1 deg."""
        img, head, tip = TestRefineScrewEdges._screw(3.0, 0.01, 0)
        a = refine_screw_edges(img, head, tip, 16.0)
        b = refine_screw_edges(img, head, tip, 16.0, shaft_only=True)
        assert a is not None and b is not None
        da, db = a[1] - a[0], b[1] - b[0]
        assert abs(math.degrees(math.atan2(da[1], da[0]) - math.atan2(db[1], db[0]))) < 0.1
