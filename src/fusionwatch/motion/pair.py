"""Whether two films can be one flexion-extension pair: same patient, same day, the postures in the order given.

Motion is the difference between the two films, so films of two patients, of two visits, or given in the wrong order
would each produce a plausible but meaningless number (a "motion" of 17 deg between two people's films). The check
reads only what the films say about themselves (DICOM Patient ID, date, view); what they do not say is not guessed.
The posture a film "says" is often read from free text (Series Description, Protocol Name), which can be wrong, so a
view conflict can be overruled by the reader (``views_as_given``); two patients or two visits cannot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fusionwatch.errors import InputError, ViewError
from fusionwatch.radiograph import View

if TYPE_CHECKING:
    from fusionwatch.radiograph import Radiograph

__all__ = ["check_pair"]


def check_pair(flexion: Radiograph, extension: Radiograph, *, views_as_given: bool = False) -> list[str]:
    """Refuse two films that cannot be one flexion-extension pair.

    Parameters
    ----------
    flexion, extension : Radiograph
        The films as read, with the view their own attributes give (``None`` when they say nothing, as for PNG);
        ``source`` names each in the messages.
    views_as_given : bool
        The reader states the films are the flexion and the extension film as given, whatever their attributes say
        (e.g. a lateral film with View Position mis-set to AP, one protocol name "LAT FLEX" on both exposures): view
        conflicts are then returned as warnings instead of raised.

    Returns
    -------
    list of str
        The view conflicts overruled by ``views_as_given`` (empty when there were none or it is False).

    Raises
    ------
    ViewError
        If the views say the films were given in the opposite order (or one is an AP film), unless ``views_as_given``.
    InputError
        If both carry a DICOM
        Patient ID and the two differ (the ids are never printed), or if both carry a date and the dates differ
        (unless both belong to one study, same (0020,000D) *Study Instance UID*: a pair taken either side of midnight).
    """
    f_name, e_name = flexion.source or "the flexion film", extension.source or "the extension film"
    conflicts = _view_conflicts(flexion, extension, f_name, e_name)
    if conflicts and not views_as_given:
        raise ViewError(conflicts[0])
    f_id, e_id = flexion.ids.patient_id, extension.ids.patient_id
    if f_id and e_id and f_id != e_id:
        raise InputError(f"{f_name} and {e_name} belong to two different patients (their DICOM Patient IDs differ): "
                         "motion is measured between two films of one patient.")
    one_study = bool(flexion.ids.study_uid) and flexion.ids.study_uid == extension.ids.study_uid
    if flexion.acquired and extension.acquired and flexion.acquired != extension.acquired and not one_study:
        raise InputError(f"{f_name} is dated {flexion.acquired.isoformat()} and {e_name} "
                         f"{extension.acquired.isoformat()}: a flexion-extension pair is taken at one visit; films of "
                         "two visits would mix the change between the visits into the motion.")
    return conflicts


def _view_conflicts(flexion: Radiograph, extension: Radiograph, f_name: str, e_name: str) -> list[str]:
    """What the films' own attributes say against the postures they were given as (wrong order, an AP film)."""
    if flexion.view is View.EXTENSION and extension.view is View.FLEXION:
        return [f"The films are in the wrong order: {f_name} is an extension film and {e_name} a flexion film by "
                "their DICOM attributes. Give the flexion film first, then the extension film."]
    out = []
    for name, film, expected, opposite in ((f_name, flexion, "flexion", View.EXTENSION),
                                           (e_name, extension, "extension", View.FLEXION)):
        if film.view in (opposite, View.AP):
            said = {View.AP: "an AP", View.EXTENSION: "an extension", View.FLEXION: "a flexion"}[film.view]
            out.append(f"{name} is {said} film by its DICOM attributes; expected the lateral {expected} film there.")
    return out
