"""Tests for Store.retract: a PROM, symptom report or reader override entered by mistake is marked "entered in error"
(never deleted), kept for the audit and left out of everything else (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from fusionwatch.errors import InputError
from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.radiograph import DicomIds, Radiograph, View
from fusionwatch.records import Override, Patient, Surgery
from fusionwatch.store import Retraction, Store
from fusionwatch.units import Spacing, SpacingSource, Unit

SURGERY = dt.date(2025, 1, 10)
T0 = dt.datetime(2025, 9, 1, 9, 0, tzinfo=dt.UTC)
POINTS = {"L5.inferior.anterior": (100.0, 200.0), "L5.inferior.posterior": (140.0, 200.0),
          "S1.superior.anterior": (100.0, 212.0), "S1.superior.posterior": (140.0, 212.0)}


def _day(n: int) -> dt.date:
    return SURGERY + dt.timedelta(days=n)


def _film(store: Store, key: str, day: int, uid: str) -> None:
    radiograph = Radiograph(np.zeros((32, 32), np.float32), spacing=Spacing.isotropic(0.2, SpacingSource.PATIENT_PLANE),
                            view=View.LATERAL, acquired=_day(day), ids=DicomIds(sop_uid=uid))
    ms = [Measurement(MeasureName.DISC_HEIGHT_MEAN_L5_S1, 10.0, Unit.MM, "test/1",
                      spacing_source=SpacingSource.PATIENT_PLANE)]
    store.add_film(key, radiograph, film_id=uid, file_path=f"/x/{uid}.dcm", file_sha256="ab" * 32,
                   visit_date=_day(day), landmarks=Landmarks(dict(POINTS), 300, 400, source="file:test"),
                   measurements=ms)


@pytest.fixture
def two(store: Store) -> Store:
    """Patients A (films at 6 weeks and 6 months) and B (no films)."""
    for key in ("A", "B"):
        store.add_patient(Patient(key))
        store.set_surgery(key, Surgery(SURGERY))
    _film(store, "A", 42, "a6w")
    _film(store, "A", 182, "a6m")
    return store


class TestRetractProm:
    def test_retracted_prom_is_kept_for_the_audit_and_left_out_elsewhere(self, two: Store) -> None:
        """The wrong ODI stays in the store with who, when and why; the lists that feed reports no longer hold it."""
        wrong = two.add_prom("A", _day(182), odi_answers=[5] * 10, back_pain_nrs=9)
        right = two.add_prom("A", _day(182), odi_answers=[1] * 10, back_pain_nrs=2)
        rec = two.retract("A", "prom", wrong.id, reason="typed for the wrong patient", author="pa-kim", at=T0)
        assert rec.id == wrong.id and rec.odi_answers == (5,) * 10  # values unchanged
        assert rec.retracted == Retraction(T0, "pa-kim", "typed for the wrong patient")
        assert [p.id for p in two.list_proms("A")] == [right.id]
        audit = two.list_proms("A", include_retracted=True)
        assert [(p.id, p.retracted) for p in audit] == [(wrong.id, rec.retracted), (right.id, None)]

    def test_a_visit_made_only_by_a_retracted_entry_is_no_visit(self, two: Store) -> None:
        """An ODI typed with the wrong date made a contact visit (it would mark a scheduled visit done and show in
        every report); once retracted, the visit is gone from the timeline and the visit list, and back when a
        standing entry is added on that date."""
        wrong = two.add_prom("A", _day(14), back_pain_nrs=7)
        assert _day(14) in [v.date for v in two.load_timeline("A").visits]
        two.retract("A", "prom", wrong.id, reason="wrong date", author="pa-kim")
        assert [v.date for v in two.load_timeline("A").visits] == [_day(42), _day(182)]
        assert [v.date for v in two.list_visits("A")] == [_day(42), _day(182)]
        assert two.list_proms("A", include_retracted=True)[0].visit_date == _day(14)  # the audit keeps its date
        two.add_symptoms("A", _day(14), ["wound_redness"])
        assert _day(14) in [v.date for v in two.load_timeline("A").visits]

    def test_a_visit_with_films_stays_when_its_only_prom_is_retracted(self, two: Store) -> None:
        wrong = two.add_prom("A", _day(182), back_pain_nrs=7)
        two.retract("A", "prom", wrong.id, reason="wrong visit", author="pa-kim")
        assert [v.date for v in two.load_timeline("A").visits] == [_day(42), _day(182)]

    @pytest.mark.parametrize("reason, author, match", [
        ("", "pa-kim", "needs the reason"), ("   ", "pa-kim", "needs the reason"), ("wrong date", " ", "needs who"),
    ])
    def test_empty_reason_or_author_changes_nothing(self, two: Store, reason: str, author: str, match: str) -> None:
        rec = two.add_prom("A", _day(182), back_pain_nrs=3)
        with pytest.raises(InputError, match=match):
            two.retract("A", "prom", rec.id, reason=reason, author=author)
        assert [p.retracted for p in two.list_proms("A", include_retracted=True)] == [None]

    def test_unknown_id_and_another_patients_id_change_nothing(self, two: Store) -> None:
        rec = two.add_prom("B", _day(20), back_pain_nrs=3)
        with pytest.raises(InputError, match=r"Patient 'A' has no PROM entry 999: `fusionwatch prom list A`"):
            two.retract("A", "prom", 999, reason="wrong patient", author="pa-kim")
        with pytest.raises(InputError, match=rf"PROM entry {rec.id} belongs to another patient, not 'A'"):
            two.retract("A", "prom", rec.id, reason="wrong patient", author="pa-kim")
        assert two.list_proms("B")[0].retracted is None

    def test_already_retracted_says_when_and_by_whom_and_keeps_the_first(self, two: Store) -> None:
        rec = two.add_prom("A", _day(182), back_pain_nrs=3)
        two.retract("A", "prom", rec.id, reason="wrong date", author="pa-kim", at=T0)
        with pytest.raises(InputError, match=r"already marked entered in error on 2025-09-01 09:00 UTC by pa-kim "
                                             r"\(wrong date\); nothing changed"):
            two.retract("A", "prom", rec.id, reason="other", author="dr-amy")
        (got,) = two.list_proms("A", include_retracted=True)
        assert got.retracted == Retraction(T0, "pa-kim", "wrong date")


class TestRetractSymptomsAndOverrides:
    def test_a_retracted_red_flag_stops_escalating_but_is_kept(self, two: Store) -> None:
        from fusionwatch.report.build import build_report_data

        rec = two.add_symptoms("A", _day(190), ["saddle_numbness"], note="typed for another patient")
        data = build_report_data(two, "A", today=_day(200))
        assert [f.symptom.value for f in data.red_flags] == ["saddle_numbness"]
        two.retract("A", "symptoms", rec.id, reason="wrong patient", author="rn-lee")
        data = build_report_data(two, "A", today=_day(200))
        assert data.red_flags == () and data.symptom_notes == ()
        (kept,) = two.list_symptoms("A", include_retracted=True)
        assert kept.symptoms == ("saddle_numbness",) and kept.retracted.by == "rn-lee"
        assert two.list_symptoms("A") == []

    def test_a_retracted_reader_status_no_longer_stands(self, two: Store) -> None:
        o = two.add_override("A", Override("fusion_status", "pseudarthrosis_suspected", "dr-amy", T0), visit="6-weeks")
        assert two.load_timeline("A").visit("6-weeks").reader_status is not None
        rec = two.retract("A", "override", o.id, reason="meant the 6-month visit", author="dr-amy")
        assert rec.visit_label == "6-weeks" and rec.retracted.reason == "meant the 6-month visit"
        v = two.load_timeline("A").visit("6-weeks")
        assert v.reader_status is None and v.overrides == ()
        assert two.list_overrides("A") == []
        assert [r.id for r in two.list_overrides("A", include_retracted=True)] == [o.id]

    def test_ids_are_per_kind(self, two: Store) -> None:
        """A PROM id given as a symptom report's is unknown or another entry, never the PROM."""
        p = two.add_prom("A", _day(182), back_pain_nrs=3)
        with pytest.raises(InputError, match=f"no symptom report {p.id}"):
            two.retract("A", "symptoms", p.id, reason="x", author="y")
        assert two.list_proms("A")[0].retracted is None


