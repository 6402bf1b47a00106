"""Read PNG, JPEG and TIFF films (8- and 16-bit, gray or colour) into a float32 gray array.

These formats carry no trustworthy pixel spacing (a PNG's DPI is the scanner's or the screen's, not the patient's), so
the result has none unless the user calibrates. Colour is converted to gray with ITU-R BT.601 luma weights; an alpha
channel is dropped; a JPEG's EXIF orientation is applied (with a warning) so the film is upright as displayed.
TIFF is read with tifffile, falling back to Pillow for encodings tifffile cannot decode without extra codecs.
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from fusionwatch.errors import UnsupportedImageError
from fusionwatch.io._lock import READER_LOCK

__all__ = ["read_raster_image", "raster_image_size"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _to_gray(arr: np.ndarray, path: Path, notes: list[str]) -> np.ndarray:
    """(H, W), (H, W, 1..4) -> (H, W) float32."""
    if arr.ndim == 2:
        return arr.astype(np.float32)
    if arr.ndim == 3 and arr.shape[-1] in (1, 2):  # gray, gray + alpha
        if arr.shape[-1] == 2:
            notes.append("Alpha channel dropped.")
        return arr[..., 0].astype(np.float32)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        if arr.shape[-1] == 4:
            notes.append("Alpha channel dropped.")
        rgb = arr[..., :3].astype(np.float32)
        if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])):
            notes.append("Colour image converted to gray with ITU-R BT.601 luma weights.")
        return rgb @ _LUMA
    raise UnsupportedImageError(
        f"{path} holds an array of shape {arr.shape}; expected one 2-D image (gray or RGB). "
        "Multi-page or volume files are not radiographs."
    )


def _read_tiff(path: Path, notes: list[str]) -> np.ndarray | None:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if len(tif.pages) > 1:
                raise UnsupportedImageError(
                    f"{path} is a multi-page TIFF ({len(tif.pages)} pages); expected one radiograph."
                )
            arr = tif.asarray()
    except UnsupportedImageError:
        raise
    except Exception:
        return None  # let Pillow try (e.g. LZW/JPEG-in-TIFF without imagecodecs)
    return np.asarray(arr)


@contextmanager
def _strict_truncation() -> Iterator[None]:
    """Pillow refuses truncated files inside the block, whatever the process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES``
    says (WeasyPrint, which renders the PDF reports, sets it to True on import: a half PNG was then read as a film
    with a grey lower half). Blocks of all threads run one at a time (:data:`fusionwatch.io._lock.READER_LOCK`): one
    leaving while another still read put the flag back under it."""
    with READER_LOCK:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before


def _read_pillow(path: Path, notes: list[str]) -> np.ndarray:
    try:
        with _strict_truncation(), _warnings.catch_warnings():  # the lock first: it guards the filters too
            _warnings.simplefilter("ignore")
            with Image.open(path) as opened:
                img: Image.Image = opened
                n_frames = getattr(img, "n_frames", 1)
                if n_frames > 1:
                    raise UnsupportedImageError(f"{path} holds {n_frames} frames; expected one radiograph.")
                orientation = img.getexif().get(0x0112, 1)
                if orientation not in (None, 1):
                    img = ImageOps.exif_transpose(img)
                    notes.append(f"EXIF orientation {orientation} applied: the image was rotated/flipped as displayed.")
                if img.mode in ("P", "PA"):
                    img = img.convert("RGBA" if "transparency" in img.info or img.mode == "PA" else "RGB")
                elif img.mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
                    img = img.convert("L" if img.mode == "1" else "RGB")
                img.load()
                arr = np.asarray(img)
    except UnsupportedImageError:
        raise
    except UnidentifiedImageError as exc:
        raise UnsupportedImageError(f"{path} is neither an image (PNG, JPEG, TIFF) nor a DICOM file.") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise UnsupportedImageError(
            f"{path} could not be decoded: the file is truncated or damaged (its image data ends early or is corrupt). "
            f"Re-export the image or ask the sender to send it again. (Pillow: {exc})"
        ) from exc
    return arr


def read_raster_image(path: str | Path, kind: str) -> tuple[np.ndarray, list[str]]:
    """Read a PNG, JPEG or TIFF file.

    Parameters
    ----------
    path : str or Path
    kind : {"png", "jpeg", "tiff"}
        The format sniffed from the file's first bytes.

    Returns
    -------
    pixels : (H, W) float32 ndarray
        Gray values as stored (0-255 for 8-bit, 0-65535 for 16-bit); brighter = more attenuation as displayed.
    warnings : list of str

    Raises
    ------
    UnsupportedImageError
        Truncated or corrupt file, more than one page/frame, or not a 2-D image.
    """
    path = Path(path)
    notes: list[str] = []
    arr = _read_tiff(path, notes) if kind == "tiff" else None
    if arr is None:
        arr = _read_pillow(path, notes)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype.kind not in "uif":
        raise UnsupportedImageError(f"{path} has pixel type {arr.dtype}; expected integer or float samples.")
    pixels = _to_gray(arr, path, notes)
    if not np.all(np.isfinite(pixels)):
        raise UnsupportedImageError(f"{path} contains NaN or infinite pixel values.")
    return np.ascontiguousarray(pixels, dtype=np.float32), notes


def raster_image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` in pixels from the file header, without decoding the pixels.

    The size is that of the image :func:`read_raster_image` returns: an EXIF orientation that rotates by 90 degrees
    swaps width and height.

    Raises
    ------
    UnsupportedImageError
        If Pillow cannot identify the file.
    """
    path = Path(path)
    try:
        with Image.open(path) as img:
            width, height = int(img.size[0]), int(img.size[1])
            orientation = img.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError) as exc:
        raise UnsupportedImageError(f"{path} is not a readable image: {exc}") from exc
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
