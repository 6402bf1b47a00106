"""Tests for fusionwatch.motion: body registration, landmark-difference method, thresholds, overlay, CLI."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from fusionwatch.errors import InputError, LandmarkError, ViewError
from fusionwatch.landmarks import Landmarks
from fusionwatch.motion import (
    FUSION_ANGLE_DEG,
    INSTABILITY_TRANSLATION_MM,
    MotionResult,
    MotionSettings,
    RegistrationError,
    classify_motion,
    landmark_motion,
    register_motion,
    save_motion_overlay,
)
from fusionwatch.motion.synth import synthetic_pair
from fusionwatch.radiograph import Facing, Radiograph, View
from fusionwatch.records import Severity
from fusionwatch.units import Spacing, SpacingSource, Unit

# Precision target of issue 5: SD <= 0.3 deg and <= 0.3 mm. Single pairs must land within that of the truth.
ANGLE_TOL_DEG = 0.3
TRANSLATION_TOL_MM = 0.3


def _noisy(lm: Landmarks, sd_px: float, seed: int) -> Landmarks:
    rng = np.random.default_rng(seed)
    return lm.with_points({n: (p[0] + rng.normal(0, sd_px), p[1] + rng.normal(0, sd_px)) for n, p in lm.points.items()})


class TestRegisterMotion:
    """register_motion() recovers known motion on synthetic pairs."""

    @pytest.mark.parametrize(
        ("seed", "kwargs"),
        [
            (1, {}),
            (2, {"implants": True}),
            (3, {"facing": Facing.RIGHT}),
            (4, {"angle_deg": {"L4-L5": -4.0, "L5-S1": 0.0}, "translation_mm": {"L4-L5": -1.5, "L5-S1": 2.0}}),
        ],
    )
    def test_recovers_known_motion(self, seed: int, kwargs: dict) -> None:
        """Angle and translation agree with the drawn motion within the precision target."""
        pair = synthetic_pair(seed, **kwargs)
        results = register_motion(pair.flexion, pair.extension, pair.lm_flexion, pair.lm_extension)
        assert [r.level for r in results] == ["L4-L5", "L5-S1"]
        for r in results:
            truth = pair.truth[r.level]
            assert r.angle_deg == pytest.approx(truth["angle_deg"], abs=ANGLE_TOL_DEG)
            assert r.translation_mm == pytest.approx(truth["translation_mm"], abs=TRANSLATION_TOL_MM)
            assert r.translation_percent == pytest.approx(truth["translation_percent"], abs=1.0)
            assert 0 < r.angle_sd_deg < 0.5 and 0 < r.translation_sd < 0.5
            assert r.translation_sd_unit is Unit.MM and r.method == "body-registration/1"

    def test_noisy_landmarks_only_initialise(self) -> None:
        """Landmarks with 3 px click noise: registration stays within target, the landmark method does not."""
        pair = synthetic_pair(5)
        landmark_errors = []
        for k in range(4):
            lm_f, lm_e = _noisy(pair.lm_flexion, 3.0, k), _noisy(pair.lm_extension, 3.0, 100 + k)
            for r in register_motion(pair.flexion, pair.extension, lm_f, lm_e):
                truth = pair.truth[r.level]
                assert r.angle_deg == pytest.approx(truth["angle_deg"], abs=ANGLE_TOL_DEG)
                assert r.translation_mm == pytest.approx(truth["translation_mm"], abs=TRANSLATION_TOL_MM)
                landmark_errors.append(abs(r.landmark_difference.angle_deg - truth["angle_deg"]))
        assert max(landmark_errors) > 3 * ANGLE_TOL_DEG  # the re-clicked landmarks really are worse

    def test_uncalibrated_gives_percent_only(self) -> None:
        """Without pixel spacing, translation is None in mm and its SD is in percent."""
        pair = synthetic_pair(6, spacing_mm=None)
        (r,) = register_motion(pair.flexion, pair.extension, pair.lm_flexion, pair.lm_extension, levels=("L5-S1",))
        assert r.translation_mm is None and r.translation_sd_unit is Unit.PERCENT
        assert r.translation_percent == pytest.approx(pair.truth["L5-S1"]["translation_percent"], abs=1.0)

    def test_swapped_films_flip_the_sign(self) -> None:
        """Extension minus flexion: giving the films the other way round negates the angle."""
        pair = synthetic_pair(7)
        fwd = register_motion(pair.flexion, pair.extension, pair.lm_flexion, pair.lm_extension, levels=("L4-L5",))[0]
        rev = register_motion(pair.extension, pair.flexion, pair.lm_extension, pair.lm_flexion, levels=("L4-L5",))[0]
        assert fwd.angle_deg > 0
        assert rev.angle_deg == pytest.approx(-fwd.angle_deg, abs=0.2)
        assert any("swapped" in w for w in rev.warnings)

    def test_evidence_is_json_ready(self) -> None:
        """to_dict() serialises, with per-body transforms and the landmark-difference result."""
        pair = synthetic_pair(8)
        r = register_motion(pair.flexion, pair.extension, pair.lm_flexion, pair.lm_extension, levels=("L5-S1",))[0]
        d = json.loads(json.dumps(r.to_dict()))
        assert set(d["evidence"]["bodies"]) == {"L5", "S1"}
        assert d["landmark_difference"]["method"] == "landmark-difference/1"

    def test_ap_film_raises(self) -> None:
        """An AP film is refused with ViewError."""
        pair = synthetic_pair(9)
        ap = dataclasses.replace(pair.flexion, view=View.AP)
        with pytest.raises(ViewError, match="AP view"):
            register_motion(ap, pair.extension, pair.lm_flexion, pair.lm_extension)

    def test_landmarks_of_other_image_raise(self) -> None:
        """Landmarks made for another image size raise LandmarkError."""
        pair = synthetic_pair(9)
        other = Landmarks(dict(pair.lm_flexion.points), 999, 999, View.FLEXION)
        with pytest.raises(LandmarkError, match="999 x 999"):
            register_motion(pair.flexion, pair.extension, other, pair.lm_extension)

    def test_missing_corner_raises(self) -> None:
        """A missing S1 corner names the point."""
        pair = synthetic_pair(9)
        pts = {n: p for n, p in pair.lm_flexion.points.items() if n != "S1.superior.posterior"}
        with pytest.raises(LandmarkError, match="S1.superior.posterior"):
            register_motion(pair.flexion, pair.extension, pair.lm_flexion.with_points(pts), pair.lm_extension)

    def test_bad_level_raises(self) -> None:
        """Non-adjacent levels raise InputError."""
        pair = synthetic_pair(9)
        with pytest.raises(InputError, match="L3-S1"):
            register_motion(pair.flexion, pair.extension, pair.lm_flexion, pair.lm_extension, levels=("L3-S1",))

    def test_blank_extension_raises_or_warns(self) -> None:
        """A featureless extension film cannot be registered: RegistrationError, or a weak-match warning."""
        pair = synthetic_pair(10)
        blank = dataclasses.replace(pair.extension, pixels=np.zeros_like(pair.extension.pixels))
        try:
            results = register_motion(pair.flexion, blank, pair.lm_flexion, pair.lm_extension)
        except RegistrationError:
            return
        assert any("weak match" in w or "failed" in w for r in results for w in r.warnings)


class TestLandmarkMotion:
    """landmark_motion(): the classic difference of two landmark measurements."""

    def test_exact_landmarks_give_the_truth(self) -> None:
        """With the true corners, the landmark method equals the truth (same definitions)."""
        pair = synthetic_pair(11, facing=Facing.RIGHT)
        sp = pair.flexion.spacing
        for level, truth in pair.truth.items():
            lm = landmark_motion(pair.lm_flexion, pair.lm_extension, level, sp, sp)
            assert lm.angle_deg == pytest.approx(truth["angle_deg"], abs=1e-6)
            assert lm.translation_mm == pytest.approx(truth["translation_mm"], abs=1e-6)

    def test_extension_increases_lordosis_positive(self) -> None:
        """Positive angle means the segment is more lordotic on extension, whichever way the patient faces."""
        for facing in Facing:
            pair = synthetic_pair(12, facing=facing, angle_deg={"L4-L5": 6.0, "L5-S1": 6.0})
            assert landmark_motion(pair.lm_flexion, pair.lm_extension, "L5-S1").angle_deg == pytest.approx(
                6.0, abs=1e-6
            )


def _result(angle: float, angle_sd: float, t_mm: float | None, t_sd: float, level: str = "L5-S1") -> MotionResult:
    return MotionResult(
        level, angle, angle_sd, t_mm, 1.0, t_sd, Unit.MM if t_mm is not None else Unit.PERCENT, "body-registration/1"
    )


class TestClassifyMotion:
    """classify_motion() against the named thresholds."""

    @pytest.mark.parametrize(
        ("angle", "t_mm", "kind", "severity"),
        [
            (0.5, 0.4, "motion_within_fusion_threshold", Severity.INFO),
            (5.0, 0.2, "motion_exceeds_fusion_threshold", Severity.WATCH),
            (1.0, 3.8, "motion_exceeds_fusion_threshold", Severity.WATCH),
            (2.9, 0.2, "motion_indeterminate", Severity.WATCH),
            (26.0, 1.0, "segmental_instability", Severity.ACTION),
            (2.0, INSTABILITY_TRANSLATION_MM + 0.5, "segmental_instability", Severity.ACTION),
        ],
    )
    def test_kinds(self, angle: float, t_mm: float, kind: str, severity: Severity) -> None:
        """Each band of values gives its kind and severity."""
        f = classify_motion(_result(angle, 0.1, t_mm, 0.1), films=("a", "b"))
        assert (f.kind, f.severity) == (kind, severity)
        assert f.films == ("a", "b") and f.threshold and f.evidence["angle_deg"] == pytest.approx(angle)

    def test_level_specific_instability(self) -> None:
        """22 deg is unstable at L4-L5 (> 20) but not at L5-S1 (> 25)."""
        assert classify_motion(_result(22.0, 0.1, 0.5, 0.1, "L4-L5")).kind == "segmental_instability"
        assert classify_motion(_result(22.0, 0.1, 0.5, 0.1, "L5-S1")).kind == "motion_exceeds_fusion_threshold"

    def test_settings_change_the_threshold(self) -> None:
        """A 1 deg fusion threshold turns 2 deg into motion above threshold."""
        r = _result(2.0, 0.1, 0.2, 0.1)
        assert classify_motion(r).kind == "motion_within_fusion_threshold"
        assert classify_motion(r, MotionSettings(fusion_angle_deg=1.0)).kind == "motion_exceeds_fusion_threshold"
        assert FUSION_ANGLE_DEG == 3.0

    def test_uncalibrated_translation_not_judged(self) -> None:
        """Without mm the evidence says translation was not judged."""
        f = classify_motion(_result(0.5, 0.1, None, 0.5))
        assert f.kind == "motion_within_fusion_threshold" and "uncalibrated" in f.evidence["translation_judged"]


def test_overlay_writes_png(tmp_path: Path) -> None:
    """save_motion_overlay() writes a side-by-side PNG of both films."""
    import cv2

    pair = synthetic_pair(13, implants=True)
    results = register_motion(pair.flexion, pair.extension, pair.lm_flexion, pair.lm_extension)
    path = save_motion_overlay(
        tmp_path / "o.png", pair.flexion, pair.extension, pair.lm_flexion, results, pair.lm_extension
    )
    img = cv2.imread(str(path))
    assert img.shape[1] == pair.flexion.width + pair.extension.width
    assert img.shape[0] == pair.flexion.height
    assert (img[..., 0] != img[..., 2]).any()  # coloured outlines were drawn


def _shared() -> Path:
    return Path(os.environ.get("FUSIONWATCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.mark.shared_data
def test_real_film_warped_by_known_transform() -> None:
    """A real SpineWeb AP film with one vertebra moved by a known rigid transform: motion recovered within target."""
    root = _shared() / "spineweb16-ap"
    if not (root / "landmarks.csv").exists():
        pytest.skip(f"SpineWeb data not found at {root} (set FUSIONWATCH_SHARED_DATA)")
    from benchmarks.bench_motion import spineweb_pair

    pair = spineweb_pair(root, index=0, angle_deg=4.0, shift_px=(3.0, -2.0), seed=0)
    r = register_motion(pair.flexion, pair.extension, pair.lm_flexion, pair.lm_extension, levels=("L4-L5",))[0]
    assert r.angle_deg == pytest.approx(pair.truth["L4-L5"]["angle_deg"], abs=ANGLE_TOL_DEG)
    assert r.translation_percent == pytest.approx(pair.truth["L4-L5"]["translation_percent"], abs=1.0)


def test_simulated_pair_when_simulator_exists() -> None:
    """On a simulated flexion/extension pair (with hardware), registration matches the simulator's true motion."""
    sim = pytest.importorskip("fusionwatch.sim", reason="fusionwatch.sim not available")
    try:
        params = sim.SpineParams()
        bent = {
            View.FLEXION: params.moved(d_angles=(-2, -2, -2, -3, -2), d_slips=(0, 0, 0, 0.3, 0.2), d_tilt=-3),
            View.EXTENSION: params.moved(d_angles=(2, 2, 2, 3, 2), d_slips=(0, 0, 0, -0.3, -0.2), d_tilt=3),
        }
        films = {
            view: sim.simulate_film(
                q, sim.FilmSpec(view=view, width=800, height=1000), neutral_params=params, anatomy_seed=1, noise_seed=i
            )
            for i, (view, q) in enumerate(bent.items())
        }
    except (AttributeError, TypeError) as exc:  # the simulator's API moved on: this test must follow it
        pytest.skip(f"fusionwatch.sim API differs: {exc}")
    radiographs = {}
    for view, film in films.items():
        cam = film.camera
        spacing = Spacing.isotropic(cam.pixel_mm * cam.sod_mm / cam.sid_mm, SpacingSource.MAGNIFICATION_CORRECTED)
        radiographs[view] = Radiograph(film.pixels.astype(np.float32), spacing, view, source=f"sim-{view.value}")
    f, e = films[View.FLEXION], films[View.EXTENSION]
    results = register_motion(radiographs[View.FLEXION], radiographs[View.EXTENSION], f.landmarks, e.landmarks)
    for r in results:
        key = r.level.replace("-", "_")
        true_angle = (
            e.truth["measurements"][f"segmental_lordosis_{key}"] - f.truth["measurements"][f"segmental_lordosis_{key}"]
        )
        true_mm = e.truth["measurements"][f"slip_mm_{key}"] - f.truth["measurements"][f"slip_mm_{key}"]
        # budget: 2 x the 0.15 deg model SD measured on simulated films; translation within the 0.3 mm
        assert r.angle_deg == pytest.approx(true_angle, abs=2 * 0.15 + 0.1)
        assert r.translation_mm == pytest.approx(true_mm, abs=TRANSLATION_TOL_MM)


