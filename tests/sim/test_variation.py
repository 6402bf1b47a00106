"""Tests for sim/variation.py: per-patient bone shapes, soft tissue and bowel gas, with exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from fusionwatch.sim.anatomy import load_anatomy
from fusionwatch.sim.pose import wedge_angles
from fusionwatch.sim.variation import patient_anatomy, patient_skeleton, sample_warps


@pytest.fixture(scope="module")
def warps():
    return sample_warps(load_anatomy(), np.random.default_rng(11))


def test_warp_forward_and_inverse_agree(warps) -> None:
    """The forward map (fixed point of q = p + D(q)) is inverted exactly by p = q - D(q), over the bone's extent."""
    rng = np.random.default_rng(0)
    for w in warps.values():
        p = rng.uniform([-120.0, -150.0], [60.0, 220.0], (500, 2))
        assert np.abs(w.inverse(w.forward(p)) - p).max() < 1e-8


def test_warped_map_moves_with_its_landmarks(warps) -> None:
    """The resampled lateral map at a deformed point equals the original map at the original point (times the
    width factor): image and ground-truth corners move together."""
    an = load_anatomy()
    pa = patient_anatomy(11)
    for b in ("L2", "L5"):
        m0, m1, w = an.lateral[b], pa.lateral[b], pa.warps[b]
        ii, kk = np.nonzero(m0.total > 5.0)
        sel = np.random.default_rng(1).choice(len(ii), 300, replace=False)
        p = np.c_[m0.origin[0] + ii[sel] * m0.res, m0.origin[1] + kk[sel] * m0.res]
        q = w.forward(p)
        v0 = m0.total[ii[sel], kk[sel]]
        v1 = ndimage.map_coordinates(
            m1.total, [(q[:, 0] - m1.origin[0]) / m1.res, (q[:, 1] - m1.origin[1]) / m1.res], order=1
        )
        # bilinear resampling of a 0.5 mm map: compare on smooth interior values, most points within 8 %
        err = np.abs(v1 - v0 * w.width) / (v0 + 1e-6)
        assert np.median(err) < 0.03 and np.mean(err < 0.08) > 0.8, b


def test_patients_differ_and_seeds_repeat() -> None:
    """Two seeds give different bone corners, body wedges, soft tissue and gas; one seed always the same anatomy."""
    a, b = patient_anatomy(21), patient_anatomy(22)
    base = load_anatomy()
    assert a.corners["L3"] != b.corners["L3"] and a.corners["L3"] != base.corners["L3"]
    assert abs(sum(wedge_angles(a).values()) - sum(wedge_angles(b).values())) > 1e-3
    assert np.abs(a.soft_lat - b.soft_lat).max() > 10.0  # gas pockets: centimetres of missing tissue
    assert np.abs(a.soft_ap - b.soft_ap).max() > 10.0
    assert a.corners == patient_skeleton(21).corners  # the cheap truth-only anatomy has the same landmarks
    patient_anatomy.cache_clear()
    again = patient_anatomy(21)
    assert again.corners == a.corners and np.array_equal(again.soft_lat, a.soft_lat)
    assert np.array_equal(again.lateral["L4"].total, a.lateral["L4"].total)


def test_posterior_elements_stretch() -> None:
    """Across patients the posterior elements (spinous process tip: the most posterior bone) vary in length by
    several millimetres while the body corners move only about a millimetre."""
    an = load_anatomy()
    tips, corner_moves = [], []
    for seed in range(8):
        pa = patient_anatomy(100 + seed)
        m = pa.lateral["L3"]
        ii, _ = np.nonzero(m.total > 2.0)
        tips.append(m.origin[0] + ii.min() * m.res)
        corner_moves += [
            float(np.hypot(*np.subtract(pa.corners["L3"][k], an.corners["L3"][k]))) for k in an.corners["L3"]
        ]
    assert np.ptp(tips) > 4.0
    assert max(corner_moves) < 3.0
