"""Tests for fusionwatch.detect._chain (level counting on the chain of real vertebrae).

The network is replaced by a fake "vertebra model" that snaps every crop onto the bright rectangle nearest the crop's
centre (what the real ap-vertebra model is trained to do), on a drawn film of 19 upright vertebrae (C7, T1-L5, S1).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from fusionwatch.detect import _chain as C
from fusionwatch.detect.levels import level_offset
from fusionwatch.detect.specs import PRESETS

TOP = 60.0  # y of the first drawn body's top edge (C7)
PITCH = 60.0  # centre-to-centre distance of consecutive bodies
HEIGHT = 40.0
WIDTH = 70.0
X0 = 100.0  # left edge of every body


def _true_quads(n: int = 19) -> np.ndarray:
    """Corners (superior-left, superior-right, inferior-left, inferior-right) of n upright bodies, top to bottom."""
    out = []
    for j in range(n):
        y0 = TOP + j * PITCH
        out.append([[X0, y0], [X0 + WIDTH, y0], [X0, y0 + HEIGHT], [X0 + WIDTH, y0 + HEIGHT]])
    return np.array(out, float)


def _film(quads: np.ndarray) -> np.ndarray:
    img = np.zeros((int(TOP + len(quads) * PITCH + 80), 300), np.float32)
    for q in quads:
        img[int(q[0, 1]) : int(q[2, 1]) + 1, int(q[0, 0]) : int(q[1, 0]) + 1] = 1.0
    return img


class _SnapSession:
    """Stands in for onnxruntime: each crop's 4 corners = the bounding box of the bright blob nearest its centre."""

    def run(self, _names, feeds):  # noqa: ANN001
        batch = feeds["image"][:, 0]
        n, h, w = batch.shape
        coords = np.zeros((n, 4, 2), np.float32)
        centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
        for i, x in enumerate(batch):
            lab, k = ndimage.label(x > 0.5 * (x.max() + x.min()))
            best = None
            for j in range(1, k + 1):
                ys, xs = np.nonzero(lab == j)
                d = np.linalg.norm(np.array([xs.mean(), ys.mean()]) - centre)
                if best is None or d < best[0]:
                    best = (d, xs.min(), xs.max(), ys.min(), ys.max())
            if best is None:
                coords[i] = centre
                continue
            _, x0, x1, y0, y1 = best
            coords[i] = [[x0, y0], [x1, y0], [x0, y1], [x1, y1]]
        return coords, np.ones((n, 4), np.float32)


class _SnapModel:
    spec = PRESETS["ap-vertebra"]
    session = _SnapSession()


def _named(quads: np.ndarray, levels=C.SPINE_LEVELS) -> dict[str, tuple[float, float]]:
    return {
        f"{lv}.{c}": tuple(map(float, q[j]))
        for lv, q in zip(levels, quads, strict=True)
        for j, c in enumerate(C.CORNERS)
    }


class TestChooseWindow:
    """Tests for choose_window()."""

    def test_correct_column_keeps_film_count(self) -> None:
        """Nodes at the film stage's own levels (plus one above T1 and one below L5): T1 is the node at 0."""
        taus = np.arange(-1.0, 18.0) + 0.05 * np.sin(np.arange(19))
        chosen, film = C.choose_window(taus)
        assert chosen == film == 1

    def test_local_squeeze_counts_from_the_well_placed_levels(self) -> None:
        """T1-T10 right, then 8 real bodies squeezed into 7 film levels: the film's "L5" is the 18th body; the
        window puts L5 on the 17th."""
        j = np.arange(18)
        taus = np.where(j <= 9, j, 9 + (j - 9) * 7 / 8).astype(float)
        chosen, film = C.choose_window(taus)
        assert film == 1
        assert chosen == 0

    def test_uniform_squeeze_is_left_alone(self) -> None:
        """18 bodies squeezed evenly into 17 levels: both counts fit equally well, so the film's count stays."""
        taus = np.arange(18) * 16 / 17
        chosen, film = C.choose_window(taus)
        assert chosen == film


