"""The ingest use-case: files, folders, DICOMDIR or a simulated journey -> films measured and stored, visit by visit.

Adapter-free: it takes a :class:`~fusionwatch.store.Store` and paths and returns an :class:`IngestReport`; the CLI only
parses arguments, shows a progress bar and prints the report.

Per film (one database transaction each, so a crash or ``kill -9`` loses nothing already stored and leaves nothing
half-written): read with :func:`fusionwatch.io.read_radiograph`; skip when its SOP Instance UID (or, for files without
DICOM identifiers, its SHA-256) is already stored; find the patient (``--patient`` key, else the DICOM Patient ID, else
a
new pseudonymous key) and the visit (the film's date vs the surgery date: the nearest scheduled visit within its window,
else an unscheduled visit); landmarks from a ``<name>.landmarks.json`` beside the file, else the ``detect`` callable,
else none (stored and flagged "needs landmarks"); measure with :func:`fusionwatch.pipeline.analyse_film`.

What is refused, nothing of the file stored (the run goes on; the summary counts it as failed, exit 1):
- an image that cannot be a radiograph (blank, nearly uniform, pixel noise, smooth everywhere): the detector's pixel
  check (:func:`check_is_a_film`, no model) runs on EVERY film, with or without ``--detect`` or a landmark file;
- with ``--detect``, a film the view model calls "not a lumbar film" (a chest film); without ``--detect`` the view
  model does not run, so such a film is stored as "needs landmarks" (the reader sees it);
- a film that states no view (PNG/JPEG, DICOM without *View Position* or posture words, no ``--view``) whose detector
  landmarks are lateral: the view model cannot tell a neutral lateral from flexion or extension, so the posture
  must be given (``--view lateral|flexion|extension``, or a landmark file stating it; its view is then the landmark
  file's, said in the film's warnings: "view: lateral (from the landmark file, ... not stated by the file)").

After the films, per patient that gained films: hardware checks against each view's baseline film
(:mod:`fusionwatch.implants.comparisons`) and flexion-extension motion (:mod:`fusionwatch.motion`), made from one
reading of the patient's record and stored together in one transaction when the record is still the one read
(:func:`analyse_visits`); recomputed on re-runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fusionwatch.anatomy import FEMORAL_HEADS, Level
from fusionwatch.errors import FusionwatchError, InputError, LandmarkError, UnsupportedImageError
from fusionwatch.io import read_landmarks, read_radiograph
from fusionwatch.io.loading import FIRST_PLAUSIBLE_FILM_DATE as _FIRST_PLAUSIBLE_FILM_DATE
from fusionwatch.io.loading import display_name, film_date_problem, sniff_format
from fusionwatch.landmarks import Landmarks
from fusionwatch.pipeline import analyse_film
from fusionwatch.radiograph import Radiograph, View
from fusionwatch.records import (
    SURGERY_FIELD_OPTIONS,
    Approach,
    Finding,
    Patient,
    Severity,
    Surgery,
    parse_date,
    surgery_differences,
)
from fusionwatch.store import PatientCorrection, Store

__all__ = [
    "FilmOutcome",
    "IngestReport",
    "ingest",
    "ingest_journey",
    "collect_files",
    "analyse_visits",
    "Detector",
    "Progress",
    "JOURNEY_SCHEMA",
    "record_reader_landmarks",
    "record_baselines",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
JOURNEY_SCHEMA = "fusionwatch.sim.journey/1"
Detector = Callable[[Radiograph], Landmarks | None]
"""A landmark detector: film in, landmarks (pixels) or ``None`` out."""
Progress = Callable[[int, int, str], None]
"""Called after each file with (done, total, file name)."""

_SKIP_NAMES = {"DICOMDIR", "journey.json"}
_SKIP_SUFFIXES = (
    ".json",
    ".txt",
    ".md",
    ".csv",
    ".html",
    ".pdf",
    ".yaml",
    ".yml",
    ".ini",
    ".db",
    ".sqlite",
    ".db-journal",
    ".db-wal",
    ".db-shm",
    ".log",
)


@dataclass(frozen=True, slots=True)
class FilmOutcome:
    """What happened to one file. ``status`` is ``added``, ``skipped``, ``updated`` (stored earlier without landmarks,
    landmarks added now) or ``failed``; ``reason`` says why (and notes for added films: "needs landmarks", review
    reasons). No patient identifiers: the key only."""

    path: str
    status: str
    reason: str = ""
    film_id: str | None = None
    patient_key: str | None = None
    visit_label: str | None = None
    measured: bool = False


@dataclass
class IngestReport:
    """The outcome of one ingest run: one :class:`FilmOutcome` per file, plus visit-level analysis notes."""

    outcomes: list[FilmOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def _with(self, status: str) -> list[FilmOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def added(self) -> list[FilmOutcome]:
        return self._with("added")

    @property
    def skipped(self) -> list[FilmOutcome]:
        return self._with("skipped")

    @property
    def failed(self) -> list[FilmOutcome]:
        return self._with("failed")

    @property
    def updated(self) -> list[FilmOutcome]:
        """Films stored earlier without landmarks that got them in this run (a landmark file or the detector)."""
        return self._with("updated")

    @property
    def needs_landmarks(self) -> list[FilmOutcome]:
        """Films of this run without landmarks: added ones, and stored ones a re-run could not complete (a duplicate
        copy counts once, under its original)."""
        duplicates = self.duplicates
        return [o for o in self.outcomes if not o.measured and o.film_id
                and (o.status == "added" or (o.status == "skipped" and o not in duplicates))]

    @property
    def changed_patient_keys(self) -> list[str]:
        """Patients that gained a film or a film's landmarks in this run (only their visits need the visit-level
        analysis again)."""
        return sorted({o.patient_key for o in (*self.added, *self.updated) if o.patient_key})

    @property
    def patient_keys(self) -> list[str]:
        return sorted({o.patient_key for o in self.outcomes if o.patient_key})

    @property
    def duplicates(self) -> list[FilmOutcome]:
        """Skipped files that are copies of a film stored from another file (not a re-run of the same file)."""
        return [o for o in self.skipped if o.reason.endswith("this file is a duplicate")]

    def folders_by_patient(self) -> dict[str, dict[str, list[str]]]:
        """Folder -> patient key -> file names stored (added or already stored) from that folder."""
        out: dict[str, dict[str, list[str]]] = {}
        for o in self.outcomes:
            if o.patient_key and o.status in ("added", "skipped", "updated"):
                p = Path(o.path)
                out.setdefault(str(p.parent), {}).setdefault(o.patient_key, []).append(p.name)
        return out

    def mixed_folder_notes(self) -> list[str]:
        """One note per folder whose films belong to more than one patient (a film of the wrong patient?)."""
        notes = []
        for folder, keys in self.folders_by_patient().items():
            if len(keys) < 2:
                continue
            parts = [f"{k}: {len(names)} file(s)" + (f" ({', '.join(names)})" if len(names) <= 2 else "")
                     for k, names in sorted(keys.items(), key=lambda kv: -len(kv[1]))]
            notes.append(f"folder {folder} holds films of {len(keys)} patients ({'; '.join(parts)}): check that "
                         "none is a film of the wrong patient.")
        return notes

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "fusionwatch.ingest-report/1",
            "added": len(self.added),
            "skipped": len(self.skipped),
            "updated": len(self.updated),
            "failed": len(self.failed),
            "needs_landmarks": len(self.needs_landmarks),
            "patients": self.patient_keys,
            "files": [
                {
                    "path": o.path,
                    "status": o.status,
                    "reason": o.reason,
                    "film_id": o.film_id,
                    "patient_key": o.patient_key,
                    "visit": o.visit_label,
                    "measured": o.measured,
                }
                for o in self.outcomes
            ],
            "notes": list(self.notes),
            "mixed_folders": self.mixed_folder_notes(),
        }


# ---------------------------------------------------------------------------------------------------------- files
def _is_dicom(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return sniff_format(fh.read(132)) == "dicom"
    except OSError:
        return False


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[FilmOutcome]]:
    """Expand files, folders (recursively) and DICOMDIR files into candidate film files, in a stable order.

    A DICOMDIR stands for the folder it sits in (its referenced files live below it and are found by the walk).
    Landmark files, manifests and other non-image names are left out; of a PNG/JPEG/TIFF and a DICOM file with the
    same name in one folder only the DICOM is kept (the other is reported as skipped).

    Returns
    -------
    (files, skipped)
    """
    found: list[Path] = []
    skipped: list[FilmOutcome] = []
    for raw in paths:
        p = Path(raw)
        if p.name.upper() == "DICOMDIR" and p.is_file():
            p = p.parent
        if p.is_dir():
            found += sorted(
                q
                for q in p.rglob("*")
                if q.is_file()
                and not q.name.startswith(".")
                and q.name.upper() not in _SKIP_NAMES
                and not q.name.lower().endswith(_SKIP_SUFFIXES)
            )
        else:
            found.append(p)  # missing files are reported by the reader with a specific reason
    unique = list(dict.fromkeys(f.resolve() if f.exists() else f for f in found))
    by_stem: dict[tuple[Path, str], list[Path]] = {}
    for f in unique:
        by_stem.setdefault((f.parent, f.name.split(".")[0]), []).append(f)
    keep: list[Path] = []
    for f in unique:
        group = by_stem[(f.parent, f.name.split(".")[0])]
        if len(group) > 1 and f.exists() and not _is_dicom(f):
            dicom = next((g for g in group if g != f and _is_dicom(g)), None)
            if dicom is not None:
                skipped.append(FilmOutcome(printable_path(f), "skipped",
                                           f"same film as the DICOM file {display_name(dicom)}"))
                continue
        keep.append(f)
    return keep, skipped


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sidecar_landmarks(path: Path) -> Path | None:
    """``film.landmarks.json`` beside ``film.dcm`` / ``film.png`` (or ``film.dcm.landmarks.json``), if present."""
    for cand in (
        path.with_name(path.name.split(".")[0] + ".landmarks.json"),
        path.with_name(path.name + ".landmarks.json"),
    ):
        if cand.is_file():
            return cand
    return None


# ---------------------------------------------------------------------------------------------------------- films
NO_PATIENT_MESSAGE = "The file has no DICOM Patient ID: give the patient key (--patient KEY) and the date (--date)."


# Films dated earlier are refused: X-rays date from 1895, and 1900-01-01 / 1899-12-30 are common placeholder dates. One
# check with `measure` (io.loading.film_date_problem, R's F5); the name stays importable from here.
FIRST_PLAUSIBLE_FILM_DATE = _FIRST_PLAUSIBLE_FILM_DATE


def _patient_for(store: Store, film: Radiograph, patient_key: str | None) -> tuple[str, Patient | None]:
    """The patient key a film is filed under, and the patient record to store with it (``None`` when nothing new needs
    storing). Writes nothing: the caller stores the record only once the film has passed every check, so a refused
    film leaves no patient and no Patient ID link behind."""
    if patient_key:
        pid = film.ids.patient_id
        if pid:
            # --patient files the film under KEY; a DICOM film of someone else must not be mixed in silently. The
            # first DICOM film links KEY to its Patient ID (as `patient add --patient-id` does); a film whose Patient
            # ID belongs to another patient, or differs from KEY's, is refused. Messages name keys, never the ids.
            owner = store.find_patient_key(pid)
            if owner is not None and owner != patient_key:
                raise InputError(
                    f"The film's DICOM Patient ID belongs to patient {owner!r}, not to {patient_key!r} (--patient): "
                    "a film of another patient? Check the file, or ingest it without --patient to file it under its "
                    "own patient."
                )
            if owner is None and store.has_patient(patient_key) and store.get_patient(patient_key).patient_id:
                raise InputError(
                    f"The film's DICOM Patient ID differs from the one of patient {patient_key!r} (--patient): a "
                    "film of another patient? Check the file, or ingest it without --patient to file it under its "
                    "own patient."
                )
            return patient_key, Patient(key=patient_key, patient_id=pid, name=film.ids.patient_name,
                                        birth_date=film.ids.birth_date)
        return patient_key, Patient(key=patient_key)  # adding it is a no-op when it exists
    pid = film.ids.patient_id
    if pid:
        key = store.find_patient_key(pid)
        if key is None:
            key = store.new_patient_key()
            return key, Patient(key=key, patient_id=pid, name=film.ids.patient_name, birth_date=film.ids.birth_date)
        # a patient entered before its films (`patient add --patient-id`) gets the film's birth date when it has none
        # (Store.add_patient never replaces one), as a patient filed with --patient does
        return key, Patient(key=key, patient_id=pid, birth_date=film.ids.birth_date) if film.ids.birth_date else None
    raise InputError(NO_PATIENT_MESSAGE)


ALREADY_STORED = "already stored (same SOP Instance UID or file content)"


def _already_stored(store: Store, path: Path, film_id: str, *, detect: Detector | None = None,
                    view: View | None = None, landmarks_path: Path | None = None) -> FilmOutcome:
    """A skipped film, with the patient and visit it is stored under; a copy of a film stored from another file says
    which file (a duplicate in the folder, not a re-run).

    A stored film that still has no landmarks gets them now when a landmark file lies beside it or a detector is
    given (status ``updated``): otherwise a film ingested before its landmark file existed could never be measured
    by a re-run, which skips stored films.
    """
    rec = store.get_film(film_id)
    reason = ALREADY_STORED
    if Path(rec.file_path) != path.resolve():
        reason += f" from {rec.file_path}: this file is a duplicate"
    lm_path = landmarks_path or sidecar_landmarks(path)
    has_landmarks = store.current_landmarks(film_id) is not None
    if (lm_path is not None or detect is not None) and not has_landmarks:
        try:
            film = read_radiograph(rec.file_path if Path(rec.file_path).is_file() else path,
                                   view=view or (View(rec.view) if rec.view else None))
            landmarks, kind = (read_landmarks(lm_path), "file") if lm_path is not None else (detect(film), "automatic")
            if landmarks is None:
                raise LandmarkError("the detector placed none")
        except FusionwatchError as exc:
            return FilmOutcome(str(path), "skipped", f"{reason}; still needs landmarks: {exc}", film_id,
                               rec.patient_key, rec.visit_label, measured=False)
        measured = _measure(film, landmarks, film_id)
        if measured.landmarks is None:
            return FilmOutcome(str(path), "skipped", f"{reason}; still {measured.reason}", film_id,
                               rec.patient_key, rec.visit_label, measured=False)
        store.add_landmark_set(film_id, measured.landmarks, kind=kind, measurements=measured.measurements,
                               findings=measured.review, radiograph=measured.film)
        source = f"from {lm_path.name}" if lm_path is not None else "by the detector"
        review = f"; {measured.reason}" if measured.reason else ""
        return FilmOutcome(str(path), "updated", f"already stored; landmarks added {source} and measured{review}",
                           film_id, rec.patient_key, rec.visit_label, measured=bool(measured.measurements))
    return FilmOutcome(str(path), "skipped", reason, film_id, rec.patient_key, rec.visit_label,
                       measured=has_landmarks)


@dataclass(frozen=True, slots=True)
class _Measured:
    """One film measured from its landmarks at ingest: what the store keeps of it.

    ``landmarks`` is ``None`` when they were unusable (``review`` then holds a ``needs_landmarks`` finding); ``reason``
    is the outcome's note ("review: ..." or "needs landmarks: ..."; empty when there is nothing to say)."""

    film: Radiograph
    landmarks: Landmarks | None
    measurements: tuple[Any, ...]
    review: tuple[Finding, ...]
    reason: str


