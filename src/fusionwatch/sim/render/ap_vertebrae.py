"""AP films: the thin cortical parts of each lumbar vertebra that the 1.5 mm volumes smear out, drawn analytically on
its pose: the endplates, the body's wall, the pedicle rings and the transverse processes (the posterior arch is in
:mod:`fusionwatch.sim.render.ap_arch`). Appearance only."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from fusionwatch.sim.anatomy import Anatomy
from fusionwatch.sim.camera import Camera
from fusionwatch.sim.pose import Pose
from fusionwatch.sim.render import ap_arch, ap_bones
from fusionwatch.sim.render.attenuation import MU
from fusionwatch.sim.render.draw import _splat, capsule

if TYPE_CHECKING:
    from fusionwatch.sim.render.projection import Scene

AP_TP_HALF_SPAN_MM = {"L1": 31.0, "L2": 39.0, "L3": 48.0, "L4": 42.0, "L5": 38.0}
"""Transverse-process tip distance from the mid-plane (mm, before the patient's factor 0.9-1.15 and a +-7 % factor per
side and level): L3 the longest, L1 and L5 short."""
AP_TP_RADIUS_MM = {"L1": 3.0, "L2": 3.3, "L3": 3.5, "L4": 3.9, "L5": 6.2}
"""Transverse-process root radius (mm): L5's short, thick process."""
AP_TP_TILT_DEG = {"L1": 4.0, "L2": 0.0, "L3": -2.0, "L4": 6.0, "L5": 16.0}
"""Mean rise of a transverse process toward its tip (deg; L4 up a little, L5 up-and-out toward the ala)."""
AP_ENDPLATE_MM = 0.9
AP_ENDPLATE_GAIN_V13 = 0.45
"""Version 13: the analytic endplates' weight (with the console's detail amplification, version-12 weights drew every
endplate as a stark white line at contact-sheet scale; real endplates are softer). 0.7 up to version 25; 0.45 since
version 26 (crisp bright endplate lines over dark gaps were the lead's first give-away)."""
"""Thickness of the cortical endplate plates added on AP films."""
AP_ENDPLATE_CONCAVITY_MM = (1.0, 2.6)
"""Range of the depth of the endplates' central dish (mm, per endplate): a concave plate seen edge-on is a soft band
with a brighter rim, not a sharp line (version 12)."""

AP_OUTLINE_GAIN = 1.2
"""Version 16: weight of the vertebral bodies' analytic wall and endplates on AP films (1.0 up to version 15: crisp,
bright-outlined boxes). Version 23 trials, not shipped (bright rims over a flatter body, as real films show at 1:1):
1.6 with ``AP_OUTLINE_BLUR_MM`` 0.25 and ``AP_VERTEBRA_TRABECULAR_FACTOR`` 1.1 level-shifted 2 of the 30
detector-check films and the AP screw detector found 184 of 192 with 10 false; 1.2 / 0.3 / 1.4: 2 of 30 shifted, 189
of 192 screws with 7 false (docs/simulator.md "Version 23"). 0.8 up to version 23; 1.2 since version 24 (R2 shipped
with ``AP_OUTLINE_BLUR_MM`` 0.3 and ``AP_VERTEBRA_TRABECULAR_FACTOR`` 1.4). The discs of ``_ap_discs`` are splatted
on the same layer but carry their own weight (``AP_DISC_MU``), not this gain."""
AP_CORTEX_BLUR_MM = 0.3
"""Version 16: blur (mm at the patient) of the analytic AP cortex (endplates, walls, pedicles, processes)."""
AP_OUTLINE_BLUR_MM = 0.3
"""Version 17: blur (mm at the patient) of the lumbar bodies' analytic wall and endplates on AP films (0.3 in version
16; 0.6 in versions 17-19, softer than real films' white endplate lines; 0.35 in versions 20-23; 0.3 since version
24, trial R2)."""
AP_PEDICLE_BLUR_MM = 1.0
"""Version 17: blur (mm at the patient) of the analytic pedicle rings on AP films (0.3 in version 16: crisp round
rings; 1.0 in versions 17-19; 0.55 in version 20: crisp bright rings on every vertebra, the sheet's "eyes"; 1.0 again
since version 21, with fainter rings, ``AP_PEDICLE_VISIBILITY``)."""
AP_WALL_MM = 0.8
"""Thickness of the vertebral body's cortical wall added on AP films (seen tangentially at the body's sides)."""
AP_BODY_WAIST = 0.11
"""Relative narrowing of the vertebral body at mid-height (the concave lateral outline; 0.07 up to version 11)."""


