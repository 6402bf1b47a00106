"""Decide a film's view (lateral / AP / flexion / extension) from DICOM attribute values and the user's override.

Pure: the DICOM reader passes strings in, no pydicom here. See docs/loading.md, "View".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fusionwatch.errors import InputError
from fusionwatch.radiograph import View

__all__ = ["ViewHints", "decide_view", "parse_view"]

_POSITION_VIEWS = {"LL": View.LATERAL, "RL": View.LATERAL, "LAT": View.LATERAL, "AP": View.AP, "PA": View.AP}
# Decubitus (LLD, RLD) and oblique (LLO, RLO...) positions are not mapped: a decubitus film is frontal with the patient
# lying on the side, and an oblique is neither view.

_FLEX = re.compile(r"\bFLEX(ION|ED)?\b", re.IGNORECASE)
_EXT = re.compile(r"\bEXT(ENSION|ENDED)?\b", re.IGNORECASE)
_LAT = re.compile(r"\bLAT(ERAL)?\b", re.IGNORECASE)
_FRONTAL = re.compile(r"\b(AP|PA|ANTERO-?POSTERIOR|POSTERO-?ANTERIOR|FRONTAL)\b", re.IGNORECASE)
_OBLIQUE = re.compile(r"\bOBL(IQUE)?\b|\bDECUB", re.IGNORECASE)


@dataclass(frozen=True)
class ViewHints:
    """View-related DICOM attribute values (empty when absent).

    Attributes
    ----------
    view_position : str
        (0018,5101) *View Position*: ``AP``, ``PA``, ``LL``, ``RL``, ``LAT`` (non-standard but common), ...
    view_code_meanings : tuple of str
        Code meanings of (0054,0220) *View Code Sequence* and (0054,0222) *View Modifier Code Sequence* items.
    descriptions : tuple of str
        (0008,103E) *Series Description*, (0020,4000) *Image Comments*, (0018,1030) *Protocol Name*: searched for
        FLEX / EXT and, when nothing coded says the projection, LAT / AP.
    """

    view_position: str = ""
    view_code_meanings: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()


def _from_code_meanings(meanings: Iterable[str]) -> View | None:
    for meaning in meanings:
        m = meaning.lower()
        if "oblique" in m or "decubitus" in m:
            continue
        if "antero-posterior" in m or "postero-anterior" in m or "anteroposterior" in m or "posteroanterior" in m:
            return View.AP
        if "lateral" in m:
            return View.LATERAL
    return None


def _posture(texts: Iterable[str]) -> View | None:
    flex = ext = False
    for text in texts:
        flex |= bool(_FLEX.search(text))
        ext |= bool(_EXT.search(text))
    if flex and not ext:
        return View.FLEXION
    if ext and not flex:
        return View.EXTENSION
    return None


def decide_view(hints: ViewHints | None, override: View | None) -> tuple[View | None, list[str]]:
    """The film's view and any warnings.

    Rules, in order:

    1. The projection from (0018,5101) *View Position* (LL, RL, LAT -> lateral; AP, PA -> AP); else from the
       *View Code Sequence* meanings ("lateral" -> lateral; "antero-posterior" / "postero-anterior" -> AP; obliques
       and decubitus ignored); else from LAT / AP words in the descriptions (with a warning: free text is a guess).
    2. A lateral film (or one of unknown projection) whose descriptions or view modifier meanings say FLEX(ION) but
       not EXT(ENSION) is a flexion film, and vice versa; "FLEX/EXT" together is ambiguous and leaves it lateral.
       Flexion / extension alone (no projection) implies a lateral film.
    3. ``override`` (the user's ``view``) wins; a disagreement with the DICOM attributes is reported as a warning.

    Returns
    -------
    view : View or None
        ``None`` when nothing says the view.
    warnings : list of str
    """
    warnings: list[str] = []
    detected: View | None = None
    if hints is not None:
        detected = _POSITION_VIEWS.get(hints.view_position.strip().upper())
        if detected is None:
            detected = _from_code_meanings(hints.view_code_meanings)
        if detected is None:
            texts = [t for t in hints.descriptions if not _OBLIQUE.search(t)]
            lat = any(_LAT.search(t) for t in texts)
            frontal = any(_FRONTAL.search(t) for t in texts)
            if lat != frontal:
                detected = View.LATERAL if lat else View.AP
                warnings.append(
                    f"View {detected.value!r} guessed from the series/image description; no View Position (0018,5101)."
                )
        if detected is None or detected is View.LATERAL:
            posture = _posture((*hints.descriptions, *hints.view_code_meanings))
            if posture is not None:
                detected = posture
    if override is not None:
        override = parse_view(override)
        if detected is not None and detected is not override:
            warnings.append(f"View set to {override.value!r} by the user; the DICOM attributes say {detected.value!r}.")
        return override, warnings
    return detected, warnings


def parse_view(value: View | str) -> View:
    """The :class:`~fusionwatch.radiograph.View` a user gave: a ``View``, or its value in any case (``"Lateral"``).

    Raises
    ------
    InputError
        Naming the value and the views there are (a user's mistake, so adapters catch it with every
        :class:`~fusionwatch.errors.FusionwatchError`; before, ``read_radiograph(view="sideways")`` raised a
        ``TypeError`` that ingest logged as an unexpected error with a traceback, reviewer R's F17).
    """
    if isinstance(value, View):
        return value
    if isinstance(value, str):
        try:
            return View(value.strip().lower())
        except ValueError:
            pass
    choices = ", ".join(repr(v.value) for v in View)
    raise InputError(f"Unknown view {value!r}: expected one of {choices}.")