FEMORAL_HEADS_LEFT_OUT = (
    "A femoral head lies outside the film: the femoral heads were left out, so pelvic tilt, pelvic incidence and "
    "PI-LL are not measured on this film."
)


def _measure(film: Radiograph, landmarks: Landmarks, film_id: str) -> _Measured:
    """Trim femoral heads off the film, measure, and turn review reasons into ``landmark_review`` findings and the
    analysis warnings into film warnings: the one rule for landmarks given at the first ingest and landmarks a re-run
    adds to a stored film, so both leave the same record."""
    landmarks, dropped = trim_points_off_film(landmarks)
    review: list[Finding] = []
    reason = ""
    if dropped:
        review.append(Finding("landmark_review", Severity.INFO, FEMORAL_HEADS_LEFT_OUT, films=(film_id,)))
        reason = f"review: {FEMORAL_HEADS_LEFT_OUT}"
    try:
        analysis = analyse_film(film, landmarks)
    except FusionwatchError as exc:
        review.append(Finding("needs_landmarks", Severity.INFO, f"Landmarks unusable: {exc}", films=(film_id,)))
        return _Measured(film, None, (), tuple(review), f"needs landmarks: {exc}")
    film = analysis.radiograph
    review += [Finding("landmark_review", Severity.INFO, r, films=(film_id,)) for r in analysis.needs_review]
    if analysis.warnings:
        film = _with_warnings(film, analysis.warnings)
    if analysis.needs_review:
        reason = "review: " + "; ".join(analysis.needs_review)
    return _Measured(film, analysis.landmarks, analysis.measurements, tuple(review), reason)


