"""The one place that sequences a film's analysis: radiograph + landmarks -> checks -> measurements -> review flags.

Adapters (CLI, web, batch) call :func:`analyse_film` and only print or store what it returns. Loading stays in
:mod:`fusionwatch.io`; when no landmarks are given, :func:`fusionwatch.detect.detect_landmarks` places them and its
review reasons travel with the result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from fusionwatch.errors import LandmarkError, ViewError
from fusionwatch.landmarks import Landmarks, check_inside_image, check_vertebra_order
from fusionwatch.measure import facing_of, measure_film, plausibility_reasons
from fusionwatch.measurement import Measurement
from fusionwatch.radiograph import Facing, Radiograph, View

if TYPE_CHECKING:
    from fusionwatch.detect.view import ViewResult

__all__ = ["FilmAnalysis", "analyse_film", "VIEW_CONFLICT_PROBABILITY"]

VIEW_CONFLICT_PROBABILITY = 0.9
"""A film that states no view of its own (a PNG or JPEG, a DICOM without *View Position*, no ``--view``) is refused
when the shipped view model gives the other view family than the landmark file's (AP vs lateral) at least this
probability; below it the landmark file's view is used with a warning saying the view was not confirmed. On 5 real
SpineWeb AP films the model gave p(AP) 0.994-1.0; on drawn test films it says "not a lumbar film" (~0.95)."""


@dataclass(frozen=True)
class FilmAnalysis:
    """Everything measured on one film, ready for printing, storing or drawing.

    Attributes
    ----------
    radiograph : Radiograph
        The film (pixels, spacing, view, date...). Its ``view`` and ``facing`` are the decided ones.
    landmarks : Landmarks
        The points the measurements used (pixels).
    facing : Facing | None
        Lateral films: which image side the patient faces, from the landmarks. ``None`` for AP films.
    measurements : tuple[Measurement, ...]
        Every measurement of the view, measured or with the reason it is missing.
    warnings : tuple[str, ...]
        Doubtful but usable input: the film's own warnings (detector-plane spacing...) and the pipeline's.
    needs_review : tuple[str, ...]
        Reasons a reader should check the landmarks before trusting the numbers; empty when none.
    """

    radiograph: Radiograph
    landmarks: Landmarks
    facing: Facing | None
    measurements: tuple[Measurement, ...]
    warnings: tuple[str, ...] = ()
    needs_review: tuple[str, ...] = ()

    @property
    def view(self) -> View:
        return self.landmarks.view

    def film_info(self) -> dict[str, Any]:
        """JSON-ready facts about the film. No patient identifiers (those stay in ``radiograph.ids``)."""
        r = self.radiograph
        sp = r.spacing
        return {
            "source": r.source,
            "width": r.width,
            "height": r.height,
            "view": self.view.value,
            "facing": self.facing.value if self.facing else None,
            "acquired": r.acquired.isoformat() if r.acquired else None,
            "pixel_spacing_mm": None if sp is None else {"dx": sp.dx_mm, "dy": sp.dy_mm, "source": sp.source.value},
            "landmark_source": self.landmarks.source,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: film info, warnings, review reasons and every measurement."""
        return {
            "schema": "fusionwatch.film-analysis/1",
            "film": self.film_info(),
            "warnings": list(self.warnings),
            "needs_review": list(self.needs_review),
            "measurements": [m.to_dict() for m in self.measurements],
        }


def _decide_view(
    radiograph: Radiograph, landmarks: Landmarks, detected: ViewResult | None = None
) -> tuple[View, str | None]:
    """The film's view, reconciled with the landmark file's (lateral-family vs AP must agree), and a warning when the
    view rests on the landmark file alone.

    Parameters
    ----------
    detected : ViewResult, optional
        The view model's reading of a film that states no view (``radiograph.view`` is ``None``); ``None`` when the
        model is not available.

    Raises
    ------
    ViewError
        The film's stated view (DICOM, or ``--view``: the reader's choice) and the landmarks' disagree; or the film
        states none and the view model reads the other family at ``>= VIEW_CONFLICT_PROBABILITY``.
    """
    wanted = "lateral" if landmarks.view.is_lateral else "ap"  # the --view value
    a_film = "a lateral film" if landmarks.view.is_lateral else "an AP film"
    if radiograph.view is None:
        if detected is None:
            return landmarks.view, (f"The film states no view (no view in the file, no --view) and the view model is "
                                    f"not available: measured as {a_film}, the landmark file's view; confirm it "
                                    "with --view.")
        p_ap, p_lat = detected.probabilities.get("ap", 0.0), detected.p_lateral
        seen, p_seen = ("AP", p_ap) if landmarks.view.is_lateral else ("lateral", p_lat)
        if p_seen >= VIEW_CONFLICT_PROBABILITY:
            raise ViewError(
                f"The film states no view, and the view model reads it as {seen} (p = {p_seen:.2f}), but the landmarks "
                f"are for {a_film}: use landmarks made for this film, or, if it is {a_film}, say so with "
                f"--view {wanted} (the reader's choice is then used)."
            )
        p_same = p_lat if landmarks.view.is_lateral else p_ap
        if p_same >= VIEW_CONFLICT_PROBABILITY:  # the model confirms the landmarks' view family: said, never silent
            return landmarks.view, view_source_note(landmarks, p_same)
        return landmarks.view, (f"The film states no view (no view in the file, no --view) and the view model could "
                                f"not confirm it (p(AP) {p_ap:.2f}, p(lateral) {p_lat:.2f}): measured as "
                                f"{a_film}, the landmark file's view; confirm it with --view.")
    if radiograph.view.is_lateral != landmarks.view.is_lateral:
        raise ViewError(
            f"The film is {radiograph.view.value!r} but the landmarks are for a {landmarks.view.value!r} film; "
            "pass --view or use landmarks made for this view."
        )
    return (radiograph.view if radiograph.view.is_lateral else View.AP), None


