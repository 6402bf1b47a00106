"""Tests for fusionwatch.pipeline.analyse_film."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fusionwatch.anatomy import Level
from fusionwatch.errors import LandmarkError, UnsupportedImageError, ViewError
from fusionwatch.landmarks import Landmarks, mirror
from fusionwatch.measurement import MeasureName
from fusionwatch.pipeline import analyse_film
from fusionwatch.radiograph import Facing, Radiograph, View
from fusionwatch.units import Spacing, SpacingSource, Unit
from measure._spine import LateralSpine, ap_spine, place

SIZE = (1400, 1400)


def film(spacing: Spacing | None = None, view: View | None = View.LATERAL, **kw) -> Radiograph:
    return Radiograph(np.zeros(SIZE[::-1], np.float32), spacing=spacing, view=view, source="synthetic.png", **kw)


def lateral(facing: Facing = Facing.LEFT, spacing=(0.3, 0.3), **spine) -> Landmarks:
    return place(LateralSpine(**spine).points, facing=facing, spacing=spacing, origin_px=(700, 900), size=SIZE)


class TestAnalyseFilm:
    def test_lateral_calibrated(self) -> None:
        """A plausible spine: all lateral measurements, mm with their source, facing recorded, nothing to review."""
        a = analyse_film(film(Spacing.isotropic(0.3, SpacingSource.PATIENT_PLANE)), lateral())
        assert a.facing is Facing.LEFT and a.radiograph.facing is Facing.LEFT
        assert a.needs_review == ()
        by = {m.name: m for m in a.measurements}
        assert by[MeasureName.SACRAL_SLOPE].value == pytest.approx(40.0)
        assert by[MeasureName.DISC_HEIGHT_MEAN_L5_S1].unit is Unit.MM
        assert all(m.value is not None for m in a.measurements)
        d = a.to_dict()
        assert d["film"]["pixel_spacing_mm"] == {"dx": 0.3, "dy": 0.3, "source": "patient_plane"}
        assert d["film"]["facing"] == "left" and len(d["measurements"]) == len(a.measurements)

    def test_uncalibrated_warns_and_uses_px(self) -> None:
        a = analyse_film(film(None), lateral(Facing.RIGHT))
        assert a.facing is Facing.RIGHT
        assert any("No pixel spacing" in w for w in a.warnings)
        assert not any(m.unit is Unit.MM and m.value is not None for m in a.measurements)

    def test_detector_plane_warning(self) -> None:
        a = analyse_film(film(Spacing.isotropic(0.3, SpacingSource.DETECTOR_PLANE)), lateral())
        assert any("detector plane" in w for w in a.warnings)

    def test_view_from_landmarks_when_film_has_none(self) -> None:
        ap = place(ap_spine({lv: (0.0, 0.0) for lv in Level}), view=View.AP, size=SIZE)
        a = analyse_film(film(None, view=None), ap)
        assert a.view is View.AP and a.facing is None
        assert a.radiograph.view is View.AP
        assert [m.name for m in a.measurements][0] is MeasureName.DISC_WEDGE_L4_L5

    def test_flexion_film_keeps_its_view(self) -> None:
        a = analyse_film(film(None, view=View.FLEXION), lateral())
        assert a.view is View.FLEXION and a.landmarks.view is View.FLEXION

    def test_implausible_geometry_needs_review(self) -> None:
        a = analyse_film(film(Spacing.isotropic(0.3)), lateral(body_wedges=(0, 0, 30.0, 0, 0)))
        assert any(r.startswith("L3: superior and inferior endplates differ") for r in a.needs_review)

    def test_no_landmarks_on_a_film_without_spine_raises(self) -> None:
        """With no landmarks the detector runs, and a film with nothing spine-like on it is refused."""
        blank = Radiograph(np.full((400, 300), 500.0, dtype=np.float32), source="blank.png")
        with pytest.raises(UnsupportedImageError):
            analyse_film(blank, None)

    def test_size_mismatch_raises(self) -> None:
        lm = lateral()
        other = Landmarks(lm.points, 1000, 1400)
        with pytest.raises(LandmarkError, match="1000 x 1400 px image but synthetic.png is 1400 x 1400"):
            analyse_film(film(), other)

    def test_outside_raises(self) -> None:
        lm = lateral()
        pts = dict(lm.points)
        pts["L1.superior.anterior"] = (1500.0, 10.0)
        with pytest.raises(LandmarkError, match="outside the 1400 x 1400 px image: L1.superior.anterior"):
            analyse_film(film(), Landmarks(pts, *SIZE))

    def test_impossible_order_raises(self) -> None:
        lm = lateral()
        pts = {k.replace("L1.", "Lx.").replace("L3.", "L1.").replace("Lx.", "L3."): v for k, v in lm.points.items()}
        with pytest.raises(LandmarkError, match="impossible order"):
            analyse_film(film(), Landmarks(pts, *SIZE))

    def test_view_mismatch_raises(self) -> None:
        with pytest.raises(ViewError, match="'ap'"):
            analyse_film(film(view=View.AP), lateral())

    def test_facing_disagreement_with_label_warns(self) -> None:
        a = analyse_film(film(facing=Facing.RIGHT), lateral(Facing.LEFT))
        assert a.facing is Facing.LEFT
        assert any("labelled facing right" in w for w in a.warnings)

    def test_mirrored_film_same_numbers(self) -> None:
        lm = lateral()
        a, b = analyse_film(film(), lm), analyse_film(film(), mirror(lm))
        assert [m.value for m in a.measurements] == pytest.approx([m.value for m in b.measurements])


class TestAgainstSimulatorTruth:
    """The simulator (fusionwatch.sim) computes its truth with an independent implementation of CLINICAL.md."""

    def test_journey_films_match_truth(self, tmp_path) -> None:
        """Every lateral film of a simulated journey, read from its DICOM and landmark file, measures its truth."""
        sim = pytest.importorskip("fusionwatch.sim.journey")
        from fusionwatch.io import read_landmarks, read_radiograph

        path = sim.simulate_journey("cage-subsidence", 3, tmp_path, size=(400, 500))
        journey = json.loads(path.read_text())
        checked = 0
        for f in journey["films"]:
            truth = f["truth"].get("measurements", {})
            if not truth:
                continue
            a = analyse_film(read_radiograph(path.parent / f["file"]), read_landmarks(path.parent / f["landmarks"]))
            for m in a.measurements:
                if m.value is not None and m.name.value in truth:
                    # landmark files keep 1/1000 px and the truth 6 decimals: agreement to ~0.01 in deg, mm or %
                    assert m.value == pytest.approx(truth[m.name.value], abs=0.01), (f["visit"], m.name.value)
                    checked += 1
        assert checked >= 40