def test_a_visit_holding_only_retracted_entries_is_no_visit_by_date_or_label(two: Store) -> None:
    """A PROM typed with the wrong date, then retracted, leaves a visit row the timeline drops; naming its date is the
    normal "no visit" error (it was returned by date, and `report --visit DATE` then failed with StopIteration)."""
    wrong = two.add_prom("A", _day(14), back_pain_nrs=6)
    two.retract("A", "prom", wrong.id, reason="wrong date", author="pa")
    assert _day(14) not in [v.date for v in two.list_visits("A")]
    assert _day(14) not in [v.date for v in two.visit_inputs("A")]
    with pytest.raises(InputError, match="has no visit"):
        two.visit_date("A", _day(14))
    assert two.visit_date("A", _day(42)) == _day(42)


@pytest.mark.parametrize("entry_id", [0, 2**31, 3_000_000_000, 99999999999999999999999])
def test_an_id_out_of_range_is_no_entry(two: Store, entry_id: int) -> None:
    """A mistyped id too large for the column was a DataError (PostgreSQL) or OverflowError (SQLite) traceback."""
    with pytest.raises(InputError, match=f"has no PROM entry {entry_id}"):
        two.retract("A", "prom", entry_id, reason="typo", author="pa")


def test_an_author_longer_than_stored_is_refused_alike_on_every_backend(two: Store) -> None:
    """143 characters: PostgreSQL raised StringDataRightTruncation, SQLite stored it; now an InputError on both."""
    rec = two.add_prom("A", _day(182), back_pain_nrs=3)
    with pytest.raises(InputError, match="at most 128"):
        two.retract("A", "prom", rec.id, reason="wrong date", author="x" * 143)
    with pytest.raises(InputError, match="at most 128"):
        two.add_override("A", Override("fusion_status", "fused", "y" * 129, T0, "CT"), visit=_day(182))
    assert two.list_proms("A")[0].retracted is None and two.list_overrides("A") == []
    two.retract("A", "prom", rec.id, reason="wrong date", author="x" * 128)


