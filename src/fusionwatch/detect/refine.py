"""Per-vertebra refinement stage: one small square crop per vertebra (or S1 endplate, femoral heads), upright.

The third stage of :func:`fusionwatch.detect.detect_landmarks`, after the film and crop stages. For every *unit* of the
refine model (a vertebra's 4 corners; on lateral films also the S1 superior corners and the femoral heads) it

1. takes the current estimate of the unit's points,
2. builds a square crop centred on them, ``context`` x the estimated vertebral body size wide, mirrored if needed so
   that the unit's axis points to +x (AP: left -> right; lateral: anterior -> posterior, i.e. every lateral crop faces
   left) and rotated so that this axis is horizontal (:func:`unit_frame`),
3. predicts the unit's points in the crop (soft-argmax, the network of :mod:`fusionwatch.detect.network`),
4. maps them back to film pixels with the exact inverse of the crop's affine (mirror and rotation included).

The units, their output channels and the crop rules travel in the model's :class:`~fusionwatch.detect.specs.ModelSpec`
(``extra["units"]``), so one code path serves both views; see :data:`fusionwatch.detect.specs.PRESETS` ``ap-vertebra``
and ``lateral-vertebra``.

Training examples (:func:`make_refine_example`) jitter the crop centre, size and angle around the true unit, so the
network learns to correct the previous stage's errors rather than to repeat them.

Geometry conventions as in :mod:`fusionwatch.detect._geometry`: ``(x, y)`` pixels, origin at the centre of the top-left
pixel, x right, y down; 2 x 3 affines map source to destination (OpenCV ``warpAffine``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fusionwatch.detect._geometry import apply_affine, invert_affine, normalise, prepare_input, warp
from fusionwatch.detect.augment import mirror_channel_index

__all__ = [
    "RefineUnit",
    "UnitFrame",
    "spec_units",
    "body_size",
    "unit_frame",
    "frame_matrix",
    "refine_points",
    "make_refine_example",
    "prepare_crop",
    "crop_offsets",
    "vertebra_units",
]


@dataclass(frozen=True)
class RefineUnit:
    """One crop of the refine stage.

    Attributes
    ----------
    points : tuple[(name, channel), ...]
        Landmarks this crop predicts and the network output channel of each.
    axis : tuple[(name_a, name_b), ...]
        Point pairs whose mean direction a -> b becomes the crop's +x axis (AP endplates left -> right; lateral
        endplates anterior -> posterior).
    size : tuple[str, ...]
        4 corners (superior a, superior b, inferior a, inferior b) of the vertebra whose body size sets the crop side.
    centre : tuple[str, ...]
        Points whose mean is the crop centre.
    """

    points: tuple[tuple[str, int], ...]
    axis: tuple[tuple[str, str], ...]
    size: tuple[str, ...]
    centre: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.points)

    @property
    def needs(self) -> set[str]:
        """Every point name needed to build this unit's crop and targets."""
        return set(self.names) | {n for p in self.axis for n in p} | set(self.size) | set(self.centre)

    def to_json(self) -> dict:
        return {
            "points": [list(p) for p in self.points],
            "axis": [list(p) for p in self.axis],
            "size": list(self.size),
            "centre": list(self.centre),
        }

    @classmethod
    def from_json(cls, d: Mapping) -> RefineUnit:
        return cls(
            tuple((str(n), int(c)) for n, c in d["points"]),
            tuple((str(a), str(b)) for a, b in d["axis"]),
            tuple(d["size"]),
            tuple(d["centre"]),
        )


def vertebra_units(levels: Sequence[str], a: str, b: str) -> list[RefineUnit]:
    """Units for whole vertebrae: corners ``<L>.superior.<a>, <L>.superior.<b>, <L>.inferior.<a>, <L>.inferior.<b>``
    on channels 0-3 (``a``/``b`` = ``left``/``right`` on AP, ``anterior``/``posterior`` on lateral films)."""
    units = []
    for lv in levels:
        c = (f"{lv}.superior.{a}", f"{lv}.superior.{b}", f"{lv}.inferior.{a}", f"{lv}.inferior.{b}")
        units.append(RefineUnit(tuple(zip(c, range(4), strict=True)), ((c[0], c[1]), (c[2], c[3])), c, c))
    return units


