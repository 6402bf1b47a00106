"""Small synthetic fixtures shared by the tests: DICOM files with made-up identifiers, and simple drawn films.

Nothing here is a real patient. UIDs come from :func:`pydicom.uid.generate_uid`; names are ``SYNTHETIC^PATIENT``.

Stable API (other test modules import it; change it only compatibly):

- :func:`write_dicom` -- write a single-frame DICOM file from a 2-D (or RGB) array with chosen calibration tags,
  photometric interpretation, transfer syntax (uncompressed, RLE, JPEG baseline, JPEG lossless, JPEG-LS, JPEG 2000),
  view, dates and identifiers; or without Pixel Data.
- :func:`draw_lateral_spine` -- a lateral lumbar "film" (uint16) with bright vertebral bodies L1-L5, the S1 body and a
  femoral head at known positions, and the matching :class:`~fusionwatch.landmarks.Landmarks`.
- :func:`lateral_spine_points` -- only the landmark geometry of :func:`draw_lateral_spine` (no pixels).
- :data:`SYNTHETIC_PATIENT_NAME`, :data:`SYNTHETIC_PATIENT_ID`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.tag import Tag
from pydicom.uid import (
    JPEG2000,
    UID,
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import View

__all__ = [
    "SYNTHETIC_PATIENT_NAME",
    "SYNTHETIC_PATIENT_ID",
    "write_dicom",
    "lateral_spine_points",
    "draw_lateral_spine",
]

SYNTHETIC_PATIENT_NAME = "SYNTHETIC^PATIENT"
SYNTHETIC_PATIENT_ID = "SYNTH-0001"


_SOP_BY_MODALITY = {"DX": DigitalXRayImageStorageForPresentation, "CR": ComputedRadiographyImageStorage}


def write_dicom(
    path: str | Path,
    pixels: np.ndarray | None = None,
    *,
    spacing: Sequence[float | str] | None = None,
    imager_spacing: Sequence[float | str] | None = None,
    magnification: float | str | None = None,
    photometric: str = "MONOCHROME2",
    transfer_syntax: str = ExplicitVRLittleEndian,
    view_position: str | None = None,
    modality: str = "DX",
    study_date: str | None = "20260105",
    acquisition_date: str | None = None,
    content_date: str | None = None,
    series_description: str | None = None,
    image_comments: str | None = None,
    view_code_meaning: str | None = None,
    rescale: tuple[float, float] | None = None,
    window: tuple[float, float] | None = None,
    with_pixel_data: bool = True,
    preamble: bool = True,
    sop_class_uid: str | None = None,
    number_of_frames: int | None = None,
    extra: dict[str, object] | None = None,
) -> Path:
    """Write a synthetic single-image DICOM file and return its path.

    Parameters
    ----------
    path : str or Path
        Where to write.
    pixels : ndarray or None
        ``(H, W)`` uint8/uint16/int16 for monochrome; ``(H, W, 3)`` uint8 for ``RGB`` / ``YBR_FULL``; ``(F, H, W)`` with
        ``number_of_frames=F`` for multi-frame. ``None`` makes a 64 x 64 uint16 gradient.
    spacing : two values or None
        (0028,0030) *Pixel Spacing* as DICOM orders it: (row spacing, column spacing) = (dy, dx) in mm. Strings are
        written as given (to build invalid values such as ``"abc"``).
    imager_spacing : two values or None
        (0018,1164) *Imager Pixel Spacing*, (row, column) mm.
    magnification : float or None
        (0018,1114) *Estimated Radiographic Magnification Factor*.
    photometric : str
        (0028,0004) *Photometric Interpretation*: ``MONOCHROME1``, ``MONOCHROME2``, ``RGB``, ``YBR_FULL``,
        ``PALETTE COLOR`` (the last only to test refusal: no palette tables are written).
    transfer_syntax : str
        A transfer syntax UID. Compressed ones are encoded with pydicom's encoders (RLE, JPEG-LS, JPEG 2000), Pillow
        (JPEG baseline, 8-bit only) or imagecodecs (JPEG lossless, process 14; the test must ``importorskip`` it).
    view_position, modality, study_date, acquisition_date, content_date, series_description, image_comments
        Written when not ``None``: (0018,5101), (0008,0060), (0008,0020), (0008,0022), (0008,0023), (0008,103E),
        (0020,4000).
    view_code_meaning : str or None
        Adds a (0054,0220) *View Code Sequence* item with this code meaning (code value ``"SYNTH"``).
    rescale : (slope, intercept) or None
        (0028,1053) *Rescale Slope* and (0028,1052) *Rescale Intercept*.
    window : (center, width) or None
        (0028,1050) *Window Center* and (0028,1051) *Window Width*.
    with_pixel_data : bool
        ``False`` writes the image attributes but no (7FE0,0010) *Pixel Data* (like a Presentation State or an SR).
    preamble : bool
        ``False`` writes a file without the 128-byte preamble, "DICM" prefix and file meta (old-style ACR-NEMA-like).
    sop_class_uid : str or None
        Overrides the SOP Class (default from ``modality``: DX, CR, else Secondary Capture).
    number_of_frames : int or None
        (0028,0008) *Number of Frames*.
    extra : dict or None
        Further attributes by keyword, set last (e.g. ``{"PixelSpacingCalibrationType": "GEOMETRY"}``).
    """
    path = Path(path)
    if pixels is None:
        pixels = (np.add.outer(np.arange(64), np.arange(64)) * 16).astype(np.uint16)
    pixels = np.asarray(pixels)
    colour = photometric in ("RGB", "YBR_FULL", "YBR_FULL_422")
    frames = number_of_frames or 1
    if frames > 1:
        rows, cols = pixels.shape[1:3]
    else:
        rows, cols = pixels.shape[:2]

    ds = Dataset()
    ds.SOPClassUID = sop_class_uid or _SOP_BY_MODALITY.get(modality, SecondaryCaptureImageStorage)
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = SYNTHETIC_PATIENT_NAME
    ds.PatientID = SYNTHETIC_PATIENT_ID
    ds.AccessionNumber = "SYNACC1"
    ds.Modality = modality
    for keyword, value in (
        ("StudyDate", study_date),
        ("AcquisitionDate", acquisition_date),
        ("ContentDate", content_date),
        ("SeriesDescription", series_description),
        ("ImageComments", image_comments),
        ("ViewPosition", view_position),
    ):
        if value is not None:
            setattr(ds, keyword, value)
    if view_code_meaning is not None:
        item = Dataset()
        item.CodeValue = "SYNTH"
        item.CodingSchemeDesignator = "99SYNTH"
        item.CodeMeaning = view_code_meaning
        ds.ViewCodeSequence = [item]
    if spacing is not None:
        _set_ds(ds, 0x00280030, spacing)
    if imager_spacing is not None:
        _set_ds(ds, 0x00181164, imager_spacing)
    if magnification is not None:
        _set_ds(ds, 0x00181114, [magnification])
    if rescale is not None:
        ds.RescaleSlope = f"{rescale[0]:.10g}"
        ds.RescaleIntercept = f"{rescale[1]:.10g}"
        ds.RescaleType = "US"
    if window is not None:
        ds.WindowCenter = f"{window[0]:.10g}"
        ds.WindowWidth = f"{window[1]:.10g}"

    ds.Rows, ds.Columns = int(rows), int(cols)
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = photometric
    if colour:
        ds.PlanarConfiguration = 0
    bits = 8 if pixels.dtype.itemsize == 1 else 16
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    if number_of_frames is not None:
        ds.NumberOfFrames = number_of_frames
    if photometric == "PALETTE COLOR":
        ds.RedPaletteColorLookupTableDescriptor = [256, 0, 8]

    ts = UID(transfer_syntax)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian if ts.is_compressed else ts
    ds.set_original_encoding(ts.is_implicit_VR if not ts.is_compressed else False, True)

    if with_pixel_data:
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
        if ts in (RLELossless, JPEGLSLossless, JPEGLSNearLossless, JPEG2000Lossless, JPEG2000):
            kwargs: dict[str, object] = {}
            if ts == JPEGLSNearLossless:
                kwargs["jls_error"] = 2
            if ts == JPEG2000:
                kwargs["j2k_cr"] = [5]
            ds.compress(ts, np.ascontiguousarray(pixels), generate_instance_uid=False, **kwargs)
        elif ts == JPEGBaseline8Bit:
            ds.PixelData = encapsulate([_pillow_jpeg(f) for f in _frames(pixels, frames)])
            ds["PixelData"].VR = "OB"
            if colour:
                ds.PhotometricInterpretation = "YBR_FULL_422"
            ds.LossyImageCompression = "01"
            ds.file_meta.TransferSyntaxUID = ts
        elif ts in (JPEGLosslessSV1, JPEGLossless):
            ds.PixelData = encapsulate([_lossless_jpeg(f, bits) for f in _frames(pixels, frames)])
            ds["PixelData"].VR = "OB"
            ds.file_meta.TransferSyntaxUID = ts
        elif ts not in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
            raise ValueError(f"write_dicom cannot encode transfer syntax {ts.name!r}.")
        else:
            ds["PixelData"].VR = "OB" if bits == 8 else "OW"
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        ds.set_original_encoding(False, True)

    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)

    if preamble:
        ds.save_as(path, enforce_file_format=True)
    else:
        # No preamble, no "DICM", no file meta: just the data set, implicit VR little endian.
        del ds.file_meta
        ds.set_original_encoding(True, True)
        ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)
    return path


def _set_ds(ds: Dataset, tag: int, values: Sequence[float | str]) -> None:
    """Set a DS attribute, writing strings byte for byte (so invalid values such as ``"abc"`` reach the file)."""
    text = "\\".join(v if isinstance(v, str) else f"{v:.10g}" for v in values)
    data = text.encode("ascii")
    if len(data) % 2:
        data += b" "
    ds[tag] = RawDataElement(Tag(tag), "DS", len(data), data, 0, False, True)


def _frames(pixels: np.ndarray, frames: int) -> list[np.ndarray]:
    return [pixels] if frames == 1 else [pixels[i] for i in range(frames)]


def _pillow_jpeg(frame: np.ndarray) -> bytes:
    from PIL import Image

    if frame.dtype != np.uint8:
        raise ValueError("JPEG baseline holds 8-bit samples only; pass uint8 pixels.")
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _lossless_jpeg(frame: np.ndarray, bits: int) -> bytes:
    import imagecodecs  # dev dependency: libjpeg-turbo 3 encodes lossless JPEG (process 14)

    if frame.ndim != 2:
        raise ValueError("The lossless JPEG helper writes monochrome frames only.")
    return bytes(imagecodecs.jpeg8_encode(frame, lossless=True, predictor=1, bitspersample=bits))


# --------------------------------------------------------------------------------------------------------------------
# A simple lateral lumbar film with known corners.

_BODY_MM = (27.0, 28.0, 29.0, 29.5, 28.0)  # L1..L5 posterior body heights (anterior adds the body wedge)
_BODY_WEDGE_DEG = (-2.0, -1.0, 1.0, 3.0, 6.0)  # anterior taller when positive (L5 is wedge-shaped)
_DISC_MM = (8.0, 9.0, 10.0, 10.5, 11.0)  # disc heights above L2, L3, L4, L5 and S1 (mean of the two sides)
_DISC_WEDGE_DEG = (4.0, 6.0, 8.0, 10.0, 14.0)  # lordotic wedge of the discs L1-L2 ... L5-S1
_DEPTH_MM = (40.0, 42.0, 44.0, 46.0, 48.0)  # AP depth of L1..L5 endplates
_S1_DEPTH_MM = 46.0


def lateral_spine_points(
    *,
    facing: str = "left",
    sacral_slope_deg: float = 40.0,
    pelvic_tilt_deg: float = 13.0,
    hip_distance_mm: float = 95.0,
) -> dict[str, tuple[float, float]]:
    """Landmark positions in millimetres of a lordotic lumbar column standing on S1, before placing it on a film.

    Built bottom-up: the S1 superior endplate slopes down towards the anterior by ``sacral_slope_deg``; every disc and
    body above is a wedge that adds lordosis, so the lumbar curve bulges anteriorly. The femoral head centre lies
    ``hip_distance_mm`` from the S1 endplate midpoint, ``pelvic_tilt_deg`` anterior of the vertical below it.

    Returns
    -------
    dict
        Lateral landmark name -> ``(x, y)`` mm, x right, y down, in arbitrary origin; anterior on the image ``facing``
        side. Only ``femoral_head.1`` is given.
    """
    if facing not in ("left", "right"):
        raise ValueError(f"facing must be 'left' or 'right', got {facing!r}.")
    ant = -1.0 if facing == "left" else 1.0  # x direction of anterior
    ss = math.radians(sacral_slope_deg)
    pts: dict[str, tuple[float, float]] = {}
    # S1 superior endplate: posterior corner at the origin, anterior corner lower (y larger) and anterior.
    post = np.array([0.0, 0.0])
    along = np.array([ant * math.cos(ss), math.sin(ss)])  # unit vector posterior -> anterior
    a = post + _S1_DEPTH_MM * along
    pts["S1.superior.anterior"], pts["S1.superior.posterior"] = tuple(a), tuple(post)
    mid_s1 = (a + post) / 2
    pt = math.radians(pelvic_tilt_deg)
    hip = mid_s1 + hip_distance_mm * np.array([ant * math.sin(pt), math.cos(pt)])
    pts["femoral_head.1"] = tuple(hip)

    def up_normal(anterior: np.ndarray, posterior: np.ndarray) -> np.ndarray:
        e = (anterior - posterior) / np.linalg.norm(anterior - posterior)
        n = np.array([e[1], -e[0]])
        return n if n[1] < 0 else -n

    lower_a, lower_p = a, post
    for i in range(4, -1, -1):  # L5 down to L1, built upwards
        level = f"L{i + 1}"
        # Disc above the lower endplate: anterior taller by the disc wedge.
        n = up_normal(lower_a, lower_p)
        depth_low = np.linalg.norm(lower_a - lower_p)
        half = depth_low * math.tan(math.radians(_DISC_WEDGE_DEG[i])) / 2
        inf_a = lower_a + n * (_DISC_MM[i] + half)
        inf_p = lower_p + n * (_DISC_MM[i] - half)
        # Keep the endplate depth of this body.
        centre = (inf_a + inf_p) / 2
        e = (inf_a - inf_p) / np.linalg.norm(inf_a - inf_p)
        inf_a, inf_p = centre + e * _DEPTH_MM[i] / 2, centre - e * _DEPTH_MM[i] / 2
        n = up_normal(inf_a, inf_p)
        half = _DEPTH_MM[i] * math.tan(math.radians(_BODY_WEDGE_DEG[i])) / 2
        sup_a = inf_a + n * (_BODY_MM[i] + 2 * half)
        sup_p = inf_p + n * _BODY_MM[i]
        pts[f"{level}.inferior.anterior"], pts[f"{level}.inferior.posterior"] = tuple(inf_a), tuple(inf_p)
        pts[f"{level}.superior.anterior"], pts[f"{level}.superior.posterior"] = tuple(sup_a), tuple(sup_p)
        lower_a, lower_p = sup_a, sup_p
    return {k: (float(v[0]), float(v[1])) for k, v in pts.items()}


def draw_lateral_spine(
    *,
    width: int = 192,
    height: int = 384,
    mm_per_px: float = 1.0,
    facing: str = "left",
    sacral_slope_deg: float = 40.0,
    pelvic_tilt_deg: float = 13.0,
    noise: float = 20.0,
    seed: int = 0,
) -> tuple[np.ndarray, Landmarks]:
    """Draw a simple lateral lumbar film with known landmark positions.

    Bright filled quadrilaterals for L1-L5 (corners exactly at the landmarks), a bright S1 block below the S1 superior
    endplate, a bright disc for the femoral head, on a darker soft-tissue background, plus Gaussian noise
    (``numpy.random.default_rng(seed)``). Bone is bright (MONOCHROME2 convention).

    Parameters
    ----------
    width, height : int
        Image size in pixels.
    mm_per_px : float
        Isotropic pixel size used to convert the millimetre geometry to pixels (write it as the DICOM spacing to get a
        consistent file).
    facing : {"left", "right"}
        Image side the patient's front faces.
    sacral_slope_deg, pelvic_tilt_deg : float
        Geometry of the pelvis (see :func:`lateral_spine_points`).
    noise : float
        Standard deviation of the added noise in grey levels (0 for none).
    seed : int
        Random seed.

    Returns
    -------
    pixels : (height, width) uint16 ndarray
        12-bit values.
    landmarks : Landmarks
        The 22 corner points and ``femoral_head.1`` in pixels, view lateral, source ``"sim:test-synth"``.

    Raises
    ------
    ValueError
        If the column does not fit the image at this scale.
    """
    from skimage.draw import disk, polygon

    mm = lateral_spine_points(facing=facing, sacral_slope_deg=sacral_slope_deg, pelvic_tilt_deg=pelvic_tilt_deg)
    xy = np.array(list(mm.values())) / mm_per_px
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    head_r = 22.0 / mm_per_px
    margin = head_r + 4
    if hi[0] - lo[0] + 2 * margin > width or hi[1] - lo[1] + 2 * margin > height:
        raise ValueError(
            f"The spine needs {hi[0] - lo[0] + 2 * margin:.0f} x {hi[1] - lo[1] + 2 * margin:.0f} px at "
            f"{mm_per_px} mm/px; the image is {width} x {height}."
        )
    offset = (np.array([width, height]) - (hi - lo)) / 2 - lo
    pts = {k: (float(v[0] / mm_per_px + offset[0]), float(v[1] / mm_per_px + offset[1])) for k, v in mm.items()}

    img = np.full((height, width), 600.0)
    img[:, int(width * 0.15) : int(width * 0.85)] = 900.0  # soft tissue band
    for i in range(1, 6):
        quad = [pts[f"L{i}.superior.anterior"], pts[f"L{i}.superior.posterior"]]
        quad += [pts[f"L{i}.inferior.posterior"], pts[f"L{i}.inferior.anterior"]]
        rr, cc = polygon([p[1] for p in quad], [p[0] for p in quad], shape=img.shape)
        img[rr, cc] = 2600.0
    a, p = np.array(pts["S1.superior.anterior"]), np.array(pts["S1.superior.posterior"])
    e = (a - p) / np.linalg.norm(a - p)
    down = np.array([-e[1], e[0]])  # perpendicular to the endplate, pointing caudally
    if down[1] < 0:
        down = -down
    s1_len = 35.0 / mm_per_px
    quad = [a, p, p + down * s1_len, a + down * s1_len * 0.6]
    rr, cc = polygon([q[1] for q in quad], [q[0] for q in quad], shape=img.shape)
    img[rr, cc] = 2400.0
    hx, hy = pts["femoral_head.1"]
    rr, cc = disk((hy, hx), head_r, shape=img.shape)
    img[rr, cc] = np.maximum(img[rr, cc], 2200.0)
    if noise > 0:
        img += np.random.default_rng(seed).normal(0.0, noise, img.shape)
    pixels = np.clip(np.rint(img), 0, 4095).astype(np.uint16)
    landmarks = Landmarks(pts, width=width, height=height, view=View.LATERAL, source="sim:test-synth")
    return pixels, landmarks


def lateral_samples(n: int) -> list:
    """``n`` drawn lateral spines as detector training samples (facing alternating, sacral slope 30 + 3 i deg),
    patient keys ``p0``, ``p1``, ..."""
    from fusionwatch.detect.datasets import Sample

    out = []
    for i in range(n):
        pixels, lm = draw_lateral_spine(facing="left" if i % 2 else "right", seed=i, sacral_slope_deg=30 + 3 * i)
        out.append(Sample(pixels.astype(np.float32), dict(lm.points), View.LATERAL, f"p{i}"))
    return out
