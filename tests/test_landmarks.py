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

    def test_a_confidence_without_its_point_is_refused_naming_the_file(self, tmp_path) -> None:
        """A confidence for a name that is not among the points (a misspelt name) was kept silently."""
        d = landmarks_to_dict(_lm(confidence={"L1.superior.anterior": 0.9}))
        d["confidence"]["L1.superior.anteriour"] = 0.8
        p = tmp_path / "typo.json"
        p.write_text(json.dumps(d))
        with pytest.raises(LandmarkError, match=r"typo.json: Confidence given for L1.superior.anteriour, which is not"):
            read_landmarks(p)

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

    def test_a_byte_order_mark_is_read(self, tmp_path) -> None:
        """A UTF-8 file with a byte-order mark (Windows editors write one) is read: it was refused as 'not valid JSON
        (... Unexpected UTF-8 BOM (decode using utf-8-sig))'."""
        p = tmp_path / "bom.json"
        p.write_bytes(b"\xef\xbb\xbf" + json.dumps(landmarks_to_dict(_lm())).encode("utf-8"))
        assert read_landmarks(p).points == _lm().points

    def test_not_utf8_raises_naming_the_byte(self, tmp_path) -> None:
        """A Latin-1 file is refused with the file, the byte and what to do, not Python's codec message."""
        p = tmp_path / "latin1.json"
        d = landmarks_to_dict(_lm())
        d["source"] = "lecteur é"
        p.write_bytes(json.dumps(d, ensure_ascii=False).encode("latin-1"))
        at = p.read_bytes().index(b"\xe9")
        with pytest.raises(LandmarkError, match=rf"latin1.json is not UTF-8 text \(byte 0xe9 at position {at}\)"):
            read_landmarks(p)

    def test_needs_review_as_one_text_raises(self, tmp_path) -> None:
        """"needs_review": "oops" is refused: it was read letter by letter as the reasons 'o', 'o', 'p', 's'."""
        p = tmp_path / "review.json"
        d = landmarks_to_dict(_lm())
        d["needs_review"] = "oops"
        p.write_text(json.dumps(d))
        with pytest.raises(LandmarkError, match="review.json: \"needs_review\" must be a list of texts"):
            read_landmarks(p)

    @pytest.mark.parametrize(
        "change, words",
        [
            ({"points": {"S1.superior.anterior": [float("nan"), 1.0]}}, "must be two finite numbers"),
            ({"points": {"L6.superior.anterior": [1.0, 2.0]}}, "Unknown lateral landmark name"),
            ({"confidence": {"S1.superior.anterior": float("nan")}}, "must be in \\[0, 1\\]"),
        ],
    )
    def test_a_rule_broken_inside_the_file_names_the_file(self, tmp_path, change, words) -> None:
        """A NaN point, an unknown name or a NaN confidence is refused naming the file: 'motion' reads two landmark
        files and 'ingest' one per film, and the message said only "Landmark 'S1.superior.anterior' must be ..."."""
        p = tmp_path / "flexion.landmarks.json"
        d = landmarks_to_dict(_lm())
        for key, value in change.items():
            d[key] = {**d[key], **value}
        p.write_text(json.dumps(d))  # NaN is written as the JSON extension NaN, which json.loads reads
        with pytest.raises(LandmarkError, match=rf"^{p}: .*{words}"):
            read_landmarks(p)

    def test_points_of_the_other_view_are_named_as_such(self) -> None:
        """A lateral column marked view 'ap' says the view is wrong instead of listing every lateral name."""
        with pytest.raises(LandmarkError, match=r"say view 'ap', but 24 of their points have lateral names") as info:
            _lm(view=View.AP)
        assert "L3.superior.anterior" not in str(info.value)
