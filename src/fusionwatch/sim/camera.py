"""Divergent-beam projection geometry: where a 3-D patient point lands on the detector, and at what magnification.

Patient frame (mm): +x anterior, +y toward the lateral detector (patient left), +z superior.
Image: pixels ``(col, row)``, origin at the centre of the top-left pixel, col to the right, row down.

Lateral films project along y: depth = y (toward the detector). AP films project along -x (source in front, detector
behind the patient): depth = ``ref_depth_x - x``. A point at depth ``d`` is magnified by ``SID / (SOD + d)``, so the
reference plane (depth 0: the mid-sagittal plane on a lateral, the vertebral bodies' plane on an AP) is magnified by
exactly ``SID / SOD``: the Estimated Radiographic Magnification Factor written to the DICOM file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Camera"]


@dataclass(frozen=True)
class Camera:
    """One film's geometry.

    Attributes
    ----------
    view : str
        ``"lateral"`` (also for flexion and extension) or ``"ap"``.
    width, height : int
        Image size in pixels.
    pixel_mm : float
        Detector pixel pitch (mm): DICOM Imager Pixel Spacing.
    sid_mm, sod_mm : float
        Source-to-detector distance and source-to-reference-plane distance (mm).
    centre : (float, float)
        Patient (x or y, z) in mm on the central ray: (x, z) for lateral, (y, z) for AP.
    facing_left : bool
        Lateral only: the patient's front is on the image left.
    ref_depth_x : float
        AP only: x (mm) of the reference plane.
    """

    view: str
    width: int
    height: int
    pixel_mm: float
    sid_mm: float
    sod_mm: float
    centre: tuple[float, float]
    facing_left: bool = True
    ref_depth_x: float = 0.0

    @property
    def magnification(self) -> float:
        """Magnification of the reference plane (SID / SOD)."""
        return self.sid_mm / self.sod_mm

    @property
    def patient_pixel_mm(self) -> float:
        """Pixel size at the reference plane (mm): Imager Pixel Spacing / magnification."""
        return self.pixel_mm / self.magnification

    @property
    def ray_axis(self) -> int:
        """Index of the patient axis the rays run along (1 = y for lateral, 0 = x for AP)."""
        return 1 if self.view == "lateral" else 0

    @property
    def h_sign(self) -> float:
        if self.view == "lateral":
            return -1.0 if self.facing_left else 1.0
        return 1.0

    def depth(self, p3: np.ndarray) -> np.ndarray:
        p3 = np.asarray(p3, dtype=float)
        return p3[..., 1] if self.view == "lateral" else self.ref_depth_x - p3[..., 0]

    def mag_at(self, depth: float | np.ndarray) -> float | np.ndarray:
        return self.sid_mm / (self.sod_mm + depth)

    def gain(self, depth: float) -> float:
        """Pixels per patient millimetre at ``depth``."""
        return float(self.mag_at(depth)) / self.pixel_mm

    def project(self, p3: np.ndarray) -> np.ndarray:
        """Exact divergent-beam projection of patient points (..., 3) mm -> (..., 2) ``(col, row)`` pixels."""
        p3 = np.asarray(p3, dtype=float)
        g = self.mag_at(self.depth(p3)) / self.pixel_mm
        h = p3[..., 0] if self.view == "lateral" else p3[..., 1]
        col = (self.width - 1) / 2 + self.h_sign * g * (h - self.centre[0])
        row = (self.height - 1) / 2 - g * (p3[..., 2] - self.centre[1])
        return np.stack([col, row], axis=-1)

    def plane_affine(self, depth: float) -> np.ndarray:
        """2x3 matrix mapping in-plane patient (h, z) mm at ``depth`` to ``(col, row)``; h = x (lateral) or y (AP)."""
        g = self.gain(depth)
        s = self.h_sign
        return np.array(
            [
                [s * g, 0.0, (self.width - 1) / 2 - s * g * self.centre[0]],
                [0.0, -g, (self.height - 1) / 2 + g * self.centre[1]],
            ]
        )
