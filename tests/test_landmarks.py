"""Tests for fusionwatch.landmarks and the landmark JSON file."""

from __future__ import annotations

import json

import pytest

from fusionwatch.errors import LandmarkError
from fusionwatch.io.landmark_json import landmarks_to_dict, read_landmarks, write_landmarks
from fusionwatch.landmarks import (
    Landmarks,
    check_inside_image,
    check_vertebra_order,
    hip_axis,
    lateral_facing,
    mirror,
)
from fusionwatch.radiograph import Facing, View

# A lumbar column facing image-left: anterior corners at x=100, posterior at x=140, bodies 30 px tall, discs 10 px.
FACING_LEFT = {
    **{f"L{i}.superior.anterior": (100.0, 40.0 * i) for i in range(1, 6)},
    **{f"L{i}.superior.posterior": (140.0, 40.0 * i) for i in range(1, 6)},
    **{f"L{i}.inferior.anterior": (100.0, 40.0 * i + 30) for i in range(1, 6)},
    **{f"L{i}.inferior.posterior": (140.0, 40.0 * i + 30) for i in range(1, 6)},
    "S1.superior.anterior": (100.0, 240.0),
    "S1.superior.posterior": (140.0, 240.0),
    "femoral_head.1": (80.0, 290.0),
    "femoral_head.2": (90.0, 300.0),
}


def _lm(points=FACING_LEFT, **kw) -> Landmarks:
    return Landmarks(dict(points), width=300, height=400, **kw)


class TestLandmarks:
    def test_unknown_name_raises(self) -> None:
        """A name outside the schema is refused with the name in the message."""
        with pytest.raises(LandmarkError, match="L6.superior.anterior"):
            _lm({"L6.superior.anterior": (1.0, 2.0)})

    def test_require_names_missing(self) -> None:
        """require() lists every missing point."""
        with pytest.raises(LandmarkError, match="L1.superior.anterior, L2.superior.anterior"):
            _lm({}).require("L1.superior.anterior", "L2.superior.anterior")

    def test_hip_axis_is_midpoint(self) -> None:
        """Two femoral heads give their midpoint; one gives itself."""
        assert hip_axis(_lm()) == (85.0, 295.0)
        one = {k: v for k, v in FACING_LEFT.items() if k != "femoral_head.2"}
        assert hip_axis(_lm(one)) == (80.0, 290.0)


class TestFacing:
    def test_left_and_mirrored_right(self) -> None:
        """Anterior corners left of posterior means facing left; mirroring flips it and keeps names anatomical."""
        lm = _lm()
        assert lateral_facing(lm) is Facing.LEFT
        m = mirror(lm)
        assert lateral_facing(m) is Facing.RIGHT
        assert m.points["L1.superior.anterior"] == (299 - 100.0, 40.0)

    @pytest.mark.parametrize("angle_deg", [-30.0, -28.0, 20.0, 28.0, 30.0])
    def test_steep_sacrum_on_rotated_film_keeps_facing(self, angle_deg: float) -> None:
        """A 63 deg sacral slope on a film rotated by up to 30 deg still faces the same way.

        The S1 endplate then passes the vertical (63 + 28 > 90): comparing anterior and posterior x alone would flip it.
        """
        import math

        pts = dict(FACING_LEFT)
        ss = math.radians(63.0)
        pts["S1.superior.anterior"] = (140.0 - 40 * math.cos(ss), 240.0 + 40 * math.sin(ss))
        c, s_ = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
        rotated = {
            n: (1000 + c * (x - 150) - s_ * (y - 200), 1000 + s_ * (x - 150) + c * (y - 200))
            for n, (x, y) in pts.items()
        }
        lm = Landmarks(rotated, width=2000, height=2000)
        assert lateral_facing(lm) is Facing.LEFT
        assert lateral_facing(mirror(lm)) is Facing.RIGHT

    def test_mixed_labels_raise(self) -> None:
        """Endplates that disagree on facing are mislabelled."""
        pts = dict(FACING_LEFT)
        pts["L3.superior.anterior"], pts["L3.superior.posterior"] = (
            pts["L3.superior.posterior"],
            pts["L3.superior.anterior"],
        )
        with pytest.raises(LandmarkError, match="disagree"):
            lateral_facing(_lm(pts))

    def test_ap_mirror_swaps_sides(self) -> None:
        """On AP films left/right name image sides, so mirroring swaps the names."""
        ap = Landmarks({"L3.superior.left": (10.0, 5.0)}, 100, 100, view=View.AP)
        assert mirror(ap).points == {"L3.superior.right": (89.0, 5.0)}


class TestChecks:
    def test_outside_image_raises(self) -> None:
        with pytest.raises(LandmarkError, match="outside the 300 x 400 px image"):
            check_inside_image(_lm({"L1.superior.anterior": (350.0, 10.0)}))

    def test_order_ok(self) -> None:
        check_vertebra_order(_lm())

    def test_swapped_levels_raise(self) -> None:
        """L2 drawn above L1 is an impossible order."""
        pts = dict(FACING_LEFT)
        for c in ("superior.anterior", "superior.posterior", "inferior.anterior", "inferior.posterior"):
            pts[f"L1.{c}"], pts[f"L2.{c}"] = pts[f"L2.{c}"], pts[f"L1.{c}"]
        with pytest.raises(LandmarkError, match="impossible order"):
            check_vertebra_order(_lm(pts))


class TestJson:
    def test_round_trip(self, tmp_path) -> None:
        lm = _lm(confidence={"L1.superior.anterior": 0.9}, source="test")
        path = write_landmarks(lm, tmp_path / "lm.json")
        back = read_landmarks(path)
        assert back.points == lm.points and back.confidence == lm.confidence and back.source == "test"

    def test_not_json_raises(self, tmp_path) -> None:
        p = tmp_path / "bad.json"
        p.write_text("{not json")
        with pytest.raises(LandmarkError, match="not valid JSON"):
            read_landmarks(p)

    def test_wrong_schema_raises(self, tmp_path) -> None:
        p = tmp_path / "old.json"
        d = landmarks_to_dict(_lm())
        d["schema"] = "something/0"
        p.write_text(json.dumps(d))
        with pytest.raises(LandmarkError, match="schema"):
            read_landmarks(p)

    def test_bad_point_raises(self, tmp_path) -> None:
        p = tmp_path / "pt.json"
        d = landmarks_to_dict(_lm())
        d["points"]["L1.superior.anterior"] = [1]
        p.write_text(json.dumps(d))
        with pytest.raises(LandmarkError, match="must be \\[x, y\\]"):
            read_landmarks(p)
