"""Tests for Store.correct_birth_date, correct_surgery_date and correct_surgery: a wrong value is corrected with its
audit (old value, who, when, why), and impossible values are refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from fusionwatch.anatomy import Level
from fusionwatch.errors import InputError
from fusionwatch.records import Approach, Patient, Surgery
from fusionwatch.store import PatientCorrection, Store

SURGERY = dt.date(2025, 1, 10)
T0 = dt.datetime(2025, 9, 1, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2025, 9, 1)


@pytest.fixture
def patient(store: Store) -> Store:
    """Patient K, born 1906-05-01 per a wrong DICOM header (for 1960), operated 2025-01-10, a PROM on 2025-02-21."""
    store.add_patient(Patient("K", patient_id="PID-9", birth_date=dt.date(1906, 5, 1)))
    store.set_surgery("K", Surgery(SURGERY))
    store.add_prom("K", dt.date(2025, 2, 21), back_pain_nrs=3)
    return store


def test_a_wrong_birth_date_is_corrected_and_the_old_value_kept(patient: Store) -> None:
    """The patient takes the new date; the audit keeps the old one with who, when and why; a second correction is
    appended, not merged."""
    rec = patient.correct_birth_date("K", dt.date(1960, 5, 1), by="rn-lee", reason="header had 1906 for 1960", at=T0)
    assert rec == PatientCorrection(rec.id, "K", "birth_date", "1906-05-01", "1960-05-01", T0, "rn-lee",
                                    "header had 1906 for 1960")
    assert patient.get_patient("K").birth_date == dt.date(1960, 5, 1)
    later = T0 + dt.timedelta(days=1)
    patient.correct_birth_date("K", dt.date(1960, 6, 1), by="dr-kim", reason="chart says June", at=later)
    audit = patient.list_patient_corrections("K")
    assert [(c.old_value, c.new_value, c.by, c.at) for c in audit] == [
        ("1906-05-01", "1960-05-01", "rn-lee", T0), ("1960-05-01", "1960-06-01", "dr-kim", later)]
    assert patient.get_patient("K").birth_date == dt.date(1960, 6, 1)


def test_the_corrected_date_is_what_later_records_are_checked_against(patient: Store) -> None:
    """After the correction, a film dated between the wrong and the right birth date is refused (born later)."""
    patient.correct_birth_date("K", dt.date(1960, 5, 1), by="rn-lee", reason="typo")
    with pytest.raises(InputError, match="before patient 'K' was born"):
        patient.check_patient_date("K", dt.date(1950, 1, 1))


def test_a_birth_date_where_none_was_recorded_is_recorded_with_its_audit(store: Store) -> None:
    """A patient without a birth date gets one; the audit says none was recorded before."""
    store.add_patient(Patient("N"))
    rec = store.correct_birth_date("N", dt.date(1970, 1, 2), by="rn-lee", reason="from the chart")
    assert rec.old_value is None and store.get_patient("N").birth_date == dt.date(1970, 1, 2)


@pytest.mark.parametrize("born, match", [
    (dt.date(2025, 3, 1), r"refused: The surgery on record: 2025-01-10 is before patient 'K' was born: check the "
                          r"corrected birth date"),
    (dt.date(2025, 2, 1), r"refused: The first visit on record \(.*\): 2025-01-20 is before patient 'K' was born"),
    (dt.date(2025, 9, 2), r"The corrected birth date: 2025-09-02 is in the future \(today is 2025-09-01\)"),
    (dt.date(1890, 1, 1), r"Birth date 1890-01-01 is impossible \(before 1900"),
    (dt.date(1906, 5, 1), r"already has this birth date"),
])
def test_impossible_birth_dates_are_refused_and_nothing_changes(patient: Store, born: dt.date, match: str) -> None:
    """After the surgery or a visit, in the future, a placeholder, or unchanged: refused, nothing stored."""
    if born == dt.date(2025, 2, 1):  # a pre-op questionnaire before it, the surgery after it: the visit rule
        patient.correct_surgery_date("K", dt.date(2025, 3, 1), by="a", reason="b", visits_change_side=True,
                                     today=TODAY)
        patient.add_prom("K", dt.date(2025, 1, 20), back_pain_nrs=6)
    with pytest.raises(InputError, match=match):
        patient.correct_birth_date("K", born, by="rn-lee", reason="x", today=TODAY)
    assert patient.get_patient("K").birth_date == dt.date(1906, 5, 1)
    assert [c.field for c in patient.list_patient_corrections("K") if c.field == "birth_date"] == []


@pytest.mark.parametrize("by, reason, match", [("", "typo", "needs who"), ("rn", " ", "needs the reason"),
                                               ("x" * 200, "typo", "200 characters long")])
def test_who_and_why_are_required(patient: Store, by: str, reason: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        patient.correct_birth_date("K", dt.date(1960, 5, 1), by=by, reason=reason)
    assert patient.list_patient_corrections("K") == []


def test_unknown_patient_is_refused(store: Store) -> None:
    with pytest.raises(InputError, match="Unknown patient key 'Z'"):
        store.correct_birth_date("Z", dt.date(1960, 5, 1), by="rn", reason="typo")


def test_a_first_birth_date_after_the_surgery_or_a_visit_on_record_is_refused(store: Store) -> None:
    """A birth date given for a patient with records (an ingested film's DICOM header holding the registration date)
    obeys the rule a correction obeys. Before, Store.add_patient set it whenever none was recorded: a header birth
    date after the surgery on record was stored, and every later film, questionnaire and surgery date before it was
    refused until someone corrected it."""
    store.add_patient(Patient("K"))
    store.set_surgery("K", Surgery(dt.date(2025, 1, 10)))
    with pytest.raises(InputError, match=r"after the surgery on record.*nothing was stored") as exc:
        store.add_patient(Patient("K", birth_date=dt.date(2025, 3, 1)))
    assert "2025" not in str(exc.value)  # no date named (identifiers; ingest prints it)
    assert store.get_patient("K").birth_date is None
    store.add_patient(Patient("J"))
    store.add_prom("J", dt.date(2024, 12, 1), back_pain_nrs=3)
    with pytest.raises(InputError, match=r"after the first visit on record"):
        store.add_patient(Patient("J", birth_date=dt.date(2025, 1, 1)))
    assert store.add_patient(Patient("K", birth_date=dt.date(1960, 1, 1))).birth_date == dt.date(1960, 1, 1)
    assert store.add_patient(Patient("N", birth_date=dt.date(2025, 3, 1))).birth_date == dt.date(2025, 3, 1)


class TestCorrectSurgeryDate:
    """Tests for Store.correct_surgery_date (the audit of a birth-date correction, for the index operation)."""

    def test_the_date_is_corrected_with_its_audit_and_the_visits_relabelled(self, patient: Store) -> None:
        """The surgery row takes the new date and the audit the old one, with who, when and why, in one
        transaction; the PROM visit's days since surgery and label follow the new date."""
        rec = patient.correct_surgery_date("K", dt.date(2025, 1, 12), by="dr-kim", reason="operation note", at=T0,
                                           today=TODAY)
        assert rec == PatientCorrection(rec.id, "K", "surgery_date", "2025-01-10", "2025-01-12", T0, "dr-kim",
                                        "operation note")
        assert patient.get_surgery("K").date == dt.date(2025, 1, 12)
        (visit,) = patient.list_visits("K")
        assert (visit.days_since_surgery, visit.label) == (40, "6-weeks")
        assert [c.field for c in patient.list_patient_corrections("K")] == ["surgery_date"]

    @pytest.mark.parametrize("when, match", [
        (dt.date(1990, 1, 1), "from 30 years ago to one year ahead"),
        (dt.date(2027, 1, 1), "from 30 years ago to one year ahead"),
        (dt.date(1906, 1, 1), "from 30 years ago"),
        (SURGERY, "already has surgery date 2025-01-10"),
        (dt.date(2025, 3, 1), r"moves 1 visit\(s\) to the other side of the operation: 2025-02-21 \(6-weeks, "
                              r"post-operative -> pre-operative\)"),
    ])
    def test_impossible_or_side_changing_dates_are_refused_and_nothing_changes(
        self, patient: Store, when: dt.date, match: str
    ) -> None:
        """Out of range, the date on record, or a visit changing side without the confirmation: nothing changes."""
        with pytest.raises(InputError, match=match):
            patient.correct_surgery_date("K", when, by="dr-kim", reason="typo", today=TODAY)
        assert patient.get_surgery("K").date == SURGERY and patient.list_patient_corrections("K") == []
        assert patient.list_visits("K")[0].label == "6-weeks"

    def test_a_date_before_the_birth_date_is_refused(self, store: Store) -> None:
        store.add_patient(Patient("K", birth_date=dt.date(2000, 5, 1)))
        store.set_surgery("K", Surgery(dt.date(2001, 1, 10)))
        with pytest.raises(InputError, match="before patient 'K' was born"):
            store.correct_surgery_date("K", dt.date(2000, 1, 10), by="a", reason="b", today=TODAY)

    def test_a_confirmed_side_change_is_made(self, patient: Store) -> None:
        """With ``visits_change_side`` the 6-week PROM visit becomes pre-operative."""
        patient.correct_surgery_date("K", dt.date(2025, 3, 1), by="dr-kim", reason="operation postponed",
                                     visits_change_side=True, today=TODAY)
        assert [v.label for v in patient.list_visits("K")] == ["pre-op"]

    def test_who_why_and_a_surgery_on_record_are_required(self, store: Store) -> None:
        store.add_patient(Patient("K"))
        with pytest.raises(InputError, match="needs who"):
            store.correct_surgery_date("K", SURGERY, by=" ", reason="typo", today=TODAY)
        with pytest.raises(InputError, match="no surgery on record"):
            store.correct_surgery_date("K", SURGERY, by="a", reason="typo", today=TODAY)


class TestCorrectSurgery:
    """Tests for Store.correct_surgery: the approach and fused levels (and the implants a new approach brings) are
    corrected with the audit of a date correction."""

    def test_approach_and_levels_are_corrected_together_with_one_audit_row_each(self, patient: Store) -> None:
        """'It was a posterolateral fusion at L4-S1': one call, one transaction; the audit keeps the old approach,
        levels and implants (the cage that decided 'cage subsidence'), each with who, when and the reason."""
        recs = patient.correct_surgery("K", approach=Approach.POSTEROLATERAL, levels=((Level.L4, Level.L5),
                                       (Level.L5, Level.S1)), by="dr-kim", reason="operation note", at=T0)
        assert [(r.field, r.old_value, r.new_value, r.by, r.at, r.reason) for r in recs] == [
            ("approach", "TLIF", "posterolateral", "dr-kim", T0, "operation note"),
            ("levels", "L5-S1", "L4-L5,L5-S1", "dr-kim", T0, "operation note"),
            ("implants", "pedicle_screws,rods,interbody_cage", "pedicle_screws,rods", "dr-kim", T0, "operation note"),
        ]
        assert patient.list_patient_corrections("K") == recs
        s = patient.get_surgery("K")
        assert (s.date, s.approach, s.levels, s.implants) == (
            SURGERY, Approach.POSTEROLATERAL, ((Level.L4, Level.L5), (Level.L5, Level.S1)), ("pedicle_screws", "rods"))

    def test_only_what_changes_is_recorded(self, patient: Store) -> None:
        """TLIF -> PLIF keeps the cage: an approach row only; the same approach with other levels: a levels row."""
        recs = patient.correct_surgery("K", approach=Approach.PLIF, by="dr-kim", reason="typo", at=T0)
        assert [(r.field, r.old_value, r.new_value) for r in recs] == [("approach", "TLIF", "PLIF")]
        recs = patient.correct_surgery("K", approach=Approach.PLIF, levels=((Level.L4, Level.L5),), by="dr-kim",
                                       reason="wrong level", at=T0)
        assert [(r.field, r.old_value, r.new_value) for r in recs] == [("levels", "L5-S1", "L4-L5")]

    @pytest.mark.parametrize("kw, match", [
        ({"approach": Approach.TLIF}, "already has TLIF L5-S1 on record"),
        ({"approach": Approach.TLIF, "levels": ((Level.L5, Level.S1),)}, "already has TLIF L5-S1 on record"),
        ({}, "needs --approach or --levels"),
        ({"levels": ((Level.L4, Level.S1),)}, "not two adjacent levels"),
        ({"approach": Approach.ALIF, "by": " "}, "needs who"),
        ({"approach": Approach.ALIF, "reason": ""}, "needs the reason"),
    ])
    def test_refusals_change_nothing(self, patient: Store, kw: dict, match: str) -> None:
        """Nothing to change, nothing given, a segment of non-adjacent levels, no who or why: nothing changes."""
        with pytest.raises(InputError, match=match):
            patient.correct_surgery("K", **{"by": "dr-kim", "reason": "typo", **kw})
        assert patient.get_surgery("K") == Surgery(SURGERY) and patient.list_patient_corrections("K") == []

    def test_a_surgery_on_record_is_required(self, store: Store) -> None:
        store.add_patient(Patient("K"))
        with pytest.raises(InputError, match="no surgery on record .*patient add K --surgery-date D"):
            store.correct_surgery("K", approach=Approach.ALIF, by="a", reason="b")


class TestSetSurgery:
    """Store.set_surgery records an operation once; a change goes through the corrections (R's F4)."""

    def test_a_correction_made_after_a_caller_read_the_record_is_not_undone(self, patient: Store) -> None:
        """R's F4: `patient add` read the record (2025-01-10), another user's correction to 2025-01-12 committed,
        then `patient add` wrote what it had read. Before, set_surgery wrote the old date back with no audit (the
        audit said 2025-01-12, the record 2025-01-10, every visit relabelled back); now it refuses, in its own
        transaction, and the record and the audit agree."""
        read = patient.get_surgery("K")
        patient.correct_surgery_date("K", dt.date(2025, 1, 12), by="dr-kim", reason="operation note", today=TODAY)
        with pytest.raises(InputError, match=r"has surgery date 2025-01-12 on record, not 2025-01-10.*patient correct "
                                             r"K --surgery-date 2025-01-10 --by NAME"):
            patient.set_surgery("K", read)
        assert patient.get_surgery("K").date == dt.date(2025, 1, 12)
        assert [(c.old_value, c.new_value) for c in patient.list_patient_corrections("K")] == [
            ("2025-01-10", "2025-01-12")]
        assert patient.list_visits("K")[0].days_since_surgery == 40

    @pytest.mark.parametrize("other, match", [
        (Surgery(SURGERY, approach=Approach.POSTEROLATERAL, implants=("pedicle_screws", "rods")),
         "approach TLIF; implants pedicle_screws,rods,interbody_cage on record, not posterolateral; "
         "pedicle_screws,rods.*--approach posterolateral --by"),
        (Surgery(SURGERY, levels=((Level.L4, Level.L5),)), "levels L5-S1 on record, not L4-L5.*--levels L4-L5"),
    ])
    def test_another_approach_or_levels_is_refused(self, patient: Store, other: Surgery, match: str) -> None:
        with pytest.raises(InputError, match=match):
            patient.set_surgery("K", other)
        assert patient.get_surgery("K") == Surgery(SURGERY) and patient.list_patient_corrections("K") == []

    def test_the_same_record_again_changes_nothing(self, patient: Store) -> None:
        assert patient.set_surgery("K", Surgery(SURGERY)) == Surgery(SURGERY)
        assert patient.get_surgery("K") == Surgery(SURGERY)


@pytest.mark.parametrize("field", ["surgery_date", "birth_date"])
def test_racing_corrections_keep_a_true_audit_chain(db_url: str, field: str) -> None:
    """R's F3: six corrections of one patient at once. Before, each read the value on record before any wrote, so
    every audit row said 'from 2025-01-10' (five replaced dates in no row; on SQLite the newest row was not the date
    on record) and the checks ran against a stale date. Now each takes the patient row's write lock before reading:
    each old value is the previous row's new value and the last row's is on record."""
    import itertools
    import threading

    from ._race import run_at_once

    s = Store(db_url)
    s.add_patient(Patient("K", birth_date=dt.date(1960, 1, 1)))
    s.set_surgery("K", Surgery(SURGERY))
    s.add_prom("K", dt.date(2025, 6, 1), back_pain_nrs=3)
    s.close()
    n, lock = itertools.count(1), threading.Lock()

    def act(st: Store) -> None:
        with lock:
            i = next(n)
        if field == "surgery_date":
            st.correct_surgery_date("K", SURGERY + dt.timedelta(days=i), by=f"r{i}", reason="race")
        else:
            st.correct_birth_date("K", dt.date(1960, 1, 1) + dt.timedelta(days=i), by=f"r{i}", reason="race")

    assert run_at_once(db_url, act, n=6) == []
    s = Store(db_url)
    try:
        chain = [(c.old_value, c.new_value) for c in s.list_patient_corrections("K")]
        final = s.get_surgery("K").date if field == "surgery_date" else s.get_patient("K").birth_date
    finally:
        s.close()
    assert len(chain) == 6 and all(a[1] == b[0] for a, b in itertools.pairwise(chain)), chain
    assert chain[0][0] == ("2025-01-10" if field == "surgery_date" else "1960-01-01")
    assert chain[-1][1] == final.isoformat()


class TestFirstBirthDate:
    """Store.add_patient: a birth date on record is changed only by correct_birth_date (its audit); a patient's first
    birth date, given by two ingests at once, is one of them and the other is refused, naming the conflict."""

    def test_another_birth_date_than_the_one_on_record_is_refused(self, store: Store) -> None:
        """Before, a film whose header carried another birth date was filed and its date silently dropped."""
        store.add_patient(Patient("K", patient_id="PID-1", birth_date=dt.date(1961, 3, 4)))
        with pytest.raises(InputError, match=r"^The birth date given for patient 'K' .* is not the one on record: "
                                             r".*nothing was stored.*patient correct K --birth-date") as exc:
            store.add_patient(Patient("K", patient_id="PID-1", birth_date=dt.date(1970, 1, 1)))
        assert "\n" not in str(exc.value) and "1970" not in str(exc.value) and "1961" not in str(exc.value)
        assert store.get_patient("K").birth_date == dt.date(1961, 3, 4)
        assert store.add_patient(Patient("K", birth_date=dt.date(1961, 3, 4))).birth_date == dt.date(1961, 3, 4)

    def test_a_birth_date_the_record_was_corrected_from_is_not_a_conflict(self, store: Store) -> None:
        """Films whose header still carries the wrong birth date a correction replaced are filed: the record wins."""
        store.add_patient(Patient("K", birth_date=dt.date(1906, 5, 1)))
        store.correct_birth_date("K", dt.date(1960, 5, 1), by="rn", reason="typo in the header")
        assert store.add_patient(Patient("K", birth_date=dt.date(1906, 5, 1))).birth_date == dt.date(1960, 5, 1)

    @pytest.mark.parametrize("by_key", [True, False], ids=["--patient KEY", "DICOM Patient ID"])
    def test_racing_first_birth_dates_keep_one_and_refuse_the_others(self, db_url: str, by_key: bool) -> None:
        """Eight first ingests of one new patient at once, four birth dates (two ingests each). Before: an
        IntegrityError with the SQL statement ('unexpected error' at ingest) for one key, or, for a new DICOM patient
        (a fresh key each), several patients with one Patient ID and different birth dates; or one birth date kept
        and the others dropped without a word. Now one patient with one birth date; the ingests that gave it
        succeed, the others are refused with the conflict named."""
        import itertools
        import threading

        from ._race import run_at_once

        Store(db_url).close()
        n, lock, keys = itertools.count(), threading.Lock(), []

        def act(st: Store) -> None:
            with lock:
                i = next(n)
            born = dt.date(1960 + i % 4, 1, 1)
            if by_key:
                keys.append(st.add_patient(Patient("K", patient_id="PID-R", birth_date=born)).key)
            else:
                keys.append(st.add_patient(Patient(st.new_patient_key(), patient_id="PID-R", birth_date=born),
                                           same_patient_id_wins=True).key)

        errors = run_at_once(db_url, act, n=8)
        with Store(db_url) as s:
            (key,) = s.list_patients()
            born = s.get_patient(key).birth_date
        assert all(isinstance(e, InputError) and "is not the one on record" in str(e) for e in errors), errors
        assert len(errors) == 6 and keys == [key, key]
        assert born.year in range(1960, 1964)