def _ingest_one(
    store: Store,
    path: Path,
    *,
    detect: Detector | None,
    patient_key: str | None,
    date: dt.date | None,
    view: View | None,
    landmarks_path: Path | None = None,
) -> FilmOutcome:
    if not path.is_file():
        raise InputError(f"File not found: {path}" if not path.exists() else f"{path} is not a regular file.")
    _check_utf8_path(path)
    digest = _sha256(path)
    if (known := store.film_id_for_hash(digest)) is not None:
        return _already_stored(store, path, known, detect=detect, view=view, landmarks_path=landmarks_path)
    film = read_radiograph(path, view=view)
    film_id = film.ids.sop_uid or f"sha256:{digest}"
    if store.has_film(film_id):
        return _already_stored(store, path, film_id, detect=detect, view=view, landmarks_path=landmarks_path)
    check_is_a_film(film, path)
    if not patient_key and not film.ids.patient_id:
        raise InputError(NO_PATIENT_MESSAGE)
    when = date or film.acquired
    # --date wins over the file's own date (documented); say so, or a folder of several visits lands on one day unseen
    date_note = (f"filed on --date {date.isoformat()}, not on the file's own date {film.acquired.isoformat()}"
                 if date is not None and film.acquired is not None and film.acquired != date else "")
    if when is None:  # a date that is there but invalid is said as such, with its value (io.loading's warnings)
        invalid = [w.removesuffix("; ignored.") for w in film.warnings if "is not a valid date" in w]
        if invalid:
            raise InputError(f"The film has no valid acquisition or study date ({'; '.join(invalid)}): give it with "
                             "--date YYYY-MM-DD.")
        raise InputError("The film has no acquisition or study date: give it with --date YYYY-MM-DD.")
    if (problem := film_date_problem(when)) is not None:  # the one film-date check, shared with measure (R's F5)
        raise InputError(problem + ("; check the date (or --date)." if when > dt.date.today()
                                    else ": check the date (or give it with --date)."))
    key, new_patient = _patient_for(store, film, patient_key)
    stored = store.get_patient(key) if store.has_patient(key) else None
    # the birth date on record wins over the file's (it may have been corrected: `patient correct --birth-date`); the
    # file's is checked only where none is on record. The date is never printed: an identifier.
    if (stored is None or stored.birth_date is None) and film.ids.birth_date is not None and when < film.ids.birth_date:
        raise InputError(f"The film date {when.isoformat()} is before the patient's birth date in the file: check the "
                         "date (or give it with --date), or whether the file's patient data are wrong.")
    if stored is not None:  # a stored patient: its birth date and surgery on record (every dated record's rule)
        store.check_patient_date(key, when, what="The film date", check="check the date (or give it with --date)")
    landmarks: Landmarks | None = None
    kind = "file"
    review: list[Finding] = []
    reason = ""
    lm_path = landmarks_path or sidecar_landmarks(path)
    if lm_path is not None:
        landmarks = read_landmarks(lm_path)
    elif detect is not None:
        try:
            landmarks, kind = detect(film), "automatic"
        except UnsupportedImageError as exc:  # the view model's "not a lumbar film" (or its pixel check): refused
            raise UnsupportedImageError(f"{NOT_A_FILM} {path.name}: {exc} {NOTHING_STORED}") from exc
        except FusionwatchError as exc:
            reason = f"needs landmarks: the detector could not place them ({exc})"
            review.append(
                Finding("needs_landmarks", Severity.INFO, f"Landmark detection failed: {exc}", films=(film_id,))
            )
    if landmarks is not None and kind == "automatic" and film.view is None and landmarks.view.is_lateral:
        # the detector's lateral rests on the view model, which cannot tell neutral from flexion or extension: a
        # flexion PNG must not become the visit's neutral lateral, measured against the baseline (R's F10)
        raise InputError(f"{path.name} states no view (no view in the file, no --view, no landmark file) and the view "
                         "model reads it as lateral, but it cannot tell a neutral lateral from a flexion or extension "
                         "film: give the posture with --view lateral, --view flexion or --view extension (or a "
                         f"landmark file stating it). {NOTHING_STORED}")
    measurements: Sequence[Any] = ()
    if landmarks is not None:
        measured = _measure(film, landmarks, film_id)
        film, landmarks, measurements = measured.film, measured.landmarks, measured.measurements
        review += measured.review
        reason = measured.reason
    elif not reason:
        review.append(
            Finding(
                "needs_landmarks",
                Severity.INFO,
                "No landmarks (no landmark file, no detector): place them to measure this film.",
                films=(film_id,),
            )
        )
        reason = "needs landmarks"
    kwargs: dict[str, Any] = dict(
        film_id=film_id,
        file_path=str(path.resolve()),
        file_sha256=digest,
        visit_date=when,
        landmarks=landmarks,
        landmark_kind=kind,
        measurements=measurements,
        findings=review,
    )
    if new_patient is not None:  # only now: a film refused above leaves no patient or Patient ID link behind
        # without --patient the patient is the Patient ID's: one stored by another ingest since _patient_for looked
        # (a fresh key proposed) is the one (its birth date on record, a different one in the file refused)
        key = store.add_patient(new_patient, same_patient_id_wins=not patient_key).key
    rec, created = store.add_film(key, film, **kwargs)
    if not created:
        return FilmOutcome(str(path), "skipped", "already stored (stored meanwhile)", film_id, key, rec.visit_label)
    lateral_note = ""
    if rec.view == View.LATERAL.value:  # R's F2: a visit's second lateral is said at once, not only by followup
        others = [Path(f.file_path).name for f in store.list_films(key)
                  if f.visit_label == rec.visit_label and f.view == View.LATERAL.value and f.film_id != film_id]
        if others:
            lateral_note = (f"this visit already has a lateral film ({', '.join(others)}): the latest ingested is "
                            "measured unless a reader chooses another (`fusionwatch override add KEY VISIT "
                            "--lateral-film FILE`); check this is not a flexion or extension film")
    reason = "; ".join(r for r in (date_note, reason, lateral_note) if r)
    return FilmOutcome(str(path), "added", reason, film_id, key, rec.visit_label, measured=bool(measurements))


