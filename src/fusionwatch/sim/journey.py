"""Simulated patient journeys: one patient, one L5-S1 fusion, films from pre-op to 12 months, with exact truth.

Writes the journey contract of docs/simulator.md (schema ``fusionwatch.sim.journey/1``): ``journey.json`` beside the
DICOM DX files, PNG previews and ground-truth landmark files.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydicom.uid import generate_uid

from fusionwatch.errors import InputError
from fusionwatch.io.dicom_dx import DxFilm, write_dx
from fusionwatch.io.landmark_json import write_landmarks
from fusionwatch.radiograph import View
from fusionwatch.records import FusionStatus
from fusionwatch.sim.film import Film, FilmSpec, simulate_film, simulate_truth_only
from fusionwatch.sim.implants import Hardware, Healing
from fusionwatch.sim.pose import BODY_SHAPE_RANGE, SpineParams, wedge_angles
from fusionwatch.sim.render import Exposure, patient_waist
from fusionwatch.sim.variation import patient_skeleton

__all__ = [
    "SCHEMA",
    "SCENARIOS",
    "VISITS",
    "DEFAULT_SURGERY_DATE",
    "simulate_journey",
    "sample_patient",
    "journey_plan",
    "random_film",
    "plan_films",
    "FilmPlan",
    "POPULATIONS",
]

SCHEMA = "fusionwatch.sim.journey/1"
SIM_VERSION = "39"
ASD_DISC_LOSS_MM = (0.0, 0.0, 0.3, 1.2, 4.8)
"""Adjacent-segment degeneration: L4-L5 posterior disc height loss (mm) at immediate post-op, 6 weeks, 3, 6, 12 months
(before the per-patient scale of :func:`_asd_scale`)."""
ASD_ANGLE_PER_MM = 0.5
"""... and the L4-L5 disc angle lost (deg) per mm of posterior height lost."""
ASD_SLIP_MM = (0.0, 0.0, 0.3, 1.5, 3.8)
"""... and the L4-L5 anterolisthesis gained (mm)."""
ASD_TARGET_LOSS_MM = 3.6
"""Measured mean L4-L5 disc height loss (corner distances, as the core measures it) the 12-month film must reach:
above the CLINICAL.md threshold (> 3 mm vs the 6-week film) with a margin."""
ASD_MIN_POSTERIOR_MM = 0.8
"""Posterior L4-L5 disc height (model parameter) the degeneration never goes below."""
"""Bumped whenever the simulator's output changes; :func:`fusionwatch.sim.demo_journeys` regenerates on a change."""
DEFAULT_SURGERY_DATE = dt.date(2025, 6, 2)
LATEST_ALLOWED_DATE = dt.date(2026, 11, 23)

SCENARIOS: tuple[str, ...] = (
    "solid-fusion",
    "pseudarthrosis",
    "cage-subsidence",
    "screw-loosening",
    "adjacent-segment-degeneration",
)

VISITS: tuple[tuple[str, int], ...] = (
    ("pre-op", -14),
    ("immediate-post-op", 1),
    ("6-weeks", 42),
    ("3-months", 91),
    ("6-months", 182),
    ("12-months", 365),
)
"""(visit, days since surgery)."""

_FIRST = ["Alex", "Sam", "Robin", "Kim", "Jo", "Chris", "Pat", "Lee", "Dana", "Toni", "Noa", "Eli"]
_LAST = ["Synthetic", "Phantom", "Modelson", "Raycast", "Voxel", "Lambert", "Fresnel", "Hounsfield"]


def _priors() -> dict[str, Any]:
    return json.loads((resources.files("fusionwatch.sim") / "data" / "priors.json").read_text())


@dataclass(frozen=True)
class PatientModel:
    """A sampled patient: anatomy parameters in neutral standing posture before surgery."""

    params: SpineParams
    anatomy_seed: int
    soft_scale: float
    sex: str
    birth_date: dt.date
    name: str
    patient_id: str
    facing_left: bool
    sid_mm: float
    oid_mm: float
    body_half_width_mm: float | None = None
    """Version 23: half-width of the body at the waist on AP films (mm at the patient); None: the bundled CT's
    (heavy adult) body, wider than the field. See ``render.narrow_body``."""


AP_ADOLESCENT_WIDTH = (1.085, 0.06)
"""Version 21: mean and SD of the adolescent-scoliosis population's vertebral width factor on AP films
(``SpineParams.coronal_widths``; one draw per patient, x N(1, 0.02) per vertebra)."""

AP_ADOLESCENT_BODY_HEIGHT = (0.07, 0.86, 1.14, (1.0, 1.12))
"""Version 27 (give-away 2, alike bodies): the adolescent-scoliosis population's vertebral body heights vary level to
level: each of L1-L5 gets a height factor N(1, 0.07) clipped to 0.86-1.14 (``SpineParams.body_shapes``, replacing the
shared sampler's N(1, 0.04)), L5's further x U(1.0, 1.12), the result clipped to 0.8-1.2 as every body factor (caps
L5 for about 4 % of patients); own stream ``[anatomy_seed, 2602]``. ``None``: off
(version 26's heights). Measured on the realism crops' landmarks (`/tmp/sim26/hcv.py`, 40 real, 24 simulated films):
the SD / mean of the five projected body heights, median 0.106 on the real films (with their annotation noise),
0.074 in version 26, 0.085 with this; L5's projected height over L1-L4's mean 1.02 real, 0.87 in version 26 (its
lordotic tilt foreshortens it), 0.90 with this. Shortening L5 instead (x 0.86-1.0, as the lead expected) gave 0.75,
away from the real films."""

