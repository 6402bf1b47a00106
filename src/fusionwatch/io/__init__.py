"""File adapters: films in (DICOM, PNG, JPEG, TIFF), landmark files in and out.

See docs/loading.md and docs/landmarks.md.
"""

from fusionwatch.io.buu_lspine import read_buu_lateral_csv
from fusionwatch.io.landmark_json import landmarks_from_dict, landmarks_to_dict, read_landmarks, write_landmarks
from fusionwatch.io.loading import image_size, output_folder, read_radiograph
from fusionwatch.io.spineweb import read_spineweb, read_spineweb_row, spineweb_patient_id

__all__ = [
    "image_size",
    "landmarks_from_dict",
    "landmarks_to_dict",
    "output_folder",
    "read_buu_lateral_csv",
    "read_landmarks",
    "read_radiograph",
    "read_spineweb",
    "read_spineweb_row",
    "spineweb_patient_id",
    "write_landmarks",
]
