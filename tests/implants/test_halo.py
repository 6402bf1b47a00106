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
