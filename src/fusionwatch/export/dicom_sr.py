"""DICOM exports: a TID 1500 measurement report (Comprehensive 3D SR, via highdicom) and a secondary capture of the
annotated film.

The SR holds one measurement group (TID 1501) for the film with every measured value that has a UCUM unit (degrees,
millimetres, percent, ratios). Pixel lengths are left out (no physical unit) and so are values that could not be
measured. Each value names its algorithm and version (TID 4019) and, for millimetres, the spacing source as an
algorithm parameter ("spacing_source=patient_plane").
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code as PdCode
from pydicom.uid import generate_uid

from fusionwatch.export._uids import with_valid_uids
from fusionwatch.export.codes import DICOM_CODES, Code, check_coding, finding_site, measure_code, ucum_unit
from fusionwatch.export.deid import (
    date_shift,
    deidentify_dataset,
    dicom_age,
    dicom_date_text,
    mark_deidentified,
    pseudo_uid,
    shift_dicom_date,
)
from fusionwatch.measurement import Measurement
from fusionwatch.pseudonym import uid_seed

__all__ = ["MANUFACTURER", "build_measurement_sr", "build_secondary_capture", "write_measurement_sr"]

MANUFACTURER = "fusionwatch"
_ALGORITHM = "fusionwatch"


_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
          "ReferringPhysicianName", "AccessionNumber", "StudyID")


def _with_type2(ds: Dataset) -> Dataset:
    """A copy with the type-2 patient/study attributes present (empty when unknown), as highdicom copies them."""
    out = copy.deepcopy(ds)
    for kw in _TYPE2:
        if kw not in out:
            setattr(out, kw, "")
    return out


def _study_day(ds: Dataset) -> dt.date | None:
    """The film's (0008,0020) *Study Date*, or ``None`` when it has none or it is not a date."""
    try:
        return dt.datetime.strptime(dicom_date_text(ds.get("StudyDate") or "")[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _set_birth_and_age(ds: Dataset, birth_date: dt.date | None, on: dt.date | None, deidentify: bool) -> None:
    """(0010,0030) *Patient's Birth Date* and (0010,1010) *Patient's Age* of the export ``ds`` (in place) from the
    caller's birth date (the patient record's, corrections included), never from the film's header: identified, the
    birth date and the true age on ``on``; de-identified, no birth date (type 2: empty) and the age capped at 090Y.
    Without a birth date or a day to count to, the birth date is empty and there is no age."""
    ds.PatientBirthDate = "" if deidentify or birth_date is None else birth_date.strftime("%Y%m%d")
    age = dicom_age(birth_date, on, cap=deidentify) if birth_date is not None and on is not None else None
    if age is not None:
        ds.PatientAge = age
    elif "PatientAge" in ds:
        del ds.PatientAge


def _seed(patient_key: str, deidentify: bool, uid_key: str | None) -> str:
    """The seed of the new UIDs: ``uid_key``; else, de-identified, a per-process one (never the printed pseudonym);
    else the patient key (an identified export)."""
    if uid_key is not None:
        return uid_key
    return uid_seed(patient_key, None) if deidentify else patient_key


def _cc(code: Code) -> hd.sr.CodedConcept:
    check_coding(code.scheme, code.value)
    return hd.sr.CodedConcept(value=code.value, scheme_designator=code.scheme, meaning=code.meaning)


def _unit(code: str, meaning: str) -> hd.sr.CodedConcept:
    check_coding("UCUM", code)
    return hd.sr.CodedConcept(value=code, scheme_designator="UCUM", meaning=meaning)


def build_measurement_sr(
    source: Dataset,
    measurements: Sequence[Measurement],
    *,
    patient_key: str,
    surgery_date: dt.date | None = None,
    deidentify: bool = False,
    version: str = "0.1.0",
    series_number: int = 900,
    uid_key: str | None = None,
    birth_date: dt.date | None = None,
    age_on: dt.date | None = None,
) -> hd.sr.Comprehensive3DSR:
    """A TID 1500 Imaging Measurement Report of ``measurements`` made on the film ``source``.

    Parameters
    ----------
    source : pydicom.Dataset
        The film the measurements were made on (its header is enough; pixels are not read).
    measurements : sequence of Measurement
        Values with units; px values and missing values are skipped.
    patient_key : str
        Pseudonymous key; used for de-identification and stable UIDs.
    surgery_date : date, optional
        Needed with ``deidentify`` (dates are shifted so that surgery is 2000-01-01).
    deidentify : bool
        De-identify the evidence first (:func:`fusionwatch.export.deid.deidentify_dataset`).
    uid_key : str, optional
        Seeds the new UIDs of a de-identified export: the patient's :func:`fusionwatch.pseudonym.uid_seed` with the
        site secret (``None``: a per-process random seed, stable within one run only).
    birth_date : date, optional
        The patient record's birth date (corrections included): the export's Patient's Birth Date and Patient's Age
        on ``age_on`` (de-identified: no birth date, the age capped at 090Y). The film header's birth date and age
        are never used (they may be the wrong ones a correction replaced); ``None``: neither is written.
    age_on : date, optional
        The day the age is counted to: the film's date (default: the film header's Study Date).

    Notes
    -----
    A UID of the film that is not a valid DICOM UID (Study, Series, SOP Instance, Frame of Reference) is replaced by
    a valid one derived from it (:mod:`fusionwatch.export._uids`; the caller says so:
    :func:`fusionwatch.export._uids.source_uid_replacements`): the report then sits in a new study, and its evidence
    references the film by the replacement.

    Raises
    ------
    ValueError
        If no measurement has an exportable value, ``deidentify`` is asked without a surgery date, or the film's SOP
        Class UID is not a valid UID (it cannot be replaced).
    """
    seed = _seed(patient_key, deidentify, uid_key)
    on = age_on if age_on is not None else _study_day(source)
    if deidentify:
        if surgery_date is None:
            raise ValueError("De-identified export needs the surgery date (dates are shifted relative to it).")
        source = deidentify_dataset(source, patient_key, surgery_date, uid_key=seed)
    source = _with_type2(with_valid_uids(source, patient_key))  # never an invalid UID of the film in the export
    items = []
    for m in measurements:
        unit = ucum_unit(m.unit)
        if m.value is None or unit is None:
            continue
        params = [f"spacing_source={m.spacing_source.value}"] if m.spacing_source else None
        props = None
        if m.uncertainty is not None:
            props = hd.sr.MeasurementProperties(upper_measurement_uncertainty=float(m.uncertainty),
                                                lower_measurement_uncertainty=float(m.uncertainty))
        items.append(
            hd.sr.Measurement(
                name=_cc(measure_code(m.name)),
                value=float(m.value),
                unit=_unit(*unit),
                finding_sites=[hd.sr.FindingSite(_cc(finding_site(m.name)))],
                properties=props,
                algorithm_id=hd.sr.AlgorithmIdentification(name=f"{_ALGORITHM} {m.method}"[:64], version=version,
                                                           parameters=params),
            )
        )
    if not items:
        raise ValueError("No measurement with a value and a physical unit to export.")
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=pseudo_uid(seed, f"group|{source.SOPInstanceUID}"), identifier="lateral film measurements"
        ),
        measurements=items,
        finding_sites=[hd.sr.FindingSite(_cc(DICOM_CODES["lumbosacral_region"]))],
        source_images=[hd.sr.SourceImageForMeasurementGroup(source.SOPClassUID, source.SOPInstanceUID)],
    )
    device = hd.sr.ObserverContext(
        observer_type=PdCode("121007", "DCM", "Device"),
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=pseudo_uid("fusionwatch-device", version), name=_ALGORITHM, manufacturer_name=MANUFACTURER,
            model_name=_ALGORITHM,
        ),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=device),
        procedure_reported=_cc(DICOM_CODES["plain_radiography"]),
        imaging_measurements=[group],
        title=_cc(DICOM_CODES["imaging_measurement_report"]),
    )
    series_uid = pseudo_uid(seed, f"sr-series|{source.StudyInstanceUID}")
    sop_uid = pseudo_uid(seed, f"sr|{source.SOPInstanceUID}|{len(items)}")
    sr = hd.sr.Comprehensive3DSR(
        evidence=[source],
        content=report,
        series_instance_uid=series_uid,
        series_number=series_number,
        sop_instance_uid=sop_uid,
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
        is_final=False,  # automatic measurements: preliminary until a reader verifies them
        is_verified=False,
    )
    _set_birth_and_age(sr, birth_date, on, deidentify)
    if deidentify:
        _shift_dates_of_today(sr, surgery_date)  # type: ignore[arg-type]
        mark_deidentified(sr)
    return sr


