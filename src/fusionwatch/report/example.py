"""A hand-built example patient (four visits, PROMs, red flags, a subsidence finding) for tests, docs and demos.

Everything is made up: the films are synthetic gradients, the name and ids are fictitious.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from PIL import Image

from fusionwatch.care.proms import PromRecord
from fusionwatch.care.schedule import build_schedule
from fusionwatch.care.triage import triage
from fusionwatch.followup.model import MeasurementDelta
from fusionwatch.measurement import MeasureName as M
from fusionwatch.records import Finding, FusionStatus, Override, Severity, Surgery
from fusionwatch.report.model import ReportData, VisitView
from fusionwatch.units import SpacingSource, Unit

__all__ = ["example_report_data", "example_proms", "SURGERY", "TODAY"]

SURGERY = dt.date(2026, 1, 10)
TODAY = dt.date(2026, 7, 20)
PP = SpacingSource.PATIENT_PLANE


def _film(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    img = (np.linspace(30, 200, 300)[None, :] * np.ones((400, 1)) + rng.normal(0, 10, (400, 300))).clip(0, 255)
    Image.fromarray(img.astype(np.uint8)).save(path)
    return path


def _rows(seg: float, dh: float, dh0: float | None, prev: float | None, *,
          mm: bool = True) -> tuple[MeasurementDelta, ...]:
    unit = Unit.MM if mm else Unit.PX
    src = PP if mm else None
    return (
        MeasurementDelta(M.SEGMENTAL_LORDOSIS_L5_S1, seg, Unit.DEG, 18.0, seg - 18.0),
        MeasurementDelta(M.DISC_HEIGHT_MEAN_L5_S1, dh, unit, dh0, None if dh0 is None else dh - dh0, prev,
                         None if prev is None else dh - prev, spacing_source=src),
        MeasurementDelta(M.PELVIC_INCIDENCE, 52.0, Unit.DEG, 52.0, 0.0),
        MeasurementDelta(M.PELVIC_TILT, 16.0, Unit.DEG, 15.0, 1.0),
        MeasurementDelta(M.LUMBAR_LORDOSIS, 48.0, Unit.DEG, 50.0, -2.0),
    )


def example_report_data(tmp: Path, *, calibrated: bool = True,
                        red_flags: tuple[str, ...] = ("fever", "saddle_numbness"),
                 status: FusionStatus = FusionStatus.DELAYED_UNION_SUSPECTED) -> ReportData:
    """A :class:`ReportData` for the 6-month visit of a made-up patient; synthetic film PNGs go into ``tmp``."""
    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    films = [_film(tmp / f"film{i}.png", i) for i in range(4)]
    if calibrated:
        subs = Finding("cage_subsidence", Severity.ACTION,
                       "Disc height L5-S1 fell 2.6 mm since the 6-week film (threshold 2 mm).",
                       {"loss_mm": 2.6, "measure": "disc_height_mean_L5_S1"},
                       "> 2 mm disc height loss vs the 6-weeks film (cage subsidence; common study definition)")
    else:
        subs = Finding("cage_subsidence", Severity.ACTION,
                       "Disc height index L5-S1 fell 0.07 since the 6-week film (threshold 0.06).",
                       {"loss_dhi": 0.07, "measure": "disc_height_index_L5_S1"},
                       "> 0.06 loss of disc height index vs early post-op film")
    visits = (
        VisitView("pre-op", SURGERY - dt.timedelta(days=20), -20, _rows(10.0, 6.0, None, None, mm=calibrated),
                  film_png=films[0], film_id="1.2.3.0"),
        VisitView("6-weeks", SURGERY + dt.timedelta(days=42), 42, _rows(18.0, 11.0, 11.0, 6.0, mm=calibrated),
                  is_baseline=True, fusion_status=FusionStatus.ON_TRACK, film_png=films[1], film_id="1.2.3.1"),
        VisitView("3-months", SURGERY + dt.timedelta(days=92), 92, _rows(17.0, 10.0, 11.0, 11.0, mm=calibrated),
                  fusion_status=FusionStatus.ON_TRACK, film_png=films[2], film_id="1.2.3.2"),
        VisitView("6-months", SURGERY + dt.timedelta(days=185), 185, _rows(15.5, 8.4, 11.0, 10.0, mm=calibrated),
                  findings=(subs,), fusion_status=status,
                  status_reasons=("No bridging bone seen at 185 days; union expected by 136 days.",),
                  decide_with="flexion-extension films or thin-cut CT",
                  reader_status=Override("fusion_status", "on_track", "Dr Reader",
                                         dt.datetime(2026, 7, 15, 9, 0, tzinfo=dt.UTC),
                                         "bridging trabeculae on review"),
                  film_png=films[3], film_id="1.2.3.3",
                  motion=({"level": "L5-S1", "angle_deg": 2.1, "angle_sd_deg": 0.8,
                           **({"translation_mm": 0.9} if calibrated else {"translation_percent": 2.4})},)),
    )
    proms = (
        PromRecord(SURGERY - dt.timedelta(days=20), (4, 3, 4, 3, 3, 3, 3, None, 3, 3), 8, 7),
        PromRecord(SURGERY + dt.timedelta(days=92), (2, 1, 3, 2, 2, 2, 2, None, 2, 2), 4, 3),
        PromRecord(SURGERY + dt.timedelta(days=185), (1, 1, 2, 1, 1, 1, 1, None, 1, 1), 3, 2),
    )
    schedule = build_schedule(SURGERY, [v.date for v in visits], today=TODAY)
    return ReportData(
        patient_key="SIM-test-1", surgery=Surgery(SURGERY), visits=visits, current=3, baseline=1,
        red_flags=triage(red_flags), schedule=schedule, proms=proms, patient_name="Doe^Jane",
        patient_id="MRN-778899", birth_date=dt.date(1961, 3, 4), generated_on=TODAY,
        baseline_note="6-week film (first post-operative film with measurements).",
        thresholds={"subsidence_mm": 2.0, "fusion_angle_deg": 3.0, "fusion_translation_mm": 3.0},
    )


def example_proms(surgery_date: dt.date, *, course: str = "improving") -> tuple[PromRecord, ...]:
    """Made-up PROM answers for demos: pre-op (14 days before surgery), 6 weeks, 3, 6 and 12 months.

    ``course``: ``"improving"`` (ODI 64.4 % -> 17.8 %, pain 8/7 -> 2/1: MCID and substantial benefit met),
    ``"slow"`` (ODI 64.4 % -> 48.9 %: MCID met, no substantial benefit) or ``"worse"`` (ODI 48.9 % -> 62.2 %).
    The sex-life section is left blank, so each score is the sum over 9 sections / 45.
    """
    courses = {  # (sum of the 9 answered ODI sections, back pain, leg pain) per time point
        "improving": [(29, 8, 7), (20, 6, 4), (14, 4, 3), (10, 3, 2), (8, 2, 1)],
        "slow": [(29, 8, 7), (27, 7, 6), (25, 6, 5), (23, 6, 5), (22, 5, 4)],
        "worse": [(22, 6, 6), (22, 6, 6), (24, 7, 6), (26, 7, 7), (28, 8, 7)],
    }
    if course not in courses:
        raise ValueError(f"course must be one of {sorted(courses)}, got {course!r}.")
    days = (-14, 42, 91, 182, 365)
    out = []
    for day, (total, back, leg) in zip(days, courses[course], strict=True):
        base, extra = divmod(total, 9)
        answers: list[int | None] = [base + (1 if i < extra else 0) for i in range(9)]
        answers.insert(7, None)  # sex life left blank, as many patients do
        out.append(PromRecord(surgery_date + dt.timedelta(days=day), tuple(answers), back, leg))
    return tuple(out)