def spec_units(spec) -> list[RefineUnit]:  # noqa: ANN001 - ModelSpec (avoid an import cycle)
    """The units of a refine model's spec (``spec.extra["units"]``)."""
    return [RefineUnit.from_json(u) for u in spec.extra.get("units", [])]


def body_size(corners: np.ndarray) -> float:
    """Size of a vertebral body from its 4 corners (superior a, superior b, inferior a, inferior b), pixels.

    The larger of the mean endplate width and the mean side height.
    """
    c = np.asarray(corners, float).reshape(4, 2)
    width = (np.linalg.norm(c[0] - c[1]) + np.linalg.norm(c[2] - c[3])) / 2.0
    height = (np.linalg.norm(c[0] - c[2]) + np.linalg.norm(c[1] - c[3])) / 2.0
    return float(max(width, height))


@dataclass(frozen=True)
class UnitFrame:
    """Where a unit's crop sits on the film: centre (px), side (px), angle of its +x axis (rad, y down), mirrored."""

    centre: tuple[float, float]
    side: float
    angle: float
    mirrored: bool


def unit_frame(points: Mapping[str, tuple[float, float]], unit: RefineUnit, context: float) -> UnitFrame:
    """The crop frame of ``unit`` from (estimated or true) ``points`` (film pixels).

    ``angle`` is that of the mean axis direction after mirroring (so it lies in (-90°, 90°)); ``mirrored`` when the
    axis pointed to -x (e.g. a lateral film facing right).

    Raises
    ------
    KeyError
        A needed point is missing.
    """
    centre = np.mean([points[n] for n in unit.centre], axis=0)
    size = body_size(np.array([points[n] for n in unit.size]))
    v = np.zeros(2)
    for a, b in unit.axis:
        d = np.subtract(points[b], points[a])
        v += d / max(float(np.linalg.norm(d)), 1e-9)
    mirrored = bool(v[0] < 0)
    if mirrored:
        v[0] = -v[0]
    angle = math.atan2(v[1], v[0]) if np.linalg.norm(v) > 1e-9 else 0.0
    return UnitFrame((float(centre[0]), float(centre[1])), max(context * size, 8.0), float(angle), mirrored)


def frame_matrix(frame: UnitFrame, input_hw: tuple[int, int]) -> np.ndarray:
    """Affine (film pixels -> input pixels): mirror about the centre if ``frame.mirrored``, rotate by ``-frame.angle``,
    scale ``side`` to the input width, centre to the input centre. Aspect ratio kept (one scale)."""
    h, w = input_hw
    s = min(w, h) / frame.side
    c, si = math.cos(-frame.angle), math.sin(-frame.angle)
    rot = np.array([[c, -si], [si, c]])
    flip = np.diag([-1.0, 1.0]) if frame.mirrored else np.eye(2)
    a = s * rot @ flip
    centre = np.asarray(frame.centre, float)
    out_c = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    t = out_c - a @ centre
    return np.hstack([a, t[:, None]])


def _mirror_pairs(spec) -> list[int]:  # noqa: ANN001
    """For each channel, the channel naming the same point in a mirrored crop (AP: left <-> right), or identity."""
    return mirror_channel_index(spec.point_names)