def view_source_note(landmarks: Landmarks, p_model: float | None = None) -> str:
    """Where the view of a film that states none comes from, said where the view is shown (R's F10).

    ``"view: lateral (from the view model, p = 0.99, not stated by the file) ..."``; a lateral-family view adds that
    the view model cannot tell a neutral lateral from a flexion or extension film, so the posture is unconfirmed.
    """
    automatic = landmarks.source.startswith("model:")
    source = "from the view model" if automatic else "from the landmark file"
    if p_model is not None:
        source += f", p = {p_model:.2f}" if automatic else f", the view model agrees (p = {p_model:.2f})"
    note = f"view: {landmarks.view.value} ({source}, not stated by the file)"
    if landmarks.view.is_lateral:
        note += ("; the view model cannot tell a neutral lateral from a flexion or extension film: confirm the "
                 "posture with --view")
    return note + "."


def _read_view(radiograph: Radiograph) -> ViewResult | None:
    """The shipped view model's reading of the film, or ``None`` when the model (or onnxruntime) is unavailable or
    the pixels cannot be classified."""
    try:
        from fusionwatch.detect import load_detector  # onnxruntime is loaded only when needed

        return load_detector().classify(radiograph)
    except Exception:  # noqa: BLE001 - no model, no onnxruntime, unreadable pixels: the view is then unconfirmed
        return None


def analyse_film(radiograph: Radiograph, landmarks: Landmarks | None) -> FilmAnalysis:
    """Check the landmarks against the film, measure, and flag anything doubtful.

    Parameters
    ----------
    radiograph : Radiograph
        The film as read by :func:`fusionwatch.io.read_radiograph`.
    landmarks : Landmarks | None
        Points for this film in pixels. ``None`` runs the automatic landmark detector
        (:func:`fusionwatch.detect.detect_landmarks`), which refuses films that are not lumbar radiographs.

    Returns
    -------
    FilmAnalysis

    Raises
    ------
    UnsupportedImageError
        No landmarks were given and the detector found no lumbar spine on the film.
    LandmarkError
        Landmarks made for an image of another size; points outside the image; vertebrae in an
        impossible order; anterior/posterior corners that disagree about the facing.
    ViewError
        The film's view and the landmarks' view disagree (AP vs lateral): the view the film states (DICOM or the
        reader's ``--view``), or, for a film that states none, the view the shipped view model reads with
        probability >= :data:`VIEW_CONFLICT_PROBABILITY`. A film that states no view and that the model cannot
        confirm is measured in the landmark file's view with a warning saying so.
    """
    if landmarks is None:
        from fusionwatch.detect import detect_landmarks  # onnxruntime is loaded only when needed

        landmarks = detect_landmarks(radiograph)
    if (landmarks.width, landmarks.height) != (radiograph.width, radiograph.height):
        name = radiograph.source or "the film"
        raise LandmarkError(
            f"The landmarks are for a {landmarks.width} x {landmarks.height} px image but {name} "
            f"is {radiograph.width} x {radiograph.height} px. Were they made for another image?"
        )
    detected = _read_view(radiograph) if radiograph.view is None else None  # a film that states no view
    view, view_warning = _decide_view(radiograph, landmarks, detected)
    if view is not landmarks.view:
        landmarks = replace(landmarks, view=view)
    check_inside_image(landmarks)
    check_vertebra_order(landmarks)

    warnings = list(radiograph.warnings)
    if view_warning:
        warnings.append(view_warning)
    facing = facing_of(landmarks) if view.is_lateral else None
    if view.is_lateral and facing is None:
        warnings.append("No endplate has both corners: the facing is unknown and no angle can be measured.")
    if facing is not None and radiograph.facing is not None and facing is not radiograph.facing:
        warnings.append(
            f"The film was labelled facing {radiograph.facing.value} but the landmarks face {facing.value}; "
            "the landmarks were used."
        )
    if radiograph.spacing is None:
        warnings.append("No pixel spacing: lengths are in px or given as ratios; no millimetre values.")
    elif radiograph.spacing.source.warning and radiograph.spacing.source.warning not in warnings:
        warnings.append(radiograph.spacing.source.warning)

    measurements = tuple(measure_film(landmarks, radiograph.spacing))
    review = [*landmarks.needs_review, *plausibility_reasons(landmarks, radiograph.spacing, measurements)]
    film = replace(radiograph, view=view, facing=facing)
    return FilmAnalysis(
        radiograph=film,
        landmarks=landmarks,
        facing=facing,
        measurements=measurements,
        warnings=tuple(dict.fromkeys(warnings)),
        needs_review=tuple(dict.fromkeys(review)),
    )
