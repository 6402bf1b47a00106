"""Tests for fusionwatch.store.Store: CRUD, idempotency, landmark versions, overrides, PROMs (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from fusionwatch.anatomy import Level
from fusionwatch.errors import InputError
from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.radiograph import DicomIds, Radiograph, View
from fusionwatch.records import Approach, Finding, FusionStatus, Override, Patient, Severity, Surgery
from fusionwatch.store import Store
from fusionwatch.units import Spacing, SpacingSource, Unit

SURGERY = Surgery(date=dt.date(2025, 1, 10), levels=((Level.L5, Level.S1),), approach=Approach.TLIF)
PATIENT = Patient(key="K-1", patient_id="PID-123", name="Doe^Jane", birth_date=dt.date(1960, 5, 1), sex="F")
POINTS = {
    "L5.inferior.anterior": (100.0, 200.0),
    "L5.inferior.posterior": (140.0, 200.0),
    "S1.superior.anterior": (100.0, 212.0),
    "S1.superior.posterior": (140.0, 212.0),
}


def _film(day: int, uid: str, view: View = View.LATERAL) -> Radiograph:
    return Radiograph(
        np.zeros((32, 32), np.float32),
        spacing=Spacing.isotropic(0.2, SpacingSource.PATIENT_PLANE),
        view=view,
        acquired=SURGERY.date + dt.timedelta(days=day),
        ids=DicomIds(patient_id="PID-123", study_uid="1.2.3", sop_uid=uid),
    )


def _lm(dy: float = 0.0, source: str = "file:test") -> Landmarks:
    return Landmarks(
        {k: (x, y + (dy if k.startswith("S1") else 0)) for k, (x, y) in POINTS.items()}, 300, 400, source=source
    )


def _disc(mm: float) -> list[Measurement]:
    return [
        Measurement(
            MeasureName.DISC_HEIGHT_MEAN_L5_S1, mm, Unit.MM, "test/1", spacing_source=SpacingSource.PATIENT_PLANE
        ),
        Measurement(MeasureName.SEGMENTAL_LORDOSIS_L5_S1, 15.0, Unit.DEG, "test/1"),
    ]


def _add(store: Store, day: int, uid: str, mm: float = 10.0, **kw) -> tuple:
    return store.add_film(
        "K-1",
        _film(day, uid),
        film_id=uid,
        file_path=f"/x/{uid}.dcm",
        file_sha256="ab" * 32,
        visit_date=SURGERY.date + dt.timedelta(days=day),
        landmarks=_lm(),
        measurements=_disc(mm),
        **kw,
    )


def _status_12m(store: Store) -> FusionStatus | None:
    return store.load_timeline("K-1").visit("12-months").status.status


@pytest.fixture
def patient_store(store: Store) -> Store:
    store.add_patient(PATIENT)
    store.set_surgery("K-1", SURGERY)
    return store


class TestPatients:
    def test_add_get_roundtrip(self, store: Store) -> None:
        """A patient comes back with its identifiers; adding the same key again returns the stored one."""
        store.add_patient(PATIENT)
        assert store.get_patient("K-1") == PATIENT
        assert store.add_patient(Patient(key="K-1")) == PATIENT
        assert store.list_patients() == ["K-1"]
        assert store.find_patient_key("PID-123") == "K-1"

    def test_same_patient_id_under_other_key_raises(self, store: Store) -> None:
        """One DICOM Patient ID cannot belong to two keys."""
        store.add_patient(PATIENT)
        with pytest.raises(InputError, match="already has this Patient ID"):
            store.add_patient(Patient(key="K-2", patient_id="PID-123"))

    def test_other_patient_id_for_same_key_raises(self, store: Store) -> None:
        store.add_patient(PATIENT)
        with pytest.raises(InputError, match="already has a different Patient ID"):
            store.add_patient(Patient(key="K-1", patient_id="PID-999"))
        assert store.get_patient("K-1").patient_id == "PID-123"

    def test_unknown_patient_raises(self, store: Store) -> None:
        with pytest.raises(InputError, match="Unknown patient key 'nobody'"):
            store.get_patient("nobody")

    def test_check_patient_date_uses_the_birth_and_surgery_on_record(self, store: Store) -> None:
        """One store-side rule for every dated entry (films at ingest, `prom add`, `symptoms add`): the birth date and
        surgery date on record bound it; the message names what the date is and the advice given."""
        with pytest.raises(InputError, match="Unknown patient key 'K-1'"):
            store.check_patient_date("K-1", dt.date(2025, 1, 1))
        store.add_patient(PATIENT)  # born 1960-05-01
        store.check_patient_date("K-1", dt.date(1960, 5, 1))  # no surgery on record: only the birth date bounds it
        with pytest.raises(InputError, match=r"^--date: 1960-04-30 is before patient 'K-1' was born: check the date"):
            store.check_patient_date("K-1", dt.date(1960, 4, 30), what="--date")
        store.set_surgery("K-1", SURGERY)
        with pytest.raises(InputError, match=r"^The film date: impossible for patient 'K-1': .* Check the date \(or "):
            store.check_patient_date("K-1", dt.date(1990, 1, 1), what="The film date",
                                     check="check the date (or give it with --date)")
        store.check_patient_date("K-1", SURGERY.date + dt.timedelta(days=42))

    def test_surgery_roundtrip_and_relabel(self, store: Store) -> None:
        """Visits added before the surgery date was known are relabelled when it is set."""
        store.add_patient(PATIENT)
        v = store.add_visit("K-1", dt.date(2025, 4, 11))
        assert v.label == "unscheduled 2025-04-11" and v.days_since_surgery is None
        store.set_surgery("K-1", SURGERY)
        assert store.get_surgery("K-1") == SURGERY
        (v,) = store.list_visits("K-1")
        assert (v.label, v.days_since_surgery, v.scheduled) == ("3-months", 91, True)


class TestFilms:
    def test_add_film_is_idempotent(self, patient_store: Store) -> None:
        """The same SOP Instance UID twice stores one film and reports the second as not created."""
        rec, created = _add(patient_store, 42, "1.2.3.4")
        assert created and rec.visit_label == "6-weeks" and rec.measurement_count == 2
        rec2, created2 = _add(patient_store, 42, "1.2.3.4", mm=5.0)
        assert not created2 and rec2 == rec
        assert len(patient_store.list_films("K-1")) == 1
        assert patient_store.has_film("1.2.3.4") and not patient_store.has_film("9.9")
        assert (
            patient_store.film_id_for_hash("ab" * 32) == "1.2.3.4" and patient_store.film_id_for_hash("0" * 64) is None
        )

    def test_concurrent_adds_store_each_film_once(self, patient_store: Store) -> None:
        """Four writers racing on the same films and visit: each film is created exactly once, one visit in all."""
        from concurrent.futures import ThreadPoolExecutor

        def writer(_: int) -> list[bool]:
            return [_add(patient_store, 91, f"race-{i}")[1] for i in range(5)]

        with ThreadPoolExecutor(4) as pool:
            created = [c for result in pool.map(writer, range(4)) for c in result]
        assert sum(created) == 5
        assert len(patient_store.list_films("K-1")) == 5 and len(patient_store.list_visits("K-1")) == 1

    def test_films_on_same_day_share_a_visit(self, patient_store: Store) -> None:
        _add(patient_store, 182, "a")
        patient_store.add_film(
            "K-1",
            _film(182, "b", View.FLEXION),
            film_id="b",
            file_path="/x/b",
            file_sha256="c" * 64,
            visit_date=SURGERY.date + dt.timedelta(days=182),
        )
        assert [v.label for v in patient_store.list_visits("K-1")] == ["6-months"]
        assert [f.view for f in patient_store.list_films("K-1")] == ["lateral", "flexion"]

    def test_landmark_versions_reader_wins_all_kept(self, patient_store: Store) -> None:
        """A reader's version wins over a newer automatic one; every version and its measurements are kept."""
        _add(patient_store, 42, "f1")
        v2 = patient_store.add_landmark_set(
            "f1", _lm(2.0, "reader:amy"), kind="reader", author="amy", measurements=_disc(8.0)
        )
        v3 = patient_store.add_landmark_set("f1", _lm(5.0, "model:x/1"), kind="automatic", measurements=_disc(7.0))
        assert (v2, v3) == (2, 3)
        hist = patient_store.landmark_history("f1")
        assert [(h.version, h.kind, h.author) for h in hist] == [
            (1, "file", None),
            (2, "reader", "amy"),
            (3, "automatic", None),
        ]
        cur = patient_store.current_landmarks("f1")
        assert cur is not None and cur.version == 2
        assert cur.landmarks.get("S1.superior.anterior") == (100.0, 214.0)
        assert cur.measurements[0].value == 8.0
        assert hist[0].measurements[0].value == 10.0

    def test_reader_version_needs_author(self, patient_store: Store) -> None:
        _add(patient_store, 42, "f1")
        with pytest.raises(InputError, match="author"):
            patient_store.add_landmark_set("f1", _lm(), kind="reader")

    def test_needs_landmarks_flag_cleared_by_landmarks(self, patient_store: Store) -> None:
        """An ingest finding 'needs_landmarks' disappears once landmarks are added."""
        flag = Finding("needs_landmarks", Severity.INFO, "No landmarks: place them to measure this film.")
        patient_store.add_film(
            "K-1",
            _film(91, "n1"),
            film_id="n1",
            file_path="/x",
            file_sha256="d" * 64,
            visit_date=SURGERY.date + dt.timedelta(days=91),
            findings=[flag],
        )
        assert [f.kind for _, _, f in patient_store.list_findings("K-1")] == ["needs_landmarks"]
        patient_store.add_landmark_set("n1", _lm(), kind="reader", author="amy", measurements=_disc(9.0))
        assert patient_store.list_findings("K-1") == []

    def test_measurement_roundtrip_keeps_units_and_reasons(self, patient_store: Store) -> None:
        ms = [
            Measurement(MeasureName.DISC_HEIGHT_INDEX_L5_S1, 0.31, Unit.RATIO, "dhi/1", points=("a", "b")),
            Measurement.missing(MeasureName.LUMBAR_LORDOSIS, Unit.DEG, "cobb/1", "missing L1.superior.anterior"),
        ]
        patient_store.add_film(
            "K-1",
            _film(42, "m"),
            film_id="m",
            file_path="/x",
            file_sha256="e" * 64,
            visit_date=SURGERY.date + dt.timedelta(days=42),
            landmarks=_lm(),
            measurements=ms,
        )
        assert patient_store.current_landmarks("m").measurements == tuple(ms)


