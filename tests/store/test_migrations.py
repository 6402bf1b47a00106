"""The shipped migrations create the whole schema from an empty database, matching the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from fusionwatch.store import Store, migrate
from fusionwatch.store._models import Base
from fusionwatch.store._store import _alembic


def test_migrations_build_schema_from_empty(empty_db_url: str) -> None:
    """An empty database gets every table; the migrated schema has no difference from the models."""
    engine = create_engine(empty_db_url)
    assert inspect(engine).get_table_names() == []
    migrate(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == _alembic()[1]  # the one head
    engine.dispose()


def test_a_database_with_entries_upgrades_to_entered_in_error(empty_db_url: str) -> None:
    """A database at the revision before 0003_entered_in_error, holding a PROM, a symptom report and an override,
    upgrades: the entries stand (not entered in error) and can then be retracted."""
    import datetime as dt

    from alembic.script import ScriptDirectory

    from fusionwatch.records import Override, Surgery

    previous = ScriptDirectory.from_config(_alembic()[0]).get_revision("0003_entered_in_error").down_revision
    assert isinstance(previous, str)
    engine = create_engine(empty_db_url)
    migrate(engine, previous)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:  # rows as the previous revision's code wrote them (ids from the database)
        assert "retracted_at" not in {c["name"] for c in inspect(conn).get_columns("proms")}

        def add(sql: str, **values: object) -> int:
            return conn.execute(text(sql + " RETURNING id"), values).scalar_one()

        pid = add("INSERT INTO patients (key, created_at) VALUES ('OLD', :t)", t=now)
        add("INSERT INTO surgeries (patient_id, date, levels, approach, implants, notes) VALUES "
            "(:p, '2025-01-10', '[[\"L5\", \"S1\"]]', 'TLIF', '[]', '')", p=pid)
        vid = add("INSERT INTO visits (patient_id, date, days_since_surgery, label, scheduled) VALUES "
                  "(:p, '2025-02-21', 42, '6-weeks', :s)", p=pid, s=True)
        add("INSERT INTO proms (visit_id, recorded_at, back_pain_nrs, extra) VALUES (:v, :t, 4, '{}')", v=vid, t=now)
        sid = add("INSERT INTO symptom_reports (visit_id, recorded_at, symptoms, details, note) VALUES "
                  "(:v, :t, '[\"fever\"]', '{}', '')", v=vid, t=now)
        add("INSERT INTO overrides (patient_id, visit_id, target, value, author, at, reason) VALUES "
            "(:p, :v, 'note', 'called', 'amy', :t, '')", p=pid, v=vid, t=now)
    engine.dispose()
    with Store(empty_db_url) as s:  # opening upgrades to the head
        assert s.get_surgery("OLD") == Surgery(dt.date(2025, 1, 10), implants=())
        assert [(p.back_pain_nrs, p.retracted) for p in s.list_proms("OLD")] == [(4, None)]
        assert [(r.symptoms, r.retracted) for r in s.list_symptoms("OLD")] == [(("fever",), None)]
        assert [(o.value, o.retracted) for o in s.list_overrides("OLD")] == [("called", None)]
        s.retract("OLD", "symptoms", sid, reason="wrong patient", author="rn-lee")
        assert s.list_symptoms("OLD") == [] and len(s.list_symptoms("OLD", include_retracted=True)) == 1
        s.add_override("OLD", Override("note", "again", "amy", dt.datetime.now(dt.UTC)), visit="6-weeks")
        assert [o.value for o in s.list_overrides("OLD")] == ["called", "again"]


def test_opening_twice_is_harmless(empty_db_url: str) -> None:
    """Opening an up-to-date database re-runs no migration and keeps the data."""
    from fusionwatch.records import Patient

    with Store(empty_db_url) as s:
        s.add_patient(Patient(key="A"))
    with Store(empty_db_url) as s:
        assert s.list_patients() == ["A"]


def test_a_database_from_a_newer_fusionwatch_is_refused_with_a_clear_error(empty_db_url: str) -> None:
    """A revision this version does not ship (the database was upgraded by a newer fusionwatch) was alembic's
    CommandError traceback ("Can't locate revision"); now an InputError naming the revision, database untouched."""
    import pytest

    from fusionwatch.errors import InputError

    Store(empty_db_url).close()
    engine = create_engine(empty_db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    with pytest.raises(InputError, match="upgraded by a newer fusionwatch.*0099_from_the_future.*install"):
        Store(empty_db_url)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0099_from_the_future"
    engine.dispose()


def test_downgrading_entered_in_error_is_refused_while_entries_are_retracted(empty_db_url: str) -> None:
    """Dropping the retraction columns brought retracted entries back as standing ones (a retracted red flag would
    escalate again): the downgrade is refused with a clear error while any entry is retracted, and allowed without."""
    import datetime as dt

    import pytest
    from alembic import command

    from fusionwatch.errors import InputError
    from fusionwatch.records import Patient

    def downgrade(engine) -> None:  # type: ignore[no-untyped-def]
        cfg = _alembic()[0]
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002_pseudonym_series")

    with Store(empty_db_url) as s:
        s.add_patient(Patient("K"))
        rec = s.add_symptoms("K", dt.date(2025, 3, 1), ["fever"])
        s.retract("K", "symptoms", rec.id, reason="wrong patient", author="rn-lee")
        engine = s.engine
        with pytest.raises(InputError, match=r"entered in error \(1 in symptom_reports\).*escalate again"):
            downgrade(engine)
        with engine.connect() as conn:
            assert "retracted_at" in {c["name"] for c in inspect(conn).get_columns("symptom_reports")}
        assert s.list_symptoms("K") == []
    engine = create_engine(empty_db_url)
    with engine.begin() as conn:  # no retracted entry left: the downgrade runs
        conn.execute(text("DELETE FROM symptom_reports"))
    downgrade(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0002_pseudonym_series"
    engine.dispose()


def test_a_database_with_patients_upgrades_to_patient_corrections(empty_db_url: str) -> None:
    """A database at 0003_entered_in_error holding a patient with a (wrong) birth date and a surgery upgrades to
    0004_patient_corrections: the patient is unchanged, its birth date can then be corrected with its audit, and the
    downgrade is refused while a correction is recorded (its audit would be lost)."""
    import datetime as dt

    import pytest
    from alembic import command

    from fusionwatch.errors import InputError

    engine = create_engine(empty_db_url)
    migrate(engine, "0003_entered_in_error")
    with engine.begin() as conn:  # rows as the previous revision's code wrote them
        assert "patient_corrections" not in inspect(conn).get_table_names()
        pid = conn.execute(text("INSERT INTO patients (key, birth_date, created_at) VALUES ('OLD', '1906-05-01', :t) "
                                "RETURNING id"), {"t": dt.datetime.now(dt.UTC)}).scalar_one()
        conn.execute(text("INSERT INTO surgeries (patient_id, date, levels, approach, implants, notes) VALUES "
                          "(:p, '2025-01-10', '[[\"L5\", \"S1\"]]', 'TLIF', '[]', '')"), {"p": pid})
    engine.dispose()
    with Store(empty_db_url) as s:  # opening upgrades to the head
        assert s.get_patient("OLD").birth_date == dt.date(1906, 5, 1) and s.list_patient_corrections("OLD") == []
        rec = s.correct_birth_date("OLD", dt.date(1960, 5, 1), by="rn-lee", reason="header had 1906")
        assert (rec.old_value, rec.new_value) == ("1906-05-01", "1960-05-01")
        assert s.get_patient("OLD").birth_date == dt.date(1960, 5, 1)
        engine = s.engine
        cfg = _alembic()[0]
        with pytest.raises(InputError, match=r"1 patient correction\(s\) are recorded"):
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0003_entered_in_error")
        assert len(s.list_patient_corrections("OLD")) == 1


def _insert_baseline_recordings(conn, key: str, n: int) -> None:  # type: ignore[no-untyped-def]
    """``n`` recordings of patient ``key``'s baseline film, as Store.record_baseline writes them (n > 1: it moved)."""
    import datetime as dt

    pid = conn.execute(text("SELECT id FROM patients WHERE key = :k"), {"k": key}).scalar_one()
    for day, label in (("2025-02-01", "immediate-post-op"), ("2025-03-15", "6-weeks"))[:n]:
        conn.execute(text("INSERT INTO baseline_changes (patient_id, visit_date, label, changed_at, cause) "
                          "VALUES (:p, :d, :l, :t, 'films stored')"),
                     {"p": pid, "d": day, "l": label, "t": dt.datetime.now(dt.UTC)})