def refine_points(
    model,  # noqa: ANN001 - inference.LandmarkModel
    image: np.ndarray,
    points: Mapping[str, tuple[float, float]],
    *,
    passes: int | None = None,
    max_move: float | None = None,
    shift_average: float | Sequence[float] | None = None,
) -> tuple[dict[str, tuple[float, float]], dict[str, float], dict[str, float]]:
    """Refine every unit of ``model`` whose crop can be built from ``points``.

    Parameters
    ----------
    model : LandmarkModel
        A refine model (``spec.stage == "refine"``).
    image : (H, W) float ndarray
        The film.
    points : name -> (x, y)
        Current estimates, film pixels.
    passes : int, optional
        Refinement passes (each recentred on the previous one's output); default ``spec.extra["passes"]`` or 1.
    max_move : float, optional
        Keep a unit's input estimate when the refined points' centre moved more than this many body sizes (the crop
        was then probably centred between two vertebrae and the network jumped to a neighbour); default
        ``spec.extra["max_move"]``, or no limit.
    shift_average : float or sequence of float, optional
        Also run 4 crops whose centres are moved by this many body sizes left, right, up and down (film axes) and
        average the 5 back-mapped predictions (test-time augmentation: the network's answer depends a little on
        where the crop sits); several distances give 4 crops each (``(0.08, 0.15)``: 9 crops, ap-vertebra/3);
        default ``spec.extra["shift_average"]``, or a single crop.

    Returns
    -------
    new_points : name -> (x, y), film pixels, only the refined points
    spread : name -> spread of the probability map, input pixels
    scale : name -> input pixels per film pixel of the point's crop
    """
    spec = model.spec
    units = spec_units(spec)
    context = float(spec.extra.get("context", 2.2))
    passes = int(spec.extra.get("passes", 1)) if passes is None else passes
    max_move = spec.extra.get("max_move") if max_move is None else max_move
    shift = spec.extra.get("shift_average") if shift_average is None else shift_average
    offsets = crop_offsets(shift)
    flip_average = bool(spec.extra.get("flip_average", spec.view == "ap"))
    mirror = _mirror_pairs(spec)
    cur = dict(points)
    out_p: dict[str, tuple[float, float]] = {}
    out_s: dict[str, float] = {}
    out_k: dict[str, float] = {}
    sizes = [body_size(np.array([cur[n] for n in u.size])) for u in units if all(n in cur for n in u.size)]
    ref = float(np.median(sizes)) if sizes else None
    h, w = spec.input_hw
    for _ in range(max(passes, 1)):
        todo, mats, xs = [], [], []
        for u in units:
            if not u.needs <= cur.keys():
                continue
            fr = unit_frame(cur, u, context)
            if ref is not None:  # a garbled estimate must not give a huge or tiny crop
                side = min(max(fr.side, 0.6 * context * ref), 1.6 * context * ref)
                fr = UnitFrame(fr.centre, side, fr.angle, fr.mirrored)
            size = fr.side / context
            for dx, dy in offsets:
                moved = UnitFrame((fr.centre[0] + dx * size, fr.centre[1] + dy * size), fr.side, fr.angle, fr.mirrored)
                m = frame_matrix(moved, spec.input_hw)
                todo.append(u)
                mats.append(m)
                xs.append(prepare_crop(image, m, spec.input_hw))
        if not todo:
            break
        x = np.stack(xs)
        if flip_average:
            batch = np.concatenate([x, x[:, :, ::-1]])[:, None].copy()
            coords, spread = model.session.run(["coords", "spread"], {"image": batch})
            n = len(todo)
            mirrored = coords[n:][:, mirror].copy()
            mirrored[..., 0] = w - 1 - mirrored[..., 0]
            gap = np.linalg.norm(coords[:n] - mirrored, axis=-1)
            spread = np.maximum(spread[:n], spread[n:][:, mirror]) + gap
            coords = (coords[:n] + mirrored) / 2.0
        else:
            coords, spread = model.session.run(["coords", "spread"], {"image": x[:, None].copy()})
        k = len(offsets)
        for j in range(0, len(todo), k):
            u, m = todo[j], mats[j]
            chans = [ch for _, ch in u.points]
            backs = [apply_affine(invert_affine(mats[j + i]), coords[j + i][chans]) for i in range(k)]
            back = np.mean(backs, axis=0)
            # the crops' disagreement (film px -> the first crop's input px) adds to the spread
            gap = np.mean([np.linalg.norm(b - back, axis=1) for b in backs], axis=0)
            s = np.mean(spread[j : j + k], axis=0)
            s[chans] = s[chans] + gap * float(math.sqrt(abs(np.linalg.det(m[:, :2]))))
            if max_move is not None:
                before = np.array([points[n] for n in u.names])
                size = body_size(np.array([cur[n] for n in u.size]))
                if np.linalg.norm(back.mean(axis=0) - before.mean(axis=0)) > float(max_move) * size:
                    for n in u.names:  # keep the input estimate for the whole unit
                        out_p.pop(n, None), out_s.pop(n, None), out_k.pop(n, None)
                        cur[n] = points[n]
                    continue
            for (name, ch), p in zip(u.points, back, strict=True):
                out_p[name] = (float(p[0]), float(p[1]))
                out_s[name] = float(s[ch])
                out_k[name] = float(math.sqrt(abs(np.linalg.det(m[:, :2]))))
        cur.update(out_p)
    return out_p, out_s, out_k