NOT_A_FILM = "no lumbar spine found on"
NOTHING_STORED = "Nothing was stored for this file."


def check_is_a_film(film: Radiograph, path: Path) -> None:
    """Refuse an image that cannot be a radiograph (blank, nearly uniform, pixel noise, smooth everywhere, tiny).

    The detector's own pixel check (:func:`fusionwatch.detect.view.check_pixels`; no model, a few milliseconds) runs on
    every film ingested, with or without ``--detect`` and with or without a landmark file: a landmark file exported
    with the wrong image or a film that failed to render at the modality must not become a visit's film (R's F1).
    What it cannot see (a chest film, a knee) is refused by the view model's "not a lumbar film" class, which runs
    with ``--detect`` only.

    Raises
    ------
    UnsupportedImageError
        ``"no lumbar spine found on NAME: <what is wrong>. Nothing was stored for this file."``
    """
    from fusionwatch.detect.view import check_pixels

    try:
        check_pixels(film.pixels, path.name)
    except UnsupportedImageError as exc:  # "<name>: the image is" -> "no lumbar spine found on <name>: the image is"
        raise UnsupportedImageError(f"{NOT_A_FILM} {exc} {NOTHING_STORED}") from exc


def trim_points_off_film(landmarks: Landmarks) -> tuple[Landmarks, tuple[str, ...]]:
    """Leave out the femoral heads when the field cut one of them off (its centre lies outside the film).

    Both heads go, not only the one outside: a hip axis from one head on some films and from two on others would
    make pelvic incidence jump between visits. Pelvic tilt, pelvic incidence and PI-LL are then missing (with their
    reason) for this film; every other value is measured. Any other point outside the film is left in place for the
    pipeline to refuse (a landmark file made for another image).

    Returns
    -------
    (Landmarks, tuple[str, ...])
        The landmarks to measure and the names left out (empty when nothing was).
    """
    w, h = landmarks.width, landmarks.height
    heads = [n for n in FEMORAL_HEADS if n in landmarks.points]
    off = [
        n
        for n in heads
        if not (-0.5 <= landmarks.points[n][0] <= w - 0.5 and -0.5 <= landmarks.points[n][1] <= h - 0.5)
    ]
    if not off:
        return landmarks, ()
    kept = {n: p for n, p in landmarks.points.items() if n not in heads}
    return landmarks.with_points(kept), tuple(heads)