def _body_wall(L: np.ndarray, cam: Camera, pose: Pose, an: Anatomy, b: str, step: float) -> None:
    """The cortical wall of a lumbar body as an elliptic-cylinder shell between its endplates, with a waist (splatted
    points, AP films): where the beam runs tangentially, at the body's sides, it draws the bright lateral outline."""
    c = pose.corners[b]
    hw_i = an.endplate_half_widths[b]["inferior"] * pose.scale
    hw_s = an.endplate_half_widths[b]["superior"] * pose.scale
    height = float(
        np.linalg.norm(
            (c["superior.posterior"] + c["superior.anterior"]) / 2
            - (c["inferior.posterior"] + c["inferior.anterior"]) / 2
        )
    )
    depth = float(np.linalg.norm(c["inferior.anterior"] - c["inferior.posterior"]))
    nv = max(4, int(height / step))
    n_th = max(16, int(np.pi * (depth / 2 + max(hw_i, hw_s)) / step))
    v = (np.arange(nv) + 0.5) / nv
    th = (np.arange(n_th) + 0.5) / n_th * 2 * np.pi
    V, T = np.meshgrid(v, th, indexing="ij")
    post = (1 - V)[..., None] * c["inferior.posterior"] + V[..., None] * c["superior.posterior"]
    ant = (1 - V)[..., None] * c["inferior.anterior"] + V[..., None] * c["superior.anterior"]
    hw = ((1 - V) * hw_i + V * hw_s) * (1.0 - AP_BODY_WAIST * np.sin(np.pi * V) ** 0.7)
    u = 0.5 + 0.5 * np.cos(T)
    xz = post + (ant - post) * u[..., None]
    y = hw * np.sin(T)
    ds = np.sqrt((depth / 2 * np.sin(T)) ** 2 + (hw * np.cos(T)) ** 2) * (2 * np.pi / n_th)
    pre = np.column_stack([xz[..., 0].ravel(), y.ravel(), xz[..., 1].ravel()])
    p3 = pose.apply_coronal(b, pre)
    w = (MU["cortical"] * 0.28 * AP_WALL_MM * AP_OUTLINE_GAIN * (height / nv) * ds).ravel().astype(np.float32)
    w = w * np.float32(pose.width_weight(b))  # version 21 (a widened vertebra): its path along the ray stays
    if ap_bones.AP_POINT_VOLUMES and b in pose.bend:  # version 33: a wedged body's wall is longer on its open side
        w = w * np.asarray(pose.bend_weight(b, pre), dtype=np.float32)
    _splat(L, cam, p3, w)


def _tube(
    L: np.ndarray, cam: Camera, a3: np.ndarray, b3: np.ndarray, half_y: float, half_z: float, wall: float, step: float
) -> None:
    """An open cortical tube of elliptic section (half-axes ``half_y`` across, ``half_z`` up; ``wall`` mm thick)
    from ``a3`` to ``b3`` (patient mm, axis roughly along the AP ray), as splatted points. AP films (pedicles)."""
    length = float(np.linalg.norm(b3 - a3))
    n_s = max(4, int(length / step))
    n_t = max(24, int(np.pi * (half_y + half_z) / step))
    sv = (np.arange(n_s) + 0.5) / n_s
    th = (np.arange(n_t) + 0.5) / n_t * 2 * np.pi
    S, T = np.meshgrid(sv, th, indexing="ij")
    p3 = a3 + S[..., None] * (b3 - a3)
    p3 = p3.reshape(-1, 3).copy()
    p3[:, 1] += (half_y * np.cos(T)).ravel()
    p3[:, 2] += (half_z * np.sin(T)).ravel()
    arc = np.sqrt((half_y * np.sin(T)) ** 2 + (half_z * np.cos(T)) ** 2) * (2 * np.pi / n_t)
    w = (MU["cortical"] * 0.25 * wall * (length / n_s) * arc).ravel().astype(np.float32)
    _splat(L, cam, p3, w)


