"""Checking the UIDs a DICOM export copies from its source film, and replacing the ones that are not valid.

An identified SR or secondary capture joins the film's study: it copies the film's (0020,000D) *Study Instance UID*,
and the SR's evidence references the film by (0020,000E) *Series Instance UID*, (0008,0018) *SOP Instance UID* and
(0008,0016) *SOP Class UID*. A film from an old modality or a hand-edited header can carry a value that is not a UID
(longer than 64 characters, a letter or a space, a component with a leading zero, an empty component). Written as it is,
the export is an invalid object a PACS may refuse or file wrongly. What a PACS administrator gets instead:

- an invalid Study, Series, SOP Instance or Frame of Reference UID is replaced by a valid one derived from the invalid
  value and the attribute (:func:`replacement_uid`: the same film always gets the same replacement, so the SR and the
  secondary capture stay together in one new study, and a second export lands in the same one), and the caller is
  told (:func:`source_uid_replacements`, said by ``report.build`` as a note on the result, printed by the CLI);
- an invalid SOP Class UID cannot be replaced (the class says what kind of object the film is): the export is refused
  (:class:`ValueError` naming the attribute and what is wrong).

The invalid value itself is never quoted (a hand-edited header may hold an accession number or a name in it).

References
----------
1. DICOM PS3.5 2024e, section 9.1 "UID Encoding Rules" (components of digits separated by ".", no leading zero in a
   component of more than one digit, at most 64 characters) and Table 6.2-1 (VR UI).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

__all__ = ["REPLACEABLE_UIDS", "ReplacedUid", "replacement_uid", "source_uid_replacements", "uid_problem",
           "with_valid_uids"]

REPLACEABLE_UIDS: dict[str, str] = {
    "StudyInstanceUID": "(0020,000D) Study Instance UID",
    "SeriesInstanceUID": "(0020,000E) Series Instance UID",
    "SOPInstanceUID": "(0008,0018) SOP Instance UID",
    "FrameOfReferenceUID": "(0020,0052) Frame of Reference UID",
}
"""The source's UIDs an export may copy or reference and that are replaced when invalid (keyword -> tag and name)."""

_MAX_LENGTH = 64


def uid_problem(value: object) -> str | None:
    """What makes ``value`` not a DICOM UID (PS3.5 9.1), in words that do not quote it, or ``None`` when it is one.

    Examples
    --------
    >>> uid_problem("1.2.840.10008.5.1.4.1.1.1.1") is None
    True
    >>> uid_problem("1.2.840.01")
    'component 4 has a leading zero'
    """
    text = str(value if value is not None else "")
    if not text:
        return "it is empty"
    if len(text) > _MAX_LENGTH:
        return f"it is {len(text)} characters long (at most {_MAX_LENGTH})"
    bad = next((i for i, c in enumerate(text) if c not in "0123456789."), None)
    if bad is not None:
        return f"it holds a character other than a digit or '.' (at position {bad + 1})"
    parts = text.split(".")
    if len(parts) < 2:
        return "it has one component (a UID has at least two, separated by '.')"
    for i, part in enumerate(parts, start=1):
        if not part:
            return f"component {i} is empty (two dots together, or a dot at either end)"
        if len(part) > 1 and part[0] == "0":
            return f"component {i} has a leading zero"
    return None


FILM_DISCRIMINATORS = ("StudyDate", "StudyTime", "SeriesNumber", "InstanceNumber", "AcquisitionDate",
                       "AcquisitionTime", "ContentDate", "ContentTime")
"""Attributes of the film that, with the patient, tell one film from another in a replacement Series, SOP Instance or
Frame of Reference UID: two films of one patient with the same invalid value get different replacements."""


def replacement_uid(keyword: str, invalid: str, scope: tuple[str, ...] = ()) -> str:
    """The valid UID that stands in for the invalid ``invalid`` value of the attribute ``keyword`` in ``scope`` (the
    patient, and for a Series, SOP Instance or Frame of Reference UID the film: :func:`_scope`): pydicom's UID root and
    a hash of all three, so the same film of the same patient always gets the same replacement, and two patients (or
    two films) whose files carry one invalid value do not share it. Before 2026-11-25 the hash held only the keyword
    and the value: a modality writing one malformed Study Instance UID for every study put two patients' exports into
    one study (reviewer R's F6)."""
    return str(generate_uid(entropy_srcs=["fusionwatch-invalid-uid", keyword, invalid, *scope]))


def _scope(source: Dataset, keyword: str, patient: str | None) -> tuple[str, ...]:
    """What a replacement of ``keyword`` is scoped to: the patient (``patient``: the export's patient key; else the
    film's Patient ID), and for a UID below the study the film's :data:`FILM_DISCRIMINATORS`."""
    who = patient if patient is not None else str(source.get("PatientID", "") or "")
    if keyword == "StudyInstanceUID":
        return ("patient", who)
    return ("patient", who, "film", *(f"{k}={source.get(k, '')}" for k in FILM_DISCRIMINATORS))


@dataclass(frozen=True, slots=True)
class ReplacedUid:
    """One UID of a source film that an export replaced: the attribute (``keyword``, its tag and ``name``), what was
    wrong with it (``problem``, never the value) and the ``replacement`` written in its place."""

    keyword: str
    name: str
    problem: str
    replacement: str


def source_uid_replacements(source: Dataset, patient: str | None = None) -> tuple[ReplacedUid, ...]:
    """The UIDs of ``source`` that :func:`with_valid_uids` replaces, in the order of :data:`REPLACEABLE_UIDS`
    (``patient``: the export's patient key, which scopes the replacements, :func:`replacement_uid`).

    Raises
    ------
    ValueError
        If (0008,0016) *SOP Class UID* is present and not a valid UID (it cannot be replaced).
    """
    if "SOPClassUID" in source and (problem := uid_problem(source.SOPClassUID)) is not None:
        raise ValueError(f"the film's (0008,0016) SOP Class UID is not a valid DICOM UID ({problem}): it cannot be "
                         "replaced (it says what kind of object the film is); correct the film's header")
    out = []
    for kw, name in REPLACEABLE_UIDS.items():
        if kw in source and (problem := uid_problem(source[kw].value)) is not None:
            out.append(ReplacedUid(kw, name, problem,
                                   replacement_uid(kw, str(source[kw].value), _scope(source, kw, patient))))
    return tuple(out)


def with_valid_uids(source: Dataset, patient: str | None = None) -> Dataset:
    """``source`` itself when every UID of :data:`REPLACEABLE_UIDS` in it is valid, else a copy with the invalid ones
    replaced (:func:`source_uid_replacements`, scoped to ``patient``); ``source`` is never changed.

    Raises
    ------
    ValueError
        As :func:`source_uid_replacements`.
    """
    replaced = source_uid_replacements(source, patient)
    if not replaced:
        return source
    out = copy.deepcopy(source)
    for r in replaced:
        out[r.keyword].value = r.replacement
    meta = getattr(out, "file_meta", None)
    if meta is not None and "SOPInstanceUID" in {r.keyword for r in replaced}:
        meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    return out
