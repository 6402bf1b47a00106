"""Tests for sim/film.py, sim/pose.py and sim/truth.py: exact ground truth that the core's measurements reproduce."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from fusionwatch.landmarks import check_inside_image, check_vertebra_order, lateral_facing
from fusionwatch.radiograph import Facing, View
from fusionwatch.sim import FilmSpec, Hardware, Healing, SpineParams, simulate_film
from fusionwatch.sim.pose import wedge_angles
from fusionwatch.sim.variation import patient_anatomy, patient_skeleton
from fusionwatch.units import Spacing, SpacingSource

SMALL = dict(width=300, height=375)
PARAMS = SpineParams(
    pelvic_incidence_deg=58.0,
    pelvic_tilt_deg=17.0,
    disc_angles_deg=(1.5, 3.0, 6.0, 8.5, 11.0),
    disc_posterior_heights_mm=(6.0, 6.5, 7.0, 7.5, 5.0),
    slips_mm=(0.0, 0.0, 0.0, 0.0, 6.0),
    scale=0.95,
)


def _measured(film) -> dict[str, float]:
    from fusionwatch.measure import measure_lateral

    spacing = Spacing.isotropic(film.camera.patient_pixel_mm, SpacingSource.MAGNIFICATION_CORRECTED)
    return {m.name.value: m.value for m in measure_lateral(film.landmarks, spacing) if m.value is not None}


@pytest.fixture(scope="module")
def lateral_film():
    return simulate_film(PARAMS, FilmSpec(**SMALL), anatomy_seed=3, noise_seed=4)


class TestGroundTruth:
    def test_landmarks_inside_image_and_in_order(self, lateral_film) -> None:
        """Every ground-truth point lies in the film and the vertebrae run L1 -> S1 down the spine."""
        check_inside_image(lateral_film.landmarks)
        check_vertebra_order(lateral_film.landmarks)
        assert len(lateral_film.landmarks.points) == 24

    @pytest.mark.parametrize("facing_left", [True, False])
    def test_facing_matches_spec(self, facing_left: bool) -> None:
        """The landmarks face the way the film was taken (the detector flip is applied to them)."""
        film = simulate_film(PARAMS, FilmSpec(facing_left=facing_left, **SMALL))
        assert lateral_facing(film.landmarks) is (Facing.LEFT if facing_left else Facing.RIGHT)

    def test_core_measurement_reproduces_truth(self, lateral_film) -> None:
        """measure_lateral on the ground-truth landmarks gives the declared truth to 1e-6."""
        measured = _measured(lateral_film)
        truth = lateral_film.truth["measurements"]
        assert set(truth) <= set(measured) | {"meyerding_grade_L4_L5"}
        for name, value in truth.items():
            if name in measured:
                assert measured[name] == pytest.approx(value, abs=1e-5), name

    def test_truth_matches_declared_parameters(self, lateral_film) -> None:
        """Segmental angles, slip and posterior disc height equal the pose parameters; PI / PT within the
        divergent-beam error of the two femoral heads (< 0.5 deg)."""
        t = lateral_film.truth["measurements"]
        assert t["segmental_lordosis_L5_S1"] == pytest.approx(11.0, abs=1e-4)
        assert t["segmental_lordosis_L4_L5"] == pytest.approx(8.5, abs=1e-4)
        assert t["slip_mm_L5_S1"] == pytest.approx(6.0, abs=1e-4)
        assert t["disc_height_posterior_L5_S1"] == pytest.approx(math.hypot(5.0, 6.0), abs=1e-4)
        wedges = sum(wedge_angles(patient_anatomy(3)).values())  # the film's patient (anatomy_seed=3)
        assert t["lumbar_lordosis"] == pytest.approx(sum(PARAMS.disc_angles_deg) + wedges, abs=1e-3)
        assert t["pelvic_incidence"] == pytest.approx(58.0, abs=0.5)
        assert t["pelvic_tilt"] == pytest.approx(17.0, abs=0.5)
        assert t["pelvic_incidence"] == pytest.approx(t["pelvic_tilt"] + t["sacral_slope"], abs=1e-9)
        assert t["meyerding_grade_L5_S1"] == 1.0

    def test_body_shapes_keep_truth_exact(self) -> None:
        """Per-vertebra depth/height factors change the body proportions; the core still reproduces the truth."""
        shaped = replace(PARAMS, body_shapes=((1.1, 0.9), (1.0, 1.0), (0.9, 1.1), (1.05, 0.95), (1.0, 1.1)))
        film = simulate_film(shaped, FilmSpec(**SMALL))
        measured = _measured(film)
        for name, value in film.truth["measurements"].items():
            if name in measured:
                assert measured[name] == pytest.approx(value, abs=1e-5), name
        assert film.truth["measurements"]["segmental_lordosis_L5_S1"] == pytest.approx(11.0, abs=1e-4)

        def l3_ratio(f) -> float:
            p = {
                k: np.array(f.landmarks.get(f"L3.{k}"))
                for k in ("superior.anterior", "superior.posterior", "inferior.posterior")
            }
            height = np.linalg.norm(p["superior.posterior"] - p["inferior.posterior"])
            return height / np.linalg.norm(p["superior.anterior"] - p["superior.posterior"])

        plain = simulate_film(PARAMS, FilmSpec(**SMALL))
        assert l3_ratio(film) / l3_ratio(plain) == pytest.approx(1.1 / 0.9, rel=0.03)

    def test_pi_is_invariant_to_posture(self) -> None:
        """Changing the pelvic tilt (posture) leaves the measured PI unchanged within 0.5 deg."""
        a = simulate_film(PARAMS, FilmSpec(**SMALL)).truth["measurements"]
        b = simulate_film(replace(PARAMS, pelvic_tilt_deg=5.0), FilmSpec(**SMALL)).truth["measurements"]
        assert a["pelvic_incidence"] == pytest.approx(b["pelvic_incidence"], abs=0.5)
        assert b["pelvic_tilt"] == pytest.approx(5.0, abs=0.5)

    def test_magnification_recorded(self, lateral_film) -> None:
        """The reference plane is magnified by SID / SOD; patient spacing = detector spacing / magnification."""
        cam = lateral_film.truth["camera"]
        assert cam["magnification"] == pytest.approx(cam["sid_mm"] / cam["sod_mm"], rel=1e-6)
        assert cam["patient_pixel_spacing_mm"] == pytest.approx(
            cam["imager_pixel_spacing_mm"] / cam["magnification"], rel=1e-6
        )
        near, far = sorted(cam["head_magnifications"])
        assert near < cam["magnification"] < far  # the two femoral heads: the double contour


class TestDeterminism:
    def test_same_seed_same_pixels(self) -> None:
        """Same seeds -> identical pixels and truth; another noise seed changes the pixels."""
        a = simulate_film(PARAMS, FilmSpec(**SMALL), anatomy_seed=1, noise_seed=2)
        b = simulate_film(PARAMS, FilmSpec(**SMALL), anatomy_seed=1, noise_seed=2)
        c = simulate_film(PARAMS, FilmSpec(**SMALL), anatomy_seed=1, noise_seed=3)
        assert np.array_equal(a.pixels, b.pixels)
        assert a.truth == b.truth
        assert not np.array_equal(a.pixels, c.pixels)


class TestImage:
    def test_pixels_are_12_bit_with_contrast(self, lateral_film) -> None:
        """uint16 within 12 bits, using most of the range."""
        px = lateral_film.pixels
        assert px.dtype == np.uint16 and px.max() <= 4095
        assert np.percentile(px, 99) - np.percentile(px, 1) > 1500

    def test_metal_brighter_than_bone(self) -> None:
        """Screws are the brightest structures: pixels along a screw shaft beat the vertebral body around them."""
        film = simulate_film(PARAMS, FilmSpec(width=600, height=750), hardware=Hardware(), healing=Healing())
        scr = film.truth["implants"]["screws"][0]
        h, t = np.array(scr["head"]), np.array(scr["tip"])
        pts = [h + (t - h) * f for f in np.linspace(0.3, 0.9, 7)]
        on = np.mean([film.pixels[int(round(p[1])), int(round(p[0]))] for p in pts])
        lm = film.landmarks
        c = np.mean(
            [lm.get(f"L3.{e}.{s}") for e in ("superior", "inferior") for s in ("anterior", "posterior")], axis=0
        )
        body = film.pixels[int(c[1]) - 3 : int(c[1]) + 4, int(c[0]) - 3 : int(c[0]) + 4].mean()
        assert on > body + 300

    def test_ap_film_has_ap_landmarks(self) -> None:
        """AP films carry left/right corner names inside the image, left corners left of right ones."""
        film = simulate_film(PARAMS, FilmSpec(view=View.AP, **SMALL))
        lm = film.landmarks
        assert lm.view is View.AP and len(lm.points) == 22
        check_inside_image(lm)
        assert lm.get("L3.superior.left")[0] < lm.get("L3.superior.right")[0]

    def test_ap_truth_matches_core(self) -> None:
        """measure_ap on the AP ground truth reproduces the AP truth (a sagittal-only model: all near 0)."""
        from fusionwatch.measure import measure_ap

        film = simulate_film(PARAMS, FilmSpec(view=View.AP, **SMALL))
        spacing = Spacing.isotropic(film.camera.patient_pixel_mm, SpacingSource.MAGNIFICATION_CORRECTED)
        measured = {m.name.value: m.value for m in measure_ap(film.landmarks, spacing) if m.value is not None}
        assert set(film.truth["measurements"]) == set(measured)
        for name, value in film.truth["measurements"].items():
            assert measured[name] == pytest.approx(value, abs=1e-5), name


class TestDegeneration:
    def test_osteophytes_change_pixels_not_truth(self) -> None:
        """Degenerated discs add bone beside the anterior corners; the corner truth stays the same."""
        spec = FilmSpec(width=600, height=750)
        plain = simulate_film(PARAMS, spec)
        worn = simulate_film(replace(PARAMS, disc_degeneration=(0, 0, 0, 1.0, 1.0)), spec)
        assert worn.truth["measurements"] == plain.truth["measurements"]
        a = np.array(plain.landmarks.get("L4.inferior.anterior"))
        b = np.array(plain.landmarks.get("L4.inferior.posterior"))
        tip = a + (a - b) / np.linalg.norm(a - b) * 4.0 * worn.camera.gain(0.0)  # 4 mm in front of the corner
        r, c = int(round(tip[1])), int(round(tip[0]))
        patch = (slice(r - 2, r + 3), slice(c - 2, c + 3))
        assert worn.pixels[patch].mean() > plain.pixels[patch].mean() + 100


class TestImplants:
    def test_subsidence_lowers_disc_height(self) -> None:
        """A cage sunk 3 mm (with the disc 3 mm lower) shows in the truth and in the measured disc height."""
        hw = Hardware(approach="TLIF")
        base = simulate_film(PARAMS, FilmSpec(**SMALL), hardware=hw, surgery_params=PARAMS)
        sunk = simulate_film(
            PARAMS.moved((0,) * 5, d_heights=(0, 0, 0, 0, -3.0)),
            FilmSpec(**SMALL),
            hardware=hw,
            healing=Healing(subsidence_mm=3.0),
            surgery_params=PARAMS,
        )
        loss = (
            base.truth["measurements"]["disc_height_anterior_L5_S1"]
            - sunk.truth["measurements"]["disc_height_anterior_L5_S1"]
        )
        assert sunk.truth["subsidence_mm"] == 3.0
        assert loss > 2.0  # corner-to-corner distance: part of the 3 mm drop is along the slipped gap

    def test_bridging_fraction_follows_healing(self) -> None:
        """The rendered graft's true bridging fraction tracks the requested one."""
        hw = Hardware(approach="TLIF")
        f = [
            simulate_film(PARAMS, FilmSpec(**SMALL), hardware=hw, healing=Healing(bridging_fraction=b)).truth[
                "bridging_fraction"
            ]
            for b in (0.0, 0.5, 0.95)
        ]
        assert f[0] == 0.0 and 0.4 <= f[1] <= 0.6 and f[2] >= 0.9

    @staticmethod
    def _screw_samples(film, screw_id: str, radii_mm: tuple[float, ...]) -> list[np.ndarray]:
        """Pixels along the middle of a screw's shank at each perpendicular distance (mm, both sides) from its axis."""
        scr = next(s for s in film.truth["implants"]["screws"] if s["id"] == screw_id)
        h, t = np.array(scr["head"]), np.array(scr["tip"])
        ax = (t - h) / np.linalg.norm(t - h)
        n = np.array([-ax[1], ax[0]])
        px_mm = film.camera.patient_pixel_mm
        out = []
        for r in radii_mm:
            pts = [h + (t - h) * f + n * sgn * r / px_mm for f in np.linspace(0.45, 0.85, 9) for sgn in (1, -1)]
            out.append(np.array([film.pixels[int(round(p[1])), int(round(p[0]))] for p in pts], float))
        return out

    @pytest.mark.parametrize("view", [View.LATERAL, View.AP])
    def test_s1_screws_opaque_over_the_sacrum(self, view: View) -> None:
        """S1 screws over the sacrum and iliac wings are far brighter than the bone 1.5 diameters beside them (before
        simulator version 10 scatter and console processing left them 200-360 grey levels above it on the lateral)."""
        film = simulate_film(PARAMS, FilmSpec(view=view, width=500, height=625), hardware=Hardware())
        for sid in ("S1.left", "S1.right"):
            on, beside = self._screw_samples(film, sid, (0.0, 1.5 * 6.5))
            # the dimmer quarter of the shank beats the brighter tenth of the bone beside it by a wide margin
            assert np.percentile(on, 25) > np.percentile(beside, 90) + 400, (sid, on, beside)

    def test_broken_rod_gap_darker_than_rod_on_ap(self) -> None:
        """AP: the fracture gap of a broken rod holds no metal, so it is darker than the rod pieces either side."""
        film = simulate_film(
            PARAMS, FilmSpec(view=View.AP, width=600, height=750), hardware=Hardware(), healing=Healing(rod_broken=True)
        )
        rods = [np.array(r["polyline"]) for r in film.truth["implants"]["rods"]]
        assert len(rods) == 3
        a, b = rods[0], rods[1]
        gap = (a[-1] + b[0]) / 2

        def px(p: np.ndarray) -> float:
            return float(film.pixels[int(round(p[1])), int(round(p[0]))])

        ends = [
            px(a[-1] - (a[-1] - a[-2]) / np.linalg.norm(a[-1] - a[-2]) * 4),
            px(b[0] + (b[1] - b[0]) / np.linalg.norm(b[1] - b[0]) * 4),
        ]
        assert px(gap) < min(ends) - 300, (px(gap), ends)

    def test_loosening_halo_is_a_dark_rim_on_both_sides(self) -> None:
        """AP: a 2.2 mm halo darkens the rim along both sides of the S1 screws (vs the same film without a halo)."""
        spec = FilmSpec(view=View.AP, width=600, height=750)
        halo = {"S1.left": 2.2, "S1.right": 2.0}
        loose = simulate_film(PARAMS, spec, hardware=Hardware(), healing=Healing(halo_mm=halo), noise_seed=5)
        tight = simulate_film(PARAMS, spec, hardware=Hardware(), noise_seed=5)
        for sid, w in halo.items():
            rim = 3.25 + w / 2
            (lo,) = self._screw_samples(loose, sid, (rim,))
            (ti,) = self._screw_samples(tight, sid, (rim,))
            for side in (slice(0, None, 2), slice(1, None, 2)):  # the two sides of the shank
                # paired (same point, with vs without halo): the rim crosses bone, gas and soft tissue of very
                # different brightness along the shank, so medians of the two films' samples would compare apples
                # with pears
                darker = ti[side] - lo[side]
                assert np.median(darker) > 80, (sid, darker)

    def test_loosening_halo_band_outweighs_its_rim(self) -> None:
        """Version 15: the lucent band is the dominant sign, not the sclerotic rim. AP, paired with the same film
        without a halo: the middle of a 2.2 / 2.0 mm band is over 600 grey levels darker (version 14, whose 0.7 mm
        full-density rim outweighed the band: 180-320), and the thin rim just outside the band adds little of its own
        (at most 150 grey levels brighter than the same film with a halo but no rim)."""
        from fusionwatch.sim import render
        from fusionwatch.sim.render import hardware

        spec = FilmSpec(view=View.AP, width=600, height=750)
        halo = {"S1.left": 2.2, "S1.right": 2.0}
        loose = simulate_film(PARAMS, spec, hardware=Hardware(), healing=Healing(halo_mm=halo), noise_seed=5)
        tight = simulate_film(PARAMS, spec, hardware=Hardware(), noise_seed=5)
        rim_mu = render.MU["halo_rim"]
        try:
            render.MU["halo_rim"] = 0.0
            no_rim = simulate_film(PARAMS, spec, hardware=Hardware(), healing=Healing(halo_mm=halo), noise_seed=5)
        finally:
            render.MU["halo_rim"] = rim_mu
        for sid, w in halo.items():
            band, rim = 3.25 + w / 2, 3.25 + w + hardware.HALO_RIM_MM / 2
            lo_band, lo_rim = self._screw_samples(loose, sid, (band, rim))
            (ti_band,) = self._screw_samples(tight, sid, (band,))
            (nr_rim,) = self._screw_samples(no_rim, sid, (rim,))
            for side in (slice(0, None, 2), slice(1, None, 2)):
                assert np.median(ti_band[side] - lo_band[side]) > 600, (sid, ti_band[side] - lo_band[side])
                assert np.median(lo_rim[side] - nr_rim[side]) < 150, (sid, lo_rim[side] - nr_rim[side])

    def test_bad_hardware_raises(self) -> None:
        """Screw sizes outside 6-7.5 mm x 40-50 mm are refused with the value in the message."""
        with pytest.raises(ValueError, match="screw diameter"):
            Hardware(screw_diameter_mm=9.0)