AP_PEDICLE_HALF_WIDTH_MM = (4.0, 4.4, 5.0, 5.8, 7.0)
"""Version 13: half the left-right width of the pedicle's oval (outer, mm) for L1 ... L5 (x 0.85-1.15 per side)."""
AP_PEDICLE_ASPECT = (1.9, 1.75, 1.55, 1.35, 1.12)
"""Version 13: height over width of the pedicle's oval, L1 ... L5 (upright at L1, nearly round at L5)."""
AP_PEDICLE_WALL_GAIN = 0.5
"""Version 13: share of cortical bone's attenuation of the pedicle wall seen end-on (the wall is filled across its
thickness: a thick ring; version 12 drew a line at 0.25; version 13-16: 0.45; version 17: 0.5, blurred by
``AP_PEDICLE_BLUR_MM``, a soft oval)."""


def _tube_v13(
    L: np.ndarray,
    cam: Camera,
    a3: np.ndarray,
    b3: np.ndarray,
    ey: np.ndarray,
    ez: np.ndarray,
    half_y: float,
    half_z: float,
    wall: float,
    step: float,
    roll_deg: float = 0.0,
    fade: float = 0.0,
    gain: float = 1.0,
    sides: float = 1.0,
    core: float = 0.0,
) -> None:
    """An open cortical tube of elliptic section (version 13): half-axes ``half_y`` along ``ey`` and ``half_z``
    along ``ez`` (the vertebra's own left-right and up directions, so the section turns with it), rolled by
    ``roll_deg``, with a ``wall`` mm thick cortex filled across its thickness (a thick ring, not a line); ``fade``
    (-1 ... 1) weakens the half toward ``+ey`` (positive) or ``-ey`` (negative); ``gain`` scales the whole ring
    (version 21). Version 39: ``sides`` (0 ... 1) is the weight of the wall at the top and bottom of the oval relative
    to its medial and lateral walls (``1``: an evenly bright ring, versions 13-38; the weight goes as
    ``sides + (1 - sides) cos^2`` of the angle from the ``ey`` axis), and ``core`` fills the inside of the oval with
    that share of the wall's attenuation (the pedicle's cancellous bone seen along its length: the inside of the oval
    is not darker than the bone around it). AP films (pedicles)."""
    ey = ey / np.linalg.norm(ey)
    ez = ez - ey * float(ez @ ey)
    ez = ez / np.linalg.norm(ez)
    r = math.radians(roll_deg)
    ey, ez = math.cos(r) * ey + math.sin(r) * ez, -math.sin(r) * ey + math.cos(r) * ez
    length = float(np.linalg.norm(b3 - a3))
    n_s = max(4, int(length / step))
    n_t = max(24, int(np.pi * (half_y + half_z) / step))
    n_w = max(2, int(math.ceil(wall / (2.0 * step))))
    sv = (np.arange(n_s) + 0.5) / n_s
    th = (np.arange(n_t) + 0.5) / n_t * 2 * np.pi
    wv = (np.arange(n_w) + 0.5) / n_w
    S, T, Wd = np.meshgrid(sv, th, wv, indexing="ij")
    ry = np.maximum(half_y - wall * Wd, 0.3)
    rz = np.maximum(half_z - wall * Wd, 0.3)
    p3 = a3 + S[..., None] * (b3 - a3) + (ry * np.cos(T))[..., None] * ey + (rz * np.sin(T))[..., None] * ez
    arc = np.sqrt((ry * np.sin(T)) ** 2 + (rz * np.cos(T)) ** 2) * (2 * np.pi / n_t)
    wt = 1.0 - abs(fade) * np.clip(np.sign(fade) * np.cos(T), 0.0, 1.0)
    if sides != 1.0:  # version 39: the medial and lateral walls brightest, the top and bottom faint
        wt = wt * (sides + (1.0 - sides) * np.cos(T) ** 2)
    w = MU["cortical"] * AP_PEDICLE_WALL_GAIN * gain * (wall / n_w) * (length / n_s) * arc * wt
    _splat(L, cam, p3.reshape(-1, 3), w.ravel().astype(np.float32))
    if core > 0.0:  # version 39: the cancellous inside, points on a polar grid of the inner oval
        iy, iz = max(half_y - wall, 0.3), max(half_z - wall, 0.3)
        n_r = max(2, int(math.ceil(max(iy, iz) / step)))
        rv = np.sqrt((np.arange(n_r) + 0.5) / n_r)  # equal-area rings
        S2, T2, R2 = np.meshgrid(sv, th, rv, indexing="ij")
        q3 = (
            a3
            + S2[..., None] * (b3 - a3)
            + (iy * R2 * np.cos(T2))[..., None] * ey
            + (iz * R2 * np.sin(T2))[..., None] * ez
        )
        area = math.pi * iy * iz / (n_t * n_r)
        wc = MU["cortical"] * AP_PEDICLE_WALL_GAIN * gain * core * (length / n_s) * area
        _splat(L, cam, q3.reshape(-1, 3), np.full(q3.shape[0] * q3.shape[1] * q3.shape[2], wc, np.float32))