def crop_offsets(shift: float | Sequence[float] | None) -> list[tuple[float, float]]:
    """The test-time crops of one unit: ``(dx, dy)`` centre offsets in body sizes along the film axes, the plain crop
    ``(0, 0)`` first, then per distance in ``shift`` 4 crops moved right, left, down, up (0 or None: none)."""
    out = [(0.0, 0.0)]
    distances = [shift] if isinstance(shift, int | float) else list(shift or ())
    for d in (float(x) for x in distances if x):
        out += [(d, 0.0), (-d, 0.0), (0.0, d), (0.0, -d)]
    return out


def prepare_crop(image: np.ndarray, m: np.ndarray, input_hw: tuple[int, int]) -> np.ndarray:
    """:func:`~fusionwatch.detect._geometry.prepare_input` for a small crop of a large film, computed on the part of
    the film the crop covers (plus a margin for the anti-alias blur) instead of the whole film: same result up to
    the blur's border handling, several times faster. ``m`` maps film pixels to input pixels."""
    h, w = input_hw
    inv = invert_affine(m)
    corners = apply_affine(inv, np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]]))
    s = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    pad = int(math.ceil(3.0 * (0.25 / s if s < 0.5 else 0.0))) + 3
    ih, iw = image.shape[:2]
    x0 = max(int(math.floor(corners[:, 0].min())) - pad, 0)
    y0 = max(int(math.floor(corners[:, 1].min())) - pad, 0)
    x1 = min(int(math.ceil(corners[:, 0].max())) + pad + 1, iw)
    y1 = min(int(math.ceil(corners[:, 1].max())) + pad + 1, ih)
    if x1 - x0 < 2 or y1 - y0 < 2:  # the crop lies outside the film: nothing to see
        return np.full(input_hw, -1.0, np.float32)
    m_sub = m.copy()
    m_sub[:, 2] = m[:, 2] + m[:, :2] @ np.array([x0, y0], float)
    return prepare_input(image[y0:y1, x0:x1], m_sub, input_hw)


# ------------------------------------------------------------------------------------------------------------ training
def _jitter(
    rng: np.random.Generator,
    frame: UnitFrame,
    size: float,
    context: float,
    size_sigma: float = 0.12,
    angle_sigma: float = 6.0,
) -> UnitFrame:
    """Imitate the previous stage's error: centre shift (mostly ~0.15 body sizes, sometimes ~0.35), crop size
    (log-normal, ``size_sigma``; clipped to 2 sigma), angle (``angle_sigma`` degrees)."""
    sigma = 0.35 if rng.random() < 0.15 else 0.15
    d = rng.normal(0.0, sigma * size, 2)
    side = frame.side * math.exp(float(np.clip(rng.normal(0.0, size_sigma), -2 * size_sigma, 2 * size_sigma)))
    angle = frame.angle + math.radians(rng.normal(0.0, angle_sigma))
    return UnitFrame((frame.centre[0] + d[0], frame.centre[1] + d[1]), side, angle, frame.mirrored)