class TestMotionCli:
    """``fusionwatch motion`` end to end on PNG films with landmark files."""

    @staticmethod
    def _write(pair, tmp_path: Path, spacing: bool = False) -> tuple[Path, Path]:  # noqa: ANN001
        import cv2

        from fusionwatch.io import write_landmarks

        lo = min(float(pair.flexion.pixels.min()), float(pair.extension.pixels.min()))
        hi = max(float(pair.flexion.pixels.max()), float(pair.extension.pixels.max()))
        paths = []
        for film, lm, name in ((pair.flexion, pair.lm_flexion, "flex"), (pair.extension, pair.lm_extension, "ext")):
            png = tmp_path / f"{name}.png"
            cv2.imwrite(str(png), np.round((film.pixels - lo) / (hi - lo) * 65535).astype(np.uint16))
            write_landmarks(lm, tmp_path / f"{name}.landmarks.json")
            paths.append(png)
        return paths[0], paths[1]

    def test_writes_json_and_overlay(self, tmp_path: Path) -> None:
        """Landmarks found beside the films; --pixel-spacing gives mm; JSON holds results and findings."""
        from typer.testing import CliRunner

        from fusionwatch.cli import app

        pair = synthetic_pair(14)
        flex, ext = self._write(pair, tmp_path)
        out = tmp_path / "out"
        res = CliRunner().invoke(app, ["motion", str(flex), str(ext), "--pixel-spacing", "0.25", "--out", str(out)])
        assert res.exit_code == 0, res.output
        data = json.loads((out / "motion.json").read_text())
        assert [r["level"] for r in data["results"]] == ["L4-L5", "L5-S1"]
        for r in data["results"]:
            assert r["angle_deg"] == pytest.approx(pair.truth[r["level"]]["angle_deg"], abs=ANGLE_TOL_DEG)
            assert r["translation_mm"] == pytest.approx(
                pair.truth[r["level"]]["translation_mm"], abs=TRANSLATION_TOL_MM
            )
        assert data["findings"][0]["kind"] == "motion_exceeds_fusion_threshold"
        assert (out / "motion_overlay.png").stat().st_size > 1000

    def test_missing_landmarks_is_a_user_error(self, tmp_path: Path) -> None:
        """A landmark file that does not exist exits 2 with 'error:'."""
        from typer.testing import CliRunner

        from fusionwatch.cli import app

        pair = synthetic_pair(14)
        flex, ext = self._write(pair, tmp_path)
        res = CliRunner().invoke(
            app,
            [
                "motion",
                str(flex),
                str(ext),
                "--landmarks-flexion",
                str(tmp_path / "no.json"),
                "--out",
                str(tmp_path / "o"),
            ],
        )
        assert res.exit_code == 2 and "error" in res.output.lower()


