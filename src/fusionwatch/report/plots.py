"""Trend plots (matplotlib, Agg backend) of key measurements and PROMs over days since surgery, as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fusionwatch.care.proms import ODI_MCID  # noqa: E402
from fusionwatch.followup.compare import spacing_plane  # noqa: E402
from fusionwatch.measurement import MeasureName  # noqa: E402
from fusionwatch.report.labels import KEY_MEASURES, label  # noqa: E402
from fusionwatch.report.model import ReportData  # noqa: E402
from fusionwatch.units import SpacingSource, Unit  # noqa: E402

__all__ = ["measurement_trends_png", "prom_trends_png"]

_MIN_SPAN = {Unit.DEG: 10.0, Unit.MM: 4.0, Unit.PERCENT: 10.0, Unit.RATIO: 0.1, Unit.PX: 20.0, Unit.GRADE: 2.0}
"""Smallest y-axis range per unit, so sub-threshold noise is not drawn as a trend."""

_PLANE_UNKNOWN = "plane not recorded"

_STYLE = {"font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7}


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


@dataclass(frozen=True)
class _Series:
    """One panel's points. For millimetres only the films calibrated in one plane (``plane``: the latest film's,
    :func:`fusionwatch.followup.compare.spacing_plane`) are drawn; ``left_out`` counts the visits whose value is in
    the other plane, which are not drawn on the same line (nor is a baseline from that plane)."""

    xs: list[int]
    ys: list[float]
    unit: Unit | None
    plane: str | None = None
    left_out: int = 0
    other_plane: str | None = None


def _series(data: ReportData, name: MeasureName) -> _Series:
    pts = []
    unit = None
    for v in data.visits[: data.current + 1]:
        m = v.measurement(name)
        if m is None or m.value is None or v.days_since_surgery is None:
            continue
        if unit is not None and m.unit is not unit:  # never mix mm and px on one axis
            continue
        unit = m.unit
        pts.append((v.days_since_surgery, m.value, m.spacing_source))
    if unit is not Unit.MM or not pts:
        return _Series([x for x, _, _ in pts], [y for _, y, _ in pts], unit)
    # millimetres from films calibrated in different planes differ by the film's magnification (~10-20 %): never one
    # line across planes (the follow-up compares the disc height index there, followup.compare.same_spacing_plane)
    plane = _plane(pts[-1][2])
    kept = [p for p in pts if _plane(p[2]) == plane]
    other = [p for p in pts if _plane(p[2]) != plane]
    return _Series([x for x, _, _ in kept], [y for _, y, _ in kept], unit, plane, len(other),
                   " or ".join(sorted({_plane(p[2]) for p in other})) if other else None)


def _plane(source: SpacingSource | None) -> str:
    """:func:`~fusionwatch.followup.compare.spacing_plane`, with a name for a millimetre value without a source."""
    return spacing_plane(source) or _PLANE_UNKNOWN


def _planes_note(s: _Series) -> str:
    """The chart's own words for the films of the other plane that are not drawn."""
    films = "film" if s.left_out == 1 else "films"
    return (f"{s.left_out} {s.other_plane} {films} not drawn:\nmm from two planes are not compared;\n"
            "see disc height index")