class TestOverridesAndResults:
    def test_overrides_are_appended_never_replaced(self, patient_store: Store) -> None:
        _add(patient_store, 365, "y1")
        t0 = dt.datetime(2026, 1, 20, 9, 0, tzinfo=dt.UTC)
        patient_store.add_override(
            "K-1", Override("fusion_status", "pseudarthrosis_suspected", "amy", t0), visit="12-months"
        )
        patient_store.add_override(
            "K-1",
            Override("fusion_status", "fused_criteria_met", "bob", t0 + dt.timedelta(hours=1), "CT shows bridging"),
            visit="12-months",
        )
        patient_store.add_override("K-1", Override("grade:bridwell", "II", "bob", t0), visit=dt.date(2026, 1, 10))
        recs = patient_store.list_overrides("K-1")
        assert [(r.target, r.value, r.author) for r in recs] == [
            ("fusion_status", "pseudarthrosis_suspected", "amy"),
            ("grade:bridwell", "II", "bob"),
            ("fusion_status", "fused_criteria_met", "bob"),
        ]
        assert recs[2].at == t0 + dt.timedelta(hours=1) and recs[2].visit_label == "12-months"
        tl = patient_store.load_timeline("K-1")
        v = tl.visit("12-months")
        assert v.reader_status.value == "fused_criteria_met" and v.bridwell_grade.value == "II"
        assert v.status.status is FusionStatus.INSUFFICIENT_EVIDENCE  # the automatic result stays beside it
        assert len(v.overrides) == 3

    def test_override_on_unknown_visit_raises(self, patient_store: Store) -> None:
        with pytest.raises(InputError, match="has no visit 3-months"):
            patient_store.add_override(
                "K-1", Override("fusion_status", "on_track", "amy", dt.datetime.now()), visit="3-months"
            )

    def test_override_by_label_targets_the_visit_with_films_not_a_later_contact(self, patient_store: Store) -> None:
        """A symptom report on day 200 is in the 6-month window too; "6-months" is the visit with films (day 182), as
        the timeline labels it, and the contact is "contact day 200" in the store and the timeline alike."""
        _add(patient_store, 42, "b")
        _add(patient_store, 182, "m6")
        contact = SURGERY.date + dt.timedelta(days=200)
        patient_store.add_symptoms("K-1", contact, ["pain_not_improving"])
        at = dt.datetime(2025, 8, 1, 9, 0, tzinfo=dt.UTC)
        rec = patient_store.add_override("K-1", Override("fusion_status", "on_track", "amy", at), visit="6-months")
        assert rec.visit_date == SURGERY.date + dt.timedelta(days=182) and rec.visit_label == "6-months"
        tl = patient_store.load_timeline("K-1")
        assert tl.visit("6-months").reader_status.value == "on_track"
        assert tl.visit("contact day 200").reader_status is None
        rec = patient_store.add_override("K-1", Override("note", "called", "amy", at), visit="contact day 200")
        assert rec.visit_date == contact and rec.visit_label == "contact day 200"
        labels = {r.visit_date: r.visit_label for r in patient_store.list_overrides("K-1")}
        assert labels == {SURGERY.date + dt.timedelta(days=182): "6-months", contact: "contact day 200"}
        assert [v.label for v in tl.visits] == ["6-weeks", "6-months", "contact day 200"]  # the same labels
        assert [v.label for v in patient_store.list_visits("K-1")] == [v.label for v in tl.visits]

    @pytest.mark.parametrize("target, value", [("fusion_status", "fused_criteria_met"), ("grade:bridwell", "I"),
                                               ("bone:lucency", "no"), ("bone:bridging", "0.9")])
    def test_a_reader_status_at_a_visit_without_films_is_refused_by_the_store(
        self, patient_store: Store, target: str, value: str
    ) -> None:
        """The rule lived only in the CLI (a web API calling the store stored a status that was never acted on): the
        store refuses a status, grade or bone evidence at a contact without films, naming the visits with films and
        where a CT read goes; at the visit with films it is stored, and a note at the contact still is."""
        _add(patient_store, 42, "b")
        _add(patient_store, 365, "y")
        contact = SURGERY.date + dt.timedelta(days=400)
        patient_store.add_prom("K-1", contact, back_pain_nrs=2)
        o = Override(target, value, "amy", dt.datetime(2026, 2, 20, tzinfo=dt.UTC))
        with pytest.raises(InputError, match=r"Visit contact day 400 \(2026-02-14\) has no films.*e\.g\. 12-months "
                                             r"\(visits with films: 6-weeks, 12-months\).*A CT read on a day without"):
            patient_store.add_override("K-1", o, visit=contact)
        with pytest.raises(InputError, match="belongs to a visit with films; name the visit"):
            patient_store.add_override("K-1", o)
        assert patient_store.list_overrides("K-1") == []
        assert patient_store.add_override("K-1", o, visit="12-months").visit_label == "12-months"
        note = Override("note", "called the patient", "amy", dt.datetime(2026, 2, 20, tzinfo=dt.UTC))
        assert patient_store.add_override("K-1", note, visit=contact).visit_date == contact

    @pytest.mark.parametrize("target, value", [("fusion_status", "fused_criteria_met"), ("grade:bridwell", "I"),
                                               ("bone:bridging", "0.9")])
    def test_a_reader_status_at_a_pre_operative_visit_is_refused_by_the_store(
        self, patient_store: Store, target: str, value: str
    ) -> None:
        """Reviewer R's F25: a reader's 'fused' status and Bridwell I were stored at the pre-op visit (films before the
        operation: a mistyped visit or surgery date), and that visit's patient report then said the X-rays 'meet the
        signs of a solid fusion'. The store refuses a fusion status, grade or bone evidence dated before the surgery on
        record, naming both dates; a note at that visit is still stored, and the entry at a post-operative visit is."""
        _add(patient_store, -14, "pre")
        _add(patient_store, 365, "y")
        pre_op = SURGERY.date - dt.timedelta(days=14)
        o = Override(target, value, "amy", dt.datetime(2026, 2, 20, tzinfo=dt.UTC))
        with pytest.raises(InputError, match=rf"\({pre_op.isoformat()}\) is before the surgery on record "
                                             rf"\({SURGERY.date.isoformat()}\).*patient correct"):
            patient_store.add_override("K-1", o, visit=pre_op)
        assert patient_store.list_overrides("K-1") == []
        assert patient_store.add_override("K-1", o, visit="12-months").visit_label == "12-months"
        note = Override("note", "planning films", "amy", dt.datetime(2026, 2, 20, tzinfo=dt.UTC))
        assert patient_store.add_override("K-1", note, visit=pre_op).visit_date == pre_op

    def test_a_finding_verdict_where_no_finding_is_held_is_refused_by_the_store(self, patient_store: Store) -> None:
        """Checked only in the CLI before: the store stored Override('finding:x', ...) at a questionnaire contact (no
        films, no findings) or with no visit. At the visit with films it is stored."""
        _add(patient_store, 42, "b")
        _add(patient_store, 365, "y")
        contact = SURGERY.date + dt.timedelta(days=400)
        patient_store.add_prom("K-1", contact, back_pain_nrs=2)
        o = Override("finding:x", "pseudarthrosis_suspected", "amy", dt.datetime(2026, 2, 20, tzinfo=dt.UTC))
        with pytest.raises(InputError, match=r"Visit contact day 400 \(2026-02-14\) holds no findings"):
            patient_store.add_override("K-1", o, visit=contact)
        with pytest.raises(InputError, match="belongs to the visit that holds the finding"):
            patient_store.add_override("K-1", o)
        assert patient_store.list_overrides("K-1") == []
        assert patient_store.add_override("K-1", o, visit="12-months").visit_label == "12-months"

    def test_several_overrides_are_recorded_all_or_nothing(self, patient_store: Store) -> None:
        """add_overrides checks every entry before it records any: a note (allowed at a contact) given with a fusion
        status (refused at a contact) records neither; at the visit with films all are recorded, in order, one
        transaction, with ids."""
        _add(patient_store, 42, "b")
        _add(patient_store, 365, "y")
        contact = SURGERY.date + dt.timedelta(days=400)
        patient_store.add_prom("K-1", contact, back_pain_nrs=2)
        at = dt.datetime(2026, 2, 20, tzinfo=dt.UTC)
        entries = [Override("note", "called the patient", "amy", at),
                   Override("fusion_status", "fused_criteria_met", "amy", at),
                   Override("grade:bridwell", "I", "amy", at)]
        with pytest.raises(InputError, match=r"fusion_status = fused_criteria_met: Visit contact day 400 .* has no "
                                             r"films.*None of the 3 entries was recorded"):
            patient_store.add_overrides("K-1", entries, visit=contact)
        assert patient_store.list_overrides("K-1", include_retracted=True) == []
        with pytest.raises(InputError, match="The override's target is 200 characters long"):
            patient_store.add_overrides("K-1", [entries[1], Override("x" * 200, "v", "amy", at)], visit="12-months")
        assert patient_store.list_overrides("K-1", include_retracted=True) == []
        recs = patient_store.add_overrides("K-1", entries, visit="12-months")
        assert [(r.target, r.visit_label) for r in recs] == [("note", "12-months"), ("fusion_status", "12-months"),
                                                             ("grade:bridwell", "12-months")]
        assert [r.id for r in recs] == [r.id for r in patient_store.list_overrides("K-1")]
        assert len(set(r.id for r in recs)) == 3
        with pytest.raises(InputError, match="no override given"):
            patient_store.add_overrides("K-1", [], visit="12-months")

    def test_ambiguous_label_is_refused_naming_the_dates(self, patient_store: Store) -> None:
        """Two film days in one window: "6-months" could be either; the error names both dates and the way out."""
        from fusionwatch.store import AmbiguousVisitError

        _add(patient_store, 182, "m6")
        _add(patient_store, 200, "m6b")
        o = Override("fusion_status", "on_track", "amy", dt.datetime(2025, 8, 1, tzinfo=dt.UTC))
        with pytest.raises(AmbiguousVisitError, match=r"2025-07-11 \(6-months\), 2025-07-29 \(6-months \(day 200\)\)"):
            patient_store.add_override("K-1", o, visit="6-months")
        assert issubclass(AmbiguousVisitError, InputError)
        assert patient_store.add_override("K-1", o, visit="6-months (day 200)").visit_date == dt.date(2025, 7, 29)
        assert patient_store.add_override("K-1", o, visit=dt.date(2025, 7, 11)).visit_label == "6-months"
        assert [f.visit_label for f in patient_store.list_films("K-1")] == ["6-months", "6-months (day 200)"]
        assert patient_store.get_film("m6b").visit_label == "6-months (day 200)"
        assert _add(patient_store, 201, "m6c")[0].visit_label == "6-months (day 201)"

    def test_bridwell_grade_reaches_the_status(self, patient_store: Store) -> None:
        """A reader's Bridwell grade is bone evidence: I completes the fusion criteria (bridged), IV is a sign of
        non-union; the newest grade counts."""
        from fusionwatch.followup import SegmentMotion

        _add(patient_store, 42, "b")
        _add(patient_store, 365, "y")
        patient_store.replace_motion("K-1", "12-months", [SegmentMotion("L5-S1", 1.2, 0.2, 0.5, None, 0.2)], method="t")
        v = patient_store.load_timeline("K-1").visit("12-months")
        assert v.status.evidence["bridging_call"] == "not_assessed"
        t0 = dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC)
        patient_store.add_override("K-1", Override("grade:bridwell", "I", "amy", t0), visit="12-months")
        v = patient_store.load_timeline("K-1").visit("12-months")
        assert v.status.status is FusionStatus.FUSED_CRITERIA_MET and v.status.evidence["bridging_call"] == "bridged"
        assert "Bridwell grade I" in " ".join(v.status.reasons)
        later = t0 + dt.timedelta(days=1)
        patient_store.add_override("K-1", Override("grade:bridwell", "IV", "bob", later), visit="12-months")
        v = patient_store.load_timeline("K-1").visit("12-months")
        assert v.status.status is not FusionStatus.FUSED_CRITERIA_MET
        assert "Bridwell grade IV" in " ".join(v.status.reasons)

    def test_rejected_finding_does_not_decide_the_status(self, patient_store: Store) -> None:
        """A rod fracture the reader rejected stays on the visit (with the verdict) but no longer makes the status
        pseudarthrosis; a later confirmation brings it back."""
        from fusionwatch.followup import SegmentMotion

        _add(patient_store, 42, "b")
        _add(patient_store, 365, "y")
        patient_store.replace_motion("K-1", "12-months", [SegmentMotion("L5-S1", 1.2, 0.2, 0.5, None, 0.2)], method="t")
        broken = Finding("rod_fracture_suspected", Severity.ACTION, "Left rod discontinuous.")
        patient_store.replace_findings("K-1", "12-months", "implants", [broken])
        assert _status_12m(patient_store) is FusionStatus.PSEUDARTHROSIS_SUSPECTED
        t0 = dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC)
        no = Override("finding:rod_fracture_suspected", "rejected", "amy", t0, "overlapping rods")
        patient_store.add_override("K-1", no, visit="12-months")
        v = patient_store.load_timeline("K-1").visit("12-months")
        assert "rod_fracture_suspected" in v.finding_kinds()
        assert v.status.status is FusionStatus.FUSED_CRITERIA_MET
        assert "Not counted, rejected by a reader: rod fracture suspected." in v.status.reasons
        yes = Override("finding:rod_fracture_suspected", "confirmed", "bob", t0 + dt.timedelta(hours=1))
        patient_store.add_override("K-1", yes, visit="12-months")
        assert _status_12m(patient_store) is FusionStatus.PSEUDARTHROSIS_SUSPECTED

    def test_motion_and_hardware_findings_reach_the_timeline(self, patient_store: Store) -> None:
        """Stored motion and implant findings feed the status: motion < 3 deg / 3 mm at 12 months -> fused criteria."""
        from fusionwatch.followup import SegmentMotion

        _add(patient_store, 42, "b")
        _add(patient_store, 365, "y")
        patient_store.replace_motion("K-1", "12-months", [SegmentMotion("L5-S1", 1.2, 0.2, 0.5, None, 0.2)], method="t")
        tl = patient_store.load_timeline("K-1")
        assert tl.visit("12-months").status.status is FusionStatus.FUSED_CRITERIA_MET
        broken = Finding("rod_fracture_suspected", Severity.ACTION, "Left rod discontinuous.")
        patient_store.replace_findings("K-1", "12-months", "implants", [broken])
        tl = patient_store.load_timeline("K-1")
        v = tl.visit("12-months")
        assert "rod_fracture_suspected" in v.finding_kinds()
        assert v.status.status is FusionStatus.PSEUDARTHROSIS_SUSPECTED
        patient_store.replace_findings("K-1", "12-months", "implants", [])
        assert patient_store.load_timeline("K-1").visit("12-months").status.status is FusionStatus.FUSED_CRITERIA_MET

    def test_flexion_film_feeds_the_adjacent_segment_flexion_sign(self, patient_store: Store) -> None:
        """An L4-L5 angle below -5 deg on the visit's flexion film reaches the timeline as the adjacent-segment sign."""
        _add(patient_store, 42, "b")
        _add(patient_store, 365, "y")
        flexion = [Measurement(MeasureName.SEGMENTAL_LORDOSIS_L4_L5, -7.5, Unit.DEG, "test/1")]
        patient_store.add_film(
            "K-1",
            _film(365, "fx", View.FLEXION),
            film_id="fx",
            file_path="/x/fx.dcm",
            file_sha256="cd" * 32,
            visit_date=SURGERY.date + dt.timedelta(days=365),
            landmarks=_lm(),
            measurements=flexion,
        )
        inputs = {v.label: v for v in patient_store.visit_inputs("K-1")}
        assert inputs["12-months"].flexion_film == "fx" and inputs["6-weeks"].flexion_film is None
        assert inputs["12-months"].flexion_measurements[MeasureName.SEGMENTAL_LORDOSIS_L4_L5].value == -7.5
        tl = patient_store.load_timeline("K-1")
        assert "adjacent_segment_flexion_kyphosis" in tl.visit("12-months").finding_kinds()
        assert "adjacent_segment_flexion_kyphosis" not in tl.visit("6-weeks").finding_kinds()


