"""Tests for fusionwatch.implants.halo: width of the radiolucent rim around a screw."""

from __future__ import annotations

import dataclasses

import pytest

from fusionwatch.implants import detect_implants, halo_width

from ._draw import postop_film

# Budget: 0.15 mm (3/4 px at 0.2 mm/px) for rims of 1 mm or more; blur (sigma 0.8 px) widens thinner ones slightly.
HALO_TOL_MM = 0.15


class TestHaloWidth:
    """halo_width() on screws drawn with a rim of known width."""

    @pytest.mark.parametrize("halo_mm", [1.0, 1.5, 2.0])
    def test_recovers_known_width(self, halo_mm: float) -> None:
        """A rim drawn halo_mm wide measures halo_mm within the budget."""
        film, lm, _ = postop_film(halo_mm=halo_mm, seed=1)
        screw = detect_implants(film, lm).screws[0]
        h = halo_width(film, screw)
        assert h.width_mm == pytest.approx(halo_mm, abs=HALO_TOL_MM)
        assert h.width_px == pytest.approx(halo_mm / 0.2, abs=HALO_TOL_MM / 0.2)
        assert h.contrast > 6

    @pytest.mark.parametrize("seed", range(6))
    def test_no_rim_measures_zero(self, seed: int) -> None:
        """Screws drawn straight into bone measure no rim."""
        film, lm, _ = postop_film(seed=seed)
        for screw in detect_implants(film, lm).screws:
            assert halo_width(film, screw).width_px == 0.0

    def test_uncalibrated_has_px_only(self) -> None:
        """Without spacing, the width is in px and width_mm is None."""
        film, lm, _ = postop_film(halo_mm=1.5, seed=1)
        screw = detect_implants(film, lm).screws[0]
        h = halo_width(dataclasses.replace(film, spacing=None), screw)
        assert h.width_mm is None and h.width_px == pytest.approx(7.5, abs=1.0)


class TestHaloChangeTail:
    """halo_change() / the halo check on a pair of films: a halo has an outer border, a deeper edge-enhancement
    undershoot (a slowly decaying dark band next to all metal) has none (HALO_TAIL_MAX)."""

    @staticmethod
    def _deeper_undershoot(film, depth: float, reach_mm: float):
        """The film with a dark band added next to every metal edge, fading linearly to 0 at ``reach_mm``."""
        import numpy as np
        from scipy import ndimage

        img = np.asarray(film.pixels, np.float64)
        metal = img > np.percentile(img, 99)
        dist_mm = ndimage.distance_transform_edt(~metal) * film.spacing.dx_mm
        out = img - depth * np.clip(1.0 - dist_mm / reach_mm, 0.0, 1.0) * ~metal
        return dataclasses.replace(film, pixels=out.astype(film.pixels.dtype))

    def test_halo_has_a_border_undershoot_does_not(self) -> None:
        """A drawn 2 mm halo darkens 0.3-2 mm but hardly 3-4 mm and passes; the same film with only a deeper,
        slowly decaying undershoot darkens the band too but also 3-4 mm (tail > HALO_TAIL_MAX x band) and fails."""
        import numpy as np

        from fusionwatch.implants.checks import HALO_TAIL_MAX, ImplantSettings, _new_halo
        from fusionwatch.implants.halo import halo_change

        base, lm, _ = postop_film(seed=1)
        halo, _, _ = postop_film(halo_mm=2.0, seed=1)
        b_screw = detect_implants(base, lm).screws[0]
        hc = halo_change(base, b_screw, halo, detect_implants(halo, lm).screws[0])
        assert min(hc.darkening) > 0.15
        assert all(t < HALO_TAIL_MAX * d for d, t in zip(hc.darkening, hc.tail, strict=True))
        assert _new_halo(hc, ImplantSettings())

        contrast = float(np.percentile(base.pixels, 99) - np.median(base.pixels))
        deep = self._deeper_undershoot(base, 0.4 * contrast, 6.0)
        uc = halo_change(base, b_screw, deep, detect_implants(deep, lm).screws[0])
        assert min(uc.darkening) > 0.15  # the band rule alone would call it
        assert max(t / d for d, t in zip(uc.darkening, uc.tail, strict=True)) > HALO_TAIL_MAX
        assert not _new_halo(uc, ImplantSettings())
        # without the rule (tail_max infinite) the undershoot passes every other test of a new halo
        assert _new_halo(uc, ImplantSettings(halo_tail_max=float("inf")))
