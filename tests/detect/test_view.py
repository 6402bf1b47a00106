"""Tests for fusionwatch.detect.view with the shipped view model (onnxruntime only).

Regression guard for SIM_VERSION 12: the simulator's AP films lost the bright organ band that view/1 had learned as an
AP cue, and an AP PNG without a declared view could be called lateral. Films are simulated like
``fusionwatch simulate film --view ap --seed S`` (its default patient, no implants) at a reduced size to stay fast.
"""

from __future__ import annotations

import numpy as np
import pytest

from fusionwatch.detect.inference import MODELS_DIR

AP_SEEDS = (5, 6, 7)  # seeds 5 and 6 gave p(AP) 0.44 / 0.75 with view/1 on SIM_VERSION 12 (2000 x 2500 px)


def _view_session():  # noqa: ANN202
    ort = pytest.importorskip("onnxruntime")
    path = MODELS_DIR / "view.onnx"
    if not path.is_file():
        pytest.skip(f"shipped view model absent: {path}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), so)


def _simulated_ap_png(seed: int, size: tuple[int, int] = (480, 600)) -> np.ndarray:
    """8-bit pixels of the PNG ``simulate film --view ap --seed SEED`` would write (default patient), smaller."""
    pytest.importorskip("fusionwatch.sim.film", reason="simulator not available")
    from fusionwatch.radiograph import View
    from fusionwatch.sim import FilmSpec, SpineParams, simulate_film

    params = SpineParams(pelvic_incidence_deg=52.0, pelvic_tilt_deg=13.0)
    spec = FilmSpec(view=View.AP, width=size[0], height=size[1], facing_left=True, oid_mm=105.0)
    film = simulate_film(params, spec, anatomy_seed=seed, noise_seed=seed + 1)
    return (film.pixels >> 4).astype(np.uint8)


@pytest.mark.parametrize("seed", AP_SEEDS)
def test_simulated_ap_film_is_classified_ap(seed: int) -> None:
    from fusionwatch.detect.view import classify_view

    result = classify_view(_simulated_ap_png(seed), _view_session())
    assert result.view is not None and result.best == "ap", result.probabilities
    assert result.probabilities["ap"] >= 0.9, f"seed {seed}: p(AP) {result.probabilities['ap']:.3f} < 0.9"


def test_probabilities_sum_to_one_and_lateral_facing_is_reported() -> None:
    pytest.importorskip("fusionwatch.sim.film", reason="simulator not available")
    from fusionwatch.detect._simdata import random_film
    from fusionwatch.detect.view import classify_view

    film = random_film(123456, "lateral", size=(400, 500))
    result = classify_view(film.pixels, _view_session())
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    assert result.best in ("lateral_left", "lateral_right"), result.probabilities
    assert result.facing is not None