def _shift_dates_of_today(ds: Dataset, surgery_date: dt.date, today: dt.date | None = None) -> None:
    """Shift the dates highdicom stamps at creation (content, instance creation, secondary capture, contribution
    date-times: ``today``'s real date) by the patient's offset, as every other date of a de-identified object is.

    The source's own dates are already shifted (:func:`deidentify_dataset`), so only elements holding today's real
    date are touched, by the one DA/DT rule of :func:`fusionwatch.export.deid.shift_dicom_date` (times kept)."""
    real = (today or dt.date.today()).strftime("%Y%m%d")
    shift = date_shift(surgery_date)

    def visit(d: Dataset) -> None:
        for elem in d:
            if elem.VR == "SQ":
                for item in elem.value:
                    visit(item)
            elif elem.VR in ("DA", "DT") and elem.value and dicom_date_text(elem.value).startswith(real):
                elem.value = shift_dicom_date(elem.value, shift)

    visit(ds)


def write_measurement_sr(path: str | Path, *args, **kwargs) -> Path:  # noqa: ANN002, ANN003
    """:func:`build_measurement_sr` and save it to ``path``."""
    sr = build_measurement_sr(*args, **kwargs)
    path = Path(path)
    sr.save_as(path, enforce_file_format=True)
    return path


