"""Training films from the simulator (:mod:`fusionwatch.sim`): random patients, postures, implants and exposures.

Seeds fix everything, so ``sim:N`` specs with different ``sim_seed`` give disjoint films, and validation films can be
regenerated exactly. Parameters are drawn around the population values of CLINICAL.md (PI 55 +- 10, PT 13 +- 6, ...).
"""

from __future__ import annotations

import numpy as np

from fusionwatch.errors import InputError
from fusionwatch.radiograph import View
from fusionwatch.units import Spacing, SpacingSource

__all__ = ["random_film", "simulate_sample", "journey_sample"]


def random_film(seed: int, view: str = "lateral", size: tuple[int, int] = (800, 1000)):  # noqa: ANN201
    """One random simulated film (a :class:`fusionwatch.sim.film.Film`) for ``seed``; about half have implants."""
    try:
        from fusionwatch.sim.film import FilmSpec, simulate_film
        from fusionwatch.sim.implants import Hardware, Healing
        from fusionwatch.sim.pose import SpineParams
        from fusionwatch.sim.render import Exposure
    except ImportError as exc:
        raise InputError(f"sim:N data needs fusionwatch.sim, which is not available ({exc}).") from None
    rng = np.random.default_rng(seed)
    for _attempt in range(10):
        try:
            pi = float(np.clip(rng.normal(54, 10), 30, 85))
            pt = float(np.clip(rng.normal(14, 6), -5, 35))
            angles = tuple(float(a) for a in np.clip(rng.normal([2, 4, 6, 9, 13], 3.5), -6, 28))
            heights = tuple(float(h) for h in np.clip(rng.normal([6, 6.5, 7, 7, 6], 1.5), 1.0, 12))
            slips = [0.0] * 5
            if rng.random() < 0.3:
                slips[int(rng.choice([3, 4]))] = float(rng.uniform(-3, 12))
            params = SpineParams(pi, pt, angles, heights, tuple(slips), float(rng.uniform(0.85, 1.15)))
            hw, heal = None, Healing()
            if rng.random() < 0.5:
                approach = str(rng.choice(["TLIF", "PLIF", "ALIF", "posterolateral"]))
                levels = ("L4", "L5", "S1") if rng.random() < 0.25 else ("L5", "S1")
                hw = Hardware(approach=approach, levels=levels, cage_material=str(rng.choice(["PEEK", "Ti"])))
                heal = Healing(
                    bridging_fraction=float(rng.uniform(0, 1)),
                    graft_maturity=float(rng.uniform(0, 1)),
                    subsidence_mm=float(rng.uniform(0, 2.5)),
                )
            exposure = Exposure(
                photons_per_mm2=float(10 ** rng.uniform(6.2, 7.0)),
                scatter_to_primary=float(rng.uniform(0.15, 0.6)),
                edge_enhance=float(rng.uniform(0.3, 1.5)),
                gamma=float(rng.uniform(0.7, 1.2)),
                marker=str(rng.choice(["L", "R", ""])),
            )
            v = {"ap": View.AP, "lateral": View.LATERAL}[view]
            spec = FilmSpec(
                view=v,
                width=size[0],
                height=size[1],
                facing_left=bool(rng.random() < 0.5),
                centre_offset_mm=(float(rng.normal(0, 8)), float(rng.normal(0, 12))),
                exposure=exposure,
            )
            return simulate_film(
                params,
                spec,
                hardware=hw,
                healing=heal,
                anatomy_seed=int(rng.integers(1 << 30)),
                noise_seed=int(rng.integers(1 << 30)),
                soft_scale=float(rng.uniform(0.8, 1.3)),
            )
        except ValueError:
            continue
    raise InputError(f"The simulator refused 10 random parameter sets for seed {seed}.")


def simulate_sample(seed: int, view: str = "lateral", max_side: int | None = 1024):  # noqa: ANN201
    """A training :class:`~fusionwatch.detect.datasets.Sample` from :func:`random_film`."""
    from fusionwatch.detect.datasets import Sample, _downscale, _scale_points

    film = random_film(seed, view)
    img = film.pixels.astype(np.float32)
    small, s = _downscale(img, max_side)
    pts = {n: (float(p[0]), float(p[1])) for n, p in film.landmarks.points.items()}
    spacing_mm = film.truth.get("camera", {}).get("patient_pixel_spacing_mm")
    spacing = Spacing.isotropic(float(spacing_mm), SpacingSource.PATIENT_PLANE) if spacing_mm else None
    return Sample(
        small,
        _scale_points(pts, s) if s != 1.0 else pts,
        film.view,
        f"sim-{seed}",
        spacing,
        s,
        f"sim seed {seed}",
        dict(film.truth),
        (img.shape[1], img.shape[0]),
    )


def journey_sample(seed: int, view: str | None = "lateral", max_side: int | None = 1024):  # noqa: ANN201
    """A :class:`~fusionwatch.detect.datasets.Sample` from the simulator's own scenario sampler
    (:func:`fusionwatch.sim.journey.random_film`: a random patient, scenario, visit and view, 1000 x 1250 px).

    ``view`` forces ``"lateral"``, ``"ap"``, ``"flexion"`` or ``"extension"``; ``None`` lets the sampler choose.
    Flexion and extension films are lateral films for the detector.
    """
    from fusionwatch.detect.datasets import Sample, _downscale, _scale_points

    try:
        from fusionwatch.sim.journey import random_film as journey_film
    except ImportError as exc:
        raise InputError(f"journey:N data needs fusionwatch.sim.journey ({exc}).") from None
    film = journey_film(seed, view=view)
    img = film.pixels.astype(np.float32)
    small, s = _downscale(img, max_side)
    pts = {n: (float(p[0]), float(p[1])) for n, p in film.landmarks.points.items()}
    spacing_mm = film.truth.get("camera", {}).get("patient_pixel_spacing_mm")
    spacing = Spacing.isotropic(float(spacing_mm), SpacingSource.PATIENT_PLANE) if spacing_mm else None
    v = View.AP if film.view is View.AP else View.LATERAL
    return Sample(
        small,
        _scale_points(pts, s) if s != 1.0 else pts,
        v,
        f"journey-{seed}",
        spacing,
        s,
        f"journey film seed {seed} ({film.view.value})",
        dict(film.truth),
        (img.shape[1], img.shape[0]),
    )