class TestProms:
    def test_prom_roundtrip_and_visit(self, patient_store: Store) -> None:
        """PROMs attach to the visit of their date (created when new) and come back as plain records."""
        answers = [1, 2, None, 0, 5, 3, 2, 1, 0, 4]
        at = dt.datetime(2025, 2, 21, 10, tzinfo=dt.UTC)
        rec = patient_store.add_prom(
            "K-1", dt.date(2025, 2, 21), odi_answers=answers, back_pain_nrs=4, leg_pain_nrs=2, recorded_at=at
        )
        assert rec.visit_label == "6-weeks" and rec.days_since_surgery == 42
        (got,) = patient_store.list_proms("K-1")
        assert got.odi_answers == tuple(answers) and got.back_pain_nrs == 4 and got.recorded_at == at

    @pytest.mark.parametrize(
        "kw, match",
        [
            ({"odi_answers": [1] * 9}, "10 sections"),
            ({"odi_answers": [6] + [0] * 9}, "section 1"),
            ({"back_pain_nrs": 11}, "back pain NRS must be 0-10"),
            ({}, "Nothing to record"),
        ],
    )
    def test_bad_prom_raises(self, patient_store: Store, kw: dict, match: str) -> None:
        with pytest.raises(InputError, match=match):
            patient_store.add_prom("K-1", dt.date(2025, 2, 21), **kw)

    def test_a_temperature_over_the_fever_setting_stored_through_the_store_raises_the_fever_flag(
        self, patient_store: Store
    ) -> None:
        """R's F8: the fever rule lived in the CLI; a 39 C report stored through the store (the API a web form calls)
        had no red flag. One at or below the setting adds none; a report without a temperature is stored as given."""
        rec = patient_store.add_symptoms("K-1", dt.date(2025, 1, 24), [], note="felt hot",
                                         details={"temperature_c": 39.0})
        assert rec.symptoms == ("fever",) and rec.details["temperature_c"] == 39.0 and "felt hot" in rec.note
        rec = patient_store.add_symptoms("K-1", dt.date(2025, 1, 24), ["wound_redness"],
                                         details={"temperature_given": "37.2C"})
        assert rec.symptoms == ("wound_redness",)
        assert [r.symptoms for r in patient_store.list_symptoms("K-1")] == [("fever",), ("wound_redness",)]

    def test_symptoms_roundtrip(self, patient_store: Store) -> None:
        patient_store.add_symptoms(
            "K-1", dt.date(2025, 1, 24), ["fever", "wound_drainage"], details={"temp_c": 38.4}, note="since yesterday"
        )
        (rec,) = patient_store.list_symptoms("K-1")
        assert rec.symptoms == ("fever", "wound_drainage") and rec.details == {"temp_c": 38.4}
        assert rec.visit_label == "2-weeks"