def build_secondary_capture(
    source: Dataset,
    image: np.ndarray,
    *,
    patient_key: str,
    surgery_date: dt.date | None = None,
    deidentify: bool = False,
    series_number: int = 901,
    uid_key: str | None = None,
    birth_date: dt.date | None = None,
    age_on: dt.date | None = None,
) -> hd.sc.SCImage:
    """A Secondary Capture image of the annotated film (RGB ``(H, W, 3)`` uint8) in the film's study.

    The object says Burned In Annotation NO: ``image`` must hold no text that identifies the patient (the report's
    overlay names the film by visit and view, never by file name; see report.build).

    Patient and study attributes come from ``source`` (de-identified first when asked; ``uid_key`` as in
    :func:`build_measurement_sr`); Patient's Birth Date and Age from ``birth_date`` and ``age_on`` as there; an
    invalid Study Instance UID of the film is replaced, and an invalid SOP Class UID refused (``ValueError``), as there.
    """
    seed = _seed(patient_key, deidentify, uid_key)
    on = age_on if age_on is not None else _study_day(source)
    if deidentify:
        if surgery_date is None:
            raise ValueError("De-identified export needs the surgery date (dates are shifted relative to it).")
        source = deidentify_dataset(source, patient_key, surgery_date, uid_key=seed)
    source = _with_type2(with_valid_uids(source, patient_key))  # never an invalid UID of the film in the export
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"Annotated film must be (H, W, 3) RGB or (H, W) gray, got shape {arr.shape}.")
    arr = arr.astype(np.uint8)
    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=arr,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=pseudo_uid(seed, f"sc-series|{source.StudyInstanceUID}"),
        series_number=series_number,
        sop_instance_uid=pseudo_uid(seed, f"sc|{source.SOPInstanceUID}"),
        instance_number=1,
        manufacturer=MANUFACTURER,
        patient_orientation=("P", "F") if "PatientOrientation" not in source else tuple(source.PatientOrientation),
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )
    sc.SeriesDescription = "fusionwatch annotated film"
    sc.DerivationDescription = "Landmarks and measurements drawn by fusionwatch; not for primary diagnosis."
    # what is burned in: level labels, landmark marks and measurement values (report.overlay), nothing that identifies
    # the patient - said, so that a de-identification pipeline downstream need not guess (the attribute is optional)
    sc.BurnedInAnnotation = "NO"
    _set_birth_and_age(sc, birth_date, on, deidentify)
    if deidentify:
        _shift_dates_of_today(sc, surgery_date)  # type: ignore[arg-type]
        mark_deidentified(sc)
    return sc


def new_uid() -> str:
    return str(generate_uid())