def test_prom_and_symptom_labels_are_the_timeline_labels(two: Store) -> None:
    """A questionnaire on a contact day inside the window of a visit with films is 'contact day N' in the timeline;
    prom/symptom listings and the retraction gave the stored per-date label (e.g. '6-months') instead."""
    prom = two.add_prom("A", _day(200), back_pain_nrs=4)
    sym = two.add_symptoms("A", _day(200), ["fever"])
    shown = {v.date: v.label for v in two.list_visits("A")}[_day(200)]
    assert shown.startswith("contact day")
    assert prom.visit_label == sym.visit_label == shown
    assert [p.visit_label for p in two.list_proms("A")] == [shown]
    assert [r.visit_label for r in two.list_symptoms("A")] == [shown]
    assert two.retract("A", "symptoms", sym.id, reason="wrong patient", author="pa").visit_label == shown


def test_the_timeline_carries_retracted_entries_for_the_audit_only(two: Store) -> None:
    """A retracted fever report and ODI left no trace in the timeline the clinician reads; now they are listed (what,
    who retracted, why) while no visit counts them."""
    fever = two.add_symptoms("A", _day(182), ["fever"], note="38.5 at home")
    prom = two.add_prom("A", _day(182), back_pain_nrs=9)
    two.retract("A", "symptoms", fever.id, reason="wrong patient", author="rn-lee", at=T0)
    two.retract("A", "prom", prom.id, reason="wrong date", author="pa", at=T0 + dt.timedelta(minutes=1))
    tl = two.load_timeline("A")
    assert [(e.kind, e.entry_id, e.retracted_by, e.reason) for e in tl.entered_in_error] == [
        ("symptoms", fever.id, "rn-lee", "wrong patient"), ("prom", prom.id, "pa", "wrong date")]
    assert "fever" in tl.entered_in_error[0].what and "back pain NRS 9" in tl.entered_in_error[1].what
    assert tl.to_dict()["entered_in_error"][0]["retracted_at"] == T0.isoformat()
    assert all(not v.overrides for v in tl.visits)