def test_a_bone_entry_s_reason_names_its_own_source_and_no_reader(store: Store) -> None:
    """R's F9: reader 'a' entered the lucency, 'QZAUTH^ZEB' later only a Bridwell grade II. Before, the status reason
    said 'lucency at the cage-endplate interface (reader:QZAUTH^ZEB)': the wrong reader, and a name that reached the
    de-identified reports through the reasons. Now the lucency names its own source and no person (who entered what
    stays in the overrides)."""
    import numpy as np

    from fusionwatch.landmarks import Landmarks
    from fusionwatch.measurement import Measurement, MeasureName
    from fusionwatch.radiograph import DicomIds, Radiograph, View
    from fusionwatch.records import Override
    from fusionwatch.units import Spacing, SpacingSource, Unit

    when = dt.date(2026, 1, 12)
    store.add_patient(Patient("K"))
    store.set_surgery("K", Surgery(dt.date(2025, 1, 10)))
    film = Radiograph(np.zeros((32, 32), np.float32), spacing=Spacing.isotropic(0.2, SpacingSource.PATIENT_PLANE),
                      view=View.LATERAL, acquired=when, ids=DicomIds(sop_uid="y1"))
    points = {"L5.inferior.anterior": (100.0, 200.0), "L5.inferior.posterior": (140.0, 200.0),
              "S1.superior.anterior": (100.0, 212.0), "S1.superior.posterior": (140.0, 212.0)}
    store.add_film("K", film, film_id="y1", file_path="/x/y1.dcm", file_sha256="ab" * 32, visit_date=when,
                   landmarks=Landmarks(points, 300, 400),
                   measurements=[Measurement(MeasureName.DISC_HEIGHT_MEAN_L5_S1, 9.0, Unit.MM, "test/1",
                                             spacing_source=SpacingSource.PATIENT_PLANE)])
    t0 = dt.datetime(2026, 1, 13, 9, 0, tzinfo=dt.UTC)
    store.add_override("K", Override("bone:lucency", "yes", "a", t0), visit=when)
    store.add_override("K", Override("grade:bridwell", "II", "QZAUTH^ZEB", t0 + dt.timedelta(hours=1)), visit=when)
    reasons = " ".join(store.load_timeline("K").visit("12-months").status.reasons)
    assert "lucency at the cage-endplate interface (reader's entry)" in reasons, reasons
    assert "QZAUTH" not in reasons and "reader:" not in reasons, reasons
