"""File adapters: films in (DICOM, PNG, JPEG, TIFF), landmark files in and out.

See docs/loading.md and docs/landmarks.md.
"""

from fusionwatch.io.landmark_json import landmarks_from_dict, landmarks_to_dict, read_landmarks, write_landmarks
from fusionwatch.io.loading import image_size, read_radiograph

__all__ = [
    "image_size",
    "landmarks_from_dict",
    "landmarks_to_dict",
    "read_landmarks",
    "read_radiograph",
    "write_landmarks",
]