def printable_path(path: Path | str) -> str:
    """``path`` as text that can be printed and stored: bytes that are not UTF-8 shown as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _check_utf8_path(path: Path) -> None:
    """Refuse a film whose path is not UTF-8 text (copied from a Latin-1 system): the store keeps the path to open the
    film again for reports and checks, and cannot hold it; a path stored in another spelling could not be opened."""
    raw = os.fsencode(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        in_name = not _is_utf8(os.fsencode(path.name))
        where = f"The file name '{display_name(path)}'" if in_name else f"A folder name in '{printable_path(path)}'"
        raise InputError(
            f"{where} is not UTF-8 text (byte 0x{byte:02x}): rename the {'file' if in_name else 'folder'} (UTF-8 "
            "letters, e.g. as the system shows them) and ingest it again; the path is kept to open the film later "
            "and must be UTF-8. Nothing was stored for it."
        ) from None


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _with_warnings(film: Radiograph, warnings: Sequence[str]) -> Radiograph:
    from dataclasses import replace

    return replace(film, warnings=tuple(dict.fromkeys([*film.warnings, *warnings])))


def _safe_ingest_one(store: Store, path: Path, **kw: Any) -> FilmOutcome:
    shown = printable_path(path)  # a path that is not UTF-8 could be neither printed nor written to --json
    try:
        return _ingest_one(store, path, **kw)
    except FusionwatchError as exc:
        return FilmOutcome(shown, "failed", str(exc))
    except OSError as exc:
        return FilmOutcome(shown, "failed", f"cannot read the file: {exc.strerror or exc}")
    except Exception as exc:  # one bad file must never stop the batch; the reason is reported, not hidden
        # the log gets the error's type and the tool's frames, not its message: that can quote the file's path or
        # values read from it (an IntegrityError quotes its SQL parameters: a name, a birth date). The outcome, shown
        # to the user who named the file, says it whole.
        log.error("unexpected error on one file (%s; its message is in the ingest report, not logged: it can quote "
                  "the file's path or data)\n%s", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
        return FilmOutcome(shown, "failed", f"unexpected error ({type(exc).__name__}): {exc}")


def ingest(
    paths: Iterable[str | Path],
    store: Store,
    *,
    detect: Detector | None = None,
    patient_key: str | None = None,
    date: dt.date | None = None,
    view: View | None = None,
    progress: Progress | None = None,
    analyse: bool = True,
) -> IngestReport:
    """Ingest films into the store; never stops on a bad file.

    Parameters
    ----------
    paths : iterable of str or Path
        Files, folders (searched recursively) and DICOMDIR files.
    store : Store
    detect : callable, optional
        Landmark detector used when a film has no ``.landmarks.json`` beside it.
    patient_key, date, view : optional
        For files without DICOM identifiers (PNG, JPEG, TIFF): the patient's pseudonymous key (created when new), the
        film date and the view. When given they apply to every file of the run and override the DICOM values.
    progress : callable, optional
        ``progress(done, total, name)`` after each file.
    analyse : bool
        Run the visit-level hardware and motion analysis after the films (default).

    Returns
    -------
    IngestReport
    """
    files, skipped = collect_files(paths)
    report = IngestReport(outcomes=list(skipped))
    for i, path in enumerate(files, 1):
        report.outcomes.append(
            _safe_ingest_one(store, path, detect=detect, patient_key=patient_key, date=date, view=view)
        )
        if progress is not None:
            progress(i, len(files), path.name)
    report.notes += record_baselines(store, report)
    if analyse:
        report.notes += analyse_visits(store, report.changed_patient_keys)
    return report


def record_reader_landmarks(store: Store, film_id: str, landmarks: Landmarks, author: str) -> int:
    """A reader's corrected landmarks for a stored film: measured and stored as a new version (earlier ones are kept).

    The film file is read again for its spacing; the new version wins over automatic ones in every timeline. A move of
    the baseline film it causes is recorded, and the patient's visit-level results (hardware checks, motion) are made
    again with it, so no stored finding rests on the replaced landmarks.

    Returns
    -------
    int
        The new version number.

    Raises
    ------
    InputError
        Unknown film, or no author. LandmarkError / ViewError when the landmarks do not fit the film.
    """
    if not author or not author.strip():
        raise InputError("A reader's landmark edit needs the reader's name (author).")
    rec = store.get_film(film_id)
    film = read_radiograph(rec.file_path, view=View(rec.view) if rec.view else None)
    analysis = analyse_film(film, landmarks)
    version = store.add_landmark_set(
        film_id, analysis.landmarks, kind="reader", author=author, measurements=analysis.measurements
    )
    # the cause goes into the baseline note (reports, de-identified ones too): the visit, not the reader's name
    store.record_baseline(rec.patient_key, cause=f"landmarks placed by a reader at {rec.visit_label}")
    # the stored visit-level results (hardware checks vs the baseline film, flexion-extension motion) were made with
    # the landmarks this edit replaces, perhaps against another baseline film: made again (idempotent, per visit)
    notes = analyse_visits(store, [rec.patient_key])
    if notes:  # counted, not quoted: notes name visits (an unscheduled one by its date) and quote errors (file paths)
        log.warning("after a reader's landmark edit: the visit analysis made %d note(s) (not logged: they name visits "
                    "and films); `fusionwatch followup` shows what is stored", len(notes))
    return version


# ---------------------------------------------------------------------------------------------------------- journeys
def _journey_implants(implants: Any) -> tuple[str, ...]:
    """Surgery implants from the manifest: a list of names, or the simulator's ``{"cage": "PEEK" | None, ...}``."""
    if isinstance(implants, list):
        return tuple(str(x) for x in implants)
    if isinstance(implants, dict):
        return ("pedicle_screws", "rods") + (("interbody_cage",) if implants.get("cage") else ())
    return ("pedicle_screws", "rods", "interbody_cage")


