"""Tests for Store.record_baseline / baseline_changes: a move of the early post-operative baseline film is recorded
with when and why and told in the timeline's baseline note (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.radiograph import DicomIds, Radiograph, View
from fusionwatch.records import Patient, Surgery
from fusionwatch.store import BaselineChange, Store
from fusionwatch.units import Spacing, SpacingSource, Unit

from ._race import run_at_once

SURGERY = dt.date(2025, 1, 10)
T0 = dt.datetime(2025, 9, 1, 9, 0, tzinfo=dt.UTC)
POINTS = {"L5.inferior.anterior": (100.0, 200.0), "L5.inferior.posterior": (140.0, 200.0),
          "S1.superior.anterior": (100.0, 212.0), "S1.superior.posterior": (140.0, 212.0)}


def _film(store: Store, day: int, uid: str, mm: float) -> None:
    radiograph = Radiograph(np.zeros((32, 32), np.float32), spacing=Spacing.isotropic(0.2, SpacingSource.PATIENT_PLANE),
                            view=View.LATERAL, acquired=SURGERY + dt.timedelta(days=day), ids=DicomIds(sop_uid=uid))
    ms = [Measurement(MeasureName.DISC_HEIGHT_MEAN_L5_S1, mm, Unit.MM, "test/1",
                      spacing_source=SpacingSource.PATIENT_PLANE)]
    store.add_film("K", radiograph, film_id=uid, file_path=f"/x/{uid}.dcm", file_sha256="ab" * 32,
                   visit_date=SURGERY + dt.timedelta(days=day), landmarks=Landmarks(dict(POINTS), 300, 400),
                   measurements=ms)


def test_a_moved_baseline_film_is_recorded_and_told_in_the_timeline(store: Store) -> None:
    """Immediate film (10 mm) and 12-month film (7 mm): cage subsidence vs the immediate film. A 6-week film (8.5 mm)
    arriving later becomes the baseline and the finding goes (1.5 mm < 2 mm): before, silently; now the change is
    recorded (when, why, before and after) and the baseline note says so."""
    store.add_patient(Patient("K"))
    store.set_surgery("K", Surgery(SURGERY))
    _film(store, 2, "imm", 10.0)
    _film(store, 365, "y1", 7.0)
    assert store.record_baseline("K", cause="first ingest") is None  # the first recording changes nothing
    assert store.record_baseline("K", cause="again") is None  # unchanged
    tl = store.load_timeline("K")
    assert [f.kind for f in tl.visit("12-months").findings] == ["cage_subsidence"]
    assert "changed" not in tl.baseline_note
    _film(store, 42, "w6", 8.5)
    change = store.record_baseline("K", cause="films stored or measured at 6-weeks", at=T0)
    assert change == BaselineChange(SURGERY + dt.timedelta(days=42), "6-weeks", "w6", SURGERY + dt.timedelta(days=2),
                                    "immediate-post-op", "imm", T0, "films stored or measured at 6-weeks", "6-weeks",
                                    "immediate-post-op")
    assert store.record_baseline("K", cause="again") is None
    assert store.baseline_changes("K") == [change]
    tl = store.load_timeline("K")
    assert tl.visit("12-months").findings == ()
    assert tl.baseline_note.startswith("Baseline: the 6-weeks film (2025-02-21)")
    assert ("The baseline changed on 2025-09-01 (films stored or measured at 6-weeks): from the immediate-post-op "
            "film (2025-01-12) to the 6-weeks film (2025-02-21)") in tl.baseline_note
    assert tl.to_dict()["baseline"]["note"] == tl.baseline_note  # --json carries it too
    assert "w6" not in tl.baseline_note and "imm" not in tl.baseline_note.replace("immediate", "")  # no film ids


def test_a_corrected_surgery_date_that_moves_the_baseline_is_recorded(store: Store) -> None:
    """A surgery date corrected by 40 days turns the 'immediate' film into a pre-op one: the baseline moves to the
    next film; recording it says so, and with no film left to be the baseline it says that."""
    store.add_patient(Patient("K"))
    store.set_surgery("K", Surgery(SURGERY))
    _film(store, 2, "imm", 10.0)
    _film(store, 90, "m3", 9.5)
    store.record_baseline("K", cause="first")
    store.correct_surgery_date("K", SURGERY + dt.timedelta(days=40), by="a", reason="b", visits_change_side=True)
    change = store.record_baseline("K", cause="surgery date corrected", at=T0)
    assert change is not None and (change.previous_label, change.label) == ("immediate-post-op", "6-weeks")
    store.correct_surgery_date("K", SURGERY + dt.timedelta(days=100), by="a", reason="b", visits_change_side=True)
    gone = store.record_baseline("K", cause="surgery date corrected", at=T0)
    assert gone is not None and gone.date is None and gone.previous_label == "6-weeks"
    assert "to no film (none can be the baseline)" in store.load_timeline("K").baseline_note


def test_a_database_upgraded_to_baseline_recording_tells_the_first_move(empty_db_url: str) -> None:
    """A database from before 0005_baseline_changes holds an immediate and a 12-month film (cage subsidence vs the
    immediate film) and no recorded baseline film. Before, after the upgrade the 6-week film ingested next moved the
    baseline (the finding went) and that move was recorded as the patient's first recording: record_baseline said
    nothing and the timeline's note told no change. Now opening the upgraded database records each patient's baseline
    film first, so the move is recorded and told."""
    from alembic import command
    from sqlalchemy import text

    from fusionwatch.store._store import _alembic

    with Store(empty_db_url) as store:
        store.add_patient(Patient("K"))
        store.set_surgery("K", Surgery(SURGERY))
        _film(store, 2, "imm", 10.0)
        _film(store, 365, "y1", 7.0)
        cfg = _alembic()[0]
        with store.engine.begin() as conn:  # the database as 0004 left it: no baseline recorded
            conn.execute(text("DELETE FROM baseline_changes"))
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004_patient_corrections")
    with Store(empty_db_url) as store:  # opening upgrades it
        assert store.baseline_changes("K") == []
        _film(store, 42, "w6", 8.5)
        change = store.record_baseline("K", cause="films stored or measured at 6-weeks", at=T0)
        assert change is not None and (change.previous_label, change.label) == ("immediate-post-op", "6-weeks")
        assert "from the immediate-post-op film (2025-01-12)" in store.load_timeline("K").baseline_note


def test_racing_recordings_of_one_patient_record_its_baseline_once(db_url: str) -> None:
    """8 threads recording patient K's baseline at once (two ingests, a PACS receiver and a batch, of one patient):
    one recording. Before, each read 'nothing recorded' before any wrote, and each added a first recording; the
    second of them was then told as a change ('The baseline changed ...: now the immediate-post-op film, before no
    film') in the timeline and the clinician report."""
    from sqlalchemy import text

    with Store(db_url) as s:
        s.add_patient(Patient("K"))
        s.set_surgery("K", Surgery(SURGERY))
        _film(s, 2, "imm", 10.0)
    for _ in range(5):
        with Store(db_url) as reset:
            with reset.engine.begin() as conn:
                conn.execute(text("DELETE FROM baseline_changes"))
        errors = run_at_once(db_url, lambda s: s.record_baseline("K", cause="films stored at immediate-post-op"))
        with Store(db_url) as s:
            with s.engine.connect() as conn:
                n = conn.execute(text("SELECT COUNT(*) FROM baseline_changes")).scalar_one()
            assert errors == [] and n == 1 and s.baseline_changes("K") == []


def test_findings_are_written_only_against_the_record_they_were_made_from(store: Store) -> None:
    """R's F5: Store.replace_visit_analysis writes the visits' findings in one transaction only when the films,
    landmark versions and surgery date are those of the snapshot the analysis read; a film stored meanwhile makes
    it write nothing and say so (False), so the analysis is made again."""
    from fusionwatch.records import Finding, Severity

    store.add_patient(Patient("K"))
    store.set_surgery("K", Surgery(SURGERY))
    _film(store, 2, "imm", 10.0)
    _film(store, 365, "y1", 7.0)
    gap = [Finding("rod_discontinuity", Severity.ACTION, "Rod gap.")]
    year = SURGERY + dt.timedelta(days=365)
    snapshot = store.analysis_snapshot("K")
    _film(store, 42, "w6", 8.5)  # another ingest's film, stored after the analysis read the record
    assert store.replace_visit_analysis("K", snapshot=snapshot, findings={year: gap}) is False
    assert store.list_findings("K") == []
    assert store.replace_visit_analysis("K", snapshot=store.analysis_snapshot("K"), findings={year: gap}) is True
    assert [(label, f.kind) for label, _, f in store.list_findings("K")] == [("12-months", "rod_discontinuity")]


def test_motion_is_written_only_against_the_landmarks_it_was_measured_on(store: Store) -> None:
    """The F5 race for flexion-extension motion: motion measured on a film's landmarks is not written once a new
    landmark version of the film (a reader's edit) is stored after the analysis read the record (False: the analysis
    is made again); the motion and the findings of one analysis are written together or not at all."""
    from fusionwatch.followup import SegmentMotion
    from fusionwatch.records import Finding, Severity

    store.add_patient(Patient("K"))
    store.set_surgery("K", Surgery(SURGERY))
    _film(store, 2, "imm", 10.0)
    _film(store, 365, "y1", 7.0)
    year = SURGERY + dt.timedelta(days=365)
    old = [SegmentMotion("L5-S1", 4.0, 0.5, 1.0, 2.0, 0.2, "test/1")]
    gap = [Finding("rod_discontinuity", Severity.ACTION, "Rod gap.")]
    snapshot = store.analysis_snapshot("K")
    store.add_landmark_set("y1", Landmarks(dict(POINTS), 300, 400), kind="reader", author="dr-amy")
    assert store.replace_visit_analysis("K", snapshot=snapshot, motion={year: (old, ["y1", "y1"])},
                                        findings={year: gap}) is False
    assert store.list_motion("K", year) == [] and store.list_findings("K") == []
    new = [SegmentMotion("L5-S1", 1.0, 0.5, 0.2, 0.4, 0.2, "test/1")]
    assert store.replace_visit_analysis("K", snapshot=store.analysis_snapshot("K"), motion={year: (new, ["y1", "y1"])},
                                        findings={year: gap}) is True
    (got,) = store.list_motion("K", year)
    assert (got.angle_deg, got.films) == (1.0, ("y1", "y1"))
    assert [f.kind for _, _, f in store.list_findings("K")] == ["rod_discontinuity"]
