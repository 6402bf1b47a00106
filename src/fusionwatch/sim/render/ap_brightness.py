"""AP films: the coarse brightness over the film, added to the log image after the console's equalisation: the
exposure fall-off (heel effect, vignetting), darker flanks, the lung bases above the diaphragm and the iliac wings.
The per-patient draws (flank, layout) come from the patient's own streams, so a patient's films look alike."""

from __future__ import annotations

import math

import cv2
import numpy as np

from fusionwatch.sim.camera import Camera

AP_HEEL = (0.05, 0.3)
AP_VIGNETTE = (0.0, 0.3)
"""Version 18, AP films: amplitude ranges (fractions of the log image's 2-98 % range) of the exposure fall-off added
after the console's equalisation: a linear heel-effect ramp along a random, mostly vertical direction and a radial
fall-off toward the corners (real films are not evenly exposed)."""

AP_FLANK = (0.0, 0.0)
AP_FLANK_MM = 140.0
"""Version 21, AP films: the flanks' darkening, a share of the log image's 2-98 % range drawn per patient from
``AP_FLANK`` by :func:`patient_flank` (so a patient's films at different visits darken alike), growing with the
square of the distance from the film's centre line up to ``AP_FLANK_MM`` at the patient and constant beyond.
**Off** in version 21 (``(0, 0)``: no pixel changes). Tried: 0.15-0.7 and 0.05-0.35 drawn per film cost the implant
benchmark's AP halo check (3 and 5 of 12 halos instead of 9); 0.05-0.45 per patient 7 of 12 halos, AP screws 187 of
192 with 8 false, and a level-shifted detector-check film; see docs/simulator.md "Version 21"."""


def patient_flank(anatomy_seed: int) -> float:
    """The patient's flank darkening on AP films (share of the range, ``AP_FLANK``), from its own stream
    ``[anatomy_seed, 2103]`` (version 21: no earlier draw changes)."""
    return float(np.random.default_rng([anatomy_seed, 2103]).uniform(*AP_FLANK))


AP_LUNG = (0.05, 0.25)
"""Version 28, AP films: strength (share of the log image's 2-98 % range, drawn per patient) of the lung bases'
darkening above the diaphragm beside the spine. The bundled CT starts at T12 and has no lung in it; on real AP films
the posterior costophrenic recesses (air) reach down beside T12-L1, so the top of the lumbar crop is darker beside the
spine. ``(0, 0)``: off (no draw changes anything: see :func:`patient_layout`)."""
AP_LUNG_RECESS = (-0.05, 0.12)
"""Version 28: the right (image-left) costophrenic recess's lowest point below the L1 superior endplate's centre, in
units of the L1-superior-to-L5-inferior span (drawn per patient); the left one lies lower by ``AP_LUNG_LEFT_LOWER``
(the left hemidiaphragm sits lower than the right, above the spleen and stomach, not the liver)."""
AP_LUNG_LEFT_LOWER = (0.02, 0.08)
AP_LUNG_RIGHT = 0.3
"""Version 28: the right (image-left) lung base's darkening as a share of the left one's: on the right the liver
fills the recess region (real crops are brighter at the top left than at the top right: 0.56 vs 0.43)."""
AP_LUNG_MM = (10.0, 55.0)
"""Version 28: the lung darkening grows from 0 at ``AP_LUNG_MM[0]`` to full at ``AP_LUNG_MM[1]`` from the spine's
centre line (mm at the patient), and from 0 at the recess to full 0.25 span above it (smoothstep both)."""
AP_ILIAC = (0.05, 0.35)
"""Version 28, AP films: strength (share of the range, per patient) of the iliac wings' and sacro-iliac region's
brightening at the bottom corners of the lumbar region: real AP films show the pelvis there brighter (dense bone over
the whole width, washed out by the console) than the simulated pelvis alone made it. Grows from 0 at the L4-L5 disc
(the iliac crests) to full 0.1 span below the S1 superior endplate, and sideways from ``AP_ILIAC_MM[0]`` to
``AP_ILIAC_MM[1]`` from the spine's centre line. ``(0, 0)``: off."""
AP_ILIAC_MM = (25.0, 60.0)
AP_LAYOUT_GRID_MM = 2.0
"""Version 28: the grid (mm at the patient) on which :func:`ap_layout` computes its smooth field before resizing."""


