"""Tests for Store.correct_birth_date: a wrong birth date is corrected with its audit (old value, who, when, why),
and impossible dates are refused by the patient-date rule (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from fusionwatch.errors import InputError
from fusionwatch.records import Patient, Surgery
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
        patient.set_surgery("K", Surgery(dt.date(2025, 3, 1)))
        patient.add_prom("K", dt.date(2025, 1, 20), back_pain_nrs=6)
    with pytest.raises(InputError, match=match):
        patient.correct_birth_date("K", born, by="rn-lee", reason="x", today=TODAY)
    assert patient.get_patient("K").birth_date == dt.date(1906, 5, 1)
    assert patient.list_patient_corrections("K") == []


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
