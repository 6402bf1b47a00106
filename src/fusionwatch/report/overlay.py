"""Annotated film: the radiograph with its landmarks, endplate lines, angle arcs and labelled values.

Drawn with matplotlib's Agg canvas (no display needed). The film is shown windowed (DICOM VOI window when the file had
one, else the 0.5-99.5 percentiles), scaled so that its height is between :data:`MIN_HEIGHT_PX` and
:data:`MAX_HEIGHT_PX`, with a side panel listing every value. Line widths and fonts scale with the output, so a
500 x 600 film and a 2000 x 2500 film read alike. Lengths are labelled in the unit the measurement carries (``px`` on an
uncalibrated film, never ``mm``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Arc

from fusionwatch._typing import Point
from fusionwatch.anatomy import FEMORAL_HEADS, Level
from fusionwatch.landmarks import Landmarks, hip_axis, level_centre
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.radiograph import Radiograph, View
from fusionwatch.units import Unit

__all__ = ["render_overlay", "save_overlay", "window_for_display", "MIN_HEIGHT_PX", "MAX_HEIGHT_PX"]

MIN_HEIGHT_PX = 1200
"""Small films are enlarged to this height so that labels stay legible."""
MAX_HEIGHT_PX = 2500
"""Large films are reduced to this height to keep the PNG small."""

M = MeasureName
_SHORT: dict[MeasureName, str] = {
    M.SACRAL_SLOPE: "SS",
    M.PELVIC_TILT: "PT",
    M.PELVIC_INCIDENCE: "PI",
    M.LUMBAR_LORDOSIS: "LL (L1-S1)",
    M.PI_LL_MISMATCH: "PI - LL",
    M.SEGMENTAL_LORDOSIS_L4_L5: "Lordosis L4-L5",
    M.SEGMENTAL_LORDOSIS_L5_S1: "Lordosis L5-S1",
    M.DISC_HEIGHT_ANTERIOR_L4_L5: "Disc L4-L5 ant.",
    M.DISC_HEIGHT_POSTERIOR_L4_L5: "Disc L4-L5 post.",
    M.DISC_HEIGHT_MEAN_L4_L5: "Disc L4-L5 mean",
    M.DISC_HEIGHT_INDEX_L4_L5: "DHI L4-L5",
    M.DISC_HEIGHT_ANTERIOR_L5_S1: "Disc L5-S1 ant.",
    M.DISC_HEIGHT_POSTERIOR_L5_S1: "Disc L5-S1 post.",
    M.DISC_HEIGHT_MEAN_L5_S1: "Disc L5-S1 mean",
    M.DISC_HEIGHT_INDEX_L5_S1: "DHI L5-S1",
    M.SLIP_MM_L4_L5: "Slip L4/L5",
    M.SLIP_PERCENT_L4_L5: "Slip L4/L5 %",
    M.MEYERDING_GRADE_L4_L5: "Meyerding L4/L5",
    M.SLIP_MM_L5_S1: "Slip L5/S1",
    M.SLIP_PERCENT_L5_S1: "Slip L5/S1 %",
    M.MEYERDING_GRADE_L5_S1: "Meyerding L5/S1",
    M.LATERAL_LISTHESIS_MM_L4_L5: "Lat. listhesis L4/L5",
    M.LATERAL_LISTHESIS_PERCENT_L4_L5: "Lat. listhesis L4/L5 %",
    M.LATERAL_LISTHESIS_MM_L5_S1: "Lat. listhesis L5/S1",
    M.LATERAL_LISTHESIS_PERCENT_L5_S1: "Lat. listhesis L5/S1 %",
    M.DISC_WEDGE_L4_L5: "Disc wedge L4-L5",
    M.DISC_WEDGE_L5_S1: "Disc wedge L5-S1",
    M.CORONAL_COBB: "Coronal Cobb",
}

# Colours chosen to stay distinct on a grey film and for the common colour-vision deficiencies.
_ENDPLATE = "#36c5f0"  # endplate lines
_CORNER = "#ffd23f"  # landmark dots
_PELVIS = "#ff8c42"  # hip axis, pelvic lines, SS/PT/PI arcs
_COBB = "#ff5ca8"  # endplates of lordosis / Cobb
_TEXT_BG = "#000000"
_WARN = "#ff6b6b"


def window_for_display(radiograph: Radiograph) -> np.ndarray:
    """The film as float in [0, 1] for display: DICOM VOI window when known, else 0.5-99.5 percentile stretch."""
    px = radiograph.pixels.astype(np.float32, copy=False)
    if radiograph.display_window is not None and radiograph.display_window[1] > 0:
        centre, width = radiograph.display_window
        lo, hi = centre - width / 2.0, centre + width / 2.0
    else:
        sample = px[:: max(1, px.shape[0] // 512), :: max(1, px.shape[1] // 512)]
        lo, hi = (float(v) for v in np.percentile(sample, [0.5, 99.5]))
    if hi <= lo:
        hi = lo + 1.0
    return np.clip((px - lo) / (hi - lo), 0.0, 1.0)


def _num(value: float, digits: int = 1, *, signed: bool = False) -> str:
    """``value`` to ``digits`` decimals, never "-0.0" (a value that rounds to zero is printed as zero)."""
    value = round(value, digits) + 0.0
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _value_text(m: Measurement) -> str:
    if m.value is None:
        return "n/a"
    if m.unit is Unit.GRADE:
        return "0 (none)" if m.value == 0 else "I II III IV V".split()[int(m.value) - 1]
    if m.unit is Unit.DEG:
        return f"{_num(m.value)}°"
    if m.unit is Unit.RATIO:
        return _num(m.value, 2)
    if m.unit is Unit.PERCENT:
        return f"{_num(m.value)} %"
    return f"{_num(m.value)} {m.unit.value}"


def _shift_text(word: str, m_mm: Measurement | None, m_pct: Measurement) -> str:
    """The slip (lateral) or lateral shift (AP) label line: signed, with the same decimals as the reports' tables
    (one), never "-0"."""
    assert m_pct.value is not None
    mm = f"{_num(m_mm.value, signed=True)} {m_mm.unit.value}, " if m_mm is not None and m_mm.value is not None else ""
    return f"{word} {mm}{_num(m_pct.value, signed=True)} %"


class _Painter:
    """Drawing helpers in image pixel coordinates, with sizes scaled to the output."""

    def __init__(self, ax, unit_pt: float, out_scale: float, width: int, height: int) -> None:  # noqa: ANN001
        self.ax = ax
        self.u = unit_pt  # one drawing unit (line width 1, font size 1/7) in points
        self.s = out_scale  # output pixels per image pixel
        self.w, self.h = width, height
        self.placed: list[tuple[float, float, float, float]] = []  # text boxes drawn so far: (left, top, w, h), px

    def line(self, a: Point, b: Point, color: str, width: float = 1.0, style: str = "-", extend: float = 0.0) -> None:
        dx, dy = b[0] - a[0], b[1] - a[1]
        a2 = (a[0] - extend * dx, a[1] - extend * dy)
        b2 = (b[0] + extend * dx, b[1] + extend * dy)
        self.ax.plot([a2[0], b2[0]], [a2[1], b2[1]], color=color, lw=width * self.u, ls=style, solid_capstyle="round")

    def dot(self, p: Point, color: str = _CORNER, size: float = 1.0) -> None:
        self.ax.plot([p[0]], [p[1]], "o", ms=3.2 * size * self.u, mfc=color, mec="black", mew=0.5 * self.u, zorder=5)

    def text_size(self, s: str, size: float = 1.0) -> tuple[float, float]:
        """Approximate (width, height) of a text box in image pixels."""
        font_px = 6.5 * size * self.u * 100.0 / 72.0 / self.s  # figure dpi is 100
        lines = s.split("\n")
        return max(len(t) for t in lines) * font_px * 0.6 + font_px * 0.5, len(lines) * font_px * 1.25 + font_px * 0.5

    def text(
        self, p: Point, s: str, color: str = "white", size: float = 1.0, ha: str = "left", va: str = "center"
    ) -> None:
        """Text with a dark box, moved as little as needed to stay inside the film and off the labels already drawn
        (a label is moved up or down, never sideways, so it stays level with what it names)."""
        font_pt = 6.5 * size * self.u
        tw, th = self.text_size(s, size)
        left = {"left": p[0], "center": p[0] - tw / 2, "right": p[0] - tw}[ha]
        top = {"top": p[1], "center": p[1] - th / 2, "bottom": p[1] - th}[va]
        dx = -left if left < 0 else -max(0.0, left + tw - (self.w - 1))
        dy = -top if top < 0 else -max(0.0, top + th - (self.h - 1))
        dy += self._free_shift(left + dx, top + dy, tw, th)
        self.placed.append((left + dx, top + dy, tw, th))
        self.ax.text(
            p[0] + dx,
            p[1] + dy,
            s,
            color=color,
            fontsize=font_pt,
            ha=ha,
            va=va,
            zorder=6,
            linespacing=1.15,
            bbox={"boxstyle": "round,pad=0.25", "fc": _TEXT_BG, "ec": "none", "alpha": 0.65},
        )

    def _free_shift(self, left: float, top: float, tw: float, th: float) -> float:
        """The smallest vertical shift (image px; 0 when there is no clash) that keeps a ``tw`` x ``th`` box at
        ``(left, top)`` clear of every label already placed and inside the film; 0 when none is found."""
        pad = th * 0.12

        def clear(t: float) -> bool:
            return 0 <= t and t + th <= self.h - 1 and all(
                left + tw + pad <= x or x + w + pad <= left or t + th + pad <= y or y + h + pad <= t
                for x, y, w, h in self.placed
            )

        if clear(top):
            return 0.0
        # candidate tops: just below or above each placed box, nearest first
        cands = [y + h + pad for _x, y, _w, h in self.placed] + [y - th - pad for _x, y, _w, h in self.placed]
        for t in sorted(cands, key=lambda c: abs(c - top)):
            if clear(t):
                return t - top
        return 0.0

    def arc(self, centre: Point, radius: float, from_deg: float, to_deg: float, color: str) -> None:
        """Arc between two on-screen directions (degrees counter-clockwise as seen), the short way round."""
        start, end = sorted((from_deg, to_deg))
        if end - start > 180:
            start, end = end, start + 360
        # matplotlib's Arc angles are counter-clockwise in data coordinates; our y axis is inverted, so negate.
        self.ax.add_patch(
            Arc(centre, 2 * radius, 2 * radius, theta1=-end, theta2=-start, color=color, lw=1.2 * self.u, zorder=4)
        )


def _direction(a: Point, b: Point) -> float:
    """On-screen direction from a to b in degrees, counter-clockwise as seen (image y down)."""
    return math.degrees(math.atan2(-(b[1] - a[1]), b[0] - a[0]))


def _unit_vec(a: Point, b: Point) -> tuple[float, float]:
    d = math.dist(a, b) or 1.0
    return ((b[0] - a[0]) / d, (b[1] - a[1]) / d)


def _endplates(landmarks: Landmarks) -> list[tuple[str, Point, Point]]:
    """(label, first corner, second corner) for every endplate with both corners: anterior/posterior or left/right."""
    sides = ("left", "right") if landmarks.view is View.AP else ("anterior", "posterior")
    out = []
    for level in Level:
        for end in ("superior", "inferior"):
            a, b = landmarks.get(f"{level.value}.{end}.{sides[0]}"), landmarks.get(f"{level.value}.{end}.{sides[1]}")
            if a is not None and b is not None:
                out.append((f"{level.value}.{end}", a, b))
    return out


def _away(ant_x: float, forward: bool) -> str:
    """Horizontal alignment that makes text grow forward (anterior) or backward from its anchor."""
    return "left" if (ant_x > 0) == forward else "right"


def _draw_lateral(pa: _Painter, lm: Landmarks, by: dict[MeasureName, Measurement], span: float) -> None:
    ep = {label: (a, b) for label, a, b in _endplates(lm)}  # (anterior, posterior)
    ll = by.get(M.LUMBAR_LORDOSIS)
    cobb = {"L1.superior", "S1.superior"} if ll is not None and ll.value is not None else set()
    for label, (a, b) in ep.items():
        if label in cobb:
            pa.line(a, b, _COBB, 1.6, extend=0.45)
        else:
            pa.line(a, b, _ENDPLATE, 1.0, extend=0.08)
    # anterior direction on screen, from the endplates (to put labels in front of / behind the spine)
    ant = np.mean([_unit_vec(b, a) for a, b in ep.values()], axis=0) if ep else np.array([1.0, 0.0])
    ant = ant / (np.linalg.norm(ant) or 1.0)
    gap = span * 0.06
    for level in Level:
        c = level_centre(lm, level)
        if c is not None and level is not Level.S1:
            pa.text(c, level.value, size=1.0, ha="center")
    # each measured disc: a label in front of it with lordosis, heights, index and slip
    for upper, lower, seg, mean, dhi, mm, pct in (
        (
            "L4",
            "L5",
            M.SEGMENTAL_LORDOSIS_L4_L5,
            M.DISC_HEIGHT_MEAN_L4_L5,
            M.DISC_HEIGHT_INDEX_L4_L5,
            M.SLIP_MM_L4_L5,
            M.SLIP_PERCENT_L4_L5,
        ),
        (
            "L5",
            "S1",
            M.SEGMENTAL_LORDOSIS_L5_S1,
            M.DISC_HEIGHT_MEAN_L5_S1,
            M.DISC_HEIGHT_INDEX_L5_S1,
            M.SLIP_MM_L5_S1,
            M.SLIP_PERCENT_L5_S1,
        ),
    ):
        top, bottom = ep.get(f"{upper}.inferior"), ep.get(f"{lower}.superior")
        if top is None or bottom is None:
            continue
        front = ((top[0][0] + bottom[0][0]) / 2, (top[0][1] + bottom[0][1]) / 2)
        back = ((top[1][0] + bottom[1][0]) / 2, (top[1][1] + bottom[1][1]) / 2)
        lines = [f"{upper}-{lower}"]
        if (m := by.get(seg)) is not None and m.value is not None:
            lines[0] += f"  {_value_text(m)}"
        hl = []
        if (m := by.get(mean)) is not None and m.value is not None:
            hl.append(f"h {_value_text(m)}")
        if (m := by.get(dhi)) is not None and m.value is not None:
            hl.append(f"DHI {_value_text(m)}")
        if hl:
            lines.append("  ".join(hl))
        m_mm, m_pct = by.get(mm), by.get(pct)
        if m_pct is not None and m_pct.value is not None:
            lines.append(_shift_text("slip", m_mm, m_pct))
        text = "\n".join(lines)
        width = pa.text_size(text)[0]
        # in front of the disc when there is room, else behind it
        room_front = (pa.w - front[0]) if ant[0] > 0 else front[0]
        forward = room_front >= width + 2.5 * gap
        base, sign = (front, 1.0) if forward else (back, -1.0)
        anchor = (base[0] + sign * ant[0] * 2 * gap, base[1])
        pa.line(base, (anchor[0], anchor[1]), _CORNER, 0.6)
        pa.text(anchor, text, color=_CORNER, ha=_away(ant[0], forward))
    # pelvis: femoral heads, hip axis, line to the S1 midpoint, vertical, S1 perpendicular, arcs
    hip = hip_axis(lm)
    for name in FEMORAL_HEADS:
        if (p := lm.get(name)) is not None:
            pa.ax.add_patch(Arc(p, span * 0.22, span * 0.22, color=_PELVIS, lw=1.0 * pa.u, ls="--", zorder=4))
            pa.dot(p, _PELVIS)
    if "S1.superior" in ep:
        a, b = ep["S1.superior"]
        mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        e = _unit_vec(b, a)
        n = (-e[1], e[0]) if e[0] >= 0 else (e[1], -e[0])
        if n[1] < 0:  # caudal = down the screen
            n = (-n[0], -n[1])
        pa.text((mid[0] + n[0] * span * 0.12, mid[1] + n[1] * span * 0.12), "S1", size=1.0, ha="center")
        ss = by.get(M.SACRAL_SLOPE)
        if ss is not None and ss.value is not None:
            ref_len = math.dist(a, b) * 1.1
            fwd = 1.0 if ant[0] > 0 else -1.0
            pa.line(
                b, (b[0] + fwd * ref_len, b[1]), _PELVIS, 0.9, style="--"
            )  # horizontal through the posterior corner
            pa.arc(b, math.dist(a, b) * 0.55, _direction(b, a), 0.0 if fwd > 0 else 180.0, _PELVIS)
            pa.text((b[0] - fwd * gap, b[1]), f"SS {_value_text(ss)}", color=_PELVIS, ha=_away(ant[0], False))
        if hip is not None:
            pa.dot(hip, _PELVIS, 1.3)
            pa.line(hip, mid, _PELVIS, 1.2)
            length = math.dist(hip, mid)
            pa.line(hip, (hip[0], hip[1] - length * 0.9), _PELVIS, 0.9, style="--")  # vertical through the hip axis
            pt = by.get(M.PELVIC_TILT)
            if pt is not None and pt.value is not None:
                pa.arc(hip, length * 0.3, 90.0, _direction(hip, mid), _PELVIS)
                pa.text(
                    (hip[0] + ant[0] * gap, hip[1] - length * 0.35),
                    f"PT {_value_text(pt)}",
                    color=_PELVIS,
                    ha=_away(ant[0], True),
                )
            perp_end = (mid[0] + n[0] * length * 0.6, mid[1] + n[1] * length * 0.6)
            pa.line(mid, perp_end, _PELVIS, 0.9, style=":")
            pi = by.get(M.PELVIC_INCIDENCE)
            if pi is not None and pi.value is not None:
                d1, d2 = _direction(mid, perp_end), _direction(mid, hip)
                pa.arc(mid, length * 0.28, d1, d2, _PELVIS)
                bis = math.radians(d1 + ((d2 - d1 + 180) % 360 - 180) / 2)
                r = length * 0.42
                at = (mid[0] + r * math.cos(bis), mid[1] - r * math.sin(bis))
                pa.text(at, f"PI {_value_text(pi)}", color=_PELVIS, ha="center")
    if ll is not None and ll.value is not None and "L1.superior" in ep:
        a, _ = ep["L1.superior"]
        pa.text((a[0] + ant[0] * gap, a[1] - gap * 0.6), f"LL {_value_text(ll)}", color=_COBB, ha=_away(ant[0], True))


def _draw_ap(pa: _Painter, lm: Landmarks, by: dict[MeasureName, Measurement], span: float) -> None:
    cobb = by.get(M.CORONAL_COBB)
    cobb_eps = set()
    if cobb is not None and cobb.value is not None and len(cobb.points) == 4:
        cobb_eps = {cobb.points[0].rsplit(".", 1)[0], cobb.points[2].rsplit(".", 1)[0]}
    for label, a, b in _endplates(lm):
        if label in cobb_eps:
            pa.line(a, b, _COBB, 1.6, extend=0.5)
        else:
            pa.line(a, b, _ENDPLATE, 1.0, extend=0.08)
    for level in Level:
        c = level_centre(lm, level)
        if c is not None:
            below = span * 0.04 if level is Level.S1 else 0.0
            pa.text((c[0], c[1] + below), level.value, size=1.0, ha="center")
    for upper, lower, wedge, lat_mm, lat_pct in (
        ("L4", "L5", M.DISC_WEDGE_L4_L5, M.LATERAL_LISTHESIS_MM_L4_L5, M.LATERAL_LISTHESIS_PERCENT_L4_L5),
        ("L5", "S1", M.DISC_WEDGE_L5_S1, M.LATERAL_LISTHESIS_MM_L5_S1, M.LATERAL_LISTHESIS_PERCENT_L5_S1),
    ):
        corners = [lm.get(f"{upper}.inferior.{side}") for side in ("left", "right")]
        corners += [lm.get(f"{lower}.superior.{side}") for side in ("left", "right")]
        if any(c is None for c in corners):
            continue
        left = ((corners[0][0] + corners[2][0]) / 2, (corners[0][1] + corners[2][1]) / 2)  # type: ignore[index]
        right = ((corners[1][0] + corners[3][0]) / 2, (corners[1][1] + corners[3][1]) / 2)  # type: ignore[index]
        lines = [f"{upper}-{lower}"]
        if (m := by.get(wedge)) is not None and m.value is not None:
            lines[0] += f"  wedge {_num(m.value, signed=True)}°"
        m_mm, m_pct = by.get(lat_mm), by.get(lat_pct)
        if m_pct is not None and m_pct.value is not None:
            lines.append(_shift_text("shift", m_mm, m_pct))
        text = "\n".join(lines)
        width = pa.text_size(text)[0]
        gap = span * 0.12
        to_right = (pa.w - right[0]) >= width + gap or (pa.w - right[0]) >= left[0]
        base = right if to_right else left
        anchor = (base[0] + (gap if to_right else -gap), base[1])
        pa.line(base, anchor, _CORNER, 0.6)
        pa.text(anchor, text, color=_CORNER, ha="left" if to_right else "right")
    if cobb_eps and cobb is not None:
        top = lm.get(cobb.points[0])
        if top is not None:
            pa.text((top[0] - span * 0.15, top[1] - span * 0.04), f"Cobb {_value_text(cobb)}", color=_COBB, ha="right")


def _panel_lines(
    radiograph: Radiograph,
    landmarks: Landmarks,
    measurements: Sequence[Measurement],
    warnings: Iterable[str],
    needs_review: Iterable[str],
) -> list[tuple[str, str]]:
    sp = radiograph.spacing
    view = landmarks.view.value
    lines: list[tuple[str, str]] = [(f"{radiograph.source or 'film'}  ({view})", "white")]
    if sp is None:
        lines.append(("Uncalibrated: lengths in px, no mm", _WARN))
    else:
        lines.append((f"Spacing {sp.dx_mm:.3g} x {sp.dy_mm:.3g} mm/px ({sp.source.value.replace('_', ' ')})", "white"))
    lines.append(("", "white"))
    for m in measurements:
        label = _SHORT.get(m.name, m.name.value)
        colour = "white" if m.value is not None else "#9a9a9a"
        lines.append((f"{label:<22s}{_value_text(m):>12s}", colour))
    if landmarks.view is View.AP:
        lines.append(("+ = toward the image right", "#9a9a9a"))
    review = list(needs_review)
    if review:
        lines += [("", "white"), ("NEEDS REVIEW:", _WARN)] + [(f"- {r}", _WARN) for r in review]
    warn = list(warnings)
    if warn:
        lines += [("", "white"), ("Warnings:", "#ffd23f")] + [(f"- {w}", "#ffd23f") for w in warn]
    lines += [("", "white"), ("Decision support only: check the points.", "#9a9a9a")]
    return lines


def render_overlay(
    radiograph: Radiograph,
    landmarks: Landmarks,
    measurements: Sequence[Measurement],
    *,
    warnings: Iterable[str] = (),
    needs_review: Iterable[str] = (),
) -> np.ndarray:
    """Draw the annotated film.

    Parameters
    ----------
    radiograph : Radiograph
        The film (pixels, spacing, display window, source name).
    landmarks : Landmarks
        Its landmarks in pixels (lateral or AP names).
    measurements : Sequence[Measurement]
        Values to label; missing ones are listed as "n/a" in the side panel.
    warnings, needs_review : Iterable[str]
        Shown at the bottom of the side panel (review reasons in red).

    Returns
    -------
    (H', W', 3) uint8 ndarray
        RGB image: the film scaled by ``s = clip(H, 1200, 2500) / H`` (H' = round(H * s)) followed on the right by a
        text panel 0.3-0.42 H' wide (0.42 H' unless the film is narrow). Landmark pixel ``(x, y)`` appears at
        ``(x * s, y * s)``.
    """
    h, w = radiograph.height, radiograph.width
    out_h = int(round(min(max(h, MIN_HEIGHT_PX), MAX_HEIGHT_PX)))
    s = out_h / h
    film_w = int(round(w * s))
    panel_w = int(round(min(out_h * 0.42, max(out_h * 0.3, film_w * 0.9))))  # narrower beside narrow films
    dpi = 100.0
    fig = Figure(figsize=((film_w + panel_w) / dpi, out_h / dpi), dpi=dpi, facecolor="black")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, film_w / (film_w + panel_w), 1.0))
    ax.imshow(
        window_for_display(radiograph),
        cmap="gray",
        vmin=0.0,
        vmax=1.0,
        interpolation="antialiased",
        extent=(-0.5, w - 0.5, h - 0.5, -0.5),
    )
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_axis_off()
    # points per drawing unit: ~2.2 pt per 1000 output px of the film's size, where a narrow film (scoliosis long
    # cassettes are ~1:3) counts by its width so that labels still fit beside the spine
    unit = min(out_h, 1.8 * film_w) / 1000.0 * 2.2
    pa = _Painter(ax, unit, s, w, h)
    pts = list(landmarks.points.values())
    span = (max(p[1] for p in pts) - min(p[1] for p in pts)) if pts else h / 3
    span = max(span, h * 0.2)
    by = {m.name: m for m in measurements}
    if landmarks.view is View.AP:
        _draw_ap(pa, landmarks, by, span)
    else:
        _draw_lateral(pa, landmarks, by, span)
    for name, p in landmarks.points.items():
        if not name.startswith("femoral_head"):
            pa.dot(p)

    panel = fig.add_axes((film_w / (film_w + panel_w), 0.0, panel_w / (film_w + panel_w), 1.0))
    panel.set_axis_off()
    panel.set_xlim(0, 1)
    panel.set_ylim(1, 0)
    lines = _panel_lines(radiograph, landmarks, measurements, warnings, needs_review)
    chars = 34  # monospace characters across the panel
    font_pt = panel_w * 0.94 / chars / 0.6 * 72.0 / dpi  # fill the panel width
    step = font_pt * dpi / 72.0 * 1.4 / out_h
    y = 0.02
    for text, colour in lines:
        for chunk in _wrap(text, chars):
            panel.text(0.03, y, chunk, color=colour, fontsize=font_pt, family="monospace", va="top")
            y += step
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[..., :3])


def _wrap(text: str, width: int) -> list[str]:
    if len(text) <= width:
        return [text]
    words, lines, cur = text.split(" "), [], ""
    for word in words:
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = "  " + word
        else:
            cur = f"{cur} {word}" if cur else word
    lines.append(cur)
    return lines


def save_overlay(
    radiograph: Radiograph,
    landmarks: Landmarks,
    measurements: Sequence[Measurement],
    path: str | Path,
    *,
    warnings: Iterable[str] = (),
    needs_review: Iterable[str] = (),
) -> Path:
    """Render with :func:`render_overlay` and write a PNG; returns the path."""
    from PIL import Image

    path = Path(path)
    rgb = render_overlay(radiograph, landmarks, measurements, warnings=warnings, needs_review=needs_review)
    Image.fromarray(rgb).save(path, format="PNG", optimize=False)
    return path
