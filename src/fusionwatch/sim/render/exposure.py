"""The imaging chain: from line integrals to a processed 12-bit film.

Beer-Lambert, scatter, focal-spot and detector blur, quantum noise and log (the detector), then the DR console: the
large-scale equalisation, the multi-scale contrast amplification of AP films, edge enhancement, the metal-aware window
and look-up table; collimation and the burned-in lead side marker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fusionwatch.sim.camera import Camera
from fusionwatch.sim.render.ap_brightness import _falloff
from fusionwatch.sim.render.attenuation import MU


@dataclass(frozen=True)
class Exposure:
    """Imaging-chain settings of one film (sampled per film for realism)."""

    photons_per_mm2: float = 1.5e7
    scatter_to_primary: float = 0.35
    focal_spot_mm: float = 1.0
    detector_blur_px: float = 0.7
    edge_enhance: float = 0.8
    equalise: float = 0.92
    """Fraction of the large-scale (``equalise_mm``) density variation removed by processing."""
    equalise_mm: float = 22.0
    contrast: float = 5.0
    """Slope of the sigmoid tone curve."""
    gamma: float = 1.0
    collimation_mm: tuple[float, float, float, float] = (12.0, 12.0, 12.0, 12.0)
    """Unexposed margins left, top, right, bottom (mm on the detector)."""
    marker: str = "L"
    window_top_pct: float = 99.8
    """Version 24 trial F: the percentile of the anatomy's processed log image at which the console's window ends
    (99.8 up to version 23, every film); a full-spine scoliosis film is windowed over the chest too, so its densest
    lumbar and pelvic part can lie above the window's top and show white (see ``journey.exam_exposure``)."""


AP_AIR_PATH = 0.35
"""Version 23: mu x path (about 20 mm of water) below which an AP pixel counts as direct exposure (air beside a
narrow body) for the console (:func:`expose`, ``air_aware``)."""


