"""Level counting on AP films from the chain of *real* vertebrae found along the film stage's T1-L5 column.

The level-counting film stage (``ap-spine``) places 17 vertebrae T1-L5 on the whole film; on about a quarter of the
SpineWeb films its column is stretched or squeezed along the spine, so that its "L1-L5" lie one level off although
most of its T1-T12 are right (MODEL_CARD.md, "The films every model places a level off"). The per-vertebra refine
model (``ap-vertebra``) cannot count, but it snaps a crop onto the vertebral body nearest the crop's centre. This
module uses that:

1. :func:`candidate_quads`: candidate vertebrae every ``step`` levels along the film stage's column (interpolated
   between its 17 vertebrae, extrapolated one level above T1 and two below L5);
2. :func:`refine_quads` ``iterations`` times: each candidate moves onto a vertebral body; candidates that stop moving
   (fixed points) sit on real vertebrae;
3. :func:`chain_nodes`: fixed points closer than ``join`` film-stage levels are one vertebra (a *node*; its
   ``support`` = how many candidates converged there); :func:`suppress_overlaps` drops the weaker of two nodes whose
   bodies overlap along the spine (two fixed points on one vertebra); :func:`fill_gaps` inserts a node where a whole
   body fits between two consecutive nodes (a vertebra no candidate settled on);
4. :func:`choose_window`: the 17 consecutive nodes T1..L5 whose positions along the film stage's column best match
   the film stage's own levels 0..16 (sum of absolute differences), i.e. the film stage's stretch is spread over the
   whole column instead of ending up in L1-L5.

:func:`recount_lumbar` runs all of it and returns L1-L5 taken from that window, or ``None`` when they agree with the
current estimate to within ``max_agree`` levels. Points are ``(x, y)`` film pixels (x right, y down); a vertebra's
corners are stored in the order superior-left, superior-right, inferior-left, inferior-right (image sides).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from fusionwatch.detect._geometry import apply_affine, invert_affine
from fusionwatch.detect.augment import mirror_channel_index
from fusionwatch.detect.levels import level_offset
from fusionwatch.detect.refine import UnitFrame, body_size, frame_matrix, prepare_crop

__all__ = [
    "SPINE_LEVELS",
    "CORNERS",
    "ChainNode",
    "LevelRecount",
    "column_quads",
    "candidate_quads",
    "refine_quads",
    "same_place",
    "tau_along",
    "chain_nodes",
    "suppress_overlaps",
    "fill_gaps",
    "window_cost",
    "choose_window",
    "recount_lumbar",
]

SPINE_LEVELS: tuple[str, ...] = tuple(f"T{k}" for k in range(1, 13)) + ("L1", "L2", "L3", "L4", "L5")
"""The 17 vertebrae of the level-counting film stage, top to bottom (index 0 = T1, 16 = L5)."""
CORNERS: tuple[str, ...] = ("superior.left", "superior.right", "inferior.left", "inferior.right")
SEARCH_BODY_PX = 100.0
"""Films whose median L1-L5 body (film stage) is larger than this many pixels are shrunk for the chain search."""


@dataclass(frozen=True)
class ChainNode:
    """One vertebra of the chain.

    Attributes
    ----------
    corners : (4, 2) ndarray
        Superior-left, superior-right, inferior-left, inferior-right corners, film pixels.
    tau : float
        Position along the film stage's column in its own level units (0 = its T1, 16 = its L5; < 0 above, > 16
        below).
    support : int
        Candidates that converged onto this vertebra (0: inserted in a gap by :func:`fill_gaps`).
    """

    corners: np.ndarray
    tau: float
    support: int

    @property
    def centre(self) -> np.ndarray:
        return self.corners.mean(axis=0)

    @property
    def height(self) -> float:
        """Mean height of the body's two sides, pixels."""
        c = self.corners
        return float((np.linalg.norm(c[0] - c[2]) + np.linalg.norm(c[1] - c[3])) / 2.0)


@dataclass(frozen=True)
class LevelRecount:
    """L1-L5 renamed by the chain (:func:`recount_lumbar`).

    Attributes
    ----------
    points : name -> (x, y)
        The 20 L1-L5 corners, film pixels (the chain's vertebrae; refine them once more before use).
    moved : float
        Mean offset of the new L1-L5 from the previous estimate along the spine, in levels (+ = lower on the film).
    start : int
        Index of T1 in the chain; ``nodes`` the chain itself.
    """

    points: dict[str, tuple[float, float]]
    moved: float
    start: int
    nodes: tuple[ChainNode, ...]


