"""Posing the bundled anatomy with known parameters, in the sagittal plane.

Patient frame, millimetres: **+x anterior, +y toward the lateral detector (patient left), +z superior**; angles in
degrees, positive = counter-clockwise in the (x, z) plane, raising the anterior end. Every bone moves rigidly in the
sagittal plane (rotation about y, translation in x and z) after a uniform size scaling; y is only scaled.

The chain is built from the pelvis up: the sacrum is turned inside the pelvis to realise the pelvic incidence, the whole
pelvis turns about the hip axis to realise the pelvic tilt, then each lumbar vertebra is placed on the one below by its
disc angle, its posterior disc height and its slip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from fusionwatch.sim.anatomy import SPINE_BONES, Anatomy

__all__ = ["SpineParams", "Pose", "pose_spine", "wedge_angles", "DISCS", "rot2"]

DISCS: tuple[tuple[str, str], ...] = (("L1", "L2"), ("L2", "L3"), ("L3", "L4"), ("L4", "L5"), ("L5", "S1"))
"""The five lumbar discs, top to bottom, as (upper, lower) bones."""


T12_SHAPE_SCALE = 0.95
"""T12 is drawn (never landmarked) as the L1 shape at this scale, so lateral films show the thoracolumbar junction."""


def rot2(deg: float) -> np.ndarray:
    """2x2 counter-clockwise rotation in the (x, z) plane (raises the anterior end for positive angles)."""
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def _angle(u: np.ndarray) -> float:
    return math.degrees(math.atan2(u[1], u[0]))


BODY_SHAPE_RANGE = (0.8, 1.2)
"""The range :attr:`SpineParams.body_shapes` factors (depth, height) must lie in."""


@dataclass(frozen=True)
class SpineParams:
    """Declared parameters of one patient in one posture.

    Attributes
    ----------
    pelvic_incidence_deg, pelvic_tilt_deg : float
        Targets realised exactly in the mid-sagittal plane (hip axis = midpoint of the two head centres).
    disc_angles_deg : tuple of 5 floats
        Lordotic angle of each disc L1-L2 ... L5-S1 (upper inferior vs lower superior endplate), lordosis positive.
    disc_posterior_heights_mm : tuple of 5 floats
        Height of each disc along the lower endplate's normal at its posterior corner (mm, at the patient).
    slips_mm : tuple of 5 floats
        Displacement of the upper posterior-inferior corner along the lower endplate, anterolisthesis positive (mm).
    scale : float
        Uniform body-size factor applied to the bone shapes (1 = the Visible Human Male).
    body_shapes : tuple of 5 (depth, height) pairs
        Per-vertebra L1..L5 shape factors applied in the sagittal plane on top of ``scale`` (anterior-posterior depth,
        superior-inferior height); (1, 1) keeps the bundled shape. Changes the bodies' wedge angles accordingly.
    """

    pelvic_incidence_deg: float = 52.0
    pelvic_tilt_deg: float = 13.0
    disc_angles_deg: tuple[float, ...] = (2.0, 4.0, 6.0, 9.0, 12.0)
    disc_posterior_heights_mm: tuple[float, ...] = (6.0, 6.5, 7.0, 7.0, 6.0)
    slips_mm: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
    scale: float = 1.0
    body_shapes: tuple[tuple[float, float], ...] = ((1.0, 1.0),) * 5
    disc_degeneration: tuple[float, ...] = (0.0,) * 5
    """Per disc L1-L2 ... L5-S1, 0 (healthy) to 1 (severe): anterior osteophytes and endplate sclerosis on the films
    (appearance only; the corner landmarks stay on the vertebral body corners, as readers place them)."""
    coronal_wedges_deg: tuple[float, ...] = (0.0,) * 5
    """Coronal wedge of each disc L1-L2 ... L5-S1 on AP films (deg): upper endplate tilt minus lower endplate tilt,
    positive = the disc taller on the image right. Their running sums make the lumbar curve (coronal Cobb)."""
    lateral_listhesis_mm: tuple[float, ...] = (0.0,) * 5
    """Lateral offset of each upper endplate midpoint from the lower one along the lower endplate on AP films (mm at
    the vertebral bodies' plane), positive toward the image right."""
    axial_rotations_deg: tuple[float, ...] = (0.0,) * 5
    """Axial rotation of each vertebra L1 ... L5 on AP films (deg, version 13): a rigid turn about the vertebra's own
    long axis (the line through its two endplate midpoints, which therefore stay where the coronal chain puts them),
    positive = the vertebral body turns toward the image right (its anterior part moves to +y) and so the posterior
    elements (pedicles, spinous process) toward the image left. In a scoliosis the body turns toward the convexity.
    Zero (the default) leaves every AP film and truth as in version 12; lateral films ignore it."""
    vertebral_wedges_deg: tuple[float, ...] = (0.0,) * 5
    """Coronal wedge of each vertebral body L1 ... L5 on AP films (deg, version 14): superior endplate tilt minus
    inferior endplate tilt, positive = the body taller on the image right (as the discs' ``coronal_wedges_deg``). The
    vertebra bends in the coronal plane: a point turns by this angle times its height fraction between the inferior
    (0) and superior (1) endplate midpoints (clipped to 0 ... 1), so both endplates stay straight and the body becomes
    a wedge; the vertebra above sits on the tilted superior endplate. Zero (the default) leaves AP films as before;
    lateral films ignore it."""
    coronal_widths: tuple[float, ...] = (1.0,) * 5
    """Left-right width factor of each vertebra L1 ... L5 on AP films (version 21, 0.8-1.35; T12 takes L1's): every
    point of the vertebra (bone volumes, endplates, wall, pedicles, processes, posterior arch, AP landmarks) moves
    away from the mid-sagittal plane by this factor, after the sagittal pose and before the axial rotation; the
    splatted bone keeps its path length along the AP ray. One (the default) leaves AP films and truth as before;
    lateral films ignore it."""

    def __post_init__(self) -> None:
        if len(self.disc_degeneration) != 5 or not all(0.0 <= g <= 1.0 for g in self.disc_degeneration):
            raise ValueError(f"disc_degeneration needs 5 values in [0, 1], got {self.disc_degeneration!r}.")
        lo, hi = BODY_SHAPE_RANGE
        if len(self.body_shapes) != 5 or not all(
            len(b) == 2 and all(lo <= v <= hi for v in b) for b in self.body_shapes
        ):
            raise ValueError(f"body_shapes needs 5 (depth, height) pairs in [{lo}, {hi}], got {self.body_shapes!r}.")
        if len(self.coronal_wedges_deg) != 5 or not all(abs(w) <= 20.0 for w in self.coronal_wedges_deg):
            raise ValueError(f"coronal_wedges_deg needs 5 values within +-20 deg, got {self.coronal_wedges_deg!r}.")
        if len(self.axial_rotations_deg) != 5 or not all(abs(v) <= 40.0 for v in self.axial_rotations_deg):
            raise ValueError(f"axial_rotations_deg needs 5 values within +-40 deg, got {self.axial_rotations_deg!r}.")
        if len(self.vertebral_wedges_deg) != 5 or not all(abs(v) <= 15.0 for v in self.vertebral_wedges_deg):
            raise ValueError(f"vertebral_wedges_deg needs 5 values within +-15 deg, got {self.vertebral_wedges_deg!r}.")
        if len(self.coronal_widths) != 5 or not all(0.8 <= v <= 1.35 for v in self.coronal_widths):
            raise ValueError(f"coronal_widths needs 5 values in [0.8, 1.35], got {self.coronal_widths!r}.")
        if len(self.lateral_listhesis_mm) != 5 or not all(abs(v) <= 15.0 for v in self.lateral_listhesis_mm):
            raise ValueError(f"lateral_listhesis_mm needs 5 values within +-15 mm, got {self.lateral_listhesis_mm!r}.")
        for name in ("disc_angles_deg", "disc_posterior_heights_mm", "slips_mm"):
            if len(getattr(self, name)) != 5:
                raise ValueError(f"{name} needs 5 values (L1-L2 ... L5-S1), got {getattr(self, name)!r}.")
        if not 0.7 <= self.scale <= 1.3:
            raise ValueError(f"scale must be in [0.7, 1.3], got {self.scale!r}.")
        if min(self.disc_posterior_heights_mm) < 0.5:
            raise ValueError(f"disc heights must be >= 0.5 mm, got {self.disc_posterior_heights_mm!r}.")

    def moved(
        self,
        d_angles: tuple[float, ...],
        d_slips: tuple[float, ...] = (0.0,) * 5,
        d_heights: tuple[float, ...] = (0.0,) * 5,
        d_tilt: float = 0.0,
    ) -> "SpineParams":
        """A copy with disc angles, slips, heights and pelvic tilt changed by the given amounts."""
        return replace(
            self,
            disc_angles_deg=tuple(a + d for a, d in zip(self.disc_angles_deg, d_angles, strict=False)),
            slips_mm=tuple(a + d for a, d in zip(self.slips_mm, d_slips, strict=False)),
            disc_posterior_heights_mm=tuple(
                max(0.5, a + d) for a, d in zip(self.disc_posterior_heights_mm, d_heights, strict=False)
            ),
            pelvic_tilt_deg=self.pelvic_tilt_deg + d_tilt,
        )


@dataclass(frozen=True)
class Pose:
    """Rigid sagittal transforms: bone -> (2x2 matrix with scale, translation), mesh (x, z) -> patient (x, z)."""

    transforms: dict[str, tuple[np.ndarray, np.ndarray]]
    scale: float
    corners: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """Posed endplate corners, bone -> name -> (x, z) mm, mid-sagittal (y = 0)."""
    femoral_heads: tuple[tuple[np.ndarray, float], ...] = ()
    """Posed head centres (x, y, z) mm and radii mm, +y head first."""
    coronal: dict[str, tuple[float, np.ndarray, np.ndarray]] = field(default_factory=dict)
    """AP films only: bone -> (angle deg, pivot (y, z), placed pivot (y, z)); a rigid motion in the coronal (y, z)
    plane applied after the sagittal pose: ``q = R(angle) (p - pivot) + placed``. Missing bones do not move."""
    axial: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """AP films only (version 13): bone -> (3x3 rotation, point on the axis (x, y, z)): the axial rotation about the
    vertebra's own long axis, applied after the sagittal pose and before the coronal motion. Missing bones do not
    turn."""
    bend: dict[str, tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    """AP films only (version 14): bone -> (body wedge deg, a point and the upward unit normal (x, z) of the inferior
    endplate line, the same for the superior one; after the sagittal pose): a point turns by the wedge times its
    height fraction (0 on the inferior, 1 on the superior endplate line, clipped), about the coronal pivot, with the
    coronal motion (see ``SpineParams.vertebral_wedges_deg``). Missing bones are rigid."""
    widths: dict[str, float] = field(default_factory=dict)
    """AP films only (version 21): bone -> left-right width factor about the mid-sagittal plane (y = 0), applied
    first (see ``SpineParams.coronal_widths``). Missing bones keep their width."""

    def width(self, bone: str) -> float:
        """The left-right width factor of ``bone`` on AP films (1 = as drawn)."""
        return self.widths.get(bone, 1.0)

    def width_weight(self, bone: str, lower: str | None = None, v: np.ndarray | None = None) -> float | np.ndarray:
        """Factor on the weights of points splatted for ``bone`` on AP films (version 21's rule, named once in
        version 26): :meth:`apply_coronal` spreads a widened vertebra's points in y by its width factor, so each
        point's weight (mu x volume) grows by the same factor and the path along the AP ray is kept.

        ``lower`` and ``v`` (array, 0 ... 1): points between ``bone`` (v = 0) and ``lower`` (v = 1), such as a disc
        between two vertebrae, take the blend ``(1 - v) * width(bone) + v * width(lower)``, as their position does.
        Exactly 1.0 when no width applies (so the weights of films without widths are unchanged to the bit)."""
        if lower is None:
            return self.width(bone)
        if bone not in self.widths and lower not in self.widths:
            return 1.0
        return (1 - v) * self.width(bone) + v * self.width(lower)

    def mesh_weight(self, bone: str) -> float:
        """Factor on the weights of points sampled on a grid in ``bone``'s mesh frame (mu x mesh-frame volume) and
        posed onto AP films (version 30): the volume the pose gives each point's cell, i.e. the determinant of the
        mesh-to-patient map, ``|det A|`` of the sagittal transform (uniform scale squared times the body's depth and
        height factors) times the left-right scale (``scale``; T12 also ``T12_SHAPE_SCALE``). Multiply with
        :meth:`width_weight` for the coronal width and :meth:`bend_weight` for a wedged body (version 33).

        A body's points spread over its posed area; with this factor each point carries its posed volume, so the
        path along the AP ray scales as physics says: with ``scale`` and with the depth factor (the ray runs through
        the deeper body), not with the height factor. Up to version 29 the voxel bodies carried ``scale`` alone and
        the splatted arch points ``scale`` on mesh-frame cells: a height factor 1.15 drew the body's path x0.87, a
        depth factor 1.15 x1.0 (physics: x1.0 and x1.15), a scale 0.9 x1.11 (physics: x0.9)."""
        A, _ = self.transforms[bone]
        y_scale = self.scale * (T12_SHAPE_SCALE if bone == "T12" else 1.0)
        return abs(float(A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0])) * y_scale

    def bend_weight(self, bone: str, p3: np.ndarray) -> float | np.ndarray:
        """Factor on the weights of points of ``bone`` splatted on AP films through :meth:`apply_coronal` (version 33):
        the volume the body's coronal wedge (:attr:`bend`) gives each point, i.e. the Jacobian determinant of the bend.
        ``p3`` (N, 3) mm are the points :meth:`apply_coronal` takes (after the sagittal pose). Exactly 1.0 (a float)
        for a bone without a wedge, so other films' weights are unchanged to the bit; the width has its own
        :meth:`width_weight` and the axial rotation keeps volumes.

        The bend turns a point by the wedge times its height fraction ``f`` (0 on the inferior, 1 on the superior
        endplate line): points on the side that opens spread apart vertically, on the other side they crowd, so
        without this factor the path along the AP ray rose on the closing side and fell on the opening one (a 10 deg
        L3 wedge: x0.93 and x1.06 on its two halves, where the ray still crosses the same depth of bone). With the
        width ``W``, the axial rotation ``R`` and ``q`` the point after it, the determinant is
        ``1 + grad f . R^T (0, -b r_z, b r_y)``, ``r = q_yz - pivot``, ``b`` the wedge in radians."""
        if bone not in self.bend or bone not in self.coronal:
            return 1.0
        wedge, ci, ni, cs, ns = self.bend[bone]
        p = np.array(p3, dtype=np.float64, copy=True)
        if bone in self.widths:
            p[..., 1] *= self.widths[bone]
        d_i = (p[..., 0] - ci[0]) * ni[0] + (p[..., 2] - ci[1]) * ni[1]
        d_s = (p[..., 0] - cs[0]) * ns[0] + (p[..., 2] - cs[1]) * ns[1]
        den = d_i - d_s
        inside = (den > 1e-6) & (d_i >= 0.0) & (d_i <= den)  # f = d_i / den, not clipped
        den = np.maximum(den, 1e-6)
        grad = np.zeros(p.shape, dtype=np.float64)
        grad[..., 0] = np.where(inside, (d_i * ns[0] - d_s * ni[0]) / den**2, 0.0)
        grad[..., 2] = np.where(inside, (d_i * ns[1] - d_s * ni[1]) / den**2, 0.0)
        q = p
        if bone in self.axial:
            Rx, c = self.axial[bone]
            q = (p - c) @ Rx.T + c
        piv = self.coronal[bone][1]
        b = math.radians(wedge)
        u = np.zeros(p.shape, dtype=np.float64)
        u[..., 1] = -b * (q[..., 2] - piv[1])
        u[..., 2] = b * (q[..., 1] - piv[0])
        if bone in self.axial:
            u = u @ self.axial[bone][0]  # R^T u, row-wise
        return 1.0 + np.sum(grad * u, axis=-1)

    def apply_coronal(self, bone: str, p3: np.ndarray) -> np.ndarray:
        """Points (..., 3) mm after the sagittal pose -> after the width, axial rotation and coronal pose."""
        if bone in self.widths:
            p3 = np.array(p3, dtype=np.float64, copy=True)
            p3[..., 1] *= self.widths[bone]
        frac = self._height_fraction(bone, p3) if bone in self.bend else None
        if bone in self.axial:
            Rx, c = self.axial[bone]
            p3 = (np.asarray(p3, dtype=np.float64) - c) @ Rx.T + c
        if bone not in self.coronal:
            return p3
        ang, piv, placed = self.coronal[bone]
        if frac is not None:
            a = np.radians(ang + self.bend[bone][0] * frac)
            c, s = np.cos(a), np.sin(a)
            p3 = np.asarray(p3, dtype=np.float64)
            y, z = p3[..., 1] - piv[0], p3[..., 2] - piv[1]
            out = p3.copy()
            out[..., 1] = c * y - s * z + placed[0]
            out[..., 2] = s * y + c * z + placed[1]
            return out
        R = rot2(ang)
        out = np.array(p3, dtype=np.result_type(p3, np.float64), copy=True)
        yz = (np.asarray(p3)[..., [1, 2]] - piv) @ R.T + placed
        out[..., 1], out[..., 2] = yz[..., 0], yz[..., 1]
        return out

    def _height_fraction(self, bone: str, p3: np.ndarray) -> np.ndarray:
        """0 on the inferior endplate line, 1 on the superior one (in the sagittal plane, before any rotation)."""
        _, ci, ni, cs, ns = self.bend[bone]
        p3 = np.asarray(p3, dtype=np.float64)
        d_i = (p3[..., 0] - ci[0]) * ni[0] + (p3[..., 2] - ci[1]) * ni[1]
        d_s = (p3[..., 0] - cs[0]) * ns[0] + (p3[..., 2] - cs[1]) * ns[1]
        return np.clip(d_i / np.maximum(d_i - d_s, 1e-6), 0.0, 1.0)

    def apply(self, bone: str, xz: np.ndarray) -> np.ndarray:
        A, t = self.transforms[bone]
        return np.asarray(xz, dtype=float) @ A.T + t

    def angle_deg(self, bone: str) -> float:
        A, _ = self.transforms[bone]
        return _angle(A[:, 0])


def _pelvic_angles(s1a: np.ndarray, s1p: np.ndarray, hip: np.ndarray) -> tuple[float, float]:
    """(PI, PT) in the patient frame (x anterior, z superior); SS = PI - PT."""
    u = s1a - s1p
    ss = abs(_angle(u)) if abs(_angle(u)) <= 90 else 180 - abs(_angle(u))
    m = (s1a + s1p) / 2
    d = m - hip
    pt = math.degrees(math.atan2(-d[0], d[1]))
    return pt + ss, pt


def _bisect(f, lo: float, hi: float, target: float, iters: int = 60) -> float:
    flo = f(lo) - target
    for _ in range(iters):
        mid = (lo + hi) / 2
        fm = f(mid) - target
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return (lo + hi) / 2


def pose_spine(anatomy: Anatomy, p: SpineParams) -> Pose:
    """Rigid sagittal transforms that realise ``p`` exactly (see module docstring)."""
    s = p.scale
    cor = {b: {k: np.asarray(v) * s for k, v in c.items()} for b, c in anatomy.corners.items()}
    heads3 = [(c * s, r * s) for c, r in anatomy.femoral_heads]
    hip = (heads3[0][0][[0, 2]] + heads3[1][0][[0, 2]]) / 2
    s1a0, s1p0 = cor["S1"]["superior.anterior"], cor["S1"]["superior.posterior"]
    pivot = anatomy.centroids["S1"][[0, 2]] * s  # the sacrum turns about its own centroid inside the pelvis

    def sacrum_pi(alpha: float) -> float:
        R = rot2(alpha)
        return _pelvic_angles(R @ (s1a0 - pivot) + pivot, R @ (s1p0 - pivot) + pivot, hip)[0]

    alpha = _bisect(sacrum_pi, -40.0, 40.0, p.pelvic_incidence_deg)
    Rs = rot2(alpha)
    s1a, s1p = Rs @ (s1a0 - pivot) + pivot, Rs @ (s1p0 - pivot) + pivot

    def tilt(gamma: float) -> float:
        R = rot2(gamma)
        return _pelvic_angles(R @ (s1a - hip) + hip, R @ (s1p - hip) + hip, hip)[1]

    gamma = _bisect(tilt, -60.0, 60.0, p.pelvic_tilt_deg)
    Rg = rot2(gamma)
    # patient frame: the hip axis at the origin
    T: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    T["pelvis"] = (Rg * s, -Rg @ hip)
    A_s = Rg @ Rs * s
    t_s = Rg @ (pivot - Rs @ pivot - hip)
    T["S1"] = (A_s, t_s)
    posed = {"S1": {k: A_s @ (v / s) + t_s for k, v in cor["S1"].items()}}
    shape = {b: np.diag(f) for b, f in zip(SPINE_BONES[:-1], p.body_shapes, strict=True)}
    for b, S in shape.items():
        cor[b] = {k: S @ v for k, v in cor[b].items()}
    for (upper, lower), ang, hp, sl in zip(
        reversed(DISCS),
        reversed(p.disc_angles_deg),
        reversed(p.disc_posterior_heights_mm),
        reversed(p.slips_mm),
        strict=False,
    ):
        la, lp = posed[lower]["superior.anterior"], posed[lower]["superior.posterior"]
        u = (la - lp) / np.linalg.norm(la - lp)
        n = np.array([-u[1], u[0]])
        target_p = lp + sl * u + hp * n
        target_phi = _angle(u) + ang
        ua0 = cor[upper]["inferior.anterior"] - cor[upper]["inferior.posterior"]
        R = rot2(target_phi - _angle(ua0))
        A = R @ shape[upper] * s
        t = target_p - R @ cor[upper]["inferior.posterior"]
        T[upper] = (A, t)
        posed[upper] = {k: R @ v + t for k, v in cor[upper].items()}
    # T12 (appearance only, no landmarks): the L1 shape at 95 %, on a 5 mm disc, 1 deg kyphotic
    l1a, l1p = posed["L1"]["superior.anterior"], posed["L1"]["superior.posterior"]
    u = (l1a - l1p) / np.linalg.norm(l1a - l1p)
    n = np.array([-u[1], u[0]])
    ua0 = cor["L1"]["inferior.anterior"] - cor["L1"]["inferior.posterior"]
    R = rot2(_angle(u) - 1.0 - _angle(ua0))
    t12 = l1p + 5.0 * n - R @ cor["L1"]["inferior.posterior"] * T12_SHAPE_SCALE
    T["T12"] = (R @ shape["L1"] * s * T12_SHAPE_SCALE, t12)
    T["pelvis_pos"] = T["pelvis_neg"] = T["pelvis"]
    heads = []
    for c, r in heads3:
        xz = Rg @ (c[[0, 2]] - hip)
        heads.append((np.array([xz[0], c[1], xz[1]]), r))
    widths = {b: float(f) for b, f in zip(("L1", "L2", "L3", "L4", "L5"), p.coronal_widths, strict=True) if f != 1.0}
    if "L1" in widths:
        widths["T12"] = widths["L1"]
    return Pose(T, s, posed, tuple(heads), _coronal_chain(posed, p), _axial(posed, p), _bends(posed, p), widths)


def _axial(posed: dict[str, dict[str, np.ndarray]], p: SpineParams) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Axial rotations of L1-L5 (T12 turns with L1) about each vertebra's long axis through its endplate midpoints
    (Rodrigues; the axis points superior, so a positive angle takes +x (anterior) toward +y)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for b, deg in zip(("L1", "L2", "L3", "L4", "L5"), p.axial_rotations_deg, strict=True):
        if not deg:
            continue
        c = posed[b]
        lo = (c["inferior.anterior"] + c["inferior.posterior"]) / 2
        hi = (c["superior.anterior"] + c["superior.posterior"]) / 2
        k = np.array([hi[0] - lo[0], 0.0, hi[1] - lo[1]])
        k /= np.linalg.norm(k)
        K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
        a = math.radians(deg)
        R = np.eye(3) + math.sin(a) * K + (1.0 - math.cos(a)) * (K @ K)
        out[b] = (R, np.array([lo[0], 0.0, lo[1]]))
    if "L1" in out:
        out["T12"] = out["L1"]
    return out


def _coronal_chain(
    posed: dict[str, dict[str, np.ndarray]], p: SpineParams
) -> dict[str, tuple[float, np.ndarray, np.ndarray]]:
    """Coronal rigid motions of L1-L5 (and T12 with L1), built from the sacrum up like the sagittal chain: each upper
    vertebra is tilted by its disc's coronal wedge relative to the one below and its inferior endplate midpoint is set
    at the same height above the lower superior endplate midpoint (along that endplate's normal) plus the lateral
    listhesis along the endplate. The sacrum stays level."""
    if not any(p.coronal_wedges_deg) and not any(p.lateral_listhesis_mm) and not any(p.vertebral_wedges_deg):
        return {}
    out: dict[str, tuple[float, np.ndarray, np.ndarray]] = {}
    phi = {"S1": 0.0}
    place = {"S1": (np.zeros(2), np.zeros(2))}  # (pivot, placed): identity for the sacrum
    body = dict(zip(("L1", "L2", "L3", "L4", "L5", "S1"), (*p.vertebral_wedges_deg, 0.0), strict=True))

    def moved(bone: str, yz: np.ndarray) -> np.ndarray:
        # (points of the superior endplate: a wedged body's top is turned by its wedge too)
        piv, placed = place[bone]
        return rot2(phi[bone] + body[bone]) @ (yz - piv) + placed

    for (upper, lower), w, lat in zip(
        reversed(DISCS), reversed(p.coronal_wedges_deg), reversed(p.lateral_listhesis_mm), strict=True
    ):
        lo = posed[lower]
        up = posed[upper]
        z_lo = float((lo["superior.anterior"][1] + lo["superior.posterior"][1]) / 2)
        z_up = float((up["inferior.anterior"][1] + up["inferior.posterior"][1]) / 2)
        lo_mid = moved(lower, np.array([0.0, z_lo]))
        e = rot2(phi[lower] + body[lower]) @ np.array([1.0, 0.0])
        n = np.array([-e[1], e[0]])
        phi[upper] = phi[lower] + body[lower] + w
        pivot = np.array([0.0, z_up])
        place[upper] = (pivot, lo_mid + lat * e + (z_up - z_lo) * n)
        out[upper] = (phi[upper], *place[upper])
    out["T12"] = (out["L1"][0] + body["L1"], *out["L1"][1:])  # T12 sits on L1's (possibly wedged) top
    return out


def _bends(
    posed: dict[str, dict[str, np.ndarray]], p: SpineParams
) -> dict[str, tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The wedged bodies' endplate lines (see ``Pose.bend``)."""
    out = {}
    for b, wedge in zip(("L1", "L2", "L3", "L4", "L5"), p.vertebral_wedges_deg, strict=True):
        if not wedge:
            continue
        c = posed[b]
        lines = []
        for ep in ("inferior", "superior"):
            a, q = c[f"{ep}.anterior"], c[f"{ep}.posterior"]
            u = (a - q) / np.linalg.norm(a - q)
            n = np.array([-u[1], u[0]])
            if n[1] < 0:  # upward
                n = -n
            lines += [(a + q) / 2, n]
        out[b] = (float(wedge), *lines)
    return out


def wedge_angles(anatomy: Anatomy) -> dict[str, float]:
    """Intrinsic wedge of each lumbar body: superior minus inferior endplate inclination (deg, lordotic positive)."""
    out = {}
    for b in SPINE_BONES[:-1]:
        c = anatomy.corners[b]
        sup = np.subtract(c["superior.anterior"], c["superior.posterior"])
        inf = np.subtract(c["inferior.anterior"], c["inferior.posterior"])
        out[b] = _angle(sup) - _angle(inf)
    return out