def _downgrade(engine, revision: str) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    cfg = _alembic()[0]
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_a_refused_downgrade_of_several_steps_changes_nothing(empty_db_url: str) -> None:
    """A downgrade over several revisions refused by an older one leaves the database as it was: every newer
    revision's table is kept with its rows and the revision unchanged. Before, SQLite ran each revision's DDL outside
    the migration's transaction: refused by 0003 (a retracted entry), the downgrade had dropped baseline_changes (0005)
    for good while the database still said 0005, and the store then failed on the missing table."""
    import datetime as dt

    import pytest

    from fusionwatch.errors import InputError
    from fusionwatch.records import Patient

    head = _alembic()[1]
    with Store(empty_db_url) as s:
        s.add_patient(Patient("K"))
        rec = s.add_symptoms("K", dt.date(2025, 3, 1), ["fever"])
        s.retract("K", "symptoms", rec.id, reason="wrong patient", author="rn-lee")
        with s.engine.begin() as conn:  # the first recording of the baseline film: 0005's downgrade allows it
            _insert_baseline_recordings(conn, "K", 1)
        with pytest.raises(InputError, match=r"entered in error"):
            _downgrade(s.engine, "0002_pseudonym_series")
        with s.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head
            assert {"baseline_changes", "patient_corrections"} <= set(inspect(conn).get_table_names())
            assert conn.execute(text("SELECT COUNT(*) FROM baseline_changes")).scalar_one() == 1
        assert s.baseline_changes("K") == [] and s.list_patient_corrections("K") == []


def test_downgrading_baseline_changes_is_refused_while_a_baseline_move_is_recorded(empty_db_url: str) -> None:
    """Dropping baseline_changes loses what a patient's baseline film was before a move, when and why: refused while
    a move is recorded (a patient with two recordings); a first recording alone (no move) does not hold it back."""
    import pytest

    from fusionwatch.errors import InputError
    from fusionwatch.records import Patient

    with Store(empty_db_url) as s:
        s.add_patient(Patient("K"))
        s.add_patient(Patient("J"))
        with s.engine.begin() as conn:
            _insert_baseline_recordings(conn, "K", 2)
            _insert_baseline_recordings(conn, "J", 1)
        with pytest.raises(InputError, match=r"baseline film of 1 patient\(s\) changed"):
            _downgrade(s.engine, "0004_patient_corrections")
        assert [c.label for c in s.baseline_changes("K")] == ["6-weeks"]
        with s.engine.begin() as conn:
            conn.execute(text("DELETE FROM baseline_changes WHERE label = '6-weeks'"))
        _downgrade(s.engine, "0004_patient_corrections")
        with s.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == "0004_patient_corrections"
            assert "baseline_changes" not in inspect(conn).get_table_names()