POPULATIONS: tuple[str, ...] = ("adult", "adolescent-scoliosis")
"""Patient populations of :func:`sample_patient`: ``"adult"`` (the product's L5-S1 fusion patients, the default) and
``"adolescent-scoliosis"`` (version 13: the population of the real SpineWeb AP set, for the realism comparison)."""


def sample_patient(
    rng: np.random.Generator, scenario: str, seed: int, surgery_date: dt.date, *, population: str = "adult"
) -> PatientModel:
    """Draw spinopelvic parameters from the UCI joint distribution (class "Normal" for the lumbar shape; the
    degenerate L5-S1 segment is then set explicitly), and body size, habitus and film geometry.

    ``population="adolescent-scoliosis"`` (version 13) draws the patient from the population of the real SpineWeb AP
    films instead: aged 11-18, mostly girls, smaller and slimmer, healthy discs (no slip, no degeneration), and a
    structural lumbar curve (coronal Cobb 20-55 deg) with axial rotation of the vertebrae (:func:`_coronal_scoliotic`).
    The adult draws are unchanged by this option (it is decided after them)."""
    if population not in POPULATIONS:
        raise InputError(f"Unknown population {population!r}; expected one of {', '.join(POPULATIONS)}.")
    anatomy_seed = int(rng.integers(0, 2**31))
    pri = _priors()["classes"]["Normal"]
    mean, cov = np.asarray(pri["mean"]), np.asarray(pri["cov"])
    lo, hi = np.asarray(pri["p05"]), np.asarray(pri["p95"])
    for _ in range(100):
        pi, pt, ll = rng.multivariate_normal(mean, cov)
        if np.all((lo <= (pi, pt, ll)) & ((pi, pt, ll) <= hi)) and 25 <= pi - pt <= 55:
            break
    # UCI "lumbar lordosis" is not the L1-S1 Cobb angle; keep it, bounded to a plausible Cobb range, and split it.
    ll = float(np.clip(ll, 35.0, 65.0))
    # the patient's own bodies' intrinsic wedges (deg; 17.5 for the bundled shapes, varied by sim.variation)
    wedges = sum(wedge_angles(patient_skeleton(anatomy_seed)).values())
    share = np.array([0.06, 0.12, 0.2, 0.28, 0.34]) * rng.uniform(0.85, 1.15, 5)
    share /= share.sum()
    disc_angles = tuple(float(v) for v in np.round((ll - wedges) * share, 3))
    heights = tuple(float(v) for v in np.round(rng.uniform([5.5, 6.0, 6.5, 6.5, 4.0], [7.0, 7.5, 8.0, 8.0, 5.5]), 3))
    slip = float(np.round(rng.uniform(3.0, 8.0), 3)) if rng.random() < 0.6 else 0.0
    sex = "M" if rng.random() < 0.5 else "F"
    scale = float(np.round(rng.normal(1.0 if sex == "M" else 0.93, 0.04), 4))
    scale = float(np.clip(scale, 0.82, 1.15))
    age = int(rng.integers(42, 76))
    birth = dt.date(surgery_date.year - age, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    shapes = tuple(
        (float(np.round(np.clip(d, 0.9, 1.1), 4)), float(np.round(np.clip(h, 0.9, 1.1), 4)))
        for d, h in rng.normal(1.0, 0.04, size=(5, 2))
    )
    params = SpineParams(
        body_shapes=shapes,
        pelvic_incidence_deg=float(round(pi, 3)),
        pelvic_tilt_deg=float(round(pt, 3)),
        disc_angles_deg=disc_angles,
        disc_posterior_heights_mm=heights,
        slips_mm=(0.0, 0.0, 0.0, 0.0, slip),
        disc_degeneration=tuple(
            float(v) for v in np.round(rng.uniform([0, 0, 0, 0, 0.4], [0.15, 0.2, 0.25, 0.4, 1.0]), 3)
        ),
        scale=scale,
        **_coronal(np.random.default_rng([anatomy_seed, 99])),
    )
    soft_scale = float(np.round(rng.uniform(0.85, 1.15), 3))
    if population == "adolescent-scoliosis":
        yrng = np.random.default_rng([anatomy_seed, 1313])
        sex = "F" if yrng.random() < 0.8 else "M"
        age = int(yrng.integers(11, 19))
        birth = dt.date(surgery_date.year - age, int(yrng.integers(1, 13)), int(yrng.integers(1, 29)))
        soft_scale = float(np.round(yrng.uniform(0.72, 0.95), 3))
        params = replace(
            params,
            scale=float(np.round(np.clip(yrng.normal(0.9, 0.04), 0.8, 1.0), 4)),
            slips_mm=(0.0,) * 5,
            disc_degeneration=(0.0,) * 5,
            disc_posterior_heights_mm=tuple(
                float(v) for v in np.round(yrng.uniform([7.0, 7.5, 8.0, 8.5, 7.0], [8.5, 9.5, 10.0, 10.5, 9.0]), 3)
            ),
            **_coronal_scoliotic(yrng),
        )
        # version 21 (own stream: every draw above keeps its value): broader vertebral bodies on AP films; the
        # bundled adult male bodies, scaled down with the patient, were 8 % narrower for the L1-L5 span than the real
        # set's (L3 endplate width / L1-L5 column height: median 0.250 vs 0.271 over 237 SpineWeb patients)
        wrng = np.random.default_rng([anatomy_seed, 2101])
        base = float(np.clip(wrng.normal(*AP_ADOLESCENT_WIDTH), 0.9, 1.3))
        params = replace(
            params,
            coronal_widths=tuple(float(v) for v in np.round(np.clip(base * wrng.normal(1.0, 0.02, 5), 0.85, 1.33), 4)),
        )
        if AP_ADOLESCENT_BODY_HEIGHT is not None:  # version 27: body heights vary level to level (own stream)
            sd, lo, hi, l5 = AP_ADOLESCENT_BODY_HEIGHT
            hrng = np.random.default_rng([anatomy_seed, 2602])
            hts = np.clip(hrng.normal(1.0, sd, 5), lo, hi)
            hts[4] *= hrng.uniform(*l5)
            params = replace(
                params,
                body_shapes=tuple(
                    (d, float(np.round(np.clip(h, *BODY_SHAPE_RANGE), 4)))
                    for (d, _), h in zip(params.body_shapes, hts, strict=True)
                ),
            )
    return PatientModel(
        params=params,
        anatomy_seed=anatomy_seed,
        soft_scale=soft_scale,
        sex=sex,
        birth_date=birth,
        name=f"{_LAST[int(rng.integers(len(_LAST)))]}^{_FIRST[int(rng.integers(len(_FIRST)))]}",
        patient_id=f"SIM{seed:06d}{SCENARIOS.index(scenario) if scenario in SCENARIOS else 9}",
        facing_left=bool(rng.random() < 0.7),
        sid_mm=float(np.round(rng.uniform(1000.0, 1200.0), 1)),
        oid_mm=float(np.round(rng.uniform(160.0, 230.0), 1)),
        body_half_width_mm=patient_waist(anatomy_seed, population),
    )


def _coronal(rng: np.random.Generator) -> dict[str, tuple[float, ...]]:
    """A mild lumbar curve for AP films: coronal Cobb about 0-20 deg (half the patients under 5), a main curve over
    L1-L4 of random side, degenerative wedging and lateral listhesis at L4-L5 and L5-S1."""
    cobb = float(rng.uniform(0.0, 5.0) if rng.random() < 0.5 else rng.uniform(5.0, 18.0))
    side = 1.0 if rng.random() < 0.5 else -1.0
    share = rng.dirichlet([2.0, 2.0, 2.0])
    low = np.clip(rng.normal(0.0, 2.0, 2), -5.0, 5.0)
    wedges = (*np.clip(side * cobb * share, -14.5, 14.5), *low)  # (one disc may take most of an 18 deg curve)
    lat = [float(v) for v in rng.normal(0.0, 0.4, 5)]
    if rng.random() < 0.3:
        lat[3] = float(side * rng.uniform(2.0, 5.0))
    if rng.random() < 0.2:
        lat[4] = float(-side * rng.uniform(1.0, 4.0))
    return {
        "coronal_wedges_deg": tuple(float(v) for v in np.round(wedges, 3)),
        "lateral_listhesis_mm": tuple(float(v) for v in np.round(np.clip(lat, -8.0, 8.0), 3)),
    }


def _coronal_scoliotic(rng: np.random.Generator) -> dict[str, tuple[float, ...]]:
    """A structural (adolescent idiopathic) lumbar curve: a main curve over the discs L1-L2 ... L3-L4 with coronal
    Cobb 20-55 deg toward a random side (apex at L2 or L3), a fractional curve of the other side below it (L4-L5,
    L5-S1: 35-80 % of the main curve), small lateral translations, and axial rotation: the vertebral bodies turn
    toward the convexity, most at the apex (0.3-0.55 x the Cobb angle, as Perdriolle / Nash-Moe grades go with the
    curve's size), falling off away from it; L5 turns a little the other way with the fractional curve."""
    cobb = float(rng.uniform(20.0, 55.0))
    side = 1.0 if rng.random() < 0.5 else -1.0
    share = rng.dirichlet([4.0, 4.0, 4.0])
    main = np.clip(cobb * share, 0.0, 19.5)  # (the discs' share before the bodies take theirs, below)
    frac = cobb * rng.uniform(0.35, 0.8) * rng.dirichlet([3.0, 2.0])
    wedges = np.r_[side * main, -side * np.clip(frac, 0.0, 12.0)]
    apex = 1 if share[0] + share[1] > share[1] + share[2] else 2  # L2 or L3
    rot_apex = float(np.clip(cobb * rng.uniform(0.3, 0.55), 5.0, 28.0))
    rot = side * rot_apex * np.exp(-(((np.arange(5) - apex) / 1.4) ** 2)) + rng.normal(0.0, 1.5, 5)
    rot[4] = -side * rng.uniform(0.0, 5.0)
    lat = rng.normal(0.0, 0.8, 5)
    lat[apex] += side * rng.uniform(0.0, 3.0)  # the apical vertebra translated toward the convexity
    # version 14 (drawn last, so the draws above keep their values): the vertebrae inside the main curve (L2, L3) are
    # wedged themselves, lower on the concave side, by 20-40 % of the mean wedge of the discs above and below them;
    # those discs give up as much (half each), so the Cobb angle over the curve is unchanged
    body = np.zeros(5)
    share_body = float(rng.uniform(0.2, 0.4))
    for v in (1, 2):  # L2 between discs 0 and 1, L3 between discs 1 and 2
        body[v] = share_body * (wedges[v - 1] + wedges[v]) / 2
    for v in (1, 2):
        wedges[v - 1] -= body[v] / 2
        wedges[v] -= body[v] / 2
    return {
        "coronal_wedges_deg": tuple(float(v) for v in np.round(wedges, 3)),
        "lateral_listhesis_mm": tuple(float(v) for v in np.round(np.clip(lat, -4.0, 4.0), 3)),
        "axial_rotations_deg": tuple(float(v) for v in np.round(np.clip(rot, -30.0, 30.0), 3)),
        "vertebral_wedges_deg": tuple(float(v) for v in np.round(np.clip(body, -15.0, 15.0), 3)),
    }


@dataclass(frozen=True)
class VisitState:
    """Truth of the operated spine at one visit."""

    visit: str
    days: int
    params: SpineParams
    healing: Healing | None
    bending: tuple[str, ...]
    """Extra films: ``("flexion", "extension")`` when taken at this visit."""
    motion_deg: float
    """Total L5-S1 angular motion between flexion and extension (deg)."""
    motion_mm: float
    findings: tuple[str, ...]
    fusion_status: str | None


def journey_plan(scenario: str, patient: PatientModel, rng: np.random.Generator) -> tuple[Hardware, list[VisitState]]:
    """The hardware and every visit's true state for a scenario (CLINICAL.md thresholds decide the expected
    findings)."""
    if scenario not in SCENARIOS:
        raise InputError(f"Unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}.")
    approach = str(rng.choice(["TLIF", "TLIF", "PLIF", "ALIF", "posterolateral"]))
    if scenario == "cage-subsidence" and approach == "posterolateral":
        approach = "TLIF"
    hw = Hardware(
        approach=approach,
        screw_diameter_mm=float(rng.choice([6.0, 6.5, 7.0, 7.5])),
        screw_length_mm=float(rng.choice([40.0, 45.0, 50.0])),
        cage_material="Ti" if rng.random() < 0.3 else "PEEK",
    )
    pre = patient.params
    # surgery: cage restores the L5-S1 disc height and lordosis, reduces most of the slip
    restored_h = float(np.round(rng.uniform(7.5, 9.5), 3))
    post = replace(
        pre,
        disc_posterior_heights_mm=(
            *pre.disc_posterior_heights_mm[:4],
            restored_h if hw.has_cage else pre.disc_posterior_heights_mm[4],
        ),
        disc_angles_deg=(*pre.disc_angles_deg[:4], pre.disc_angles_deg[4] + (3.0 if hw.has_cage else 0.0)),
        slips_mm=(*pre.slips_mm[:4], round(pre.slips_mm[4] * 0.3, 3)),
        # the instrumented L5-S1 is aligned coronally
        coronal_wedges_deg=(*pre.coronal_wedges_deg[:4], 0.0),
        lateral_listhesis_mm=(*pre.lateral_listhesis_mm[:4], 0.0),
        # (version 13) screws follow the sagittal and coronal pose: the instrumented L4 and L5 are derotated
        axial_rotations_deg=(*pre.axial_rotations_deg[:3], 0.0, 0.0),
    )
    t = {"immediate-post-op": 0, "6-weeks": 1, "3-months": 2, "6-months": 3, "12-months": 4}
    bridging = {
        "solid-fusion": (0, 0, 0.3, 0.75, 0.95),
        "pseudarthrosis": (0, 0, 0.05, 0.1, 0.1),
        "cage-subsidence": (0, 0, 0.2, 0.55, 0.85),
        "screw-loosening": (0, 0, 0.05, 0.1, 0.15),
        "adjacent-segment-degeneration": (0, 0, 0.3, 0.8, 0.95),
    }[scenario]
    subsidence = (0.0, 0.3, 1.2, 3.0, 3.6) if scenario == "cage-subsidence" else (0.0, 0.2, 0.4, 0.5, 0.5)
    if not hw.has_cage:
        subsidence = (0.0,) * 5
    halo = (0.0, 0.3, 0.9, 1.6, 2.2) if scenario == "screw-loosening" else (0.0,) * 5
    toggle = (0.0, 0.0, 0.8, 2.4, 3.2) if scenario == "screw-loosening" else (0.0,) * 5
    migration = (0.0, 0.0, 0.6, 1.2, 1.4) if scenario == "cage-subsidence" else (0.0,) * 5
    asd = scenario == "adjacent-segment-degeneration"
    asd_loss, asd_angle = _asd_course(post, patient.anatomy_seed) if asd else ((0.0,) * 5, 0.0)
    asd_slip = ASD_SLIP_MM if asd else (0.0,) * 5
    rod_broken = (False, False, False, False, scenario == "pseudarthrosis")
    nonunion = scenario in ("pseudarthrosis", "screw-loosening")
    states = [
        VisitState(
            "pre-op",
            VISITS[0][1],
            pre,
            None,
            ("flexion", "extension"),
            float(np.round(rng.uniform(6.0, 10.0), 3)),
            1.5,
            (),
            None,
        )
    ]
    for visit, days in VISITS[1:]:
        i = t[visit]
        sub = subsidence[i]
        params = _asd_loss(post, asd_loss[i], asd_slip[i], asd_angle).moved(
            d_angles=(0.0, 0.0, 0.0, 0.0, -0.35 * sub), d_heights=(0.0, 0.0, 0.0, 0.0, -sub)
        )
        if asd_loss[i] > 0:
            deg = list(params.disc_degeneration)
            deg[3] = float(min(1.0, deg[3] + asd_loss[i] / 4.0))
            params = replace(params, disc_degeneration=tuple(deg))
        healing = Healing(
            bridging_fraction=bridging[i],
            graft_maturity=min(1.0, days / 300.0),
            subsidence_mm=sub,
            migration_mm=migration[i],
            halo_mm={"S1.left": halo[i], "S1.right": halo[i] * 0.9} if halo[i] > 0 else {},
            rod_broken=rod_broken[i],
            screw_toggle_deg={"S1.left": toggle[i], "S1.right": toggle[i]} if toggle[i] else {},
        )
        bending: tuple[str, ...] = ()
        if visit == "12-months" or (visit == "6-months" and nonunion):
            bending = ("flexion", "extension")
        motion = float(np.round(rng.uniform(5.0, 7.5), 3)) if nonunion else float(np.round(rng.uniform(0.6, 1.6), 3))
        findings: list[str] = []
        base_sub = subsidence[1]
        if sub - base_sub > 2.0:
            findings.append("cage_subsidence")
        if max(healing.halo_mm.values(), default=0.0) > 1.0:
            findings.append("screw_loosening_suspected")
        if healing.rod_broken:
            findings.append("rod_fracture")
        if asd_slip[i] > 3.0:
            findings.append("adjacent_segment_listhesis")
        if visit in ("immediate-post-op", "6-weeks", "3-months"):
            status = FusionStatus.ON_TRACK
        elif visit == "6-months":
            status = FusionStatus.DELAYED_UNION_SUSPECTED if nonunion else FusionStatus.ON_TRACK
        else:
            status = FusionStatus.PSEUDARTHROSIS_SUSPECTED if nonunion else FusionStatus.FUSED_CRITERIA_MET
        states.append(
            VisitState(
                visit, days, params, healing, bending, motion, 1.2 if nonunion else 0.3, tuple(findings), status.value
            )
        )
    return hw, _label_adjacent_disc(states, patient.anatomy_seed)


def _asd_loss(params: SpineParams, loss_mm: float, slip_mm: float, angle_per_mm: float) -> SpineParams:
    """L4-L5 degenerated by ``loss_mm`` of posterior height (never below :data:`ASD_MIN_POSTERIOR_MM`), with
    ``angle_per_mm`` deg of disc angle lost per mm, and slipped forward by ``slip_mm``."""
    h = params.disc_posterior_heights_mm[3]
    loss_mm = min(loss_mm, max(0.0, h - ASD_MIN_POSTERIOR_MM))
    return params.moved(
        d_angles=(0.0, 0.0, 0.0, -angle_per_mm * loss_mm, 0.0),
        d_slips=(0.0, 0.0, 0.0, slip_mm, 0.0),
        d_heights=(0.0, 0.0, 0.0, -loss_mm, 0.0),
    )


def _asd_course(post: SpineParams, anatomy_seed: int) -> tuple[tuple[float, ...], float]:
    """The adjacent-segment posterior height losses per visit (:data:`ASD_DISC_LOSS_MM` times a per-patient factor
    1.0-1.6) and the disc angle lost per mm (0-2.5 deg): the first combination whose 12-month film's *measured* mean
    L4-L5 disc height is at least :data:`ASD_TARGET_LOSS_MM` below the 6-week film's (else the one that comes
    closest). The measured heights are corner-to-corner distances, which the growing anterolisthesis lengthens, so one
    parameter loss measures 2.5-5 mm depending on the patient's disc shape."""
    name = "disc_height_mean_L4_L5"
    skeleton = patient_skeleton(anatomy_seed)
    base = simulate_truth_only(post, FilmSpec(), skeleton)[name]
    best = (0.0, 1.0, ASD_ANGLE_PER_MM)
    # least lordosis lost first (a lost lordosis also grows the PI-LL mismatch)
    candidates = [(k, a) for k in (1.0, 1.15, 1.3, 1.45, 1.6) for a in (ASD_ANGLE_PER_MM, 0.3, 0.0)]
    for k, a in candidates + [(1.6, 1.0), (1.6, 1.5), (1.6, 2.0), (1.6, 2.5)]:
        late = simulate_truth_only(_asd_loss(post, k * ASD_DISC_LOSS_MM[-1], ASD_SLIP_MM[-1], a), FilmSpec(), skeleton)[
            name
        ]
        if base is None or late is None:
            continue
        if base - late >= ASD_TARGET_LOSS_MM:
            return tuple(float(np.round(k * v, 3)) for v in ASD_DISC_LOSS_MM), a
        best = max(best, (base - late, k, a))
    _, k, a = best
    return tuple(float(np.round(k * v, 3)) for v in ASD_DISC_LOSS_MM), a


PI_LL_BANDS_DEG = (10.0, 20.0)
"""SRS-Schwab PI-LL mismatch bands (CLINICAL.md): < 10 / 10-20 / > 20 deg."""
PI_LL_MIN_CHANGE_DEG = 3.0
"""A PI-LL mismatch finding also needs |PI-LL| to have grown by more than this (the follow-up rules' default)."""


def _pi_ll_band(v: float) -> int:
    a = abs(v)
    return 0 if a < PI_LL_BANDS_DEG[0] else (1 if a <= PI_LL_BANDS_DEG[1] else 2)


def _label_adjacent_disc(states: list[VisitState], anatomy_seed: int) -> list[VisitState]:
    """Findings read from the measured truth of each visit vs the 6-week film: ``adjacent_segment_disc_height_loss``
    where the *true* mean L4-L5 disc height fell more than 3 mm (CLINICAL.md), and ``pi_ll_mismatch`` where the true
    PI-LL mismatch moved up an SRS-Schwab band and grew by more than 3 deg (an adjacent segment losing lordosis)."""
    skeleton = patient_skeleton(anatomy_seed)
    truth = {st.visit: simulate_truth_only(st.params, FilmSpec(), skeleton) for st in states}
    base = truth.get("6-weeks")
    out = []
    for st in states:
        t = truth[st.visit]
        if st.healing is not None and base is not None:
            found = list(st.findings)
            h, h0 = t["disc_height_mean_L4_L5"], base["disc_height_mean_L4_L5"]
            if h is not None and h0 is not None and h0 - h > 3.0:
                found.append("adjacent_segment_disc_height_loss")
            m, m0 = t["pi_ll_mismatch"], base["pi_ll_mismatch"]
            if (
                m is not None
                and m0 is not None
                and _pi_ll_band(m) > _pi_ll_band(m0)
                and abs(m) - abs(m0) > PI_LL_MIN_CHANGE_DEG
            ):
                found.append("pi_ll_mismatch")
            st = replace(st, findings=tuple(found))
        out.append(st)
    return out


def _bend(params: SpineParams, kind: str, fused_motion: float, fused_mm: float, fused: bool) -> SpineParams:
    """Flexion or extension posture: half of the motion each way from neutral; the fused L5-S1 moves
    ``fused_motion / 2`` deg and ``fused_mm / 2`` mm."""
    sgn = -1.0 if kind == "flexion" else 1.0
    free = np.array([3.5, 4.5, 5.0, 5.5, 0.0 if fused else 4.0])
    l5s1 = fused_motion / 2
    d_ang = tuple(float(v) for v in sgn * np.r_[free[:4], l5s1])
    d_slip = (0.0, 0.0, 0.0, sgn * -0.6, sgn * -fused_mm / 2)
    return params.moved(d_angles=d_ang, d_slips=d_slip, d_tilt=-5.0 if kind == "flexion" else 4.0)


AP_SCOLIOSIS_DOSE = 0.5
"""Version 23: photon fluence of the adolescent-scoliosis population's AP films relative to an adult lumbar AP (the
full-spine scoliosis exam is taken at low dose - children are radiosensitive and followed with repeated films - so
its films are grainier)."""
AP_SCOLIOSIS_SCATTER = 0.6
"""Version 23: scatter-to-primary ratio of the adolescent-scoliosis population's AP films relative to the adult
draw (0.25-0.5): scatter grows with the thickness and width of the irradiated body, and these patients are thin (AP
path 0.72-0.95 of the adult's, ``soft_scale``, and 2 x 105-165 mm wide instead of the bundled 2 x 235 mm), so their
films keep more contrast and crisper bone edges."""


def exam_exposure(exposure: Exposure, population: str, view: str) -> Exposure:
    """The film's exposure under its population's exam protocol (version 23): the adolescent-scoliosis population's
    AP films are the low-dose full-spine scoliosis exam (``AP_SCOLIOSIS_DOSE``) of a thin body (less scatter,
    ``AP_SCOLIOSIS_SCATTER``), and since version 24 a share of them (``AP_FULL_SPINE_WINDOW``) a lower window top
    (``Exposure.window_top_pct``, a percentile), drawn from its own stream seeded by the film's fluence (the film's
    own stream is not drawn from); every other film is returned unchanged (no draw)."""
    if population != "adolescent-scoliosis" or view != "ap":
        return exposure
    top = exposure.window_top_pct
    if AP_FULL_SPINE_WINDOW[0] > 0.0:  # version 24 trial F: own stream, seeded by the film's fluence draw
        rng = np.random.default_rng([int(exposure.photons_per_mm2), 2402])
        if rng.random() < AP_FULL_SPINE_WINDOW[0]:
            top = float(np.round(rng.uniform(*AP_FULL_SPINE_WINDOW[1:]), 2))
    return replace(
        exposure,
        photons_per_mm2=exposure.photons_per_mm2 * AP_SCOLIOSIS_DOSE,
        scatter_to_primary=exposure.scatter_to_primary * AP_SCOLIOSIS_SCATTER,
        window_top_pct=top,
    )


AP_FULL_SPINE_WINDOW = (0.4, 93.0, 98.5)
"""Version 24 trial F, on since version 24 (share 0.4; share 0.0: off, no draw): the share of the adolescent-scoliosis
population's AP films whose window ends at a percentile drawn from the last two values instead of 99.8. These are
full-spine scoliosis films: the console sets the window over the whole film, chest and lungs included, so on a share of
them the densest lumbar and pelvic bone lies above the window's top and shows washed-out white (as on several real
SpineWeb films); the simulated film covers the lumbar spine only, so the clipping is drawn instead. Drawn from its own
stream seeded by the film's fluence draw (no draw of the film's stream changes)."""


def _exposure(rng: np.random.Generator, marker: str, view: str = "lateral") -> Exposure:
    """Per-film imaging-chain settings; AP films get the lighter, less equalised look of real AP consoles."""
    ap = view == "ap"
    return Exposure(
        photons_per_mm2=float(rng.uniform(0.9e7, 2.2e7)) * (1.5 if ap else 1.0),
        scatter_to_primary=float(rng.uniform(0.25, 0.5)),
        focal_spot_mm=float(rng.choice([0.6, 1.0, 1.2])),
        detector_blur_px=float(rng.uniform(0.5, 0.9)),
        edge_enhance=float(rng.uniform(0.6, 1.1) if ap else rng.uniform(0.5, 1.1)),
        equalise=float(rng.uniform(0.3, 0.5) if ap else rng.uniform(0.85, 0.95)),
        contrast=float(rng.uniform(2.5, 3.5) if ap else rng.uniform(4.0, 6.0)),
        gamma=float(rng.uniform(0.4, 0.55) if ap else rng.uniform(0.9, 1.1)),
        # narrow margins along the long axis (the field must reach from L1 to the femoral heads), wider at the sides
        collimation_mm=tuple(float(v) for v in rng.uniform(5.0, 25.0, 4) * (1.0, 0.5, 1.0, 0.5)),  # type: ignore[arg-type]
        marker=marker,
    )


def _orientation(view: str, facing_left: bool) -> tuple[str, str]:
    if view == "ap":
        return ("L", "F")
    return ("P", "F") if facing_left else ("A", "F")


@dataclass(frozen=True)
class FilmPlan:
    """One film of a journey before rendering: which visit and view, the posture and how it is taken."""

    visit_index: int
    film_index: int
    state: VisitState
    view: str
    params: SpineParams
    neutral: SpineParams | None
    spec: FilmSpec
    noise_seed: int


def plan_films(
    scenario: str, seed: int, patient: PatientModel, states: list[VisitState], size: tuple[int, int]
) -> list[FilmPlan]:
    """Every film of a journey, in order, with its posture and film settings (deterministic by seed)."""
    plans: list[FilmPlan] = []
    for vi, st in enumerate(states):
        views: list[str] = ["lateral"] + (["ap"] if st.visit in ("pre-op", "immediate-post-op", "12-months") else [])
        views += list(st.bending)
        for fi, view in enumerate(views):
            frng = np.random.default_rng([seed, SCENARIOS.index(scenario), vi, fi])
            v = View(view)
            params, neutral = st.params, None
            if v in (View.FLEXION, View.EXTENSION):
                params = _bend(st.params, view, st.motion_deg, st.motion_mm, st.healing is not None)
                neutral = st.params
            spec = FilmSpec(
                view=v,
                width=size[0],
                height=size[1],
                facing_left=patient.facing_left,
                sid_mm=patient.sid_mm,
                oid_mm=patient.oid_mm if v.is_lateral else patient.oid_mm * 0.55,
                centre_offset_mm=tuple(float(x) for x in frng.normal(0.0, 6.0, 2)),  # type: ignore[arg-type]
                exposure=_exposure(frng, "L", view),
            )
            plans.append(FilmPlan(vi, fi, st, view, params, neutral, spec, int(frng.integers(0, 2**31))))
    return plans


def simulate_journey(
    scenario: str,
    seed: int,
    out_dir: Path,
    *,
    surgery_date: dt.date | None = None,
    size: tuple[int, int] = (2000, 2500),
) -> Path:
    """Simulate one patient's journey and write it to ``out_dir``; returns the path of ``journey.json``.

    Parameters
    ----------
    scenario : str
        One of :data:`SCENARIOS`.
    seed : int
        Same seed -> identical pixels, identifiers and truth.
    out_dir : Path
        Created if missing; existing files of the same names are overwritten.
    surgery_date : date | None
        Default :data:`DEFAULT_SURGERY_DATE`. Every film date must lie on or before 2026-11-23.
    size : (width, height)
        Pixels per film (the detector field is fixed, so smaller films have larger pixels).

    Raises
    ------
    InputError
        Unknown scenario, negative seed, or a surgery date that would put films in the future.
    """
    if scenario not in SCENARIOS:
        raise InputError(f"Unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}.")
    if not isinstance(seed, int) or seed < 0:
        raise InputError(f"Seed must be a non-negative integer, got {seed!r}.")
    surgery = surgery_date or DEFAULT_SURGERY_DATE
    last = surgery + dt.timedelta(days=VISITS[-1][1])
    if last > LATEST_ALLOWED_DATE:
        raise InputError(
            f"Surgery date {surgery.isoformat()} puts the 12-month film on {last.isoformat()}, after "
            f"{LATEST_ALLOWED_DATE.isoformat()}; choose a surgery date on or before "
            f"{(LATEST_ALLOWED_DATE - dt.timedelta(days=VISITS[-1][1])).isoformat()}."
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, SCENARIOS.index(scenario)])
    patient = sample_patient(rng, scenario, seed, surgery)
    hw, states = journey_plan(scenario, patient, rng)
    key = f"SIM-{scenario}-{seed}"
    films_out: list[dict[str, Any]] = []
    study_root = f"fusionwatch-sim:{scenario}:{seed}"
    for plan in plan_films(scenario, seed, patient, states, size):
        st = plan.state
        date = surgery + dt.timedelta(days=st.days)
        study_uid = generate_uid(entropy_srcs=[study_root, st.visit])
        film = simulate_film(
            plan.params,
            plan.spec,
            hardware=hw if st.healing is not None else None,
            healing=st.healing or Healing(),
            surgery_params=states[1].params,
            neutral_params=plan.neutral,
            anatomy_seed=patient.anatomy_seed,
            noise_seed=plan.noise_seed,
            soft_scale=patient.soft_scale,
            body_half_width_mm=patient.body_half_width_mm,
        )
        stem = f"{plan.visit_index}_{st.visit}_{plan.view}"
        films_out.append(
            _write_film(
                out_dir,
                stem,
                film,
                patient,
                st,
                date,
                study_uid,
                plan.visit_index,
                plan.film_index,
                plan.view,
                seed,
                scenario,
            )
        )
    journey = {
        "schema": SCHEMA,
        "simulator_version": SIM_VERSION,
        "scenario": scenario,
        "seed": seed,
        "patient": {
            "key": key,
            "patient_id": patient.patient_id,
            "name": patient.name,
            "birth_date": patient.birth_date.isoformat(),
            "sex": patient.sex,
        },
        "surgery": {
            "date": surgery.isoformat(),
            "levels": [["L5", "S1"]],
            "approach": hw.approach,
            "implants": {
                "screw_diameter_mm": hw.screw_diameter_mm,
                "screw_length_mm": hw.screw_length_mm,
                "cage": hw.cage_material if hw.has_cage else None,
            },
        },
        "films": films_out,
        # every visit, pre-op included: its fusion_status is null (not applicable before surgery, as the follow-up
        # timeline reports it) and its findings are empty (the follow-up rules compare post-operative films only)
        "expected": {st.visit: {"findings": list(st.findings), "fusion_status": st.fusion_status} for st in states},
    }
    path = out_dir / "journey.json"
    path.write_text(json.dumps(journey, indent=1) + "\n", encoding="utf-8")
    return path


