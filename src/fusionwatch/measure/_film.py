"""One film's measurements: dispatch on the view, build the measuring frame once, collect every measurement."""

from __future__ import annotations

from fusionwatch.anatomy import LATERAL_POINT_NAMES
from fusionwatch.errors import ViewError
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


def facing_of(landmarks: Landmarks) -> Facing | None:
    """Which image side the patient faces, from the corners; ``None`` when no endplate has both corners.

    The rule is :func:`fusionwatch.landmarks.lateral_facing` (rotation-proof); this wrapper only turns "no endplate
    has both corners" into ``None``.

    Raises
    ------
    LandmarkError
        If endplates disagree about the facing (mislabelled anterior/posterior corners).
    """
    if not any(
        n in landmarks and n.replace(".anterior", ".posterior") in landmarks
        for n in LATERAL_POINT_NAMES
        if n.endswith(".anterior")
    ):
        return None
    return lateral_facing(landmarks)


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
