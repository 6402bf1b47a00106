"""Tests for fusionwatch.detect.levels (pure geometry on a drawn spine)."""

from __future__ import annotations

import numpy as np
import pytest

from _synth import draw_lateral_spine
from fusionwatch.detect.levels import level_offset


def _points() -> dict[str, tuple[float, float]]:
    _, lm = draw_lateral_spine(mm_per_px=1.0, seed=0)
    return dict(lm.points)


class TestLevelOffset:
    """Tests for level_offset()."""

    def test_column_shifted_by_one_level(self) -> None:
        """Predicting each vertebra at the next one's place gives +1 level; the truth itself gives 0."""
        truth = _points()
        down = {}
        for i, lv in enumerate(("L1", "L2", "L3", "L4")):
            nxt = ("L2", "L3", "L4", "L5")[i]
            down.update({n.replace(f"{nxt}.", f"{lv}."): p for n, p in truth.items() if n.startswith(f"{nxt}.")})
        levels = ("L1", "L2", "L3", "L4")
        assert level_offset(truth, truth) == pytest.approx(0.0, abs=1e-9)
        assert level_offset(down, truth, levels) == pytest.approx(1.0, abs=0.15)
        up = {n: p for n, p in truth.items() if not n.startswith("L5.")}
        up = {n.replace("L2.", "L3.").replace("L1.", "L2."): p for n, p in up.items() if n.startswith(("L1.", "L2."))}
        assert level_offset(up, truth, ("L2", "L3")) == pytest.approx(-1.0, abs=0.15)

    def test_too_few_levels_gives_none(self) -> None:
        """Without two complete levels in both point sets there is no offset."""
        truth = _points()
        only_l1 = {n: p for n, p in truth.items() if n.startswith("L1.")}
        assert level_offset(only_l1, truth) is None

    def test_translation_along_spine_in_levels(self) -> None:
        """Moving every point by half the mean L1-L5 pitch along the spine gives about +0.5 level; across it, ~0."""
        truth = _points()
        c = [np.mean([p for n, p in truth.items() if n.startswith(f"{lv}.")], axis=0) for lv in ("L1", "L5")]
        step = (c[1] - c[0]) / 4.0
        across = np.array([-step[1], step[0]])
        along = {n: (p[0] + step[0] / 2, p[1] + step[1] / 2) for n, p in truth.items()}
        side = {n: (p[0] + across[0], p[1] + across[1]) for n, p in truth.items()}
        assert level_offset(along, truth) == pytest.approx(0.5, abs=0.1)
        assert abs(level_offset(side, truth)) < 0.15