def _smoothstep(a: float, b: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def patient_layout(anatomy_seed: int) -> tuple[float, float, float, float]:
    """The patient's version-28 coarse-layout draws (lung strength, right recess, left recess extra depth, iliac
    strength) from its own stream ``[anatomy_seed, 2801]`` (no earlier draw changes; the same for every film of the
    patient, so a patient's films darken alike)."""
    rng = np.random.default_rng([anatomy_seed, 2801])
    return (
        float(rng.uniform(*AP_LUNG)),
        float(rng.uniform(*AP_LUNG_RECESS)),
        float(rng.uniform(*AP_LUNG_LEFT_LOWER)),
        float(rng.uniform(*AP_ILIAC)),
    )


def ap_layout(
    centres_px: dict[str, tuple[np.ndarray, np.ndarray]],
    shape: tuple[int, int],
    patient_px_mm: float,
    draws: tuple[float, float, float, float],
) -> np.ndarray | None:
    """Version 28: the coarse brightness layout of an AP film around the lumbar spine, a (rows, cols) float32 field
    in shares of the log image's range (negative: darker), added by :func:`expose` after the console's equalisation.

    ``centres_px``: level name (L1 ... L5, S1) -> (superior endplate centre, inferior endplate centre), each (col, row)
    pixels (S1: its superior centre twice); ``patient_px_mm``: mm at the patient per pixel; ``draws``:
    :func:`patient_layout`. Lung bases beside the spine above the costophrenic recesses (darker; the left recess
    lower) and the iliac wings beside the lower lumbar spine and sacrum (brighter). None when both are off."""
    lung, rec_r, rec_l, iliac = draws
    if lung <= 0.0 and iliac <= 0.0:
        return None
    H, W = shape
    rows = np.array([c[k][1] for c in centres_px.values() for k in (0, 1)], dtype=np.float64)
    cols = np.array([c[k][0] for c in centres_px.values() for k in (0, 1)], dtype=np.float64)
    order = np.argsort(rows)
    rows, cols = rows[order], cols[order]
    top = float(centres_px["L1"][0][1])
    span = max(float(centres_px["L5"][1][1]) - top, 1.0)
    # the field is smooth (its steps span 10-45 mm): computed on a grid of about 2 mm at the patient and resized
    # linearly (the grid's points are where cv2's linear resize samples them), not on every pixel
    f = max(1, int(AP_LAYOUT_GRID_MM / patient_px_mm))
    h, w = -(-H // f), -(-W // f)
    y = (np.arange(h, dtype=np.float64) + 0.5) * (H / h) - 0.5
    spine_x = np.interp(y, rows, cols)  # constant beyond the first and last centre
    x = (np.arange(w, dtype=np.float64) + 0.5) * (W / w) - 0.5
    d_mm = (x[None, :] - spine_x[:, None]) * patient_px_mm  # + : image right (patient left)
    ad = np.abs(d_mm)
    out = np.zeros((h, w), np.float64)
    if lung > 0.0:
        lateral = _smoothstep(AP_LUNG_MM[0], AP_LUNG_MM[1], ad)
        for sign, rec, share in ((-1.0, rec_r, AP_LUNG_RIGHT), (1.0, rec_r + rec_l, 1.0)):
            yb = top + rec * span  # the recess's lowest row; the lung fills upward from it
            vert = _smoothstep(yb, yb - 0.25 * span, y)[:, None]
            side = (d_mm * sign > 0).astype(np.float64)
            out -= share * lung * vert * lateral * side
    if iliac > 0.0:
        l45 = 0.5 * (float(centres_px["L4"][1][1]) + float(centres_px["L5"][0][1]))
        s1 = float(centres_px["S1"][0][1])
        vert = _smoothstep(l45, s1 + 0.1 * span, y)[:, None]
        out += iliac * vert * _smoothstep(AP_ILIAC_MM[0], AP_ILIAC_MM[1], ad)
    out = out.astype(np.float32)
    return out if (h, w) == (H, W) else cv2.resize(out, (W, H), interpolation=cv2.INTER_LINEAR)


def _falloff(
    q: np.ndarray,
    cam: Camera,
    rng: np.random.Generator,
    win: tuple[slice, slice],
    flank: float = 0.0,
    body: np.ndarray | None = None,
    layout: np.ndarray | None = None,
    body_full: np.ndarray | None = None,
) -> None:
    """Add the AP exposure fall-off (``AP_HEEL``, ``AP_VIGNETTE``), the flanks' darkening (``flank``, a share of
    the range; see ``AP_FLANK``) and the version-28 coarse layout (``layout``, shares of the range, see
    :func:`ap_layout`; only inside the body ``body_full`` when given: air stays air) to the log image ``q`` in place."""
    H, W = q.shape
    lo, hi = np.percentile(q[win] if body is None else q[win][body], [2.0, 98.0])
    rng_f = np.random.default_rng([int(rng.integers(2**31)), 1805])
    ang = rng_f.normal(0.5 * math.pi, 0.5) + (math.pi if rng_f.random() < 0.5 else 0.0)
    heel = float(rng_f.uniform(*AP_HEEL)) * (hi - lo)
    vig = float(rng_f.uniform(*AP_VIGNETTE)) * (hi - lo)
    cx, cy = rng_f.uniform(0.35, 0.65) * W, rng_f.uniform(0.35, 0.65) * H
    x = ((np.arange(W, dtype=np.float32) - cx) / (0.5 * W))[None, :]
    y = ((np.arange(H, dtype=np.float32) - cy) / (0.5 * H))[:, None]
    q += np.float32(heel * 0.5 * math.cos(ang)) * x + np.float32(heel * 0.5 * math.sin(ang)) * y
    q += np.float32(vig * 0.5) * (x * x + y * y)
    if flank > 0.0:  # version 21: darker flanks (the patient's body thins toward its sides; no draw here)
        xm = (np.arange(W, dtype=np.float32) - 0.5 * W) * np.float32(cam.pixel_mm / cam.magnification / AP_FLANK_MM)
        q -= np.float32(flank * (hi - lo)) * np.minimum(xm * xm, 1.0)[None, :]
    if layout is not None:  # version 28 (no draw here: the patient's draws are in ``layout``)
        add = layout * np.float32(hi - lo)
        if body_full is not None:
            add *= body_full
        q += add