def _write_film(
    out_dir: Path,
    stem: str,
    film: Film,
    patient: PatientModel,
    st: VisitState,
    date: dt.date,
    study_uid: str,
    vi: int,
    fi: int,
    view: str,
    seed: int,
    scenario: str,
) -> dict[str, Any]:
    cam = film.camera
    dx = DxFilm(
        view=view,
        imager_pixel_spacing_mm=cam.pixel_mm,
        magnification=cam.magnification,
        sid_mm=cam.sid_mm,
        sod_mm=cam.sod_mm,
        patient_id=patient.patient_id,
        patient_name=patient.name,
        birth_date=patient.birth_date,
        sex=patient.sex,
        study_date=date,
        study_uid=study_uid,
        series_uid=generate_uid(entropy_srcs=[study_uid, view, "series"]),
        sop_uid=generate_uid(entropy_srcs=[study_uid, view, "sop"]),
        accession=f"SIMACC{seed:05d}{vi}",
        series_number=fi + 1,
        patient_orientation=_orientation("ap" if view == "ap" else "lateral", cam.facing_left),
    )
    write_dx(out_dir / f"{stem}.dcm", film.pixels, dx)
    Image.fromarray((film.pixels >> 4).astype(np.uint8)).save(out_dir / f"{stem}.png", optimize=False)
    write_landmarks(film.landmarks, out_dir / f"{stem}.landmarks.json")
    truth = dict(film.truth)
    if st.bending and view in ("flexion", "extension"):
        truth["segment_motion_total_deg_L5_S1"] = round(st.motion_deg, 6)
    return {
        "file": f"{stem}.dcm",
        "png": f"{stem}.png",
        "visit": st.visit,
        "date": date.isoformat(),
        "days_since_surgery": st.days,
        "view": view,
        "landmarks": f"{stem}.landmarks.json",
        "truth": truth,
    }