def ingest_journey(
    journey_json: str | Path,
    store: Store,
    *,
    detect: Detector | None = None,
    progress: Progress | None = None,
    analyse: bool = True,
) -> IngestReport:
    """Ingest a simulated journey folder: the patient and surgery from the manifest, then every film it lists.

    Parameters
    ----------
    journey_json : str or Path
        ``journey.json`` (schema ``fusionwatch.sim.journey/1``) or the folder holding it.

    Raises
    ------
    InputError
        If the manifest is missing, not JSON, of another schema or lacks the patient or surgery.
    """
    path = Path(journey_json)
    if path.is_dir():
        path = path / "journey.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"Journey manifest not found: {printable_path(path)}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"Cannot read the journey manifest {printable_path(path)}: it is not UTF-8 text (byte "
                         f"0x{exc.object[exc.start]:02x} at position {exc.start}); save it as UTF-8.") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"Cannot read the journey manifest {printable_path(path)}: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != JOURNEY_SCHEMA:
        raise InputError(
            f'{path}: expected "schema": "{JOURNEY_SCHEMA}", '
            f"got {data.get('schema') if isinstance(data, dict) else data!r}."
        )
    try:
        p, s = data["patient"], data["surgery"]
        patient = Patient(
            key=str(p["key"]),
            patient_id=p.get("patient_id"),
            name=p.get("name"),
            birth_date=parse_date(p["birth_date"], "patient.birth_date") if p.get("birth_date") else None,
            sex=p.get("sex"),
        )
        surgery = Surgery(
            date=parse_date(s["date"], "surgery.date"),
            levels=tuple((Level(a), Level(b)) for a, b in s.get("levels", [["L5", "S1"]])),
            approach=Approach(s.get("approach", "TLIF")),
            implants=_journey_implants(s.get("implants")),
        )
        films = list(data.get("films", []))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed patient or surgery entry ({exc}).") from None
    on_record = store.get_surgery(patient.key) if store.has_patient(patient.key) else None
    # a recorded surgery changes only with its audit (Store.set_surgery would refuse it too): refused before anything,
    # the patient's identifiers included, is stored; the date first, with its own advice
    differ = surgery_differences(on_record, surgery) if on_record is not None else []
    if on_record is not None and any(name == "surgery date" for name, _, _ in differ):
        raise InputError(
            f"{printable_path(path)}: the journey's surgery date {surgery.date.isoformat()} is not the one on record "
            f"for patient {patient.key!r} ({on_record.date.isoformat()}); nothing was ingested. If the record is "
            f"wrong, correct it with `fusionwatch patient correct {patient.key} --surgery-date "
            f"{surgery.date.isoformat()} --by NAME --reason WHY` and ingest again.")
    if differ:  # nor of the approach, levels or implants: the implants decide cage subsidence or not
        fix = [f"{SURGERY_FIELD_OPTIONS[name]} {new}" for name, _, new in differ if name in SURGERY_FIELD_OPTIONS]
        raise InputError(
            f"{printable_path(path)}: the journey's surgery ("
            + "; ".join(f"{name} {new}" for name, _, new in differ) + ") is not the one on record for patient "
            f"{patient.key!r} (" + "; ".join(f"{name} {old}" for name, old, _ in differ) + "); nothing was "
            "ingested. If the record is wrong, "
            + (f"correct it with `fusionwatch patient correct {patient.key} {' '.join(fix)} --by NAME --reason "
               "WHY` and ingest again." if fix else
               "its implants follow its approach (`fusionwatch patient correct --approach`): check the manifest's "
               "implants."))
    store.add_patient(patient)
    store.set_surgery(patient.key, surgery)
    report = IngestReport()
    base = path.parent
    for i, f in enumerate(films, 1):
        file = base / str(f.get("file", ""))
        try:
            when = parse_date(f.get("date"), f"film {file.name} date")
            view = View(f["view"]) if f.get("view") else None
            lm = base / f["landmarks"] if f.get("landmarks") else None
            outcome = _safe_ingest_one(
                store,
                file,
                detect=detect,
                patient_key=patient.key,
                date=when,
                view=view,
                landmarks_path=lm if lm is not None and lm.is_file() else None,
            )
        except (InputError, ValueError) as exc:
            outcome = FilmOutcome(str(file), "failed", str(exc))
        report.outcomes.append(outcome)
        if progress is not None:
            progress(i, len(films), file.name)
    report.notes += record_baselines(store, report)
    if analyse:
        report.notes += analyse_visits(store, report.changed_patient_keys)
    return report


# ---------------------------------------------------------------------------------------------------------- visits
def baseline_note(key: str, change: Any) -> str:
    """The ingest report's note on a moved baseline film (:class:`fusionwatch.store.BaselineChange`); no identifiers."""
    return (f"{key}: the baseline film changed ({change.cause}): {change.moved_text()}. Changes vs baseline and "
            f"hardware findings are now measured against the new one; findings shown before may change or go "
            f"(`fusionwatch followup {key}` says so).")


