"""Structured exports: DICOM SR (TID 1500) + secondary capture, FHIR R4 Observation bundle, cohort CSV/Parquet.

De-identification rules are shared (:mod:`fusionwatch.export.deid`): names and ids removed, dates shifted so that the
surgery falls on 2000-01-01, UIDs replaced deterministically.
"""

from fusionwatch.export.cohort import COLUMNS, CohortFilm, cohort_rows, films_from_store, write_cohort
from fusionwatch.export.deid import deidentify_dataset, pseudo_uid, shift_date
from fusionwatch.export.dicom_sr import build_measurement_sr, build_secondary_capture, write_measurement_sr
from fusionwatch.export.fhir import build_fhir_bundle, parse_bundle, write_fhir_bundle

__all__ = [
    "COLUMNS",
    "CohortFilm",
    "build_fhir_bundle",
    "build_measurement_sr",
    "build_secondary_capture",
    "cohort_rows",
    "deidentify_dataset",
    "films_from_store",
    "parse_bundle",
    "pseudo_uid",
    "shift_date",
    "write_cohort",
    "write_fhir_bundle",
    "write_measurement_sr",
]
