"""Tests for fusionwatch.report.overlay: the annotated film."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _synth import draw_lateral_spine
from fusionwatch.landmarks import Landmarks
from fusionwatch.measure import measure_film
from fusionwatch.radiograph import Radiograph, View
from fusionwatch.report.overlay import _panel_lines, render_overlay, save_overlay, window_for_display
from fusionwatch.units import Spacing

ENDPLATE_RGB = (0x36, 0xC5, 0xF0)


def _film(width: int, height: int, mm_per_px: float, spacing: bool = True):
    pixels, landmarks = draw_lateral_spine(width=width, height=height, mm_per_px=mm_per_px, facing="left")
    film = Radiograph(
        pixels.astype(np.float32),
        spacing=Spacing.isotropic(mm_per_px) if spacing else None,
        view=View.LATERAL,
        source="synthetic.dcm",
    )
    return film, landmarks, measure_film(landmarks, film.spacing)


class TestRender:
    @pytest.mark.parametrize(("size", "expected_height"), [((500, 600), 1200), ((2000, 2500), 2500)])
    def test_size_and_scale(self, size, expected_height) -> None:
        """Small films are enlarged to 1200 px high, large ones kept; the film keeps its aspect; a panel is added."""
        film, lm, ms = _film(*size, mm_per_px=0.6 if size[0] == 500 else 0.15)
        rgb = render_overlay(film, lm, ms)
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert rgb.shape[0] == expected_height
        film_w = round(size[0] * expected_height / size[1])
        assert rgb.shape[1] == film_w + round(expected_height * 0.42)

    def test_endplate_drawn_where_the_landmarks_are(self) -> None:
        """Endplate colour appears on the L3 superior endplate midpoint (scaled to the output), not in the corner."""
        film, lm, ms = _film(500, 600, 0.6)
        rgb = render_overlay(film, lm, ms).astype(int)
        s = 1200 / 600
        a, p = lm.get("L3.superior.anterior"), lm.get("L3.superior.posterior")
        x, y = round((a[0] + p[0]) / 2 * s), round((a[1] + p[1]) / 2 * s)
        patch = rgb[y - 3 : y + 4, x - 3 : x + 4]
        assert (np.abs(patch - ENDPLATE_RGB).sum(axis=2) < 60).any()
        corner = rgb[:20, :20]
        assert not (np.abs(corner - ENDPLATE_RGB).sum(axis=2) < 60).any()

    def test_units_in_panel(self) -> None:
        """Uncalibrated: the panel says px and never mm; calibrated: mm."""
        film, lm, ms = _film(500, 600, 0.6, spacing=False)
        lines = [t for t, _ in _panel_lines(film, lm, ms, [], [])]
        assert any(t.endswith(" px") for t in lines[3:]) and not any(t.endswith(" mm") for t in lines[3:])
        assert "Uncalibrated: lengths in px, no mm" in lines
        film, lm, ms = _film(500, 600, 0.6, spacing=True)
        text = "\n".join(t for t, _ in _panel_lines(film, lm, ms, [], ["L3 looks odd"]))
        assert " mm" in text and "NEEDS REVIEW:" in text and "- L3 looks odd" in text

    def test_save_png(self, tmp_path: Path) -> None:
        film, lm, ms = _film(500, 600, 0.6)
        path = save_overlay(film, lm, ms, tmp_path / "o.png")
        with Image.open(path) as im:
            assert im.format == "PNG" and im.size[1] == 1200


class TestWindow:
    def test_dicom_window_used(self) -> None:
        px = np.linspace(0, 1000, 64 * 64, dtype=np.float32).reshape(64, 64)
        shown = window_for_display(Radiograph(px, display_window=(500.0, 200.0)))
        assert shown.min() == 0.0 and shown.max() == 1.0
        assert shown[px <= 400].max() == 0.0 and shown[px >= 600].min() == 1.0

    def test_constant_image(self) -> None:
        shown = window_for_display(Radiograph(np.full((32, 32), 7.0, np.float32)))
        assert np.isfinite(shown).all()


@pytest.mark.parametrize(
    "keep",
    [
        (),  # no points at all
        ("S1.", "femoral_head"),  # pelvis only: SS/PT/PI drawn, no disc labels
        ("L4.", "L5."),  # one disc, no pelvis
    ],
)
def test_partial_landmarks_render(keep: tuple[str, ...]) -> None:
    """Missing points never break the drawing; the panel still lists every measurement."""
    film, lm, _ = _film(500, 600, 0.6)
    pts = {n: p for n, p in lm.points.items() if n.startswith(keep)} if keep else {}
    partial = Landmarks(pts, lm.width, lm.height)
    ms = measure_film(partial, film.spacing)
    rgb = render_overlay(film, partial, ms)
    assert rgb.shape[0] == 1200
    assert sum(1 for t, _ in _panel_lines(film, partial, ms, [], []) if t.rstrip().endswith("n/a")) == sum(
        m.value is None for m in ms
    )


def test_labels_never_print_minus_zero_and_keep_one_decimal() -> None:
    """A slip of -0.01 mm is "+0.0 mm", not "-0.0"; the slip % keeps the table's one decimal (5.5 %, not "+6 %")."""
    from fusionwatch.measurement import Measurement, MeasureName
    from fusionwatch.report.overlay import _shift_text, _value_text
    from fusionwatch.units import SpacingSource, Unit

    mm = Measurement(MeasureName.SLIP_MM_L4_L5, -0.01, Unit.MM, "test", spacing_source=SpacingSource.PATIENT_PLANE)
    pct = Measurement(MeasureName.SLIP_PERCENT_L4_L5, -0.04, Unit.PERCENT, "test")
    assert _shift_text("slip", mm, pct) == "slip +0.0 mm, +0.0 %"
    assert _value_text(mm) == "0.0 mm" and _value_text(pct) == "0.0 %"
    pct55 = Measurement(MeasureName.SLIP_PERCENT_L5_S1, 5.46, Unit.PERCENT, "test")
    assert _shift_text("slip", None, pct55) == "slip +5.5 %"