AP_PEDICLE_VISIBILITY = (0.8, 1.3)
"""Version 21: the pedicle rings' weight per patient (uniform in this range, x 0.75-1.2 per pedicle; 1 up to version
20): on real AP films the pedicles are soft ovals, often barely visible, not bright rings on every vertebra.
(0.35, 0.85) in versions 21-25; (0.8, 1.3) since version 26: at 1:1 the real pedicle ovals are the most conspicuous
feature of each vertebra, and with the soft 1.0 mm blur the rings stay ovals, not the version-20 "eyes"."""

AP_PEDICLE_V39 = True
"""Version 39: pedicles as a real AP lumbar film shows them (the lead's give-away of version 38: evenly bright, crisp,
round rings with dark centres on every vertebra). Off: version 38's rings to the bit. On, from its own random stream
(``[seed, 3901]``; every earlier draw keeps its value): the cortical outline brightest at the medial and lateral walls
and faint at the top and bottom (``AP_PEDICLE_SIDES``), the inside filled with cancellous bone
(``AP_PEDICLE_CORE``), a thinner wall (``AP_PEDICLE_WALL_V39``), the ovals upright at L1-L3 and wider than tall,
lower, more lateral and fainter at L4-L5 (``AP_PEDICLE_ASPECT_V39``, ``AP_PEDICLE_LATERAL``,
``AP_PEDICLE_LEVEL_GAIN``), their contrast varying between levels and sides (``AP_PEDICLE_SPREAD``), and with an
axial rotation the convex side's pedicle narrower, the concave side's fainter (``AP_PEDICLE_ROTATION``)."""
AP_PEDICLE_SIDES = (0.15, 0.45)
"""Version 39: weight of the pedicle wall at the top and bottom of the oval relative to the medial and lateral walls
(uniform per pedicle in this range; 1 in versions 13-38)."""
AP_PEDICLE_CORE = (0.1, 0.3)
"""Version 39: the inside of the pedicle oval, as a share of the wall's attenuation (uniform per pedicle)."""
AP_PEDICLE_WALL_V39 = 1.0
"""Version 39: factor on the wall thickness (1.6-2.4 mm in versions 13-38: a thick ring)."""
AP_PEDICLE_ASPECT_V39 = (1.8, 1.65, 1.45, 1.1, 0.85)
"""Version 39: height over width of the pedicle oval, L1 ... L5 (x 0.85-1.15 per side as before): taller than wide in
the upper lumbar spine, wider than tall at L5 (versions 13-38: ``AP_PEDICLE_ASPECT``)."""
AP_PEDICLE_LATERAL = (1.08, 1.08, 1.1, 1.12, 1.15)
"""Version 39: factor on the pedicle oval's distance from the vertebra's mid-plane, L1 ... L5 (the ring only; the
arch and the processes keep theirs): the L4 and L5 pedicles sit further out."""
AP_PEDICLE_LEVEL_GAIN = (1.0, 1.0, 0.95, 0.8, 0.45)
"""Version 39: the pedicle oval's weight by level, L1 ... L5 (on ``AP_PEDICLE_VISIBILITY``): at L5 the pedicles
are often hardly seen (they overlap the body's lower lateral corner, the transverse processes and the ala)."""
AP_PEDICLE_SPREAD = (0.6, 1.3)
"""Version 39: a further factor per pedicle (uniform): contrast varies between levels and sides."""
AP_PEDICLE_PATIENT = (0.7, 1.6)
"""Version 39: a factor per patient (uniform, on top of ``AP_PEDICLE_VISIBILITY``): in some patients the pedicle ovals
are clear at every level, in others hardly seen."""
AP_PEDICLE_ROTATION = (0.025, 0.06)
"""Version 39: per degree of the vertebra's axial rotation, the convex side's pedicle narrows by the first share
(down to 0.55) and the concave side's fades by the second (down to 0.25)."""