def column_quads(points: Mapping[str, tuple[float, float]], levels: Sequence[str] = SPINE_LEVELS) -> np.ndarray | None:
    """The ``(len(levels), 4, 2)`` corner array of the named vertebrae, or ``None`` if any corner is missing."""
    try:
        return np.array([[points[f"{lv}.{c}"] for c in CORNERS] for lv in levels], dtype=np.float64)
    except KeyError:
        return None


def candidate_quads(
    column: np.ndarray, step: float, start: float = -1.0, stop: float = 18.5
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate vertebrae at fractional levels ``start, start + step, ... <= stop`` along ``column``.

    Parameters
    ----------
    column : (N, 4, 2) ndarray
        The film stage's vertebrae, top to bottom (N >= 2).
    step : float
        Spacing in levels (> 0).

    Returns
    -------
    ts : (M,) levels (0 = the column's first vertebra)
    quads : (M, 4, 2) corners, linear between neighbouring vertebrae, extrapolated beyond both ends
    """
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    n = len(column)
    ts = np.arange(start, stop + 1e-9, step)
    out = []
    for t in ts:
        i = int(np.clip(math.floor(t), 0, n - 2))
        f = t - i
        out.append(column[i] * (1.0 - f) + column[i + 1] * f)
    return ts, np.array(out)


def _frame(quad: np.ndarray, context: float, ref: float | None) -> UnitFrame:
    """The refine crop of one vertebra (as :func:`fusionwatch.detect.refine.unit_frame`, from an array)."""
    centre = quad.mean(axis=0)
    v = np.zeros(2)
    for a, b in ((0, 1), (2, 3)):
        d = quad[b] - quad[a]
        v += d / max(float(np.linalg.norm(d)), 1e-9)
    mirrored = bool(v[0] < 0)
    if mirrored:
        v[0] = -v[0]
    angle = math.atan2(v[1], v[0]) if np.linalg.norm(v) > 1e-9 else 0.0
    side = max(context * body_size(quad), 8.0)
    if ref is not None:  # a garbled estimate must not give a huge or tiny crop (as refine_points)
        side = min(max(side, 0.6 * context * ref), 1.6 * context * ref)
    return UnitFrame((float(centre[0]), float(centre[1])), side, float(angle), mirrored)


def refine_quads(
    model,  # noqa: ANN001 - inference.LandmarkModel with an ap-vertebra spec
    image: np.ndarray,
    quads: np.ndarray,
    *,
    ref_size: float | None = None,
    flip_average: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One pass of the vertebra model on every quad, in one batch: the crops of
    :func:`fusionwatch.detect.refine.refine_points` (same context, orientation, size clamp around ``ref_size``), no
    shifted crops.

    Returns
    -------
    quads : (M, 4, 2) refined corners, film pixels
    spread : (M, 4) spread of each corner's probability map, input pixels
    """
    spec = model.spec
    context = float(spec.extra.get("context", 1.8))
    hw = tuple(spec.input_hw)
    mats = [frame_matrix(_frame(q, context, ref_size), hw) for q in quads]
    x = np.stack([prepare_crop(image, m, hw) for m in mats])
    if flip_average:
        mirror = mirror_channel_index(spec.point_names)
        batch = np.concatenate([x, x[:, :, ::-1]])[:, None].copy()
        coords, spread = model.session.run(["coords", "spread"], {"image": batch})
        n = len(quads)
        mir = coords[n:][:, mirror].copy()
        mir[..., 0] = hw[1] - 1 - mir[..., 0]
        gap = np.linalg.norm(coords[:n] - mir, axis=-1)
        spread = np.maximum(spread[:n], spread[n:][:, mirror]) + gap
        coords = (coords[:n] + mir) / 2.0
    else:
        coords, spread = model.session.run(["coords", "spread"], {"image": x[:, None].copy()})
    out = np.stack([apply_affine(invert_affine(m), c[:4]) for m, c in zip(mats, coords, strict=True)])
    return out, np.asarray(spread)[:, :4]


def same_place(quads: np.ndarray, within: float) -> np.ndarray:
    """For each quad, the index of the first quad whose centre lies within ``within`` x its body size of it
    (itself if none): candidates that already sit on the same place."""
    centres = quads.mean(axis=1)
    rep = np.arange(len(quads))
    firsts: list[int] = []
    for i, q in enumerate(quads):
        size = body_size(q)
        for r in firsts:
            if np.linalg.norm(centres[i] - centres[r]) < within * size:
                rep[i] = r
                break
        else:
            firsts.append(i)
    return rep


def tau_along(points: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Position of each point along the polyline ``curve`` (its vertices at 0, 1, ..., extended beyond both ends),
    in curve-vertex units: the parameter of the nearest point of the polyline."""
    pts = np.atleast_2d(np.asarray(points, float))
    out = np.empty(len(pts))
    last = len(curve) - 2
    for k, p in enumerate(pts):
        best_d, best_t = math.inf, 0.0
        for i in range(len(curve) - 1):
            a, b = curve[i], curve[i + 1]
            d = b - a
            f = float((p - a) @ d / max(float(d @ d), 1e-12))
            if not ((i == 0 and f < 0) or (i == last and f > 1)):
                f = min(max(f, 0.0), 1.0)
            dist = float(np.linalg.norm(p - (a + f * d)))
            if dist < best_d:
                best_d, best_t = dist, i + f
        out[k] = best_t
    return out


def chain_nodes(
    final: np.ndarray,
    previous: np.ndarray,
    column: np.ndarray,
    *,
    move_max: float = 0.15,
    join: float = 0.35,
) -> list[ChainNode]:
    """Group converged candidates into vertebrae.

    Parameters
    ----------
    final, previous : (M, 4, 2)
        Candidates after the last and the one-before-last refinement pass.
    column : (17, 4, 2)
        The film stage's vertebrae (defines ``tau`` and the level pitch).
    move_max : float
        A candidate whose centre still moved more than this many body sizes in the last pass is not a fixed point
        and is dropped.
    join : float
        Fixed points closer than this many (median) film-stage level pitches are the same vertebra.

    Returns
    -------
    list of ChainNode, top to bottom (by ``tau``); corners = the mean of the member candidates'.
    """
    curve = column.mean(axis=1)
    pitch = float(np.median(np.linalg.norm(np.diff(curve, axis=0), axis=1)))
    groups: list[list[int]] = []
    centres: list[np.ndarray] = []
    for k in range(len(final)):
        size = body_size(final[k])
        c = final[k].mean(axis=0)
        if np.linalg.norm(c - previous[k].mean(axis=0)) > move_max * size:
            continue
        for g, gc in zip(groups, centres, strict=True):
            if np.linalg.norm(gc - c) < join * pitch:
                g.append(k)
                break
        else:
            groups.append([k])
            centres.append(c)
    if not groups:
        return []
    quads = [final[g].mean(axis=0) for g in groups]
    taus = tau_along(np.array([q.mean(axis=0) for q in quads]), curve)
    nodes = [ChainNode(q, float(t), len(g)) for q, t, g in zip(quads, taus, groups, strict=True)]
    return sorted(nodes, key=lambda n: n.tau)


def _extent(corners: np.ndarray, axis: np.ndarray) -> tuple[float, float]:
    p = corners @ axis
    return float(p.min()), float(p.max())


def suppress_overlaps(nodes: Sequence[ChainNode], overlap_max: float = 0.35, tau_min: float = 0.0) -> list[ChainNode]:
    """Drop the weaker (less supported) of two nodes whose extents along the line joining them overlap by more than
    ``overlap_max`` of the smaller extent, or that lie less than ``tau_min`` film-stage levels apart: two fixed points
    on one vertebra. Returns the kept nodes top to bottom."""
    order = sorted(range(len(nodes)), key=lambda i: (-nodes[i].support, nodes[i].tau))
    kept: list[int] = []
    for i in order:
        a = nodes[i]
        ok = True
        for j in kept:
            b = nodes[j]
            if abs(a.tau - b.tau) < tau_min:
                ok = False
                break
            d = b.centre - a.centre
            norm = float(np.linalg.norm(d))
            if norm < 1e-9:
                ok = False
                break
            ax = d / norm
            a0, a1 = _extent(a.corners, ax)
            b0, b1 = _extent(b.corners, ax)
            if min(a1, b1) - max(a0, b0) > overlap_max * min(a1 - a0, b1 - b0):
                ok = False
                break
        if ok:
            kept.append(i)
    return sorted((nodes[i] for i in kept), key=lambda n: n.tau)


def fill_gaps(nodes: Sequence[ChainNode], room: float = 0.8, tau_gap: float = 1.6) -> list[ChainNode]:
    """Insert nodes (``support`` 0, interpolated corners) where a whole vertebra fits between two consecutive nodes.

    Either the free space between two nodes along the line joining them, minus the chain's median disc gap, exceeds
    ``room`` x the mean height of the two bodies (one inserted vertebra; each further body + disc: one more), or the
    two lie more than ``tau_gap`` film-stage levels apart (``round(gap) - 1`` inserted).
    """
    nodes = list(nodes)
    if len(nodes) < 3:
        return nodes
    gaps = []
    for a, b in zip(nodes, nodes[1:], strict=False):
        d = b.centre - a.centre
        ax = d / max(float(np.linalg.norm(d)), 1e-9)
        gaps.append(_extent(b.corners, ax)[0] - _extent(a.corners, ax)[1])
    disc = float(np.median(gaps))
    out = [nodes[0]]
    for g, b in zip(gaps, nodes[1:], strict=True):
        a = out[-1]
        h = (a.height + b.height) / 2.0
        k = int(math.floor((g - disc) / (h + disc) + (1.0 - room))) if g - disc > room * h else 0
        dt = b.tau - a.tau
        if dt > tau_gap:
            k = max(k, int(round(dt)) - 1)
        for j in range(1, k + 1):
            f = j / (k + 1)
            out.append(ChainNode(a.corners * (1 - f) + b.corners * f, a.tau * (1 - f) + b.tau * f, 0))
        out.append(b)
    return out


def window_cost(taus: np.ndarray, start: int, *, missing: float = 4.0, first: int = 0) -> float:
    """How badly the 17 consecutive nodes from index ``start`` fit the film stage's levels 0..16:
    sum of ``|tau - level|`` over levels ``first..16``, plus ``missing`` per level whose node would lie outside the
    chain."""
    cost = 0.0
    for i in range(first, len(SPINE_LEVELS)):
        j = start + i
        cost += abs(float(taus[j]) - i) if 0 <= j < len(taus) else missing
    return cost


def choose_window(taus: np.ndarray, *, margin: float = 0.5, missing: float = 4.0, first: int = 0) -> tuple[int, int]:
    """The chain index of T1: ``(chosen, film)``.

    ``film`` is the film stage's own count (the node nearest its L5 is L5); ``chosen`` is the start of the window of
    17 consecutive nodes with the lowest :func:`window_cost` (levels ``first..16`` vote), kept only when it beats
    ``film``'s cost by more than ``margin`` (else ``film``). Windows must contain L1-L5 (indices ``start + 12`` ..
    ``start + 16`` inside the chain).
    """
    taus = np.asarray(taus, float)
    n = len(taus)
    film = int(np.argmin(np.abs(taus - (len(SPINE_LEVELS) - 1)))) - (len(SPINE_LEVELS) - 1)
    starts = [s for s in range(-(len(SPINE_LEVELS) - 5), n) if s + 12 >= 0 and s + 16 < n]
    if not starts:
        return film, film

    def cost(s: int) -> float:
        return window_cost(taus, s, missing=missing, first=first)

    best = min(starts, key=lambda s: (cost(s), abs(s - film)))
    if cost(best) < cost(film) - margin:
        return best, film
    return film, film


def recount_lumbar(
    model,  # noqa: ANN001 - inference.LandmarkModel (ap-vertebra)
    image: np.ndarray,
    spine_points: Mapping[str, tuple[float, float]],
    current: Mapping[str, tuple[float, float]],
    *,
    step: float = 0.3,
    iterations: int = 3,
    flip_average: bool = True,
    max_agree: float = 0.5,
    margin: float = 0.5,
    tau_min: float = 0.6,
    dedup: float = 0.1,
    first: int = 2,
    min_support: int = 3,
) -> LevelRecount | None:
    """L1-L5 counted on the chain of real vertebrae, or ``None`` when that agrees with ``current``.

    Parameters
    ----------
    model : LandmarkModel
        The AP vertebra model.
    image : (H, W) float ndarray
        The film.
    spine_points : name -> (x, y)
        The level-counting film stage's 68 corners (T1-L5).
    current : name -> (x, y)
        The current L1-L5 estimate (after the crop and vertebra stages).
    step, iterations, flip_average
        Candidate spacing (levels), refinement passes (>= 2), flip-averaged crops.
    dedup : float
        After the first pass, candidates within this many body sizes of an earlier one follow that one
        (:func:`same_place`; the later passes refine one crop per group).
    max_agree : float
        The chain's L1-L5 replace ``current`` only when they lie more than this many levels away from it
        (:func:`fusionwatch.detect.levels.level_offset`); else ``None`` (nothing to change).
    margin, first : float, int
        See :func:`choose_window` (``first = 2``: T1 and T2, where the chain and the film stage err most, do not
        vote).
    tau_min : float
        See :func:`suppress_overlaps`.
    min_support : int
        Every vertebra of the new L1-L5 must have at least this many converged candidates (``ChainNode.support``),
        else ``None``.

    Returns
    -------
    LevelRecount or None
        ``None`` also when the film stage's column is incomplete or the chain too short.
    """
    column = column_quads(spine_points)
    if column is None:
        return None
    ref = float(np.median([body_size(q) for q in column[12:]]))
    # the search needs no more than ~SEARCH_BODY_PX per body: a large film is shrunk once (cv2.INTER_AREA) instead of
    # blurring every candidate's crop (same crops up to resampling; several times faster on 2000-px films)
    f = min(1.0, SEARCH_BODY_PX / max(ref, 1e-9))
    small = image if f == 1.0 else cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    col = (column + 0.5) * f - 0.5  # pixel-centre origin: x_small = (x + 0.5) f - 0.5
    _, cand = candidate_quads(col, step)
    cand, _ = refine_quads(model, small, cand, ref_size=ref * f, flip_average=flip_average)
    # after the first pass many candidates sit on the same body: the later passes refine one of each such group
    rep = same_place(cand, dedup)
    uniq = np.unique(rep)
    cur = cand[uniq]
    previous = cur
    for _ in range(max(iterations, 2) - 1):
        previous = cur
        cur, _ = refine_quads(model, small, cur, ref_size=ref * f, flip_average=flip_average)
    where = np.searchsorted(uniq, rep)
    cand, previous = (cur[where] + 0.5) / f - 0.5, (previous[where] + 0.5) / f - 0.5
    nodes = fill_gaps(suppress_overlaps(chain_nodes(cand, previous, column), tau_min=tau_min))
    if len(nodes) < 5:
        return None
    taus = np.array([n.tau for n in nodes])
    start, _ = choose_window(taus, margin=margin, first=first)
    if start + 12 < 0 or start + 16 >= len(nodes):
        return None
    if min(nodes[start + 12 + i].support for i in range(5)) < min_support:
        return None  # some of the new L1-L5 were barely found (or inserted in a gap): do not rename on them
    pts = {
        f"{lv}.{c}": (float(nodes[start + 12 + i].corners[j][0]), float(nodes[start + 12 + i].corners[j][1]))
        for i, lv in enumerate(SPINE_LEVELS[12:])
        for j, c in enumerate(CORNERS)
    }
    moved = level_offset(pts, current)
    if moved is None or abs(moved) <= max_agree:
        return None
    return LevelRecount(pts, float(moved), start, tuple(nodes))


def recount_and_refine(
    model,  # noqa: ANN001 - inference.LandmarkModel (ap-vertebra)
    image: np.ndarray,
    spine_points: Mapping[str, tuple[float, float]],
    current: Mapping[str, tuple[float, float]],
    **kwargs: float,
) -> tuple[dict[str, tuple[float, float]], dict[str, float], dict[str, float], str] | None:
    """:func:`recount_lumbar`, then the vertebra stage once more on the renamed L1-L5
    (:func:`fusionwatch.detect.refine.refine_points`, the model's own settings).

    Returns
    -------
    None when the chain agrees with ``current``; else ``(points, spread, scale, reason)`` as returned by
    ``refine_points`` (film pixels; spread in crop input pixels; input pixels per film pixel), and a review reason
    saying by how many levels L1-L5 moved.
    """
    from fusionwatch.detect.refine import refine_points

    rc = recount_lumbar(model, image, spine_points, current, **kwargs)
    if rc is None:
        return None
    p, s, k = refine_points(model, image, rc.points)
    pts = {**rc.points, **p}
    reason = (
        f"level counting on the chain of vertebrae moved L1-L5 {abs(rc.moved):.1f} levels "
        f"{'lower' if rc.moved > 0 else 'higher'} than the film stage's count: check the vertebral levels"
    )
    return pts, s, k, reason