def random_film(
    seed: int, *, size: tuple[int, int] = (1000, 1250), view: str | None = None, population: str = "adult"
) -> Film:
    """One film of a random patient, scenario, visit and view (for detector training and property tests).

    Deterministic by ``seed``. ``view`` forces ``"lateral"``, ``"ap"``, ``"flexion"`` or ``"extension"``.
    ``population`` as in :func:`sample_patient` (``"adolescent-scoliosis"``: the patient's pre-operative state is
    kept whatever visit is drawn: no implants in that population).
    """
    rng = np.random.default_rng([seed, 77])
    scenario = SCENARIOS[int(rng.integers(len(SCENARIOS)))]
    patient = sample_patient(rng, scenario, seed, DEFAULT_SURGERY_DATE, population=population)
    hw, states = journey_plan(scenario, patient, rng)
    st = states[int(rng.integers(len(states)))]
    if population != "adult":
        st = states[0]
    v = View(view) if view else View(str(rng.choice(["lateral", "lateral", "lateral", "ap", "flexion", "extension"])))
    params, neutral = st.params, None
    if v in (View.FLEXION, View.EXTENSION):
        params = _bend(st.params, v.value, st.motion_deg, st.motion_mm, st.healing is not None)
        neutral = st.params
    spec = FilmSpec(
        view=v,
        width=size[0],
        height=size[1],
        facing_left=bool(rng.random() < 0.6),
        sid_mm=patient.sid_mm,
        oid_mm=patient.oid_mm if v.is_lateral else patient.oid_mm * 0.55,
        centre_offset_mm=tuple(float(x) for x in rng.normal(0.0, 10.0, 2)),  # type: ignore[arg-type]
        exposure=exam_exposure(_exposure(rng, "L", v.value), population, v.value),
    )
    return simulate_film(
        params,
        spec,
        hardware=hw if st.healing is not None else None,
        healing=st.healing or Healing(),
        surgery_params=states[1].params,
        neutral_params=neutral,
        anatomy_seed=patient.anatomy_seed,
        noise_seed=int(rng.integers(0, 2**31)),
        soft_scale=patient.soft_scale,
        body_half_width_mm=patient.body_half_width_mm,
    )
