"""Tests for fusionwatch.pipeline.analyse_film."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fusionwatch.anatomy import Level
from fusionwatch.detect.view import ViewResult
from fusionwatch.errors import LandmarkError, UnsupportedImageError, ViewError
from fusionwatch.landmarks import Landmarks, mirror
from fusionwatch.measurement import MeasureName
from fusionwatch.pipeline import _decide_view, analyse_film
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


def _read(p_ap: float, p_lateral: float) -> ViewResult:
    return ViewResult({"ap": p_ap, "lateral_left": p_lateral, "lateral_right": 0.0,
                       "other": 1.0 - p_ap - p_lateral})


class TestViewOfAFilmThatStatesNone:
    """A PNG (or a DICOM without View Position) given without --view took the landmark file's view silently: an AP
    film with lateral landmarks was measured as lateral. The shipped view model now reads such a film."""

    def test_a_confident_other_view_is_an_error_naming_the_way_out(self) -> None:
        with pytest.raises(ViewError, match=r"reads it as AP \(p = 0.99\), but the landmarks are for a lateral film: "
                                            r".*say so with --view lateral"):
            _decide_view(film(view=None), lateral(), _read(0.99, 0.0))
        ap = place(ap_spine({lv: (0.0, 0.0) for lv in Level}), view=View.AP, size=SIZE)
        with pytest.raises(ViewError, match=r"as lateral \(p = 0.95\), but the landmarks are for an AP film: .*ap"):
            _decide_view(film(view=None), ap, _read(0.02, 0.95))

    def test_a_confirming_read_says_where_the_view_comes_from_an_unsure_one_says_so(self) -> None:
        """A view the file does not state is never a silent fact (R's F10): its source is said, and for a lateral
        that the view model cannot tell neutral from flexion or extension."""
        view, note = _decide_view(film(view=None), lateral(), _read(0.01, 0.97))
        assert view is View.LATERAL
        assert note.startswith("view: lateral (from the landmark file, the view model agrees (p = 0.97), not stated "
                               "by the file)") and "neutral lateral from a flexion or extension" in note
        automatic = replace(lateral(), source="model:lateral-film/1")
        view, note = _decide_view(film(view=None), automatic, _read(0.01, 0.97))
        assert note.startswith("view: lateral (from the view model, p = 0.97, not stated by the file)")
        view, warning = _decide_view(film(view=None), lateral(), _read(0.6, 0.1))  # below 0.9 either way
        assert view is View.LATERAL and "could not confirm it (p(AP) 0.60, p(lateral) 0.10)" in warning
        view, warning = _decide_view(film(view=None), lateral(), None)
        assert view is View.LATERAL and "view model is not available" in warning and "--view" in warning

    def test_a_stated_view_is_not_second_guessed(self) -> None:
        """The file's view or the reader's --view stands (the model is not asked)."""
        assert _decide_view(film(view=View.LATERAL), lateral(), _read(1.0, 0.0)) == (View.LATERAL, None)

    def test_an_unconfirmed_view_is_a_warning_of_the_analysis(self) -> None:
        """A drawn film the model does not read as a spine: measured in the landmark file's view, with the warning."""
        a = analyse_film(film(Spacing.isotropic(0.3), view=None), lateral())
        assert a.view is View.LATERAL and any("could not confirm" in w for w in a.warnings)

    def test_a_real_ap_film_with_lateral_landmarks_is_refused(self, tmp_path: Path) -> None:
        """A real AP film (SpineWeb JPEG: no view of its own) with a lateral landmark file: an error line, nothing
        written; with --view lateral (the reader's choice) it is measured as lateral."""
        from typer.testing import CliRunner

        from fusionwatch.cli import app
        from fusionwatch.io import read_radiograph, write_landmarks

        root = Path(os.environ.get("FUSIONWATCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
        image = root / "spineweb16-ap" / "images" / "sunhl-1th-25-Jul-2016-45 A AP.jpg"
        if not image.is_file():
            pytest.skip(f"SpineWeb AP film not found at {image} (set FUSIONWATCH_SHARED_DATA)")
        radiograph = read_radiograph(image)
        assert radiograph.view is None
        lm = place(LateralSpine().points, spacing=(0.3, 0.3), origin_px=(325, 1400),
                   size=(radiograph.width, radiograph.height))
        with pytest.raises(ViewError, match="reads it as AP"):
            analyse_film(radiograph, lm)
        assert analyse_film(read_radiograph(image, view=View.LATERAL), lm).view is View.LATERAL
        write_landmarks(lm, tmp_path / "lateral.landmarks.json")
        r = CliRunner().invoke(app, ["measure", str(image), "--landmarks", str(tmp_path / "lateral.landmarks.json"),
                                     "--out", str(tmp_path / "out")])
        assert r.exit_code == 2 and "error: The film states no view" in r.output, r.output
        assert not (tmp_path / "out").exists()


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
