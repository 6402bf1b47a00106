"""Racing visit analyses of one patient on SQLite and PostgreSQL (the deterministic interleavings of
tests/test_ingest.py, on both backends): what is stored is measured from the record on record."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusionwatch.records import Patient
from fusionwatch.store import Store
from test_ingest import SURGERY, _dicom_film, _lower_l5


def test_motion_of_an_analysis_overtaken_by_a_reader_edit_is_measured_again(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12-month flexion and extension films stored; ingest A (a 12-month lateral film) reads the flexion film's
    landmarks, then a reader's edit of them (another Store) and its analysis run to the end before A writes. Before
    e0e9be4, A's motion, measured on the replaced landmarks, was written over the reader's; now A measures again."""
    import fusionwatch.implants as implants
    import fusionwatch.motion as motion
    from fusionwatch.followup import SegmentMotion
    from fusionwatch.ingest import ingest, record_reader_landmarks
    from fusionwatch.io import read_landmarks
    from fusionwatch.radiograph import View

    monkeypatch.setattr(implants, "detect_implants", lambda film, lm: None)
    monkeypatch.setattr(implants, "check_implants", lambda *a: [])
    store = Store(db_url)
    try:
        store.add_patient(Patient(key="K-1", patient_id="SYNTH-0001"))
        store.set_surgery("K-1", SURGERY)
        for name, view in (("flex", View.FLEXION), ("ext", View.EXTENSION)):
            (tmp_path / name).mkdir()
            _dicom_film(tmp_path / name, name, 365, seed=7 if name == "flex" else 8, patient_id="SYNTH-0001")
            ingest([tmp_path / name], store, view=view, patient_key="K-1", analyse=False)
        flex = next(f.film_id for f in store.list_films("K-1") if f.view == "flexion")
        lowered = _lower_l5(read_landmarks(tmp_path / "flex" / "flex.landmarks.json"), 4.0)
        calls: list[float] = []

        def register(flexion, extension, lm_f, lm_e, *a: object, **k: object) -> list[SegmentMotion]:
            calls.append(value := lm_f.points["L5.inferior.anterior"][1] - lm_e.points["L5.inferior.anterior"][1])
            if len(calls) == 1:  # A has read the landmarks: the reader's edit and its analysis run now
                with Store(db_url) as b:
                    record_reader_landmarks(b, flex, lowered, "dr-amy")
            return [SegmentMotion("L5-S1", value + 1.0, 0.1, 0.0, 0.0, 0.1, "test/1")]

        monkeypatch.setattr(motion, "register_motion", register)
        (tmp_path / "a").mkdir()
        _dicom_film(tmp_path / "a", "lat", 365, seed=9, patient_id="SYNTH-0001")
        ingest([tmp_path / "a"], store, patient_key="K-1")
        assert len(calls) == 3 and calls[0] != calls[1] == calls[2], calls  # A, the reader's analysis, A again
        (l5s1,) = store.list_motion("K-1", "12-months")
        assert l5s1.angle_deg == pytest.approx(calls[1] + 1.0)
    finally:
        store.close()
