"""Tests for fusionwatch.measure.plausibility, including recovery of every UCI table row."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import pytest

from fusionwatch.landmarks import Landmarks
from fusionwatch.measure import check_measurements, measure_lateral, plausibility_reasons
from fusionwatch.measure.plausibility import PLAUSIBLE_RANGES
from fusionwatch.measurement import MeasureName
from fusionwatch.units import Spacing

from ._spine import LateralSpine, place

M = MeasureName


def _uci_csv() -> Path:
    root = Path(os.environ.get("FUSIONWATCH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    return root / "uci-vertebral-column" / "column_3C_weka.csv"


def _uci_rows() -> list[dict[str, float]]:
    path = _uci_csv()
    if not path.exists():
        pytest.skip(f"UCI vertebral column table not found at {path} (set FUSIONWATCH_SHARED_DATA)")
    with path.open() as f:
        return [{k: float(v) for k, v in row.items() if k != "status"} for row in csv.DictReader(f)]


def _spine_for(row: dict[str, float]) -> LateralSpine:
    """A spine realising the row's SS, PT and lordosis (spread over the discs, 10/15/20/25/30 %)."""
    ll = row["lumbar_lordosis_angle"]
    return LateralSpine(
        ss=row["sacral_slope"], pt=row["pelvic_tilt"], disc_angles=tuple(f * ll for f in (0.1, 0.15, 0.2, 0.25, 0.3))
    )


class TestRanges:
    @pytest.mark.shared_data
    def test_ranges_match_the_uci_derivation(self) -> None:
        """The constants are min/max of the table (without the SS > 90 outlier), widened 5 deg, rounded outward."""
        rows = [r for r in _uci_rows() if r["sacral_slope"] <= 90]
        assert len(rows) == 309
        columns = {
            M.PELVIC_INCIDENCE: [r["pelvic_incidence"] for r in rows],
            M.PELVIC_TILT: [r["pelvic_tilt"] for r in rows],
            M.SACRAL_SLOPE: [r["sacral_slope"] for r in rows],
            M.LUMBAR_LORDOSIS: [r["lumbar_lordosis_angle"] for r in rows],
            M.PI_LL_MISMATCH: [r["pelvic_incidence"] - r["lumbar_lordosis_angle"] for r in rows],
        }
        for name, col in columns.items():
            assert PLAUSIBLE_RANGES[name] == (math.floor(min(col) - 5), math.ceil(max(col) + 5)), name

    @pytest.mark.shared_data
    def test_every_uci_row_recovered_and_plausible(self) -> None:
        """Landmarks built from each row give back its PI, PT, SS and lordosis; only the SS > 90 outlier is flagged."""
        flagged = 0
        for row in _uci_rows():
            spine = _spine_for(row)
            lm = place(spine.points, spacing=(0.2, 0.2), origin_px=(2000, 2000), size=(4000, 4000))
            ms = measure_lateral(lm, Spacing.isotropic(0.2))
            v = {m.name: m.value for m in ms}
            assert v[M.PELVIC_INCIDENCE] == pytest.approx(row["pelvic_incidence"], abs=1e-6)
            assert v[M.PELVIC_TILT] == pytest.approx(row["pelvic_tilt"], abs=1e-6)
            assert v[M.SACRAL_SLOPE] == pytest.approx(row["sacral_slope"], abs=1e-6)
            assert v[M.LUMBAR_LORDOSIS] == pytest.approx(row["lumbar_lordosis_angle"], abs=1e-6)
            reasons = check_measurements(ms)
            if row["sacral_slope"] > 90:
                flagged += 1
                assert any(r.startswith("sacral_slope") for r in reasons)
            else:
                assert reasons == [], row
        assert flagged == 1


class TestGeometryChecks:
    def test_normal_spine_has_no_reasons(self) -> None:
        lm = place(LateralSpine().points, spacing=(0.15, 0.15))
        sp = Spacing.isotropic(0.15)
        assert plausibility_reasons(lm, sp, measure_lateral(lm, sp)) == []

    def test_tiny_bodies_flagged_only_when_calibrated(self) -> None:
        """Bodies 4 mm deep are impossible in mm; without spacing only the shape is judged."""
        spine = LateralSpine(
            body_depth=4.0, body_height=3.0, s1_depth=4.2, disc_heights=(1, 1, 1, 1, 1), pelvic_radius=11
        )
        lm = place(spine.points, spacing=(1.0, 1.0))
        calibrated = plausibility_reasons(lm, Spacing.isotropic(1.0), [])
        assert any("L3: AP depth = 4.0 mm, outside 20-70 mm." == r for r in calibrated)
        assert not any("mm" in r for r in plausibility_reasons(lm, None, []))

    def test_wedged_body_and_out_of_range_segment(self) -> None:
        spine = LateralSpine(body_wedges=(0, 0, 30.0, 0, 0), disc_angles=(2, 4, 7, 10, 50.0))
        lm = place(spine.points)
        reasons = plausibility_reasons(lm, Spacing.isotropic(1.0), measure_lateral(lm, Spacing.isotropic(1.0)))
        assert any(r.startswith("L3: superior and inferior endplates differ by 30 deg") for r in reasons)
        assert any(r.startswith("segmental_lordosis_L5_S1 = 50.0 deg is outside") for r in reasons)

    def test_overlap_and_low_confidence(self) -> None:
        """A negative disc height and low-confidence points are reasons."""
        spine = LateralSpine(disc_heights=(8, 9, 9, -3.0, 8), disc_angles=(2, 4, 7, 0, 14))
        lm = place(spine.points)
        lm = Landmarks(
            lm.points, lm.width, lm.height, confidence={"L4.inferior.anterior": 0.2, "L1.superior.anterior": 0.9}
        )
        reasons = plausibility_reasons(lm, None, [])
        assert "low landmark confidence (< 0.5): L4.inferior.anterior." in reasons
        assert any("L4-L5: the L5 superior endplate lies above the L4 inferior endplate" in r for r in reasons)

    def test_size_jump_between_neighbours(self) -> None:
        pts = dict(LateralSpine().points)
        small = LateralSpine(body_depth=20.0).points  # L-levels half the depth
        pts.update({k: v for k, v in small.items() if k.startswith("L1.")})
        reasons = plausibility_reasons(place(pts), None, [])
        assert any(r.startswith("L2 is 2.00 x the size of L1") for r in reasons)


def test_ap_l5_s1_projected_overlap_is_normal() -> None:
    """On AP films the S1 endplate may project over L5 (sacral tilt): no review reason; L4-L5 overlap still flagged."""
    from fusionwatch.anatomy import Level
    from fusionwatch.radiograph import View

    from ._spine import ap_spine

    pts = ap_spine({lv: (0.0, 0.0) for lv in Level})
    for side in ("left", "right"):
        x, y = pts[f"S1.superior.{side}"]
        pts[f"S1.superior.{side}"] = (x, y + 12.0)  # 12 mm above the L5 inferior endplate (9 mm disc)
    reasons = plausibility_reasons(place(pts, view=View.AP, origin_px=(600, 100)), None, [])
    assert not any("L5-S1" in r for r in reasons)
    for side in ("left", "right"):
        x, y = pts[f"L5.superior.{side}"]
        pts[f"L5.superior.{side}"] = (x, y + 12.0)
    reasons = plausibility_reasons(place(pts, view=View.AP, origin_px=(600, 100)), None, [])
    assert any(r.startswith("L4-L5: the L5 superior endplate lies above") for r in reasons)