def measurement_trends_png(
    data: ReportData, names: Sequence[MeasureName] = KEY_MEASURES, max_panels: int = 6
) -> bytes | None:
    """Small multiples: one panel per measurement with at least two visits, x = days since surgery.

    The current visit is marked; the baseline visit is drawn as a dashed reference line. A millimetre panel draws only
    the films calibrated in the plane of the latest film (patient plane, or detector plane where lengths are
    magnified by ~10-20 %): its title names the plane, films of the other plane are counted on the chart and not
    drawn, and the baseline line is drawn only when the baseline film is in that plane (CLINICAL.md "Calibration";
    the follow-up compares the disc height index across planes). Such a panel is kept with one point, so the note is
    seen. Returns ``None`` when no measurement has two points.
    """
    series = [(n, _series(data, n)) for n in names]
    series = [(n, s) for n, s in series if len(s.xs) >= 2 or (s.xs and s.left_out)][:max_panels]
    if not series:
        return None
    cols = min(3, len(series))
    rows = (len(series) + cols - 1) // cols
    base = data.baseline_visit
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(7.0, 1.9 * rows), squeeze=False)
        for ax, (name, s) in zip(axes.flat, series, strict=False):
            xs, ys, unit = s.xs, s.ys, s.unit
            ax.plot(xs, ys, "-o", color="#1f4e79", ms=3.5, lw=1.2)
            ax.plot(xs[-1], ys[-1], "o", color="#c0392b", ms=5, zorder=3)
            if base is not None and (bm := base.measurement(name)) is not None and bm.value is not None:
                if bm.unit is unit and (unit is not Unit.MM or s.plane == _plane(bm.spacing_source)):
                    ax.axhline(bm.value, color="#888", lw=0.8, ls="--")
            title = label(name)
            if unit is not None and f"({unit.value})" not in title:
                title += f" ({unit.value})"
            if s.left_out or s.plane not in (None, "patient plane"):  # a magnified or mixed series says its plane
                title += f"\n{s.plane} films only" if s.left_out else f"\n{s.plane}"
            ax.set_title(title)
            lo, hi = min(ys), max(ys)
            span = _MIN_SPAN.get(unit, 0.0)
            if hi - lo < span:  # do not blow noise up to full height: keep a clinically meaningful minimum range
                mid = (hi + lo) / 2
                ax.set_ylim(mid - span / 2, mid + span / 2)
            ax.set_xlabel("days since surgery" + (f"\n{_planes_note(s)}" if s.left_out else ""))
            ax.grid(alpha=0.3, lw=0.5)
        for ax in list(axes.flat)[len(series):]:
            ax.axis("off")
        fig.tight_layout()
        return _png(fig)


def prom_trends_png(data: ReportData) -> bytes | None:
    """ODI (left axis, %) and back / leg pain NRS (right axis, 0-10) by days since surgery; pre-op at x <= 0."""
    if data.surgery is None:
        return None
    recs = [p for p in data.proms if p.date <= data.visit.date]
    if len(recs) < 2:
        return None
    xs = [(p.date - data.surgery.date).days for p in recs]
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(7.0, 2.2))
        odi = [(x, p.odi.score) for x, p in zip(xs, recs, strict=True) if p.odi is not None]
        if odi:
            ax.plot(*zip(*odi, strict=True), "-o", color="#1f4e79", ms=3.5, lw=1.2, label="ODI (%)")
            pre = data.pre_op_prom
            if pre is not None and pre.odi is not None:
                ax.axhline(pre.odi.score - ODI_MCID, color="#1f4e79", lw=0.8, ls=":",
                           label=f"pre-op ODI - MCID ({ODI_MCID})")
        ax.set_ylim(0, 100)
        ax.set_ylabel("ODI (%)")
        ax.set_xlabel("days since surgery")
        ax2 = ax.twinx()
        for attr, colour, name in (("back_pain", "#c0392b", "back pain"), ("leg_pain", "#e67e22", "leg pain")):
            pts = [(x, getattr(p, attr)) for x, p in zip(xs, recs, strict=True) if getattr(p, attr) is not None]
            if pts:
                ax2.plot(*zip(*pts, strict=True), "-s", color=colour, ms=3, lw=1.0, label=f"{name} (0-10)")
        ax2.set_ylim(0, 10)
        ax2.set_ylabel("pain (0-10)")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=6.5, frameon=False, ncol=2)
        ax.grid(alpha=0.3, lw=0.5)
        ax.set_title("Patient-reported outcomes")
        fig.tight_layout()
        return _png(fig)