def make_refine_example(
    sample,  # noqa: ANN001 - datasets.Sample
    spec,  # noqa: ANN001 - ModelSpec
    rng: np.random.Generator | None,
    *,
    unit_index: int | None = None,
    jitter_rng: np.random.Generator | None = None,
    augment: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One training (or validation) crop for a refine model.

    Parameters
    ----------
    sample : Sample
    spec : ModelSpec
        ``stage == "refine"``.
    rng : Generator or None
        Chooses the unit, jitters the crop and augments the pixels; ``None``: the first usable unit (or
        ``unit_index``), jitter from ``jitter_rng`` only, no augmentation.
    unit_index : int, optional
        Index into :func:`spec_units` (must be usable on this sample).
    jitter_rng : Generator, optional
        Jitter source when ``rng`` is None (validation with a fixed, reproducible jitter).
    augment : bool, optional
        Intensity / mirror / implant augmentation; default: when ``rng`` is given.

    Returns
    -------
    x : (H, W) float32 input
    target : (K, 2) float32, input pixels (0 where unknown)
    mask : (K,) float32, 1 where the channel is trained in this crop and its point lies inside the input
    scale : float
        Input pixels per sample-image pixel (to convert errors back).

    Raises
    ------
    ValueError
        No unit of the spec has all its points on this sample.
    """
    from fusionwatch.detect import augment as aug

    augment = rng is not None if augment is None else augment
    units = spec_units(spec)
    usable = [i for i, u in enumerate(units) if u.needs <= sample.points.keys()]
    if not usable:
        raise ValueError(f"No refine unit of {spec.name} is annotated on {sample.source or 'this sample'}.")
    if unit_index is None:
        unit_index = usable[int(rng.integers(len(usable)))] if rng is not None else usable[0]
    unit = units[unit_index]
    context = float(spec.extra.get("context", 2.2))
    frame = unit_frame(sample.points, unit, context)
    size = body_size(np.array([sample.points[n] for n in unit.size]))
    jr = rng if rng is not None else jitter_rng
    if jr is not None:
        frame = _jitter(
            jr,
            frame,
            size,
            context,
            float(spec.extra.get("jitter_size", 0.12)),
            float(spec.extra.get("jitter_angle", 6.0)),
        )
    m = frame_matrix(frame, spec.input_hw)
    k = len(spec.point_names)
    chans = dict(unit.points)
    mirror = _mirror_pairs(spec)
    if augment and rng is not None and spec.extra.get("mirror_augment", spec.view == "ap") and rng.random() < 0.5:
        w = spec.input_hw[1]
        m = np.array([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([m, [0, 0, 1]])
        chans = {n: mirror[c] for n, c in chans.items()}
    img = sample.image.astype(np.float32)
    lo, hi = float(img.min()), float(img.max())
    crop = warp((img - lo) / max(hi - lo, 1e-6), m, spec.input_hw, fill=0.0)
    covered = warp(np.ones(img.shape, np.float32), m, spec.input_hw, fill=0.0) > 0.5
    target = np.zeros((k, 2), np.float32)
    mask = np.zeros(k, np.float32)
    h, w = spec.input_hw
    for n, c in chans.items():
        p = apply_affine(m, np.array([sample.points[n]]))[0]
        target[c] = p
        mask[c] = float(-0.5 <= p[0] <= w - 0.5 and -0.5 <= p[1] <= h - 0.5)
    if augment and rng is not None:
        crop = aug.intensity(rng, crop)
        if rng.random() < 0.3:
            in_pts = {n: tuple(apply_affine(m, np.array([p]))[0]) for n, p in sample.points.items()}
            crop = aug.implant_overlay(rng, crop, in_pts)
    x = normalise(crop, covered)
    x[~covered] = -1.0
    if augment and rng is not None:
        x = aug.add_noise(rng, x)
    return x.astype(np.float32), target, mask, float(math.sqrt(abs(np.linalg.det(m[:, :2]))))