def correct_surgery_date(
    store: Store, key: str, surgery_date: dt.date, *, by: str, reason: str, visits_change_side: bool = False
) -> tuple[PatientCorrection, list[str]]:
    """Correct patient ``key``'s surgery date with its audit (:meth:`Store.correct_surgery_date`: who, when, why and
    the old date are kept; the date rules and the refusal of visits changing side are there), then bring what depends
    on the date up to date (:func:`_corrected_with_baseline`): the move of the baseline film is recorded (and said),
    and the visit-level analysis (hardware checks against the baseline film, whose evidence names the visits by label;
    flexion-extension motion) is made again. Days since surgery, labels and the timeline's findings follow from the
    corrected record.

    Returns
    -------
    (PatientCorrection, list[str])
        The audit entry, and notes for the user (a baseline move, checks that could not be made; no identifiers).
    """
    return _corrected_with_baseline(
        store, key, "surgery date correction",
        lambda: store.correct_surgery_date(key, surgery_date, by=by, reason=reason,
                                           visits_change_side=visits_change_side),
        lambda rec: f"surgery date corrected from {rec.old_value} to {rec.new_value}")


def correct_surgery(
    store: Store, key: str, *, approach: Approach | None = None, levels: Sequence[tuple[Level, Level]] | None = None,
    by: str, reason: str,
) -> tuple[list[PatientCorrection], list[str]]:
    """Correct patient ``key``'s approach and/or fused levels with their audit (:meth:`Store.correct_surgery`: who,
    when, why and the old values, the implants too when the approach changes them), then make the visit-level
    analysis again as :func:`correct_surgery_date` does. The timeline's findings follow from the corrected record
    (with an interbody cage a disc height loss at the fused level is cage subsidence, without one a fused disc height
    loss).

    Returns
    -------
    (list[PatientCorrection], list[str])
        The audit entries, and notes for the user (a baseline move, checks that could not be made; no identifiers).
    """
    return _corrected_with_baseline(
        store, key, "surgery record correction",
        lambda: store.correct_surgery(key, approach=approach, levels=levels, by=by, reason=reason),
        lambda recs: "surgery record corrected (" + ", ".join(r.field for r in recs) + ")")


def _corrected_with_baseline(
    store: Store, key: str, what: str, correct: Callable[[], _T], cause: Callable[[_T], str]
) -> tuple[_T, list[str]]:
    """``correct()`` (an audited correction of patient ``key``'s surgery record, ``what``) between two recordings of
    the baseline film, then the visit-level analysis made again; returns its result and the notes (baseline moves
    said, checks that could not be made; no identifiers).

    The recording before it keeps the baseline on record before the change: a patient whose films predate baseline
    recording (a database upgraded to 0005_baseline_changes) has none recorded, and the move would be taken for the
    first recording and not be said. The one after it records the move with ``cause(result)``."""
    earlier = store.record_baseline(key, cause=f"the baseline film on record before this {what}")
    result = correct()
    moved = store.record_baseline(key, cause=cause(result))
    return result, [baseline_note(key, c) for c in (earlier, moved) if c is not None] + analyse_visits(store, [key])


def record_baselines(store: Store, report: IngestReport) -> list[str]:
    """Record each changed patient's baseline film (:meth:`Store.record_baseline`), naming the visits that gained films
    or landmarks in this run as the cause; a note for each patient whose baseline film moved."""
    notes = []
    for key in report.changed_patient_keys:
        labels = sorted({o.visit_label for o in (*report.added, *report.updated) if o.patient_key == key
                         and o.visit_label})
        change = store.record_baseline(key, cause=f"films stored or measured at {', '.join(labels) or 'a visit'}")
        if change is not None:
            notes.append(baseline_note(key, change))
    return notes


ANALYSIS_ATTEMPTS = 3
"""How many times the visit-level analysis of one patient is made when the record keeps changing while it runs
(another ingest of the patient, or a reader's landmark edit, at the same time); each later attempt reads the record
again."""


def analyse_visits(store: Store, patient_keys: Sequence[str]) -> list[str]:
    """Visit-level analysis of the given patients: hardware checks vs the baseline film and flexion-extension motion.

    Per patient, both are made from one reading of the record and written together in ONE transaction, only when
    the record is still the one read (:meth:`Store.replace_visit_analysis`): else they are made again, at most
    :data:`ANALYSIS_ATTEMPTS` times, then a note says so. Each visit's results replace the previous ones of the same
    kind (idempotent). Returns notes on what could not be done (never identifiers).
    """
    notes: list[str] = []
    for key in patient_keys:
        notes += _analyse_patient(store, key)
    return notes


def _analyse_patient(store: Store, key: str) -> list[str]:
    """:func:`analyse_visits` of one patient: a failed motion analysis leaves the hardware checks to be stored (and
    the other way round); analysis problems must not lose the films already stored."""
    for _ in range(ANALYSIS_ATTEMPTS):
        notes: list[str] = []
        motion: dict[dt.date, tuple[list[Any], list[str]]] | None = None
        findings: dict[dt.date, list[Finding]] | None = None
        try:
            snapshot = store.analysis_snapshot(key)  # before reading: a change after it is seen at the write
        except Exception as exc:
            return [f"{key}: visit analysis failed ({type(exc).__name__}: {exc})"]
        try:
            motion, got = _motion_for_patient(store, key)
            notes += got
        except Exception as exc:
            notes.append(f"{key}: motion analysis failed ({type(exc).__name__}: {exc})")
        try:
            findings, got = _hardware_for_patient(store, key)
            notes += got
        except Exception as exc:
            notes.append(f"{key}: hardware checks failed ({type(exc).__name__}: {exc})")
        try:
            if store.replace_visit_analysis(key, snapshot=snapshot, findings=findings, motion=motion):
                return notes
        except Exception as exc:
            return notes + [f"{key}: motion and hardware results not stored ({type(exc).__name__}: {exc})"]
    return notes + [f"{key}: motion and hardware results not stored: the patient's films or landmarks changed while "
                    f"they were measured ({ANALYSIS_ATTEMPTS} attempts); the next ingest or `patient correct` makes "
                    "them again."]


def _film_and_landmarks(store: Store, film_id: str) -> tuple[Radiograph, Landmarks] | None:
    rec = store.get_film(film_id)
    cur = store.current_landmarks(film_id)
    if cur is None:
        return None
    view = View(rec.view) if rec.view else None
    film = read_radiograph(rec.file_path, view=view)
    if rec.spacing_source == "user_calibration" and rec.spacing_dx_mm:
        from dataclasses import replace

        from fusionwatch.units import Spacing, SpacingSource

        film = replace(
            film,
            spacing=Spacing(rec.spacing_dx_mm, rec.spacing_dy_mm or rec.spacing_dx_mm, SpacingSource.USER_CALIBRATION),
        )
    return film, cur.landmarks