def test_labels_do_not_cover_each_other() -> None:
    """Two labels anchored on the same spot (the SS label once covered the L5-S1 disc label's height line) are drawn
    one above the other, both readable, each level with its anchor as far as it can be."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from fusionwatch.report.overlay import _Painter

    fig = Figure(figsize=(4, 5), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-0.5, 399.5)
    ax.set_ylim(499.5, -0.5)
    pa = _Painter(ax, 1.0, 1.0, 400, 500)
    pa.text((200, 300), "L5-S1  12.1°\nh 11.2 mm  DHI 0.35\nslip +1.7 mm, +5.5 %", ha="left")
    pa.text((210, 300), "SS 27.8°", ha="left")
    pa.text((190, 300), "PT 7.4°", ha="right")  # left of the first box's start: no clash, not moved
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in ax.texts]
    assert not boxes[0].overlaps(boxes[1])
    assert abs(ax.texts[2].get_position()[1] - 300) < 1e-9


def test_lateral_overlay_labels_are_disjoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a whole annotated lateral film no two placed label boxes overlap."""
    from fusionwatch.report import overlay

    placed: list[list[tuple[float, float, float, float]]] = []
    real_init = overlay._Painter.__init__

    def spy(self, *a, **k):  # noqa: ANN001, ANN002, ANN003
        real_init(self, *a, **k)
        placed.append(self.placed)

    monkeypatch.setattr(overlay._Painter, "__init__", spy)
    film, lm, ms = _film(192, 384, mm_per_px=1.0)
    render_overlay(film, lm, ms)
    (boxes,) = placed
    assert len(boxes) >= 8
    for i, (x1, y1, w1, h1) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1, (boxes[i], (x2, y2, w2, h2))
