"""Tests for fusionwatch.measure.coronal: disc wedge angles and the coronal Cobb angle on AP films."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionwatch.anatomy import Level
from fusionwatch.errors import ViewError
from fusionwatch.landmarks import mirror
from fusionwatch.measure import coronal_cobb_deg, disc_wedge_deg, measure_ap, measure_film, measure_lateral
from fusionwatch.measurement import MeasureName
from fusionwatch.radiograph import Facing, View
from fusionwatch.units import Spacing

from ._spine import ap_spine, place

M = MeasureName
# L1..L5 (superior, inferior) tilts and S1 superior, degrees, image-right end up positive.
TILTS = {
    Level.L1: (-8.0, -6.0),
    Level.L2: (-3.0, 0.0),
    Level.L3: (4.0, 7.0),
    Level.L4: (9.0, 11.0),  # most tilted: L4 inferior +11
    Level.L5: (5.0, 2.0),
    Level.S1: (-1.0, 0.0),
}


def by_name(ms):
    return {m.name: m for m in ms}


class TestPure:
    def test_wedge_sign(self) -> None:
        """Taller on the image right (upper right end higher) -> positive."""
        assert disc_wedge_deg((0.0, 10.0), (40.0, 12.0), (0.0, 0.0), (40.0, 0.0)) > 0
        assert disc_wedge_deg((0.0, 12.0), (40.0, 10.0), (0.0, 0.0), (40.0, 0.0)) < 0

    def test_cobb_needs_two(self) -> None:
        with pytest.raises(ValueError, match="at least two"):
            coronal_cobb_deg({"L1.superior": ((0.0, 0.0), (1.0, 0.0))})


class TestMeasureAp:
    def test_values(self) -> None:
        """Wedge = upper inferior tilt - lower superior tilt; Cobb = most positive - most negative tilt (11 - -8)."""
        ms = by_name(measure_ap(place(ap_spine(TILTS), view=View.AP, facing=Facing.RIGHT), Spacing.isotropic(0.2)))
        assert ms[M.DISC_WEDGE_L4_L5].value == pytest.approx(11.0 - 5.0)
        assert ms[M.DISC_WEDGE_L5_S1].value == pytest.approx(2.0 - (-1.0))
        cobb = ms[M.CORONAL_COBB]
        assert cobb.value == pytest.approx(19.0)
        assert cobb.points == ("L1.superior.left", "L1.superior.right", "L4.inferior.left", "L4.inferior.right")
        assert cobb.unit.value == "deg"

    @settings(max_examples=40, deadline=None)
    @given(rotation=st.floats(-30, 30), dx=st.floats(0.1, 0.3), aniso=st.floats(0.8, 1.25))
    def test_rotation_flip_and_anisotropic_spacing(self, rotation: float, dx: float, aniso: float) -> None:
        """Cobb and wedge magnitudes are rotation- and flip-invariant; wedge signs (image sides) flip with the film."""
        spacing = (dx, dx * aniso)
        lm = place(ap_spine(TILTS), view=View.AP, facing=Facing.RIGHT, rotation_deg=rotation, spacing=spacing)
        sp = Spacing(spacing[0], spacing[1], Spacing.isotropic(1).source)
        a, b = by_name(measure_ap(lm, sp)), by_name(measure_ap(mirror(lm), sp))
        assert a[M.CORONAL_COBB].value == pytest.approx(19.0, abs=1e-7)
        assert b[M.CORONAL_COBB].value == pytest.approx(19.0, abs=1e-7)
        assert a[M.DISC_WEDGE_L4_L5].value == pytest.approx(6.0, abs=1e-7)
        assert b[M.DISC_WEDGE_L4_L5].value == pytest.approx(-6.0, abs=1e-7)

    def test_missing_endplates(self) -> None:
        pts = {k: v for k, v in ap_spine(TILTS).items() if k.startswith("L1.superior")}
        ms = by_name(measure_ap(place(pts, view=View.AP), None))
        assert ms[M.CORONAL_COBB].value is None and "found 1" in ms[M.CORONAL_COBB].reason
        assert ms[M.DISC_WEDGE_L5_S1].reason.startswith("missing landmark(s): L5.inferior.left")

    def test_dispatch_and_view_errors(self) -> None:
        lm = place(ap_spine(TILTS), view=View.AP)
        assert [m.name for m in measure_film(lm, None)] == [m.name for m in measure_ap(lm, None)]
        with pytest.raises(ViewError, match="lateral"):
            measure_lateral(lm, None)


@settings(max_examples=50, deadline=None)
@given(
    tilts=st.lists(st.floats(-30, 30), min_size=11, max_size=11),
    rotation=st.floats(-20, 20),
)
def test_cobb_is_largest_tilt_difference(tilts: list[float], rotation: float) -> None:
    """Any endplate tilts: Cobb = max - min over the 11 endplates (L1 superior ... S1 superior), rotation-invariant."""
    levels = list(Level)
    spec = {lv: (tilts[2 * i], tilts[2 * i + 1] if lv is not Level.S1 else 0.0) for i, lv in enumerate(levels)}
    lm = place(
        ap_spine(spec, width_mm=30.0), view=View.AP, rotation_deg=rotation, size=(3000, 3000), origin_px=(1500, 500)
    )
    cobb = by_name(measure_ap(lm, Spacing.isotropic(1.0)))[M.CORONAL_COBB]
    assert cobb.value == pytest.approx(max(tilts) - min(tilts), abs=1e-7)
