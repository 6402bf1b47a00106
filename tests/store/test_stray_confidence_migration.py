"""Migration 0006_stray_landmark_confidence: a landmark version stored with a confidence for a point it does not have
(what the code before 5d5e6f3 stored from a file with a misspelt name) reads again, with the stray value kept."""

from __future__ import annotations

import datetime as dt

import numpy as np
from alembic import command
from sqlalchemy import JSON, Integer, column, create_engine, select, table

from fusionwatch.anatomy import Level
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import DicomIds, Radiograph, View
from fusionwatch.records import Approach, Patient, Surgery
from fusionwatch.store import Store
from fusionwatch.store._store import _alembic

STRAY = "L1.superior.anteriour"  # a misspelt name: no such point
POINTS = {
    "L5.inferior.anterior": (100.0, 200.0),
    "L5.inferior.posterior": (140.0, 200.0),
    "S1.superior.anterior": (100.0, 212.0),
    "S1.superior.posterior": (140.0, 212.0),
}
_SETS = table("landmark_sets", column("id", Integer()), column("data", JSON()))


def _store_a_film(url: str) -> None:
    with Store(url) as s:
        s.add_patient(Patient(key="K-1"))
        s.set_surgery("K-1", Surgery(date=dt.date(2025, 1, 10), levels=((Level.L5, Level.S1),),
                                     approach=Approach.TLIF))
        film = Radiograph(np.zeros((32, 32), np.float32), view=View.LATERAL, acquired=dt.date(2025, 2, 21),
                          ids=DicomIds(patient_id="P", study_uid="1.2.3", sop_uid="1.2.3.4"))
        s.add_film("K-1", film, film_id="1.2.3.4", file_path="/x/f.dcm", file_sha256="ab" * 32,
                   visit_date=dt.date(2025, 2, 21), landmarks=Landmarks(POINTS, 300, 400, source="file:test",
                                                                        confidence={"S1.superior.anterior": 0.8}),
                   measurements=[])


def _write_as_the_old_code_did(url: str) -> None:
    """Down to 0005 and add the stray confidence to the stored version, as the code before 5d5e6f3 stored it."""
    engine = create_engine(url)
    cfg = _alembic()[0]
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005_baseline_changes")
        row_id, data = conn.execute(select(_SETS.c.id, _SETS.c.data)).one()
        conn.execute(_SETS.update().where(_SETS.c.id == row_id)
                     .values(data={**data, "confidence": {**data["confidence"], STRAY: 0.9}}))
    engine.dispose()


def _stored_data(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        data = conn.execute(select(_SETS.c.data)).scalar_one()
    engine.dispose()
    return data


def test_a_stored_stray_confidence_is_set_aside_and_the_version_reads(empty_db_url: str) -> None:
    """Opening the old database upgrades it: the version reads (before, 'Confidence given for L1.superior.anteriour,
    which is not among the points' stopped the patient's report and the cohort export), its points and the
    confidence of its point are unchanged, and the stray value is kept under confidence_without_point."""
    _store_a_film(empty_db_url)
    _write_as_the_old_code_did(empty_db_url)
    with Store(empty_db_url) as s:  # opening upgrades to the head
        (version,) = s.landmark_history("1.2.3.4")
        assert version.landmarks.points == POINTS
        assert version.landmarks.confidence == {"S1.superior.anterior": 0.8}
        assert s.load_timeline("K-1").visits  # the timeline builds
    data = _stored_data(empty_db_url)
    assert data["confidence_without_point"] == {STRAY: 0.9} and STRAY not in data["confidence"]


def test_the_downgrade_puts_the_stray_confidence_back(empty_db_url: str) -> None:
    """Down to 0005 again, the stored version is as the old code wrote it (nothing lost either way)."""
    _store_a_film(empty_db_url)
    _write_as_the_old_code_did(empty_db_url)
    before = _stored_data(empty_db_url)
    with Store(empty_db_url):
        pass
    engine = create_engine(empty_db_url)
    cfg = _alembic()[0]
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005_baseline_changes")
    engine.dispose()
    assert _stored_data(empty_db_url) == before


def test_a_version_without_a_stray_confidence_is_left_as_it_is(empty_db_url: str) -> None:
    """Upgrading rewrites only the versions that hold a stray confidence."""
    _store_a_film(empty_db_url)
    before = _stored_data(empty_db_url)
    engine = create_engine(empty_db_url)
    cfg = _alembic()[0]
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005_baseline_changes")
        command.upgrade(cfg, "head")
    engine.dispose()
    assert _stored_data(empty_db_url) == before and "confidence_without_point" not in before