def _smooth(img: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian smoothing; large kernels run on a downsampled copy."""
    f = max(1, int(sigma_px // 4))
    if f == 1:
        return cv2.GaussianBlur(img, (0, 0), sigma_px)
    H, W = img.shape
    small = cv2.resize(img, (max(1, W // f), max(1, H // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma_px / f)
    # one big upsampling step leaves period-f kinks that processing amplifies into streaks: go up in two steps with a
    # blur at the intermediate scale (cheap), so the remaining kinks are only a few pixels apart and negligible
    g = max(1, f // 4)
    mid = cv2.resize(small, (max(1, W // g), max(1, H // g)), interpolation=cv2.INTER_LINEAR)
    mid = cv2.GaussianBlur(mid, (0, 0), 0.6 * f / g)
    return cv2.resize(mid, (W, H), interpolation=cv2.INTER_LINEAR)


def _smooth_up(small: np.ndarray, W: int, H: int, f: int) -> np.ndarray:
    """Upsample a smooth low-resolution image by about ``f`` without period-f kinks (two steps, blur in between)."""
    g = max(1, f // 4)
    mid = cv2.resize(small, (max(1, W // g), max(1, H // g)), interpolation=cv2.INTER_LINEAR)
    mid = cv2.GaussianBlur(mid, (0, 0), 0.6 * f / g)
    return cv2.resize(mid, (W, H), interpolation=cv2.INTER_LINEAR)


METAL_MIN_PATH = 0.15
"""Implant mu x path (about 0.6 mm of titanium) above which the console treats a pixel as metal."""
METAL_FULL_PATH = 1.2
"""Implant mu x path (about 5 mm of titanium: a screw core seen side-on) displayed white."""
METAL_HEADROOM = 0.1
"""Top fraction of the grey scale kept for metal on films with implants (the anatomy's window maps below it)."""
METAL_KNEE = 0.8
"""On films with implants the anatomy's grey levels below this are kept as on a film without them; only the brighter
bone is compressed (softly) under the metal headroom, so post-operative bone is not washed out."""
METAL_RAMP = 0.15
"""Excess over the anatomy window's top (in window widths) at which metal reaches white."""

AP_DETAIL_BANDS_MM = (0.3, 0.9, 2.7, 8.0)
"""Version 13: the scales (mm at the detector) of the detail bands the AP console amplifies."""
AP_DETAIL_GAINS = ((0.7, 0.9), (1.1, 1.4), (1.1, 1.4), (0.85, 1.05))
"""Version 13: range of the gain of each detail band (finest first), drawn per film."""
AP_DETAIL_GAINS_NO_METAL: tuple[tuple[float, float], ...] | None = ((0.9, 1.1), (1.6, 2.1), (1.3, 1.6), (0.85, 1.05))
"""Version 23: the detail gains of AP films without segmented metal (pre-operative films, the adolescent-scoliosis
films; the same draws from the film's stream, other ranges; None: ``AP_DETAIL_GAINS`` on every AP film, as up to
version 22): the 0.9-2.7 mm band x1.6-2.1 and the 2.7-8 mm band x1.3-1.6 (were 1.1-1.4 each), the finest band
(mostly quantum noise) x0.9-1.1 (was 0.7-0.9): crisper, brighter bone edges (endplates, walls, pedicles, processes)
and more visible grain, as on the real films. Films with metal keep ``AP_DETAIL_GAINS``: the same stronger gains on
them cost the AP screw detector 3 screws and added 3-4 false ones (version-20 trials S1/S2), as the implant-aware
console keeps a gentler processing (see ``AP_EQUALISE_FACTOR``)."""
AP_DETAIL_POWER = 0.9
"""Version 13: compressive power of the detail amplification (< 1: faint detail boosted more than strong edges, the
MUSICA-type non-linearity)."""
AP_LUT_GAMMA = (0.38, 0.8)
"""Version 13: range of an extra gamma of the AP look-up table on films without metal (real AP films are mostly light
grey and white: the mean grey histogram of the real crops is flat from 0.35 to 0.95, the simulated one peaked at 0.55
without it). With segmented metal the console keeps the version-12 table (as with ``AP_EQUALISE_FACTOR``): the bone
around the implants stays below the metal knee."""
AP_EQUALISE_FACTOR = 0.5
"""Version 13: AP films without metal keep more of their large-scale density range (the equalisation drawn per film
is halved): with the detail amplification doing the local contrast, the real crops' broad grey histogram needs the
large-scale range (bright pelvis and spine, dark gas; mean-histogram intersection 0.886 -> 0.915). With segmented
metal the console keeps the full equalisation (a different protocol, as implant-aware consoles choose): halved, the
sacrum rose into the compressed top of the window and an S1 loosening halo darkened the rim by only ~30 grey levels
instead of > 80 (tests/sim/test_film.py)."""


def _multiscale_contrast(
    q: np.ndarray, cam: Camera, rng: np.random.Generator, ranges: tuple[tuple[float, float], ...] | None = None
) -> np.ndarray:
    """Multi-scale (Laplacian-pyramid-like) contrast amplification of the log image, as DR consoles do for AP films
    (version 13): each detail band between successive Gaussian scales of :data:`AP_DETAIL_BANDS_MM` is amplified by a
    per-film gain with a compressive non-linearity, ``d -> g M sign(d) (|d| / M)^p`` (``M`` = 3 x the band's standard
    deviation): crisp bone edges and trabecular detail, and visible quantum mottle in the soft tissue, as on real
    processed films. The finest band (mostly quantum noise) is scaled linearly; the next one is processed at half,
    the two coarse ones at a quarter of the resolution (they are smooth there); the image is changed by ``f(d) - d``
    per band, so a gain of 1 and a power of 1 leave it as it was."""
    gains = [float(rng.uniform(*g)) for g in (ranges or AP_DETAIL_GAINS)]
    H, W = q.shape

    def boost(d: np.ndarray, g: float) -> np.ndarray:
        m = 3.0 * float(np.std(d[::4, ::4])) + 1e-6
        a = np.maximum(np.abs(d) * (1.0 / m), 1e-2)  # g M sign(d) (|d| / M)^p = d g (|d| / M)^(p - 1)
        cv2.pow(a, AP_DETAIL_POWER - 1.0, dst=a)
        return d * (g * a - 1.0)

    # finest band (mostly quantum noise): linear, at full resolution
    g0 = cv2.GaussianBlur(q, (0, 0), AP_DETAIL_BANDS_MM[0] / cam.pixel_mm)
    out = g0 + gains[0] * (q - g0)
    # the next band at half, the two coarse ones at a quarter of the resolution (their detail is smooth there)
    prev = g0
    for f, bands in ((2, (1,)), (4, (2, 3))):
        small = cv2.resize(prev, (max(1, W // f), max(1, H // f)), interpolation=cv2.INTER_AREA)
        corr = np.zeros_like(small)
        for i in bands:
            nxt = cv2.GaussianBlur(small, (0, 0), AP_DETAIL_BANDS_MM[i] / (cam.pixel_mm * f))
            corr += boost(small - nxt, gains[i])
            small = nxt
        out += cv2.resize(corr, (W, H), interpolation=cv2.INTER_CUBIC)
        if f == 2:
            prev = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
    return out


def expose(
    L: np.ndarray,
    cam: Camera,
    exp: Exposure,
    rng: np.random.Generator,
    metal_path: np.ndarray | None = None,
    flank: float = 0.0,
    air_aware: bool = False,
    layout: np.ndarray | None = None,
) -> np.ndarray:
    """Detector image from line integrals: Beer-Lambert, scatter, focal-spot and detector blur, quantum noise, log,
    edge enhancement, tone curve, collimation and a burned-in lead side marker. Returns uint16, 12 bits, MONOCHROME2
    (bone bright).

    ``metal_path``: the implants' own mu x path image (from :func:`line_integrals_with_metal`); where it exceeds
    ``METAL_MIN_PATH`` the console treats the pixels as metal (as real consoles segment implants): they neither lift the
    equalisation background nor set the anatomy's window, and are mapped into the top ``METAL_HEADROOM`` of the grey
    scale, above all anatomy.

    ``air_aware`` (version 23, AP films of a body narrower than the field): pixels whose path is below
    :data:`AP_AIR_PATH` are direct exposure (air beside the flanks); as real consoles do, they neither set the
    equalisation background nor the window, so they stay black and the anatomy keeps its grey levels.

    ``layout`` (version 28, AP films): the coarse brightness layout of :func:`ap_layout` (shares of the range), added
    with the fall-off."""
    H, W = L.shape
    body = None
    if air_aware:
        body = L >= AP_AIR_PATH
        if body.all():
            body = None
    # lead side marker (on the detector: not magnified), inside the collimated field
    marker = np.zeros((H, W), np.uint8)
    size = max(0.6, 0.0022 * min(H, W))
    c0, r0, c1, r1 = (int(round(m / cam.pixel_mm)) for m in exp.collimation_mm)
    on_right = exp.marker == "L" if cam.view == "ap" else not cam.facing_left
    x = (W - c1 - int(0.09 * W)) if on_right else (c0 + int(0.03 * W))
    y = r0 + int(0.09 * H)
    cv2.putText(marker, exp.marker, (x, y), cv2.FONT_HERSHEY_SIMPLEX, size * 1.6, 1, max(2, int(size * 4)), cv2.LINE_AA)
    Lm = L + marker.astype(np.float32) * (MU["lead"] * 1.5)
    primary = np.exp(-Lm)
    # scatter: a very smooth fraction of the primary (grid-reduced)
    f = 16
    small = cv2.resize(primary, (max(1, W // f), max(1, H // f)), interpolation=cv2.INTER_AREA)
    sig = 45.0 / (cam.pixel_mm * f)
    small = cv2.GaussianBlur(small, (0, 0), sig)
    scatter = _smooth_up(small, W, H, f) * exp.scatter_to_primary
    signal = primary + scatter
    # focal spot penumbra at the reference plane + detector (scintillator) spread
    blur = math.hypot(exp.focal_spot_mm * (cam.magnification - 1) / 2.355 / cam.pixel_mm, exp.detector_blur_px)
    signal = cv2.GaussianBlur(signal, (0, 0), blur)
    n0 = exp.photons_per_mm2 * cam.pixel_mm**2
    noise = rng.standard_normal((H, W), dtype=np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 0.5) * 1.9
    p = np.empty((H, W), np.float32)
    for y0 in range(0, H, _TONE_ROWS):  # elementwise, on blocks of rows (cache-resident temporaries)
        rows = slice(y0, min(H, y0 + _TONE_ROWS))
        s_, n_ = signal[rows], noise[rows]
        counts = np.maximum(n0 * s_ + np.sqrt(np.maximum(n0 * s_, 1.0)) * n_, 0.5)
        p[rows] = -np.log(counts / n0)
    # collimation: outside the field almost no exposure (shown white after processing)
    inside = np.zeros((H, W), bool)
    inside[r0 : H - r1, c0 : W - c1] = True
    # DR console processing: strong large-scale equalisation (latitude compression), mid-frequency edge enhancement
    # metal-aware (as real consoles): segmented implants neither lift the equalisation background (which would darken
    # them and the bone around them) nor set the window (so the anatomy fills the grey scale and metal sits above it)
    sig = exp.equalise_mm / cam.pixel_mm
    if body is None:
        coarse = _smooth(p, sig)
    else:  # version 23: the background of the body only (normalised smoothing; air keeps its neighbours' level)
        wb = body.astype(np.float32)
        coarse = _smooth(p * wb, sig) / np.maximum(_smooth(wb, sig), 1e-3)
    metal = np.zeros((H, W), bool)
    if metal_path is not None:
        metal = cv2.dilate((metal_path > METAL_MIN_PATH).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if metal.any():
        for _ in range(2):  # fill the metal with its surroundings' background, twice (the first fill is still lifted)
            filled = p.copy()
            filled[metal] = np.minimum(p[metal], coarse[metal])
            coarse = (
                _smooth(filled, sig) if body is None else _smooth(filled * wb, sig) / np.maximum(_smooth(wb, sig), 1e-3)
            )
    win = (slice(r0, H - r1, 4), slice(c0, W - c1, 4))
    cmean = float(np.mean(coarse[win])) if body is None else float(np.mean(coarse[win][body[win]]))
    # (version 13: AP films without metal keep more of their large-scale range; with metal the console keeps the
    # full equalisation, so the bone around the screws stays below the metal knee and a loosening halo visible)
    eq = exp.equalise * (AP_EQUALISE_FACTOR if cam.view == "ap" and not metal.any() else 1.0)
    coarse -= cmean  # q = p - eq * (coarse - cmean), without full-size temporaries
    coarse *= eq
    q = np.subtract(p, coarse, out=coarse)
    ap_gamma = 1.0
    if cam.view == "ap":  # version 13: multi-scale contrast amplification, as real DR consoles process AP films
        # version 23: films without metal may take other detail gains (AP_DETAIL_GAINS_NO_METAL; same draws)
        q = _multiscale_contrast(q, cam, rng, None if metal.any() else AP_DETAIL_GAINS_NO_METAL)
        ap_gamma = float(rng.uniform(*AP_LUT_GAMMA))  # and a brighter look-up table (without metal: see below)
        if metal.any():
            ap_gamma = 1.0
        # version 18: exposure fall-off (heel effect, vignetting); v21 flanks; v23 its range over the body only
        _falloff(q, cam, rng, win, flank, None if body is None else body[win], layout, body)
        if (AP_RIM is not None or AP_GRAIN is not None) and (AP_LOOK_WITH_METAL or not metal.any()):
            # version 35: the processed-film look of AP films without metal (own spawned stream: no draw of the
            # film's stream changes); version 36: films with metal too, the metal left out of it (AP_LOOK_WITH_METAL)
            _processed_look(
                q, p, cam, rng.spawn(1)[0], win, None if body is None else body[win], metal if metal.any() else None
            )
    sm = _smooth(q, 1.5 / cam.pixel_mm)  # q + edge_enhance * (q - smooth(q)), in place
    np.subtract(q, sm, out=sm)
    sm *= exp.edge_enhance
    q += sm
    anat = ~metal[win]
    if body is not None:
        anat &= body[win]
    lo, hi = np.percentile(q[win][anat] if anat.sum() > 100 else q[win], [1.5, exp.window_top_pct])
    den = max(hi - lo, 1e-6)
    mp = cv2.GaussianBlur(metal_path.astype(np.float32), (0, 0), blur) if metal.any() else None
    out = np.empty((H, W), np.uint16)
    # the tone mapping is elementwise (float64, as the percentiles make it): run it on blocks of rows, which stay in
    # the cache instead of allocating a dozen full-size float64 temporaries (same operations, same pixels)
    for y0 in range(0, H, _TONE_ROWS):
        rows = slice(y0, min(H, y0 + _TONE_ROWS))
        out[rows] = _tone(
            q[rows], lo, den, exp, ap_gamma, metal[rows], None if mp is None else mp[rows], inside[rows], noise[rows]
        )
    if cam.view == "ap" and not metal.any() and AP_LUT_BEND != (0.0, 0.0):
        # version 22: the console's look-up table shape varies per film (own stream, drawn after every other draw)
        _lut_bend(out, (slice(r0, H - r1), slice(c0, W - c1)), np.random.default_rng([int(rng.integers(2**31)), 2201]))
    return out


AP_RIM: tuple[float, float] | None = (0.1, 0.3)
AP_RIM_MM = 1.5
"""Version 35, AP films without metal: gain range (drawn per film) of an extra unsharp mask of ``AP_RIM_MM`` sigma (mm
at the detector) on the processed log image, before the console's edge enhancement: real consoles' stronger local
contrast processing, which leaves a dark rim beside bright bone and crisper bone edges where the simulated films were
soft and foggy (``scripts/sim_realism.py``: ``edge_width`` real 4.3 crop px, version 34 5.1; ``edge_rim`` real 0.087,
version 34 0.057). None: off (with ``AP_GRAIN`` None: the version-34 pixels)."""
AP_GRAIN: tuple[float, float] | None = (0.0015, 0.0035)
AP_GRAIN_MM = 0.35
AP_GRAIN_PHOTONS = (1.5, 0.2, 1.6)
"""Version 35, AP films without metal: the SD range (share of the anatomy's 2-98 % range of the processed log image,
drawn per film) of a display grain of ``AP_GRAIN_MM`` correlation (Gaussian sigma, mm at the detector): the amplified
quantum mottle and JPEG texture of the real films' soft tissue, which the simulated films lacked at the realism
crop's scale (``haze_fine``: real 0.0101, version 34 0.0034, this setting 0.0056; ``haze_local_sd`` real 0.0187,
version 34 0.0105, this 0.0136). Half of what would match them (0.003-0.007 gives 0.0087 / 0.0185): the stronger grain
frays the gas regions' outlines (``gas_round`` 0.441 -> 0.403, real 0.488), which the gas work must not move.
Weighted by ``exp(a (s - median))`` clipped to ``[lo, hi]`` (``AP_GRAIN_PHOTONS`` = (a, lo, hi); ``s`` the
unprocessed log image smoothed 3 mm): weaker where more photons arrive, as quantum noise is (a = 0.5 for the log
signal alone); a = 1.5 damps it further in the dark gas, whose dark tones the look-up table expands, so the gas
walls stay as soft as measured (``gas_wall``). None: off."""


AP_LOOK_WITH_METAL = False
AP_LOOK_METAL_FILL_MM = 3.0
"""Version 36: the processed-film look of version 35 (``AP_RIM``, ``AP_GRAIN``) on AP films with segmented metal too
(post-operative films; a patient's films come from one console): the metal is left out of it, as the console's
metal-aware processing leaves it out of the equalisation: the rim's smoothing sees the metal filled with its
surroundings (a normalised smoothing of ``AP_LOOK_METAL_FILL_MM`` over the pixels beside it), so bright metal casts
no dark ring into the bone around it (which the halo check would read as loosening); the grain's range, median and
the metal's own pixels are taken without it (the console's metal display sets those). False: films with metal keep
the version-34 console (version 35's pixels).

Version 37: **off** (version 35's pixels on films with metal again). On the demo's solid-fusion patient at 1000 x 1250
px, version 36's look made the 12-month AP film's S1 screw show a radiolucent halo (1.4 mm, threshold 1.0) that the
6-week film did not: a false loosening finding and "pseudarthrosis suspected" on a solid fusion. The implant check
at 400 x 500 px (``bench_implants``) had shown none. Turn it on again only after the halo check holds at the demo's
size too."""


def _processed_look(
    q: np.ndarray,
    p: np.ndarray,
    cam: Camera,
    rng: np.random.Generator,
    win: tuple[slice, slice],
    body: np.ndarray | None,
    metal: np.ndarray | None = None,
) -> None:
    """Version 35 (``AP_RIM``, ``AP_GRAIN``): the processed-film look, in place on the processed log image ``q`` of an
    AP film (after the multi-scale contrast and the fall-off, before the console's edge enhancement); ``p`` the
    unprocessed log image, ``rng`` the stage's own stream (spawned from the film's, which it leaves as it was),
    ``win`` the collimated field (every 4th pixel), ``body`` the body's pixels there (None: all); ``metal`` (version
    36, ``AP_LOOK_WITH_METAL``): the console's (H, W) metal segmentation, left out of the look (None: no metal)."""
    rim = float(rng.uniform(*AP_RIM)) if AP_RIM is not None else 0.0
    grain = float(rng.uniform(*AP_GRAIN)) if AP_GRAIN is not None else 0.0
    keep = None  # version 36: the metal's own processed values (restored at the end: the metal display sets them)
    if metal is not None:
        keep = q[metal]
        wm = (~metal).astype(np.float32)
        s = AP_LOOK_METAL_FILL_MM / cam.pixel_mm
        fill = _smooth(q * wm, s) / np.maximum(_smooth(wm, s), 1e-3)
        base = np.where(metal, fill, q)
    else:
        base = q
    if rim > 0.0:
        sm = _smooth(base, AP_RIM_MM / cam.pixel_mm)
        np.subtract(base, sm, out=sm)
        sm *= rim
        q += sm
    if grain > 0.0:
        sel = None if body is None else body
        if metal is not None:
            sel = ~metal[win] if sel is None else sel & ~metal[win]
        qw = q[win] if sel is None else q[win][sel]
        lo, hi = np.percentile(qw, [2.0, 98.0])
        H, W = q.shape
        g = rng.standard_normal((H, W), dtype=np.float32)
        s = AP_GRAIN_MM / cam.pixel_mm
        g = cv2.GaussianBlur(g, (0, 0), s)
        g *= np.float32(grain * (hi - lo) / max(float(np.std(g[::3, ::3])), 1e-6))
        pw = p[win] if sel is None else p[win][sel]
        med = float(np.median(pw))
        loc = _smooth(p if metal is None else np.where(metal, np.float32(med), p), 3.0 / cam.pixel_mm)
        loc -= np.float32(med)
        loc *= np.float32(AP_GRAIN_PHOTONS[0])
        np.exp(loc, out=loc)
        np.clip(loc, AP_GRAIN_PHOTONS[1], AP_GRAIN_PHOTONS[2], out=loc)
        g *= loc
        q += g
    if keep is not None:
        q[metal] = keep


AP_LUT_BEND = (-0.8, 0.8)
AP_LUT_ROI = (0.25, 0.15)
AP_LUT_PERCENTILES = (1.0, 75.0)
"""Version 22, AP films without metal: a per-film bend ``k`` (drawn from ``AP_LUT_BEND``) of the console's look-up
table, applied to the finished grey levels inside the collimated field: ``u -> u + k u (1 - u)`` on ``u`` = the grey
level relative to the ``AP_LUT_PERCENTILES`` (1st and 75th) percentiles of the film's central region (``AP_LUT_ROI``:
the middle 50 % of the field's width and 70 % of its height, where consoles read the anatomy's histogram); identity
outside that range, so the brightest quarter of the anatomy (the vertebral bodies, the pelvis) keeps its grey
levels. Monotone for ``|k| <= 1`` (slope >= 0.2 here). ``k > 0`` lifts the soft tissue toward the bone (a washed-out
film), ``k < 0`` darkens it (a dark, contrasty one): real processed AP films vary much more in overall brightness
(realism sheet crop-mean spread 0.079; 0.047 in version 21). A power law (the version-21 trial "A") barely acts
there: the anatomy lies near the top of the grey scale, where any power is nearly linear. Bending the whole range
(1st-99th percentile) widened the spread more, but lifting the bright tones (``k`` >= 0.2) shifted a detector-check
film (sim seed 900006) by a level; with the 75th percentile no film of ``sim:30:ap:900000`` comes within 0.1 of a
shift even at ``k = +-0.8`` (docs/simulator.md "Version 22"). Films with segmented metal keep the version-21 table
(the implant checks compare a patient's films; see ``AP_EQUALISE_FACTOR``)."""


def _lut_bend(out: np.ndarray, field: tuple[slice, slice], rng: np.random.Generator) -> None:
    """Apply the version-22 look-up-table bend (``AP_LUT_BEND``, one draw from ``rng``) to the uint16 12-bit
    image ``out`` inside ``field``, in place."""
    k = float(rng.uniform(*AP_LUT_BEND))
    img = out[field]
    h, w = img.shape
    cx, cy = AP_LUT_ROI
    roi = img[
        int(cy * h) : max(int(cy * h) + 1, int((1 - cy) * h)) : 3,
        int(cx * w) : max(int(cx * w) + 1, int((1 - cx) * w)) : 3,
    ]
    lo, hi = (float(x) for x in np.percentile(roi, AP_LUT_PERCENTILES))
    if hi - lo < 1.0:
        return
    g = np.arange(4096, dtype=np.float64)
    u = np.clip((g - lo) / (hi - lo), 0.0, 1.0)
    lut = np.clip(np.rint(g + k * (hi - lo) * u * (1.0 - u)), 0, 4095).astype(np.uint16)
    out[field] = lut[np.minimum(img, 4095)]


_TONE_ROWS = 64
"""Rows per block of :func:`expose`'s tone mapping (a 2000-px-wide block of float64 is 1 MB)."""


def _tone(
    q: np.ndarray,
    lo: float,
    den: float,
    exp: Exposure,
    ap_gamma: float,
    metal: np.ndarray,
    mp: np.ndarray | None,
    inside: np.ndarray,
    noise: np.ndarray,
) -> np.ndarray:
    """The console's look-up table and metal display on a block of rows of the processed log image ``q`` (see
    :func:`expose`; ``mp`` is the blurred metal path, None without metal). Returns uint16, 12 bits."""
    x = (q - lo) / den
    v = np.clip(x, 0.0, 1.0)
    v = 1.0 / (1.0 + np.exp(-exp.contrast * (v - 0.5)))
    v = (v - 1.0 / (1.0 + math.exp(exp.contrast * 0.5))) / (1.0 - 2.0 / (1.0 + math.exp(exp.contrast * 0.5)))
    v = np.clip(v, 0.0, 1.0) ** exp.gamma
    if ap_gamma != 1.0:  # (two powers, not one: the v13 films cached at 03:53-04:00 UTC are bit-exact with this)
        v = v**ap_gamma
    if mp is not None:  # anatomy below METAL_HEADROOM, metal above it: near-opaque implants the brightest, sharp-edged
        room = 1.0 - METAL_HEADROOM - METAL_KNEE
        # (each step only where it changes anything: above the knee, on metal, where the metal image is non-zero;
        # elsewhere it would add 0 or take the maximum with 0 of a v >= 0: the same pixels, much less float64 work)
        knee = v > METAL_KNEE
        v[knee] = METAL_KNEE + room * (1.0 - np.exp(-(v[knee] - METAL_KNEE) / room))
        v[metal] += METAL_HEADROOM * np.clip((x[metal] - 1.0) / METAL_RAMP, 0.0, 1.0)  # only metal rises into it
        # the console's metal display: segmented metal at the top of the scale whatever lies behind it (under a
        # scatter-dominated dense pelvis the log signal alone leaves a screw barely above the sacrum); the optical blur
        # of the metal image keeps its edge (and thread) as sharp as the detector allows
        w = np.clip(mp / METAL_MIN_PATH - 1.0, 0.0, 1.0)
        on = w > 0.0
        w, m_ = w[on], mp[on]
        v[on] = np.maximum(
            v[on], w * ((1.0 - METAL_HEADROOM) + METAL_HEADROOM * np.clip(m_ / METAL_FULL_PATH, 0.0, 1.0))
        )
    v = np.where(inside, v, 0.93 + 0.02 * noise)
    return np.clip(v * 4095.0, 0, 4095).astype(np.uint16)