def _axial_deg(pose: Pose, b: str) -> float:
    """The axial rotation of vertebra ``b`` on an AP film (deg; positive turns the front (+x) toward +y, the side the
    body turns toward: the convex side of the curve), 0 when it has none."""
    if b not in pose.axial:
        return 0.0
    R = pose.axial[b][0]
    return math.degrees(math.atan2(R[1, 0] - R[0, 1], R[0, 0] + R[1, 1]))


def _ap_cortex(
    L: np.ndarray,
    cam: Camera,
    scene: Scene,
    *,
    outline: np.ndarray | None = None,
    pedicles: np.ndarray | None = None,
    processes: np.ndarray | None = None,
) -> None:
    """AP films: the thin cortical structures the 1.5 mm volumes smear out, added analytically on each lumbar
    vertebra's pose (sagittal and coronal): the endplates (concave dishes with a denser rim, seen nearly edge-on: a
    soft, slightly curved band; an oval double contour where the endplate tilts), the pedicles (end-on: oval rings)
    and the transverse processes (tapering, per-level length, thickness and rise; L5 short and thick). Appearance
    only. Version 17: the bodies' endplates and walls go to ``outline`` and the pedicles to ``pedicles`` when given
    (the caller blurs each layer by its own width), otherwise to ``L``."""
    outline = L if outline is None else outline
    pedicles = L if pedicles is None else pedicles
    processes = L if processes is None else processes
    rng18 = np.random.default_rng([scene.seed, 1802])  # version 18: irregular transverse processes
    an, pose = scene.anatomy, scene.pose
    rng = np.random.default_rng([scene.seed, 3131])
    tp_factor = rng.uniform(0.9, 1.15)
    tp_tilt = rng.normal(0.0, 6.0, 5)  # deg: a transverse process rises or falls toward its tip
    # version 12: its own stream (the draws above keep their values), per endplate and per side
    rng12 = np.random.default_rng([scene.seed, 3132])
    concavity = rng12.uniform(*AP_ENDPLATE_CONCAVITY_MM, size=(6, 2))
    plate_gain = rng12.uniform(0.75, 1.1, size=(6, 2))
    tp_side = rng12.uniform(0.93, 1.07, size=(5, 2))
    tp_bend = rng12.normal(0.0, 4.0, size=(5, 2))  # deg: the distal half bends up or down
    ped_tilt = rng12.uniform(1.0, 2.5, size=5)  # mm: half the pedicle's fall from front to back
    rng13 = np.random.default_rng([scene.seed, 1301])  # version 13: pedicle shapes and the posterior arch
    ped_w = rng13.uniform(0.85, 1.15, size=(5, 2))
    ped_asp = rng13.uniform(0.85, 1.15, size=(5, 2))
    ped_wall = rng13.uniform(1.6, 2.4, size=(5, 2))
    ped_roll = rng13.normal(8.0, 6.0, size=(5, 2))  # deg: the top leans outward
    ped_fade = np.where(rng13.random((5, 2)) < 0.35, rng13.uniform(-0.7, 0.7, (5, 2)), 0.0)
    arch = rng13.uniform(0.8, 1.2, size=(5, 6))
    rng21 = np.random.default_rng([scene.seed, 2102])  # version 21: how visible the pedicles are (own stream)
    ped_vis = rng21.uniform(*AP_PEDICLE_VISIBILITY) * rng21.uniform(0.75, 1.2, size=(5, 2))
    if ap_arch.AP_LAMINA_GAIN > 0.0:  # version 26 trial P: own stream, drawn only when on
        rng26 = np.random.default_rng([scene.seed, 2601])
        lam_drop = rng26.uniform(*ap_arch.AP_LAMINA_DROP, size=(5, 2))
        lam_gain = rng26.uniform(0.7, 1.2, size=5)[:, None] * rng26.uniform(0.85, 1.15, size=(5, 2))
    if AP_PEDICLE_V39:  # version 39: own stream (top/bottom wall weight, core, contrast per pedicle)
        rng39 = np.random.default_rng([scene.seed, 3901])
        p39 = np.stack(
            [
                rng39.uniform(*AP_PEDICLE_SIDES, size=(5, 2)),
                rng39.uniform(*AP_PEDICLE_CORE, size=(5, 2)),
                rng39.uniform(*AP_PEDICLE_SPREAD, size=(5, 2)) * rng39.uniform(*AP_PEDICLE_PATIENT),
            ],
            axis=-1,
        )
        rot_deg = [_axial_deg(pose, b) for b in ("L1", "L2", "L3", "L4", "L5")]
    px_obj = cam.pixel_mm / cam.magnification
    step = max(0.25, 0.8 * px_obj)
    for i_b, b in enumerate(("L1", "L2", "L3", "L4", "L5", "S1")):
        c = pose.corners[b]
        width = an.warps[b].width if b in an.warps else 1.0
        centre = np.mean([v for v in c.values()], axis=0)
        for i_e, ep in enumerate(("superior", "inferior")):
            if f"{ep}.anterior" not in c:
                continue
            a, p = c[f"{ep}.anterior"], c[f"{ep}.posterior"]
            hw = an.endplate_half_widths[b][ep] * pose.scale
            ys = np.arange(-hw, hw, step) + step / 2
            fs = np.arange(0.0, 1.0, step / float(np.linalg.norm(a - p))) + step / (2 * float(np.linalg.norm(a - p)))
            Y, F = np.meshgrid(ys, fs, indexing="ij")
            half = np.sqrt(np.clip(1.0 - (Y / hw) ** 2, 0.0, 1.0))  # elliptic endplate outline
            keep = np.abs(F - 0.5) <= 0.5 * half
            mid, d = (a + p) / 2, a - p
            normal = np.array([-d[1], d[0]]) / float(np.linalg.norm(d))
            if float(normal @ (centre - mid)) < 0:  # into the body
                normal = -normal
            rho2 = np.clip((Y[keep] / hw) ** 2 + (2.0 * (F[keep] - 0.5)) ** 2, 0.0, 1.0)
            # the central dish sinks into the body; the rim (ring apophysis) is denser than the thin centre
            xz = mid + (F[keep] - 0.5)[:, None] * d + (concavity[i_b, i_e] * (1.0 - rho2))[:, None] * normal
            p3 = np.column_stack([xz[:, 0], Y[keep], xz[:, 1]])
            p3 = pose.apply_coronal(b, p3)
            wt = (0.5 + 0.7 * rho2**3) * plate_gain[i_b, i_e] * AP_ENDPLATE_GAIN_V13 * AP_OUTLINE_GAIN
            wt = wt * pose.width_weight(b)  # version 21: as in _ap_bones
            _splat(
                outline if b != "S1" else L,
                cam,
                p3,
                (MU["cortical"] * 0.2 * AP_ENDPLATE_MM * step * step * wt).astype(np.float32),
            )
        if b == "S1":
            continue
        _body_wall(outline, cam, pose, an, b, step)
        A, t = pose.transforms[b]
        m = an.corners[b]  # mesh frame (warped)
        xp = float(np.mean([v[0] for k, v in m.items() if k.endswith("posterior")]))
        zs = float(np.mean([v[1] for k, v in m.items() if k.startswith("superior")]))
        zi = float(np.mean([v[1] for k, v in m.items() if k.startswith("inferior")]))
        hw = float(np.mean(list(an.endplate_half_widths[b].values()))) * width
        ped_y = 0.64 * hw
        z_ped = zi + 0.62 * (zs - zi)
        lvl = ("L1", "L2", "L3", "L4", "L5").index(b)
        r_tp = AP_TP_RADIUS_MM[b]
        for i_s, side in enumerate((-1.0, 1.0)):

            def posed(x, y, z, b: str = b, A: np.ndarray = A, t: np.ndarray = t) -> np.ndarray:
                """Mesh-frame (x, y, z) mm (scalars or equal-length arrays) -> the film's patient frame."""
                x, y, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, y, z)))
                xz = np.stack([x, z], axis=-1) @ A.T + t
                return pose.apply_coronal(b, np.stack([xz[..., 0], y * pose.scale, xz[..., 1]], axis=-1))

            # pedicle: an open cortical tube of oval section (taller than wide) running back and a little down and
            # out; seen end-on, an upright oval ring (its ends merge into the body and the lamina: no caps)
            # (version 13: the cross-section turns with the vertebra (axial rotation, coronal tilt), the wall is
            # 1.6-2.4 mm thick across its width, width and shape vary by level (L1 narrow and upright, L5 broad and
            # round), a slight roll, and the lateral or medial half is sometimes faint)
            front = posed(xp + 1.0, side * ped_y * 0.92, z_ped + ped_tilt[lvl])
            rear = posed(xp - 13.0, side * ped_y * 1.04, z_ped - ped_tilt[lvl])
            o3 = posed(xp - 6.0, side * ped_y, z_ped)
            ey = posed(xp - 6.0, side * ped_y + side / pose.scale, z_ped) - o3
            ez = posed(xp - 6.0, side * ped_y, z_ped + 1.0 / float(np.linalg.norm(A[:, 1]))) - o3
            hy = AP_PEDICLE_HALF_WIDTH_MM[lvl] * ped_w[lvl, i_s] * pose.scale
            hz = hy * AP_PEDICLE_ASPECT[lvl] * ped_asp[lvl, i_s]
            wall, gain, sides, core = ped_wall[lvl, i_s], float(ped_vis[lvl, i_s]), 1.0, 0.0
            if AP_PEDICLE_V39:
                shift = side * ped_y * (AP_PEDICLE_LATERAL[lvl] - 1.0)
                front = posed(xp + 1.0, side * ped_y * 0.92 + shift, z_ped + ped_tilt[lvl])
                rear = posed(xp - 13.0, side * ped_y * 1.04 + shift, z_ped - ped_tilt[lvl])
                hz = hy * AP_PEDICLE_ASPECT_V39[lvl] * ped_asp[lvl, i_s]
                wall = wall * AP_PEDICLE_WALL_V39
                sides, core = float(p39[lvl, i_s, 0]), float(p39[lvl, i_s, 1])
                gain = gain * AP_PEDICLE_LEVEL_GAIN[lvl] * float(p39[lvl, i_s, 2])
                turn = rot_deg[lvl] * side  # > 0: this side is the convex one (the body turns toward it)
                if turn > 0:
                    hy = hy * max(0.55, 1.0 - AP_PEDICLE_ROTATION[0] * turn)
                else:
                    gain = gain * max(0.25, 1.0 + AP_PEDICLE_ROTATION[1] * turn)
            _tube_v13(
                pedicles,
                cam,
                front,
                rear,
                ey,
                ez,
                hy,
                hz,
                wall,
                step,
                ped_roll[lvl, i_s] * side,
                ped_fade[lvl, i_s],
                gain,
                sides,
                core,
            )
            # version 29: the splatted arch points carry the width weight, as the bones'; version 30: the whole
            # posed volume of their mesh-frame cells (scale^3 x depth x height x width; version 29: scale x width)
            cell = pose.mesh_weight(b) * float(pose.width_weight(b))
            ap_arch._posterior_arch(L, cam, posed, side, xp, zs, zi, ped_y, z_ped, lvl, arch[lvl], pose.scale, cell)
            if ap_arch.AP_LAMINA_GAIN > 0.0:  # version 26 trial P: the laminae and facets over the disc space below
                y_f = ap_arch._facet_column_y(ped_y, lvl, arch[lvl, 1])
                ap_arch._lamina(
                    processes,
                    cam,
                    posed,
                    side,
                    xp,
                    zi,
                    zs - zi,
                    y_f,
                    z_ped,
                    float(lam_drop[lvl, i_s]),
                    ap_arch.AP_LAMINA_GAIN * float(lam_gain[lvl, i_s]),
                    ap_arch.AP_FACET_GAIN * float(lam_gain[lvl, i_s]),
                    cell,
                )
            # transverse process: a broad root, a straight proximal half and a tapering distal half that bends a
            # little; length, thickness and rise per level (L3 longest, L5 short, thick and rising toward the ala)
            tp_y = AP_TP_HALF_SPAN_MM[b] * tp_factor * width * tp_side[lvl, i_s]
            rise = math.tan(math.radians(AP_TP_TILT_DEG[b] + 0.6 * tp_tilt[lvl] * side))
            bend = math.tan(math.radians(AP_TP_TILT_DEG[b] + 0.6 * tp_tilt[lvl] * side + tp_bend[lvl, i_s]))
            span = tp_y - ped_y
            y_mid = ped_y + 2.0 + 0.5 * span
            z_mid = z_ped - 1.0 + rise * (y_mid - ped_y)
            root = posed(xp - 14.0, side * (ped_y + 2.0), z_ped - 1.0)
            midp = posed(xp - 17.0, side * y_mid, z_mid)
            tip = posed(xp - 19.0, side * tp_y, z_mid + bend * (tp_y - y_mid))
            # version 18: thicker, fainter and irregular (real transverse processes are broad at the root, taper
            # to a rounded tip and have uneven outlines; the thin, uniform, bright bars of versions 12-17 read as
            # comb teeth): radius x AP_TP_THICKNESS, attenuation x AP_TP_MU_FACTOR, the distal half in six pieces
            # narrowing to AP_TP_TIP of the root radius, each piece's radius and height jittered
            r_root = r_tp * AP_TP_THICKNESS * rng18.uniform(0.85, 1.15) * pose.scale
            mu_tp = MU["cortical"] * 0.5 * AP_TP_MU_FACTOR * rng18.uniform(0.75, 1.1)
            shell = (1.3, MU["trabecular"] * 1.1 * AP_TP_MU_FACTOR)
            # flat ends where the pieces meet (round ends would double the path in the joint: a bright knot)
            capsule(processes, cam, root, midp, r_root, mu_tp, shell=shell, round_ends=False)
            n_p = 6
            prev = midp
            for q in range(n_p):
                u = (q + 1) / n_p
                nxt = midp + (tip - midp) * u
                if q < n_p - 1:
                    nxt = nxt + np.array([0.0, 0.0, rng18.normal(0.0, 0.9)])
                frac = 1.0 - (1.0 - AP_TP_TIP) * (q + 0.5) / n_p
                capsule(
                    processes,
                    cam,
                    prev,
                    nxt,
                    r_root * frac * rng18.uniform(0.85, 1.15),
                    mu_tp,
                    shell=shell,
                    round_ends=q == n_p - 1,
                )
                prev = nxt


AP_TP_THICKNESS = 1.35
"""Version 18: transverse-process radius factor on AP films (on ``AP_TP_RADIUS_MM``)."""
AP_TP_MU_FACTOR = 0.6
"""Version 18: transverse-process attenuation factor on AP films (thicker but fainter: less contrasty)."""
AP_TP_TIP = 0.45
"""Version 18: transverse-process radius at the tip, as a fraction of the root radius (versions 12-17: 0.62)."""
AP_PROCESS_BLUR_MM = 0.9
"""Version 18: blur (mm) of the transverse processes' layer on AP films."""
