"""One film's measurements: dispatch on the view, build the measuring frame once, collect every measurement."""

from __future__ import annotations

from fusionwatch._typing import Point
from fusionwatch.anatomy import LATERAL_POINT_NAMES, LUMBAR_LEVELS, Corner, Endplate, Level
from fusionwatch.errors import LandmarkError, ViewError
from fusionwatch.geometry import midpoint
from fusionwatch.landmarks import Landmarks, lateral_facing
from fusionwatch.measure._common import ap_frame, lateral_frame
from fusionwatch.measure.coronal import measure_coronal
from fusionwatch.measure.disc import measure_discs
from fusionwatch.measure.listhesis import measure_lateral_listhesis, measure_slips
from fusionwatch.measure.sagittal import measure_sagittal
from fusionwatch.measurement import Measurement
from fusionwatch.radiograph import Facing, View
from fusionwatch.units import Spacing

__all__ = ["measure_lateral", "measure_ap", "measure_film", "facing_of"]


def _level_centre(landmarks: Landmarks, level: Level) -> Point | None:
    pts = [p for n, p in landmarks.points.items() if n.startswith(level.value + ".")]
    if not pts:
        return None
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def _cranial_direction(landmarks: Landmarks) -> Point | None:
    """Image vector up the spine (toward L1): lowest level centre -> highest, else one body's inferior -> superior."""
    centres = [c for c in (_level_centre(landmarks, lv) for lv in Level) if c is not None]
    if len(centres) >= 2 and centres[0] != centres[-1]:
        return (centres[0][0] - centres[-1][0], centres[0][1] - centres[-1][1])
    for level in LUMBAR_LEVELS:
        sup = [landmarks.corner(level, Endplate.SUPERIOR, c) for c in Corner]
        inf = [landmarks.corner(level, Endplate.INFERIOR, c) for c in Corner]
        if None not in sup and None not in inf:
            s, i = midpoint(*sup), midpoint(*inf)  # type: ignore[arg-type]
            if s != i:
                return (s[0] - i[0], s[1] - i[1])
    return None


def facing_of(landmarks: Landmarks) -> Facing | None:
    """Which image side the patient faces, from the corners; ``None`` when no endplate has both corners.

    Rotation-proof: each endplate's posterior -> anterior vector is compared with the direction up the spine (lowest
    level present -> highest), so a steep sacrum or a tilted film cannot fool it. With image axes (y down), anterior
    lying clockwise-on-screen of "up" means facing right. Falls back to
    :func:`fusionwatch.landmarks.lateral_facing` (anterior left or right of posterior in x) when only one endplate is
    known.

    Raises
    ------
    LandmarkError
        If endplates disagree about the facing (mislabelled anterior/posterior corners).
    """
    pairs = [
        (landmarks.get(n), landmarks.get(n.replace(".anterior", ".posterior")))
        for n in LATERAL_POINT_NAMES
        if n.endswith(".anterior")
    ]
    vectors = [(a[0] - p[0], a[1] - p[1]) for a, p in pairs if a is not None and p is not None]
    if not vectors:
        return None
    up = _cranial_direction(landmarks)
    if up is None:
        return lateral_facing(landmarks)
    # z of (anterior - posterior) x up on raw image numbers: negative when facing right (e.g. (1, 0) x (0, -1) = -1)
    crosses = [v[0] * up[1] - v[1] * up[0] for v in vectors]
    right = [c < 0 for c in crosses if c != 0]  # 0: coincident corners or an endplate along the spine, no vote
    if not right:
        return lateral_facing(landmarks)
    if 0 < sum(right) < len(right):
        raise LandmarkError(
            f"Anterior and posterior corners disagree: {sum(right)} of {len(right)} endplates say the patient faces "
            "image-right, the others image-left. Check the corner labels."
        )
    return Facing.RIGHT if right[0] else Facing.LEFT


def measure_lateral(landmarks: Landmarks, spacing: Spacing | None) -> list[Measurement]:
    """Every lateral measurement of CLINICAL.md from one film's landmarks.

    Parameters
    ----------
    landmarks : Landmarks
        Lateral (or flexion/extension) landmarks in pixels.
    spacing : Spacing | None
        Pixel spacing; ``None`` gives angles, ratios and pixel lengths only (no millimetres).

    Returns
    -------
    list[Measurement]
        Sagittal angles (SS, PT, PI, LL, PI-LL, segmental L4-L5 and L5-S1), then disc heights and index (L4-L5,
        L5-S1), then slip mm / % / Meyerding grade (L4-L5, L5-S1). Always the same names in the same order; those
        that cannot be measured carry a reason.

    Raises
    ------
    ViewError
        If the landmarks are AP landmarks.
    LandmarkError
        If anterior and posterior corners disagree about the facing.
    """
    if landmarks.view is View.AP:
        raise ViewError("Expected lateral landmarks, got 'ap'. Use measure_ap for AP films.")
    facing = facing_of(landmarks)
    frame = lateral_frame(landmarks, spacing, facing or Facing.RIGHT)  # no corner pair: no angle needs the facing
    return [*measure_sagittal(frame), *measure_discs(frame), *measure_slips(frame)]


def measure_ap(landmarks: Landmarks, spacing: Spacing | None) -> list[Measurement]:
    """Every AP measurement: disc wedge L4-L5 / L5-S1, coronal Cobb, lateral listhesis mm and % (L4-L5, L5-S1).

    Raises
    ------
    ViewError
        If the landmarks are lateral landmarks.
    """
    if landmarks.view is not View.AP:
        raise ViewError(f"Expected AP landmarks, got {landmarks.view.value!r}. Use measure_lateral for lateral films.")
    frame = ap_frame(landmarks, spacing)
    return [*measure_coronal(frame), *measure_lateral_listhesis(frame)]


def measure_film(landmarks: Landmarks, spacing: Spacing | None) -> list[Measurement]:
    """:func:`measure_ap` for AP landmarks, :func:`measure_lateral` for lateral, flexion and extension ones."""
    return measure_ap(landmarks, spacing) if landmarks.view is View.AP else measure_lateral(landmarks, spacing)