class TestFieldOfView:
    def test_every_truth_point_on_the_film_over_many_journeys(self) -> None:
        """Over 60 journeys (every visit and view, two film sizes) every ground-truth point lies inside the image and
        the collimated field, none is left out: the field is centred to hold L1 to the femoral heads."""
        from fusionwatch.sim.film import field_box, ground_truth_landmarks
        from fusionwatch.sim.journey import DEFAULT_SURGERY_DATE, SCENARIOS, journey_plan, plan_films, sample_patient

        n = 0
        for seed in range(60):
            scenario = SCENARIOS[seed % len(SCENARIOS)]
            rng = np.random.default_rng([seed, SCENARIOS.index(scenario)])
            patient = sample_patient(rng, scenario, seed, DEFAULT_SURGERY_DATE)
            _, states = journey_plan(scenario, patient, rng)
            size = (1000, 1250) if seed % 2 else (2000, 2500)
            for plan in plan_films(scenario, seed, patient, states, size):
                lm, off = ground_truth_landmarks(plan.params, plan.spec, anatomy_seed=patient.anatomy_seed)
                assert off == [], (scenario, seed, plan.state.visit, plan.view, off)
                check_inside_image(lm, margin_px=0.0)
                sk = patient_skeleton(patient.anatomy_seed)
                c0, r0, c1, r1 = field_box(_camera_of(plan, sk), plan.spec.exposure.collimation_mm)
                for name, (x, y) in lm.points.items():
                    assert c0 <= x <= c1 and r0 <= y <= r1, (scenario, seed, plan.view, name)
                assert len(lm.points) == (22 if plan.view == "ap" else 24)
                n += 1
        assert n > 700

    def test_cage_subsidence_102_twelve_months(self) -> None:
        """The demo film that used to put L1.superior.anterior above the image (seed 102, 1000 x 1250 px)."""
        from fusionwatch.sim.film import ground_truth_landmarks
        from fusionwatch.sim.journey import DEFAULT_SURGERY_DATE, SCENARIOS, journey_plan, plan_films, sample_patient

        rng = np.random.default_rng([102, SCENARIOS.index("cage-subsidence")])
        patient = sample_patient(rng, "cage-subsidence", 102, DEFAULT_SURGERY_DATE)
        _, states = journey_plan("cage-subsidence", patient, rng)
        for plan in plan_films("cage-subsidence", 102, patient, states, (1000, 1250)):
            lm, off = ground_truth_landmarks(plan.params, plan.spec, anatomy_seed=patient.anatomy_seed)
            check_inside_image(lm)
            assert off == []
            if plan.view != "ap":
                assert "L1.superior.anterior" in lm.points

    def test_points_off_a_narrow_field_are_left_out_with_reasons(self) -> None:
        """When L1 to the femoral heads cannot fit (a tightly collimated field), the off-field points are absent, the
        measurements needing them are None with a reason, and the core reproduces every remaining value."""
        from fusionwatch.measure import measure_lateral
        from fusionwatch.sim.render import Exposure

        spec = FilmSpec(exposure=Exposure(collimation_mm=(10.0, 120.0, 10.0, 120.0)), **SMALL)
        film = simulate_film(PARAMS, spec)
        off = film.truth["landmarks_off_field"]
        assert off and not set(off) & set(film.landmarks.points)
        check_inside_image(film.landmarks)
        t = film.truth["measurements"]
        missing = film.truth["missing_measurements"]
        assert missing and all(t[name] is None for name in missing)
        assert all(v is not None for k, v in t.items() if k not in missing)
        assert any(p in missing["lumbar_lordosis"] for p in ("L1.superior.anterior", "L1.superior.posterior"))
        spacing = Spacing.isotropic(film.camera.patient_pixel_mm, SpacingSource.MAGNIFICATION_CORRECTED)
        measured = {m.name.value: m for m in measure_lateral(film.landmarks, spacing)}
        assert measured["lumbar_lordosis"].value is None
        for name, value in t.items():
            if value is not None and measured[name].value is not None:
                assert measured[name].value == pytest.approx(value, abs=1e-5), name