class TestChainPieces:
    """Tests for candidate_quads(), chain_nodes(), suppress_overlaps(), fill_gaps()."""

    def test_candidates_interpolate_and_extrapolate(self) -> None:
        column = _true_quads(17)
        ts, quads = C.candidate_quads(column, 0.5, start=-1.0, stop=17.0)
        assert len(ts) == len(quads) == 37
        np.testing.assert_allclose(quads[2], column[0])  # t = 0
        np.testing.assert_allclose(quads[3].mean(0), (column[0].mean(0) + column[1].mean(0)) / 2)
        np.testing.assert_allclose(quads[0].mean(0)[1], column[0].mean(0)[1] - PITCH)  # one level above T1
        with pytest.raises(ValueError, match="step"):
            C.candidate_quads(column, 0.0)

    def test_overlapping_nodes_keep_the_better_supported(self) -> None:
        q = _true_quads(3)
        dup = q[1] + np.array([0.0, 0.3 * HEIGHT])
        nodes = [
            C.ChainNode(q[0], 0.0, 3),
            C.ChainNode(q[1], 1.0, 4),
            C.ChainNode(dup, 1.3, 1),
            C.ChainNode(q[2], 2.0, 3),
        ]
        kept = C.suppress_overlaps(nodes)
        assert [n.tau for n in kept] == [0.0, 1.0, 2.0]

    def test_gap_gets_a_node(self) -> None:
        q = _true_quads(6)
        nodes = [C.ChainNode(q[i], float(i), 3) for i in (0, 1, 2, 4, 5)]  # body 3 not found
        filled = C.fill_gaps(nodes)
        assert len(filled) == 6
        assert filled[3].support == 0
        np.testing.assert_allclose(filled[3].centre, q[3].mean(0), atol=1e-6)
        assert len(C.fill_gaps([C.ChainNode(q[i], float(i), 3) for i in range(6)])) == 6


class TestRecountLumbar:
    """recount_lumbar() with the snapping fake model on a drawn film (C7, T1-L5, S1 = 19 bodies)."""

    def setup_method(self) -> None:
        self.truth = _true_quads(19)
        self.image = _film(self.truth)
        self.true_lumbar = _named(self.truth[13:18], C.SPINE_LEVELS[12:])  # index 0 = C7, 1 = T1

    def test_correct_column_is_untouched(self) -> None:
        spine = _named(self.truth[1:18])
        assert C.recount_lumbar(_SnapModel(), self.image, spine, self.true_lumbar) is None

    def test_column_one_level_low_below_t10_is_renamed(self) -> None:
        """Film stage: T1-T10 right, then its 7 lower levels spread over 8 bodies, so its L1-L5 sit one body low
        (L5 on S1); the chain renames them to the true L1-L5."""
        film = self.truth[1:18].copy()
        for i in range(10, 17):  # level i sits (i - 9) / 7 of a body lower than the truth, L5 on S1
            film[i] = film[i] + np.array([0.0, (i - 9) / 7 * PITCH])
        spine = _named(film)
        current = _named(film[12:], C.SPINE_LEVELS[12:])  # a chain that followed the film stage: ~1 level low
        assert level_offset(current, self.true_lumbar) > 0.5
        rc = C.recount_lumbar(_SnapModel(), self.image, spine, current)
        assert rc is not None
        assert rc.moved < -0.5
        assert abs(level_offset(rc.points, self.true_lumbar)) < 0.1
        for n, p in rc.points.items():
            assert np.linalg.norm(np.subtract(p, self.true_lumbar[n])) < 3.0

    def test_whole_column_shift_is_not_guessed(self) -> None:
        """Every level one body high (T1 on C7): the film stage's positions give no hint, so nothing changes."""
        spine = _named(self.truth[0:17])
        current = _named(self.truth[12:17], C.SPINE_LEVELS[12:])
        assert C.recount_lumbar(_SnapModel(), self.image, spine, current) is None

    def test_incomplete_column_gives_none(self) -> None:
        spine = _named(self.truth[1:18])
        spine.pop("T5.superior.left")
        assert C.recount_lumbar(_SnapModel(), self.image, spine, self.true_lumbar) is None