class TestHonestUncertainty:
    """A doubtful match carries a large uncertainty instead of a confident wrong number."""

    def test_uncertain_instability_is_indeterminate(self) -> None:
        """5 mm +/- 2.5 mm is above the 4.5 mm limit but not confidently: indeterminate, not instability."""
        f = classify_motion(_result(2.0, 0.2, INSTABILITY_TRANSLATION_MM + 0.5, 2.5))
        assert (f.kind, f.severity) == ("motion_indeterminate", Severity.WATCH)
        assert classify_motion(_result(2.0, 0.2, INSTABILITY_TRANSLATION_MM + 0.5, 0.1)).kind == "segmental_instability"

    def test_anchor_term_covers_a_misplaced_corner(self) -> None:
        """Exact anchors on both films: no anchor term and the exact slip change; one extension corner moved by 6 px:
        the translation error stays within the anchor term."""
        from fusionwatch.motion._geometry import parse_level, segment_points
        from fusionwatch.motion._register import _segment_motion

        pair = synthetic_pair(1)
        spacing = pair.flexion.spacing
        seg = parse_level("L5-S1")
        mu, ml = pair.transforms["L5"], pair.transforms["S1"]
        pf, pe = segment_points(pair.lm_flexion, seg), segment_points(pair.lm_extension, seg)
        sign = 1.0 if pair.flexion.facing is not Facing.RIGHT else -1.0
        angle, mm, _, term, _ = _segment_motion(pf, pe, mu, ml, sign, spacing, spacing)
        assert angle == pytest.approx(pair.truth["L5-S1"]["angle_deg"], abs=1e-6)
        assert mm == pytest.approx(pair.truth["L5-S1"]["translation_mm"], abs=1e-6)
        assert term == pytest.approx(0.0, abs=1e-6)
        moved = dict(pe, lower_sup_post=pe["lower_sup_post"] + np.array([6.0, -4.0]))
        _, mm2, _, term2, _ = _segment_motion(pf, moved, mu, ml, sign, spacing, spacing)
        assert term2 > 0.0
        assert abs(mm2 - pair.truth["L5-S1"]["translation_mm"]) <= term2 + 1e-9

    @pytest.mark.parametrize("tilt_deg", [12.0, 20.0])
    def test_misplaced_s1_landmarks_do_not_give_a_confident_wrong_answer(self, tilt_deg: float) -> None:
        """The S1 corners on the flexion film rotated about the endplate centre and moved 8 px (a bad click or a
        detector miss): either the registration still finds the truth, or the reported SD covers the error."""
        pair = synthetic_pair(1, angle_deg={"L4-L5": 3.0, "L5-S1": 9.0})
        pts = dict(pair.lm_flexion.points)
        a, p = np.array(pts["S1.superior.anterior"]), np.array(pts["S1.superior.posterior"])
        c, t = (a + p) / 2, np.radians(tilt_deg)
        r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        for name, q in (("S1.superior.anterior", a), ("S1.superior.posterior", p)):
            pts[name] = tuple(c + r @ (q - c) + np.array([0.0, 8.0]))
        lm_f = pair.lm_flexion.with_points(pts)
        (res,) = register_motion(pair.flexion, pair.extension, lm_f, pair.lm_extension, levels=("L5-S1",))
        truth = pair.truth["L5-S1"]
        err_a, err_t = abs(res.angle_deg - truth["angle_deg"]), abs(res.translation_mm - truth["translation_mm"])
        assert err_a <= max(0.5, 1.96 * res.angle_sd_deg)
        assert err_t <= max(0.5, 1.96 * res.translation_sd)
        assert classify_motion(res).kind != "segmental_instability"
        assert "region_term" in res.evidence and "anchor_term" in res.evidence

    def test_unmatchable_s1_carries_the_weak_match_floor(self) -> None:
        """S1 replaced by noise on the extension film: the result is flagged weak and its SD is at least the floor,
        so neither fusion nor instability can be called from it."""
        import cv2

        from fusionwatch.anatomy import Level
        from fusionwatch.motion._geometry import body_outline
        from fusionwatch.motion._register import WEAK_MATCH_ANGLE_SD_DEG, WEAK_MATCH_TRANSLATION_SD_MM

        pair = synthetic_pair(1)
        px = pair.extension.pixels.copy()
        o = body_outline(pair.lm_extension, Level.S1, 0.9)
        o = o.mean(0) + (o - o.mean(0)) * 1.3
        mask = np.zeros(px.shape, np.uint8)
        cv2.fillPoly(mask, [np.round(o).astype(np.int32)], 1)
        rng = np.random.default_rng(0)
        px[mask > 0] = float(np.median(px)) + rng.normal(0, float(px.std()), int(mask.sum()))
        ext = dataclasses.replace(pair.extension, pixels=px.astype(np.float32))
        try:
            (r,) = register_motion(pair.flexion, ext, pair.lm_flexion, pair.lm_extension, levels=("L5-S1",))
        except RegistrationError:
            return  # refusing is honest too
        assert r.evidence["weak_match"] is True
        assert r.angle_sd_deg >= WEAK_MATCH_ANGLE_SD_DEG and r.translation_sd >= WEAK_MATCH_TRANSLATION_SD_MM
        assert classify_motion(r).kind == "motion_indeterminate"