def _camera_of(plan, an):
    from fusionwatch.sim.film import _camera
    from fusionwatch.sim.pose import pose_spine

    return _camera(plan.spec, pose_spine(an, plan.params), an)


class TestCoronal:
    CORONAL = replace(
        PARAMS, coronal_wedges_deg=(4.0, 3.0, 5.0, -2.5, 1.5), lateral_listhesis_mm=(0.0, 0.0, 0.0, 3.0, -1.5)
    )

    def test_ap_truth_matches_core_and_declared_curve(self) -> None:
        """With a lumbar curve, measure_ap on the AP ground truth reproduces the truth, and the truth equals the
        declared wedges (exact: both corners of an endplate are at one depth), Cobb (largest tilt difference of the
        running wedge sums) and lateral listhesis (to the divergent beam's ~2 %)."""
        from fusionwatch.measure import measure_ap

        p = self.CORONAL
        film = simulate_film(p, FilmSpec(view=View.AP, **SMALL), anatomy_seed=4)
        check_inside_image(film.landmarks)
        spacing = Spacing.isotropic(film.camera.patient_pixel_mm, SpacingSource.MAGNIFICATION_CORRECTED)
        measured = {m.name.value: m.value for m in measure_ap(film.landmarks, spacing) if m.value is not None}
        t = film.truth["measurements"]
        for name, value in t.items():
            assert measured[name] == pytest.approx(value, abs=1e-5), name
        assert t["disc_wedge_L4_L5"] == pytest.approx(-2.5, abs=1e-4)
        assert t["disc_wedge_L5_S1"] == pytest.approx(1.5, abs=1e-4)
        tilts = np.cumsum([0.0, *reversed(p.coronal_wedges_deg)])  # S1, L5, ..., L1
        assert t["coronal_cobb"] == pytest.approx(float(np.ptp(tilts)), abs=1e-4)
        assert t["lateral_listhesis_mm_L4_L5"] == pytest.approx(3.0, rel=0.03)
        assert t["lateral_listhesis_mm_L5_S1"] == pytest.approx(-1.5, rel=0.03)

    def test_curve_moves_ap_pixels_not_lateral_truth(self) -> None:
        """The coronal pose changes the AP film; lateral films and their truth are those of the straight spine."""
        ap_straight = simulate_film(PARAMS, FilmSpec(view=View.AP, **SMALL), anatomy_seed=4)
        ap_curved = simulate_film(self.CORONAL, FilmSpec(view=View.AP, **SMALL), anatomy_seed=4)
        assert np.abs(ap_curved.pixels.astype(int) - ap_straight.pixels.astype(int)).mean() > 5
        lat_straight = simulate_film(PARAMS, FilmSpec(**SMALL), anatomy_seed=4)
        lat_curved = simulate_film(self.CORONAL, FilmSpec(**SMALL), anatomy_seed=4)
        assert lat_curved.truth["measurements"] == lat_straight.truth["measurements"]

    def test_instrumented_segment_must_be_aligned(self) -> None:
        with pytest.raises(ValueError, match="aligned coronally"):
            simulate_film(self.CORONAL, FilmSpec(view=View.AP, **SMALL), hardware=Hardware())