def _motion_for_patient(store: Store, key: str) -> tuple[dict[dt.date, tuple[list[Any], list[str]]], list[str]]:
    """Flexion-extension motion of each visit with both films (the latest of each) and their landmarks, as
    ``({visit date: (results, the two film ids)}, notes)``; registration failing, the landmark-difference motion."""
    from fusionwatch.motion import LANDMARK_METHOD, RegistrationError, landmark_motion, register_motion

    notes = []
    motion: dict[dt.date, tuple[list[Any], list[str]]] = {}
    films = store.list_films(key)
    for visit in store.list_visits(key):
        at = [f for f in films if f.visit_date == visit.date]
        flex = [f for f in at if f.view == "flexion"]
        ext = [f for f in at if f.view == "extension"]
        if not flex or not ext:
            continue
        a, b = _film_and_landmarks(store, flex[-1].film_id), _film_and_landmarks(store, ext[-1].film_id)
        if a is None or b is None:
            notes.append(f"{key} {visit.label}: flexion-extension films need landmarks before motion can be measured.")
            continue
        ids = [flex[-1].film_id, ext[-1].film_id]
        try:
            results: list[Any] = register_motion(a[0], b[0], a[1], b[1])
        except (RegistrationError, FusionwatchError) as exc:
            from fusionwatch.followup import SegmentMotion

            results = []
            for level in ("L4-L5", "L5-S1"):
                lm = landmark_motion(a[1], b[1], level, a[0].spacing, b[0].spacing)
                results.append(
                    SegmentMotion(
                        level,
                        lm.angle_deg,
                        None,
                        lm.translation_mm,
                        lm.translation_percent,
                        None,
                        LANDMARK_METHOD,
                        tuple(ids),
                    )
                )
            notes.append(
                f"{key} {visit.label}: registration failed ({exc}); landmark-difference motion stored instead."
            )
        motion[visit.date] = (results, ids)
    return motion, notes


def _hardware_for_patient(store: Store, key: str) -> tuple[dict[dt.date, list[Finding]], list[str]]:
    """Hardware checks of each visit against its view's baseline film (pairs: :func:`implants.hardware_comparisons`).

    Lateral films against the follow-up's baseline film (:func:`choose_baseline`); AP films (a rod break hides behind
    the other rod on a lateral film) against the AP baseline film, chosen by the same rule among the AP films with
    landmarks, whatever the visits of the lateral films. Each finding's evidence names the baseline it was measured
    against (view and visit); its ``films`` are the two films. Returns ``({visit date: findings}, notes)``: every
    visit's stored hardware findings are to be replaced by this run's, none where no comparison is made any more
    (written by :func:`_analyse_patient`)."""
    from dataclasses import replace

    from fusionwatch.followup.compare import choose_baseline
    from fusionwatch.followup.refs import COMPARED_SINCE_KEY
    from fusionwatch.implants import check_implants, detect_implants
    from fusionwatch.implants.comparisons import hardware_comparisons

    inputs = store.visit_inputs(key)
    if not inputs:
        return {}, []
    b_index, _ = choose_baseline(inputs)
    cache: dict[str, Any] = {}

    def load(film_id: str) -> tuple[Radiograph, Landmarks, Any] | None:
        if film_id not in cache:
            got = _film_and_landmarks(store, film_id)
            cache[film_id] = None if got is None else (*got, detect_implants(got[0], got[1]))
        return cache[film_id]

    def ap_film(v: Any) -> str | None:
        aps = [f for f in v.films if store.get_film(f).view == "ap" and store.current_landmarks(f) is not None]
        return aps[-1] if aps else None

    films = {"lateral": [v.lateral_film for v in inputs], "ap": [ap_film(v) for v in inputs]}
    notes = []
    # every visit's stored findings become what this analysis says: a visit no longer compared (before a baseline
    # that moved, pre-operative after a corrected surgery date, its film's checks no longer possible) keeps none, not
    # the findings of a comparison that is no longer made. Reader verdicts on them are overrides (the audit): kept,
    # and the timeline names those whose finding is no longer made (VisitSummary.verdicts_without_finding)
    found: dict[int, list[Any]] = {i: [] for i in range(len(inputs))}
    listed = store.list_findings(key)
    now = dt.datetime.now(dt.UTC).isoformat()
    before: dict[tuple[str, str, Any, Any], str | None] = {}  # None: stored before the time was kept (unknown)
    for label, origin, f in listed:
        was = f.evidence.get("compared_with") if origin == "implants" else None
        if isinstance(was, dict):
            before.setdefault((label, f.kind, was.get("view"), was.get("baseline_visit")), was.get(COMPARED_SINCE_KEY))
    for c in hardware_comparisons(inputs, films, baselines={"lateral": b_index}):
        ref, cur = load(c.baseline_film), load(c.film)
        if ref is None or cur is None:
            continue
        v, base = inputs[c.visit], inputs[c.baseline_visit]
        try:
            got = check_implants(ref[0], ref[1], ref[2], cur[0], cur[1], cur[2])
        except FusionwatchError as exc:
            notes.append(f"{key} {v.label}: {c.view} hardware checks not possible ({exc}).")
            continue
        against = {"view": c.view, "baseline_visit": base.label}
        # when this comparison was first made: kept while it stays the same, so that a reader's verdict given on it
        # keeps applying; measured against another baseline film, the finding is new and an older verdict does not
        # apply to it (followup.refs.judged; the timeline names that verdict)
        for f in got:
            since = before.get((v.label, f.kind, c.view, base.label), now)
            found.setdefault(c.visit, []).append(replace(f, evidence={**f.evidence, "compared_with": {
                **against, **({COMPARED_SINCE_KEY: since} if since else {})}}))
    stored = {label for label, origin, _ in listed if origin == "implants"}
    writes = {inputs[i].date: findings for i, findings in found.items()
              if findings or inputs[i].label in stored}  # a visit with nothing stored and nothing found: no write
    return writes, notes
