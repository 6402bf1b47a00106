"""Tests for fusionwatch.ingest: grouping, visits, idempotency, bad files, journeys, and surviving kill -9."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _synth import SYNTHETIC_PATIENT_ID, SYNTHETIC_PATIENT_NAME, draw_lateral_spine, write_dicom
from fusionwatch.anatomy import Level
from fusionwatch.errors import InputError
from fusionwatch.ingest import collect_files, ingest, ingest_journey
from fusionwatch.io import write_landmarks
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import View
from fusionwatch.records import Approach, FusionStatus, Patient, Surgery
from fusionwatch.store import Store

SURGERY = Surgery(date=dt.date(2025, 1, 10), approach=Approach.TLIF)
L5_INFERIOR = ("L5.inferior.anterior", "L5.inferior.posterior")


def _lower_l5(lm: Landmarks, px: float) -> Landmarks:
    """Move the L5 inferior endplate ``px`` pixels towards S1: the L5-S1 disc loses ``px`` pixels of height."""
    pts = {k: ((x, y + px) if k in L5_INFERIOR else (x, y)) for k, (x, y) in lm.points.items()}
    return lm.with_points(pts)


def _dicom_film(
    folder: Path,
    name: str,
    day: int,
    *,
    subsidence_px: float = 0.0,
    seed: int = 0,
    patient_id: str = SYNTHETIC_PATIENT_ID,
    landmarks: bool = True,
) -> Path:
    pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=seed)
    when = (SURGERY.date + dt.timedelta(days=day)).strftime("%Y%m%d")
    path = write_dicom(
        folder / f"{name}.dcm",
        pixels,
        spacing=(1.0, 1.0),
        study_date=when,
        view_position="LL",
        extra={"PatientID": patient_id},
    )
    if landmarks:
        write_landmarks(_lower_l5(lm, subsidence_px), folder / f"{name}.landmarks.json")
    return path


def _ingest_with_a_rod_gap_finding(store: Store, folder: Path, monkeypatch: pytest.MonkeyPatch,
                                   films: tuple[tuple[str, int], ...]) -> None:
    """Ingest lateral films of K-1 named and dated (days after surgery) as ``films``, with the implant detector off and
    the implant checks making one ACTION rod-gap finding at every compared visit (the hardware-finding tests)."""
    import fusionwatch.implants as implants
    from fusionwatch.records import Finding, Severity

    monkeypatch.setattr(implants, "detect_implants", lambda film, lm: None)
    monkeypatch.setattr(implants, "check_implants",
                        lambda *a: [Finding("rod_discontinuity", Severity.ACTION, "Rod gap.")])
    for name, day in films:
        _dicom_film(folder, name, day, seed=day)
    ingest([folder], store)


def _png_film(
    folder: Path,
    name: str,
    *,
    seed: int = 0,
    landmarks: bool = True,
    mm_per_px: float = 1.0,
    size: tuple[int, int] = (192, 384),
) -> Path:
    pixels, lm = draw_lateral_spine(width=size[0], height=size[1], mm_per_px=mm_per_px, seed=seed)
    path = folder / f"{name}.png"
    Image.fromarray((pixels / 16).clip(0, 255).astype(np.uint8)).save(path)
    if landmarks:
        write_landmarks(lm, folder / f"{name}.landmarks.json")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "fw.db")
    yield s
    s.close()


@pytest.fixture
def known_patient(store: Store) -> Store:
    store.add_patient(Patient(key="K-1", patient_id=SYNTHETIC_PATIENT_ID))
    store.set_surgery("K-1", SURGERY)
    return store


class TestIngestDicom:
    def test_groups_by_patient_and_matches_visits(self, known_patient: Store, tmp_path: Path) -> None:
        """Three DICOM films land on the known patient at the visits their dates fall in, measured from the sidecars."""
        films = tmp_path / "films"
        films.mkdir()
        for name, day, sub in (("a", 42, 0.0), ("b", 91, 1.0), ("c", 365, 3.0)):
            _dicom_film(films, name, day, subsidence_px=sub, seed=day)
        report = ingest([films], known_patient, analyse=False)
        assert [o.status for o in report.outcomes] == ["added"] * 3, report.to_dict()
        assert all(o.measured for o in report.added)
        assert report.patient_keys == ["K-1"]
        assert [v.label for v in known_patient.list_visits("K-1")] == ["6-weeks", "3-months", "12-months"]
        timeline = known_patient.load_timeline("K-1")
        assert timeline.baseline_label == "6-weeks"
        assert "cage_subsidence" not in timeline.visit("3-months").finding_kinds()  # 1 mm: below 2 mm
        assert "cage_subsidence" in timeline.visit("12-months").finding_kinds()  # 3 mm: above 2 mm

    def test_second_run_skips_everything(self, known_patient: Store, tmp_path: Path) -> None:
        """Ingest is idempotent: the same SOP Instances again are skipped, nothing is duplicated."""
        _dicom_film(tmp_path, "a", 42)
        _dicom_film(tmp_path, "b", 91, seed=1)
        first = ingest([tmp_path], known_patient, analyse=False)
        again = ingest([tmp_path], known_patient, analyse=False)
        assert len(first.added) == 2 and len(again.added) == 0
        assert [o.reason for o in again.skipped] == ["already stored (same SOP Instance UID or file content)"] * 2
        assert len(known_patient.list_films("K-1")) == 2

    def test_unknown_dicom_patient_gets_pseudonymous_key(self, store: Store, tmp_path: Path) -> None:
        """A new DICOM patient gets a random key; the identifiers are stored but not in the report."""
        _dicom_film(tmp_path, "a", 42, patient_id="PID-XYZ-42")
        report = ingest([tmp_path], store, analyse=False)
        (key,) = report.patient_keys
        assert key.startswith("P-") and "XYZ" not in key
        assert store.get_patient(key).patient_id == "PID-XYZ-42"
        text = json.dumps(report.to_dict())
        assert "PID-XYZ-42" not in text and SYNTHETIC_PATIENT_NAME.split("^")[0] not in text
        (visit,) = store.list_visits(key)
        assert visit.label == "unscheduled 2025-02-21"  # no surgery date yet
        store.set_surgery(key, SURGERY)
        assert store.list_visits(key)[0].label == "6-weeks"

    def test_dicomdir_stands_for_its_folder(self, known_patient: Store, tmp_path: Path) -> None:
        (tmp_path / "IMG").mkdir()
        _dicom_film(tmp_path / "IMG", "x1", 42)
        (tmp_path / "DICOMDIR").write_bytes(b"\0" * 200)
        files, _ = collect_files([tmp_path / "DICOMDIR"])
        assert [f.name for f in files] == ["x1.dcm"]

    def test_png_beside_its_dicom_is_skipped(self, tmp_path: Path) -> None:
        _dicom_film(tmp_path, "f", 42)
        _png_film(tmp_path, "f")
        files, skipped = collect_files([tmp_path])
        assert [f.name for f in files] == ["f.dcm"]
        assert skipped[0].reason == "same film as the DICOM file f.dcm"


class TestBadInput:
    def test_bad_files_reported_batch_continues(self, known_patient: Store, tmp_path: Path) -> None:
        """A corrupt file, a missing file and a PNG without a patient fail with their reason; the good film is added."""
        _dicom_film(tmp_path, "good", 42)
        (tmp_path / "junk.dcm").write_bytes(b"this is not an image at all" * 10)
        _png_film(tmp_path, "nopatient")
        report = ingest([tmp_path, tmp_path / "missing.dcm"], known_patient, analyse=False)
        reasons = {Path(o.path).name: o.reason for o in report.failed}
        assert set(reasons) == {"junk.dcm", "nopatient.png", "missing.dcm"}
        assert "neither an image" in reasons["junk.dcm"]
        assert "--patient" in reasons["nopatient.png"]
        assert reasons["missing.dcm"].startswith("File not found")
        assert [Path(o.path).name for o in report.added] == ["good.dcm"]

    @pytest.mark.parametrize("kind", ["blank", "noise"])
    @pytest.mark.parametrize("with_landmarks", [False, True])
    def test_an_image_that_is_not_a_radiograph_is_refused_and_the_others_are_stored(
        self, known_patient: Store, tmp_path: Path, kind: str, with_landmarks: bool
    ) -> None:
        """A blank or pure-noise image with a film's DICOM header is refused by name, with what is wrong, and nothing
        of it is stored, with or without a landmark file and without --detect (R's F1); the good film is added."""
        good = _dicom_film(tmp_path, "good", 42)
        pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=1)
        rng = np.random.default_rng(0)
        noise = rng.integers(0, 4000, pixels.shape).astype(pixels.dtype)
        bad = np.full_like(pixels, 2000) if kind == "blank" else noise
        write_dicom(tmp_path / "bad.dcm", bad, spacing=(1.0, 1.0), study_date="20250221", view_position="LL",
                    extra={"PatientID": SYNTHETIC_PATIENT_ID})
        if with_landmarks:
            write_landmarks(lm, tmp_path / "bad.landmarks.json")
        report = ingest([tmp_path], known_patient, analyse=False)
        assert [Path(o.path).name for o in report.added] == [good.name]
        (failed,) = report.failed
        assert Path(failed.path).name == "bad.dcm"
        assert failed.reason.startswith("no lumbar spine found on bad.dcm: ")
        assert ("blank" if kind == "blank" else "pixel noise") in failed.reason
        assert "Nothing was stored" in failed.reason
        assert [Path(f.file_path).name for f in known_patient.list_films("K-1")] == [good.name]

    def test_the_view_model_s_not_a_lumbar_film_refuses_the_file(self, known_patient: Store, tmp_path: Path) -> None:
        """With --detect, the detector's "not a lumbar film" refuses the file instead of storing it as needing
        landmarks (R's F1: a chest film was stored as the 12-month lateral)."""
        from fusionwatch.errors import UnsupportedImageError

        def chest(film):
            raise UnsupportedImageError("chest.dcm does not look like a lumbar spine radiograph (view model: 99% "
                                        "'not a lumbar film'); expected a lateral or AP lumbar film.")

        _dicom_film(tmp_path, "chest", 42, landmarks=False)
        report = ingest([tmp_path], known_patient, detect=chest, analyse=False)
        assert not report.added
        (failed,) = report.failed
        assert failed.reason.startswith("no lumbar spine found on chest.dcm: ") and "not a lumbar film" in failed.reason
        assert known_patient.list_films("K-1") == []

    def test_a_film_stating_no_view_is_not_made_a_lateral_by_the_view_model(self, known_patient: Store,
                                                                           tmp_path: Path) -> None:
        """A PNG without --view or landmark file whose detector landmarks are lateral (the view model's reading) is
        refused: the model cannot tell a flexion film from the neutral lateral (R's F10: a flexion PNG became the
        12-month neutral lateral). Given --view flexion it is stored as the flexion film."""
        pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=3)
        path = _png_film(tmp_path, "flex", landmarks=False)

        def detector(film):  # the shipped detector's rule: a film without a view gets lateral landmarks
            return replace(lm, view=film.view or View.LATERAL, source="model:lateral-film/1")

        report = ingest([path], known_patient, detect=detector, patient_key="K-1", date=dt.date(2025, 2, 21),
                        analyse=False)
        (failed,) = report.failed
        assert "flex.png states no view" in failed.reason and "--view flexion" in failed.reason
        assert "Nothing was stored" in failed.reason and known_patient.list_films("K-1") == []
        report = ingest([path], known_patient, detect=detector, patient_key="K-1", date=dt.date(2025, 2, 21),
                        view=View.FLEXION, analyse=False)
        (o,) = report.added
        assert [f.view for f in known_patient.list_films("K-1")] == ["flexion"]

    def test_a_film_whose_file_name_is_not_utf8_is_refused_by_name_and_the_others_are_stored(
        self, known_patient: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A film copied from a Latin-1 system ('f\\xe9.dcm'): before, 'unexpected error (UnicodeEncodeError) ...
        surrogates not allowed' and a logged traceback (the store cannot hold the path); now a line naming the file
        (io.loading.display_name) and the byte, with a rename hint; the other film is stored."""
        _dicom_film(tmp_path, "good", 42)
        bad = Path(os.fsdecode(os.fsencode(tmp_path) + b"/f\xe9.dcm"))
        _dicom_film(tmp_path, "src", 91, seed=1).rename(bad)
        report = ingest([tmp_path], known_patient, analyse=False)
        (o,) = report.failed
        assert o.reason.startswith("The file name 'f\\xe9.dcm' is not UTF-8 text (byte 0xe9): rename the file"), \
            o.reason
        assert o.path.endswith("f\\xe9.dcm") and o.path.encode("utf-8")  # printable
        assert [Path(o.path).name for o in report.added] == ["good.dcm"]
        assert not [r for r in caplog.records if r.exc_info]
        json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")

    def test_an_invalid_dicom_date_is_said_to_be_invalid_with_its_value(self, known_patient: Store,
                                                                        tmp_path: Path) -> None:
        """Before: 'The film has no acquisition or study date' for a film whose dates are there but invalid."""
        pixels, _ = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=0)
        write_dicom(tmp_path / "baddate.dcm", pixels, spacing=(1.0, 1.0), study_date="20261341", view_position="LL",
                    extra={"PatientID": SYNTHETIC_PATIENT_ID})
        (o,) = ingest([tmp_path], known_patient, analyse=False).failed
        assert o.reason.startswith("The film has no valid acquisition or study date (Study Date (0008,0020) "
                                   "'20261341' is not a valid date (YYYYMMDD)): give it with --date"), o.reason

    def test_a_journey_manifest_that_is_not_utf8_names_the_byte(self, store: Store, tmp_path: Path) -> None:
        """Before: a UnicodeDecodeError traceback (invalid JSON was already an error line)."""
        (tmp_path / "journey.json").write_bytes(b'{"schema": "caf\xe9"}')
        with pytest.raises(InputError, match=r"^Cannot read the journey manifest .*journey\.json: it is not UTF-8 "
                                             r"text \(byte 0xe9 at position 15\); save it as UTF-8\.$"):
            ingest_journey(tmp_path, store)

    def test_future_date_refused(self, store: Store, tmp_path: Path) -> None:
        _png_film(tmp_path, "p1", seed=1)
        future = dt.date.today() + dt.timedelta(days=3)
        (o,) = ingest([tmp_path], store, patient_key="K-9", date=future, analyse=False).failed
        assert "in the future" in o.reason

    def test_patient_option_does_not_mix_in_another_patients_dicom(self, store: Store, tmp_path: Path) -> None:
        """--patient KEY links KEY to the first DICOM film's Patient ID; a film of another Patient ID is refused."""
        _dicom_film(tmp_path, "a1", 42, patient_id="PID-A")
        _dicom_film(tmp_path, "a2", 91, seed=1, patient_id="PID-A")
        _dicom_film(tmp_path, "b1", 91, seed=2, patient_id="PID-B")
        report = ingest([tmp_path], store, patient_key="STUDY-A", analyse=False)
        assert sorted(Path(o.path).name for o in report.added) == ["a1.dcm", "a2.dcm"]
        (o,) = report.failed
        assert Path(o.path).name == "b1.dcm" and "another patient" in o.reason and "'STUDY-A'" in o.reason
        assert "PID-B" not in o.reason and "PID-A" not in o.reason  # identifiers never in the report
        assert store.get_patient("STUDY-A").patient_id == "PID-A"

    def test_patient_option_refuses_a_film_owned_by_another_key(self, store: Store, tmp_path: Path) -> None:
        """A DICOM film whose Patient ID is already another patient's is not filed under --patient KEY."""
        store.add_patient(Patient(key="OWNER", patient_id="PID-B"))
        _dicom_film(tmp_path, "b1", 91, patient_id="PID-B")
        (o,) = ingest([tmp_path], store, patient_key="STUDY-A", analyse=False).failed
        assert "belongs to patient 'OWNER'" in o.reason
        assert store.list_films("OWNER") == []

    @pytest.mark.parametrize("study_date", ["18991230", "19000101", "19500101"])
    @pytest.mark.parametrize("with_surgery", [True, False])
    def test_impossible_early_date_refused(self, store: Store, tmp_path: Path, study_date: str,
                                           with_surgery: bool) -> None:
        """A placeholder date (1899/1900), or one decades before the surgery, is refused, not filed as a visit."""
        store.add_patient(Patient(key="K-1", patient_id=SYNTHETIC_PATIENT_ID))
        if with_surgery:
            store.set_surgery("K-1", SURGERY)
        pixels, _ = draw_lateral_spine(width=192, height=384, mm_per_px=1.0)
        write_dicom(tmp_path / "old.dcm", pixels, spacing=(1.0, 1.0), study_date=study_date, view_position="LL",
                    extra={"PatientID": SYNTHETIC_PATIENT_ID})
        report = ingest([tmp_path], store, analyse=False)
        if study_date == "19500101" and not with_surgery:  # plausible for a film without a surgery to compare with
            assert len(report.added) == 1
            return
        (o,) = report.failed
        assert "impossible" in o.reason and "check the date" in o.reason.lower()
        assert store.list_films("K-1") == []

    def test_film_before_birth_refused(self, store: Store, tmp_path: Path) -> None:
        """A film dated before the patient's birth date on record is refused."""
        store.add_patient(Patient(key="K-B", patient_id=SYNTHETIC_PATIENT_ID, birth_date=dt.date(2025, 3, 1)))
        _dicom_film(tmp_path, "a", 42)  # 2025-02-21
        (o,) = ingest([tmp_path], store, analyse=False).failed
        assert "before patient 'K-B' was born" in o.reason

    def test_film_refused_for_its_date_links_no_patient_id(self, store: Store, tmp_path: Path) -> None:
        """A film refused for its date (decades from the surgery) does not link its Patient ID to the --patient key
        (the link was made before the date check, so the right patient's later films were refused as another's)."""
        store.add_patient(Patient(key="STUDY-A"))
        store.set_surgery("STUDY-A", SURGERY)
        pixels, _ = draw_lateral_spine(width=192, height=384, mm_per_px=1.0)
        write_dicom(tmp_path / "old.dcm", pixels, spacing=(1.0, 1.0), study_date="19500101", view_position="LL",
                    extra={"PatientID": "PID-WRONG-DATE"})
        (o,) = ingest([tmp_path], store, patient_key="STUDY-A", analyse=False).failed
        assert "impossible" in o.reason
        assert store.get_patient("STUDY-A").patient_id is None
        assert store.find_patient_key("PID-WRONG-DATE") is None

    def test_film_with_a_broken_landmark_file_creates_no_patient(self, store: Store, tmp_path: Path) -> None:
        """A new patient's film refused for its landmark file leaves no patient record behind."""
        path = _dicom_film(tmp_path, "a", 42, patient_id="PID-NEW")
        path.with_suffix(".landmarks.json").write_text("{not json")
        (o,) = ingest([tmp_path], store, analyse=False).failed
        assert store.find_patient_key("PID-NEW") is None and store.list_patients() == [], o.reason

    def test_png_with_patient_and_date(self, store: Store, tmp_path: Path) -> None:
        """A PNG is accepted with the key and date given; without landmarks it is stored and flagged."""
        _png_film(tmp_path, "p1", seed=1)
        _png_film(tmp_path, "p2", seed=2, landmarks=False)
        store.add_patient(Patient(key="K-9"))
        store.set_surgery("K-9", SURGERY)
        report = ingest([tmp_path], store, patient_key="K-9", date=dt.date(2025, 4, 11), analyse=False)
        assert len(report.added) == 2
        assert [Path(o.path).name for o in report.needs_landmarks] == ["p2.png"]
        assert all(o.visit_label == "3-months" for o in report.added)
        films = {Path(f.file_path).name: f for f in store.list_films("K-9")}
        assert films["p1.png"].film_id.startswith("sha256:") and films["p1.png"].measurement_count > 10
        assert films["p2.png"].measurement_count == 0
        review = store.load_timeline("K-9").visit("3-months").review
        assert any("No landmarks" in r.summary for r in review)


def _journey(folder: Path) -> Path:
    """A hand-made journey (the simulator's manifest format) with a flexion-extension pair at 12 months."""
    films = []
    for i, (visit, day, view, sub) in enumerate(
        (
            ("6-weeks", 42, "lateral", 0.0),
            ("12-months", 365, "lateral", 0.5),
            ("12-months", 365, "flexion", 0.0),
            ("12-months", 365, "extension", 0.0),
        )
    ):
        name = f"{visit}-{view}"
        _dicom_film(folder, name, day, subsidence_px=sub, seed=i, patient_id="SIM-PID-1")
        films.append(
            {
                "file": f"{name}.dcm",
                "visit": visit,
                "date": str(SURGERY.date + dt.timedelta(days=day)),
                "days_since_surgery": day,
                "view": view,
                "landmarks": f"{name}.landmarks.json",
                "truth": {},
            }
        )
    manifest = {
        "schema": "fusionwatch.sim.journey/1",
        "scenario": "solid-fusion",
        "seed": 1,
        "patient": {
            "key": "SIM-solid-fusion-1",
            "patient_id": "SIM-PID-1",
            "name": "SIM^ONE",
            "birth_date": "1961-02-03",
            "sex": "F",
        },
        "surgery": {"date": SURGERY.date.isoformat(), "levels": [["L5", "S1"]], "approach": "TLIF"},
        "films": films,
        "expected": {},
    }
    path = folder / "journey.json"
    path.write_text(json.dumps(manifest))
    return path


class TestJourney:
    def test_journey_creates_patient_surgery_and_motion(self, store: Store, tmp_path: Path) -> None:
        """The manifest's patient and surgery are created; the flexion-extension pair gives motion and a status."""
        report = ingest_journey(_journey(tmp_path), store)
        assert len(report.added) == 4, report.to_dict()
        assert store.get_surgery("SIM-solid-fusion-1") == SURGERY
        assert store.get_patient("SIM-solid-fusion-1").patient_id == "SIM-PID-1"
        motion = store.list_motion("SIM-solid-fusion-1", "12-months")
        assert {m.level for m in motion} == {"L4-L5", "L5-S1"}
        l5s1 = next(m for m in motion if m.level == "L5-S1")
        assert abs(l5s1.angle_deg) < 1.0  # the same drawn spine in both films: no motion
        v = store.load_timeline("SIM-solid-fusion-1").visit("12-months")
        assert v.status.status is FusionStatus.FUSED_CRITERIA_MET, v.status
        again = ingest_journey(tmp_path, store)
        assert len(again.skipped) == 4 and not again.added

    def test_a_journey_with_another_surgery_date_is_refused(self, store: Store, tmp_path: Path) -> None:
        """Before, ingesting a journey whose manifest gives another surgery date than the one on record changed the
        record's date without a word (no old value, who or why); now it is refused, pointing to `patient correct`,
        and nothing is ingested."""
        path = _journey(tmp_path)
        store.add_patient(Patient("SIM-solid-fusion-1"))
        store.set_surgery("SIM-solid-fusion-1", Surgery(dt.date(2025, 1, 12)))
        with pytest.raises(InputError, match="patient correct SIM-solid-fusion-1 --surgery-date 2025-01-10"):
            ingest_journey(path, store)
        assert store.get_surgery("SIM-solid-fusion-1").date == dt.date(2025, 1, 12)
        assert store.list_films("SIM-solid-fusion-1") == []

    @pytest.mark.parametrize("on_record, named", [
        (Surgery(SURGERY.date, approach=Approach.POSTEROLATERAL, implants=("pedicle_screws", "rods")),
         "--approach TLIF --by NAME"),
        (Surgery(SURGERY.date, levels=((Level.L4, Level.L5), (Level.L5, Level.S1))), "--levels L5-S1 --by NAME"),
        (Surgery(SURGERY.date, implants=("pedicle_screws", "rods")), r"surgery \(implants pedicle_screws,rods,"
                                                                    r"interbody_cage\) is not the one on record"),
    ])
    def test_a_journey_with_another_approach_or_levels_is_refused(self, store: Store, tmp_path: Path,
                                                                  on_record: Surgery, named: str) -> None:
        """Before, a journey whose manifest has the surgery date on record but another approach (and so another
        implant list: the cage decides cage subsidence) or other levels overwrote them without a word; now it is
        refused like another surgery date, pointing to `patient correct`, and nothing is ingested."""
        path = _journey(tmp_path)
        store.add_patient(Patient("SIM-solid-fusion-1"))
        store.set_surgery("SIM-solid-fusion-1", on_record)
        with pytest.raises(InputError, match=named if "implants" in named else f"patient correct SIM-solid-fusion-1 "
                                                                                 f"{named}"):
            ingest_journey(path, store)
        assert store.get_surgery("SIM-solid-fusion-1") == on_record
        assert store.list_films("SIM-solid-fusion-1") == []

    def test_bad_manifest_raises(self, store: Store, tmp_path: Path) -> None:
        (tmp_path / "journey.json").write_text('{"schema": "other/1"}')
        with pytest.raises(InputError, match="fusionwatch.sim.journey/1"):
            ingest_journey(tmp_path, store)


def _db_counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return {
            t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("radiographs", "landmark_sets", "measurements", "findings", "visits")
        }
    except sqlite3.OperationalError:
        return {}
    finally:
        con.close()


@pytest.mark.slow
def test_kill_9_mid_ingest_loses_nothing_and_rerun_completes(tmp_path: Path) -> None:
    """kill -9 during a CLI ingest: committed films are whole, nothing is half-written, a re-run finishes the job."""
    folder = tmp_path / "films"
    folder.mkdir()
    n = 60
    for i in range(n):
        _png_film(folder, f"f{i:03d}", seed=i, mm_per_px=2.0, size=(120, 200))
    db = tmp_path / "kill.db"
    cmd = [
        sys.executable,
        "-c",
        "from fusionwatch.cli import main; main()",
        "ingest",
        str(folder),
        "--db",
        str(db),
        "--patient",
        "K-KILL",
        "--date",
        "2025-04-11",
        "--no-analyse",
    ]
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        committed = _db_counts(db).get("radiographs", 0) if db.exists() else 0
        if committed >= 5:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the ingest finished before it could be killed: make the batch larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    counts = _db_counts(db)
    assert 5 <= counts["radiographs"] < n
    con = sqlite3.connect(db)
    try:
        per_film = con.execute(
            "SELECT r.id, COUNT(DISTINCT l.id), COUNT(m.id) FROM radiographs r LEFT JOIN landmark_sets l ON "
            "l.radiograph_id = r.id LEFT JOIN measurements m ON m.landmark_set_id = l.id GROUP BY r.id"
        ).fetchall()
        orphans = (
            con.execute(
                "SELECT COUNT(*) FROM landmark_sets WHERE radiograph_id NOT IN (SELECT id FROM radiographs)"
            ).fetchone()[0]
            + con.execute(
                "SELECT COUNT(*) FROM measurements WHERE landmark_set_id NOT IN (SELECT id FROM landmark_sets)"
            ).fetchone()[0]
        )
    finally:
        con.close()
    assert orphans == 0
    assert all(sets == 1 for _, sets, _ in per_film)  # every stored film is whole: its landmarks ...
    assert len({ms for _, _, ms in per_film}) == 1 and per_film[0][2] > 10  # ... and all its measurements
    with Store(db) as store:
        report = ingest([folder], store, patient_key="K-KILL", date=dt.date(2025, 4, 11), analyse=False)
        assert len(report.skipped) == counts["radiographs"] and len(report.added) == n - counts["radiographs"]
        assert not report.failed
        assert len(store.list_films("K-KILL")) == n


class TestTwoLateralsAtOneVisit:
    def test_a_second_lateral_is_said_with_the_one_measured_and_a_reader_can_choose(self, known_patient: Store,
                                                                                    tmp_path: Path) -> None:
        """R's F2: a second neutral lateral at a visit silently replaced the first (latest wins; a flexion film
        labelled lateral raised a false PI-LL finding). Now the visit's review names both with their lordosis, the one
        measured and why, and `override add ... --lateral-film FILE` chooses another (stored by film id)."""
        from typer.testing import CliRunner

        from fusionwatch.cli import app

        a = _dicom_film(tmp_path, "a", 42, seed=1)
        report = ingest([a], known_patient, analyse=False)
        (first,) = report.added
        assert not [r for r in known_patient.visit_inputs("K-1")[0].review if isinstance(r, str) and "lateral films"
                    in r]
        b = _dicom_film(tmp_path, "b", 42, seed=2, subsidence_px=4.0)
        (second,) = ingest([b], known_patient, analyse=False).added
        assert "this visit already has a lateral film (a.dcm)" in second.reason
        (v,) = known_patient.visit_inputs("K-1")
        (line,) = [r for r in v.review if isinstance(r, str) and "neutral lateral films" in r]
        assert line.startswith("2 neutral lateral films at this visit: a.dcm (lumbar lordosis ")
        assert "measured: b.dcm, the latest ingested" in line and "--lateral-film" in line
        assert v.lateral_film == second.film_id
        r = CliRunner().invoke(app, ["override", "add", "K-1", "6-weeks", "--lateral-film", "a.dcm", "--author", "dr r",
                                     "--reason", "b is the flexion film", "--db", known_patient.url])
        assert r.exit_code == 0, r.output
        (v,) = known_patient.visit_inputs("K-1")
        assert v.lateral_film == first.film_id
        (line,) = [r for r in v.review if isinstance(r, str) and "neutral lateral films" in r]
        assert "measured: a.dcm, chosen by dr r" in line
        r = CliRunner().invoke(app, ["override", "add", "K-1", "6-weeks", "--lateral-film", "c.dcm", "--author", "dr r",
                                     "--db", known_patient.url], env={"COLUMNS": "250"})
        assert r.exit_code == 2 and "is not a measured lateral film of this visit" in r.output, r.output


class TestDetectorAndReader:
    def test_detector_used_without_landmark_file(self, known_patient: Store, tmp_path: Path) -> None:
        """Without a landmark file the detector's points are stored as an automatic version and measured."""
        pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=3)
        write_dicom(
            tmp_path / "d.dcm",
            pixels,
            spacing=(1.0, 1.0),
            study_date="20250221",
            view_position="LL",  # a film stating no view is refused with lateral detector landmarks (R's F10)
            extra={"PatientID": SYNTHETIC_PATIENT_ID},
        )
        report = ingest([tmp_path], known_patient, detect=lambda film: lm, analyse=False)
        (o,) = report.added
        assert o.measured
        (v,) = known_patient.landmark_history(o.film_id)
        assert v.kind == "automatic" and len(v.measurements) > 10

    def test_detector_failure_flags_the_film(self, known_patient: Store, tmp_path: Path) -> None:
        """A detector error does not fail the file: it is stored and flagged with the detector's reason."""
        from fusionwatch.errors import ViewError

        def broken(film):
            raise ViewError("No lateral landmark model is installed")

        _dicom_film(tmp_path, "n", 42, landmarks=False)
        report = ingest([tmp_path], known_patient, detect=broken, analyse=False)
        (o,) = report.added
        assert not o.measured and "No lateral landmark model" in o.reason
        review = known_patient.load_timeline("K-1").visit("6-weeks").review
        assert [r.summary for r in review] == ["Landmark detection failed: No lateral landmark model is installed"]

    def test_reader_edit_is_measured_and_wins(self, known_patient: Store, tmp_path: Path) -> None:
        """A reader's landmarks become a new version with fresh measurements; the timeline uses them."""
        from fusionwatch.ingest import record_reader_landmarks
        from fusionwatch.io import read_landmarks
        from fusionwatch.measurement import MeasureName

        _dicom_film(tmp_path, "a", 42)
        _dicom_film(tmp_path, "b", 365, seed=5)
        report = ingest([tmp_path], known_patient, analyse=False)
        film_b = next(o.film_id for o in report.added if o.path.endswith("b.dcm"))
        assert "cage_subsidence" not in known_patient.load_timeline("K-1").visit("12-months").finding_kinds()
        edited = _lower_l5(read_landmarks(tmp_path / "b.landmarks.json"), 4.0)
        assert record_reader_landmarks(known_patient, film_b, edited, "dr-amy") == 2
        v = known_patient.load_timeline("K-1").visit("12-months")
        assert -4.0 < v.measurement(MeasureName.DISC_HEIGHT_MEAN_L5_S1).delta_vs_baseline < -2.0  # tilted endplate
        assert known_patient.current_landmarks(film_b).author == "dr-amy"
        assert "cage_subsidence" in v.finding_kinds()
        with pytest.raises(InputError, match="author"):
            record_reader_landmarks(known_patient, film_b, edited, " ")

    def test_a_reader_measuring_a_film_that_becomes_the_baseline_is_recorded_without_the_readers_name(
        self, known_patient: Store, tmp_path: Path
    ) -> None:
        """A 6-week film stored without landmarks, an immediate film with them: the immediate film is the baseline
        until a reader measures the 6-week film. That move is recorded (why: a reader's landmarks at 6-weeks) and the
        baseline note says so without the reader's name (the note goes into de-identified reports too)."""
        from fusionwatch.ingest import record_reader_landmarks
        from fusionwatch.io import read_landmarks

        _dicom_film(tmp_path, "imm", 2, seed=2)
        _dicom_film(tmp_path, "w6", 42, seed=42, landmarks=False)
        _dicom_film(tmp_path, "y1", 365, seed=365)
        report = ingest([tmp_path], known_patient, analyse=False)
        assert known_patient.load_timeline("K-1").baseline_label == "immediate-post-op"
        w6 = next(o.film_id for o in report.added if o.path.endswith("w6.dcm"))
        (tmp_path / "reader").mkdir()
        _dicom_film(tmp_path / "reader", "lm", 42, seed=42)  # the same drawing's landmarks, as a reader places them
        record_reader_landmarks(known_patient, w6, read_landmarks(tmp_path / "reader" / "lm.landmarks.json"), "dr-amy")
        (change,) = known_patient.baseline_changes("K-1")
        assert (change.previous_label, change.label) == ("immediate-post-op", "6-weeks")
        assert change.cause == "landmarks placed by a reader at 6-weeks"
        tl = known_patient.load_timeline("K-1")
        assert tl.baseline_label == "6-weeks" and "dr-amy" not in tl.baseline_note
        assert "(landmarks placed by a reader at 6-weeks)" in tl.baseline_note


def test_identifiers_never_logged(store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing logged during ingest and timeline building names the patient (ID or name)."""
    import logging

    caplog.set_level(logging.DEBUG)
    _dicom_film(tmp_path, "a", 42, patient_id="PID-SECRET-77")
    (tmp_path / "junk.dcm").write_bytes(b"junk" * 50)
    report = ingest([tmp_path], store)
    store.load_timeline(report.patient_keys[0])
    assert "PID-SECRET-77" not in caplog.text and "SYNTHETIC" not in caplog.text
    assert "PID-SECRET-77" not in json.dumps(report.to_dict())


def test_an_unexpected_error_logs_no_path_or_data(store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error on one file (R: 'can log file paths through exception text'). Before, log.exception wrote
    the message, which quoted the path ('/.../DOE^JOHN_1970/a.dcm'; an IntegrityError quoted the patient's name and
    birth date from its SQL parameters); now the log has the error's type and the tool's frames, and the outcome
    (printed for the user, who named the file) says it whole."""
    import logging

    import fusionwatch.ingest as ingest_module

    caplog.set_level(logging.DEBUG)
    folder = tmp_path / "DOE^JOHN_1970"
    folder.mkdir()
    path = _dicom_film(folder, "a", 42)

    def broken(p: Path, **kw: object) -> object:
        raise RuntimeError(f"cannot parse {p}")

    monkeypatch.setattr(ingest_module, "read_radiograph", broken)
    (o,) = ingest([path], store).failed
    assert "DOE^JOHN_1970" in o.reason and "RuntimeError" in o.reason
    assert "RuntimeError" in caplog.text and "broken" in caplog.text  # the type and the frames are logged
    assert "DOE" not in caplog.text and "1970" not in caplog.text, caplog.text


def test_a_reader_edit_logs_no_visit_date(store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """After a reader's landmark edit the visit analysis's notes were logged as written: a patient with no surgery
    date on record has visits labelled by their dates ('unscheduled 2025-02-21: flexion-extension films need
    landmarks ...'), and notes quote errors (file paths). Now the log says how many notes there were, not what they
    say."""
    import logging

    from fusionwatch.ingest import record_reader_landmarks
    from fusionwatch.io import read_landmarks
    from fusionwatch.radiograph import View

    for name, view, marks in (("flex", View.FLEXION, True), ("ext", View.EXTENSION, False)):
        (tmp_path / name).mkdir()
        _dicom_film(tmp_path / name, name, 42, seed=3 if marks else 4, landmarks=marks)
        ingest([tmp_path / name], store, view=view, analyse=False)
    (key,) = store.list_patients()
    flex = next(f.film_id for f in store.list_films(key) if f.view == "flexion")
    caplog.set_level(logging.DEBUG)
    record_reader_landmarks(store, flex, _lower_l5(read_landmarks(tmp_path / "flex" / "flex.landmarks.json"), 2.0),
                            "dr-amy")
    assert "1 note" in caplog.text, caplog.text
    assert "2025-02-21" not in caplog.text and "unscheduled" not in caplog.text, caplog.text


class TestVisitAnalysis:
    def test_hardware_findings_stored_against_baseline(
        self, known_patient: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each later lateral film is checked against the 6-week film; the findings are stored and drive the status."""
        import fusionwatch.implants as implants
        from fusionwatch.records import Finding, Severity

        calls: list[tuple[str, str]] = []
        monkeypatch.setattr(implants, "detect_implants", lambda film, lm: film.source)

        def check(bf, blm, b, cf, clm, c):
            calls.append((b, c))
            return [Finding("rod_fracture_suspected", Severity.ACTION, "Rod discontinuous.")] if c == "c.dcm" else []

        monkeypatch.setattr(implants, "check_implants", check)
        for name, day in (("a", 42), ("b", 91), ("c", 365)):
            _dicom_film(tmp_path, name, day, seed=day)
        report = ingest([tmp_path], known_patient)
        assert not report.notes
        assert calls == [("a.dcm", "b.dcm"), ("a.dcm", "c.dcm")]
        stored = known_patient.list_findings("K-1")
        assert [(label, origin, f.kind) for label, origin, f in stored] == [
            ("12-months", "implants", "rod_fracture_suspected")
        ]
        v = known_patient.load_timeline("K-1").visit("12-months")
        assert v.status.status is FusionStatus.PSEUDARTHROSIS_SUSPECTED
        ingest([tmp_path], known_patient)  # nothing new: no re-analysis
        assert len(calls) == 2
        _dicom_film(tmp_path, "d", 182, seed=182)
        ingest([tmp_path], known_patient)  # a new film: the patient's visits are checked again, results replaced
        assert len(calls) == 5 and len(known_patient.list_findings("K-1")) == 1

    def test_a_reader_landmark_edit_checks_the_hardware_again(
        self, known_patient: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The stored hardware findings rest on the landmarks of the films compared: a reader's edit of a follow-up
        film's landmarks checks the visits again with the new ones (before, the finding made with the replaced
        landmarks stayed until the next ingest of a film)."""
        import fusionwatch.implants as implants
        from fusionwatch.ingest import record_reader_landmarks
        from fusionwatch.io import read_landmarks
        from fusionwatch.records import Finding, Severity

        monkeypatch.setattr(implants, "detect_implants", lambda film, lm: film.source)
        _dicom_film(tmp_path, "c", 365, seed=365)
        lowered = _lower_l5(read_landmarks(tmp_path / "c.landmarks.json"), 4.0)

        def check(bf, blm, b, cf, clm, c):  # a finding only with the reader's lowered L5
            same = dict(clm.points) == dict(lowered.points)
            return [Finding("screw_loosening_suspected", Severity.WATCH, "Angle changed.")] if same else []

        monkeypatch.setattr(implants, "check_implants", check)
        _dicom_film(tmp_path, "a", 42, seed=42)
        report = ingest([tmp_path], known_patient)
        assert known_patient.list_findings("K-1") == []
        film_c = next(o.film_id for o in report.added if o.path.endswith("c.dcm"))
        record_reader_landmarks(known_patient, film_c, lowered, "dr-amy")
        assert [(label, f.kind) for label, _, f in known_patient.list_findings("K-1")] == [
            ("12-months", "screw_loosening_suspected")
        ]

    def test_a_surgery_date_correction_checks_the_hardware_again(
        self, known_patient: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A stored hardware finding names the baseline visit it was measured against by its label, which follows the
        surgery date: after a correction of 50 days the 6-week film is the 3-month one, and the checks are made again
        (with the same use case as a reader's landmark edit), so the stored evidence says the new label; the
        correction is in the audit."""
        import fusionwatch.implants as implants
        from fusionwatch.ingest import correct_surgery_date
        from fusionwatch.records import Finding, Severity

        monkeypatch.setattr(implants, "detect_implants", lambda film, lm: None)
        monkeypatch.setattr(implants, "check_implants",
                            lambda *a: [Finding("screw_loosening_suspected", Severity.WATCH, "Angle changed.")])
        _dicom_film(tmp_path, "a", 42, seed=42)
        _dicom_film(tmp_path, "c", 365, seed=365)
        ingest([tmp_path], known_patient)
        ((label, _, f),) = known_patient.list_findings("K-1")
        assert (label, f.evidence["compared_with"]["baseline_visit"]) == ("12-months", "6-weeks")
        rec, notes = correct_surgery_date(known_patient, "K-1", SURGERY.date - dt.timedelta(days=50), by="dr-amy",
                                          reason="operation note")
        ((label, _, f),) = known_patient.list_findings("K-1")
        assert (label, f.evidence["compared_with"]["baseline_visit"]) == ("12-months", "3-months")
        assert (rec.field, rec.old_value, rec.by) == ("surgery_date", "2025-01-10", "dr-amy") and notes == []

    def test_findings_at_a_visit_no_longer_compared_are_cleared_and_a_verdict_on_them_kept(
        self, known_patient: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Immediate, 2-week and 12-month films: the 2-week and 12-month films are checked against the immediate one
        and each gets a hardware finding. A 6-week film ingested later becomes the baseline: the 2-week visit is no
        longer compared with anything. Before, its stored finding stayed (shown in followup and reports, counted in
        the status) although no check makes it any more; now the stored findings are what the analysis says. A
        reader's verdict on that finding is kept (the audit) and the timeline names it as a verdict on a finding the
        tool no longer makes."""
        from fusionwatch.records import Override

        _ingest_with_a_rod_gap_finding(known_patient, tmp_path, monkeypatch, (("imm", 2), ("w2", 14), ("y1", 365)))
        stored = [(label, f.evidence["compared_with"]["baseline_visit"])
                  for label, origin, f in known_patient.list_findings("K-1") if origin == "implants"]
        assert stored == [("2-weeks", "immediate-post-op"), ("12-months", "immediate-post-op")]
        at = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
        known_patient.add_override("K-1", Override("finding:rod_discontinuity", "confirmed", "dr-amy", at),
                                   visit="2-weeks")
        later = tmp_path / "later"
        later.mkdir()
        _dicom_film(later, "w6", 42, seed=42)
        ingest([later], known_patient)
        stored = [(label, f.evidence["compared_with"]["baseline_visit"])
                  for label, origin, f in known_patient.list_findings("K-1") if origin == "implants"]
        assert stored == [("12-months", "6-weeks")]
        tl = known_patient.load_timeline("K-1")
        w2 = tl.visit("2-weeks")
        assert "rod_discontinuity" not in [f.kind for f in w2.findings]
        assert [(o.target, o.value) for o in w2.verdicts_without_finding()] == [("finding:rod_discontinuity",
                                                                                 "confirmed")]
        assert tl.visit("12-months").verdicts_without_finding() == ()
        assert [o.target for o in known_patient.list_overrides("K-1")] == ["finding:rod_discontinuity"]
        (row,) = [v for v in tl.to_dict()["visits"] if v["label"] == "2-weeks"]
        assert [o["target"] for o in row["verdicts_without_finding"]] == ["finding:rod_discontinuity"]

    def test_a_verdict_does_not_follow_its_finding_to_another_baseline_film(
        self, known_patient: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """R's F8: a reader rejected the 12-month rod finding measured against the immediate film; a 6-week film
        ingested later becomes the baseline and the finding is measured again against it. Before, the old rejection
        kept applying (by kind): the ACTION finding on a comparison no reader saw was 'Not counted, rejected by a
        reader' and nothing named the verdict. Now the verdict applies only to the comparison it was given on: it is
        named among the verdicts without their finding and the finding counts; a re-analysis against the same film
        keeps the verdict applying."""
        from fusionwatch.ingest import analyse_visits
        from fusionwatch.records import Override

        _ingest_with_a_rod_gap_finding(known_patient, tmp_path, monkeypatch, (("imm", 2), ("y1", 365)))
        known_patient.add_override("K-1", Override("finding:rod_discontinuity", "rejected", "dr-amy",
                                                   dt.datetime.now(dt.UTC), "immediate film rotated"),
                                   visit="12-months")
        analyse_visits(known_patient, ["K-1"])  # the same comparison made again: the verdict still applies
        y1 = known_patient.load_timeline("K-1").visit("12-months")
        assert [(f.kind, o.value if o else None) for f, _, o in y1.findings_with_refs()] == [
            ("rod_discontinuity", "rejected")]
        assert any("rejected by a reader" in r for r in y1.status.reasons) and y1.verdicts_without_finding() == ()
        later = tmp_path / "later"
        later.mkdir()
        _dicom_film(later, "w6", 42, seed=42)
        ingest([later], known_patient)
        y1 = known_patient.load_timeline("K-1").visit("12-months")
        assert [(f.kind, f.evidence["compared_with"]["baseline_visit"], o) for f, _, o in y1.findings_with_refs()] == [
            ("rod_discontinuity", "6-weeks", None)]
        assert [(o.target, o.value) for o in y1.verdicts_without_finding()] == [("finding:rod_discontinuity",
                                                                                 "rejected")]
        assert not any("rejected by a reader" in r for r in y1.status.reasons), y1.status.reasons

    def test_two_ingests_at_once_leave_findings_against_the_baseline_film(
        self, known_patient: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """R's F5: immediate and 12-month films stored; ingest A (a 3-month film) reads the visits, then ingest B (a
        6-week film, another Store on the same database) runs to the end before A writes. Before, A wrote findings
        measured against the immediate film although the 6-week film was the baseline (until some later analysis);
        now A's write sees the record changed since it read it and A checks again: every stored finding names the
        timeline's baseline."""
        import fusionwatch.implants.comparisons as comparisons

        _ingest_with_a_rod_gap_finding(known_patient, tmp_path, monkeypatch, (("imm", 2), ("y1", 365)))
        real, calls = comparisons.hardware_comparisons, []

        def b_runs_meanwhile(*a: object, **k: object) -> object:
            calls.append(1)
            if len(calls) == 1:  # A has read the visits (no 6-week film yet): B ingests the 6-week film now
                b = Store(known_patient.url)
                try:
                    (tmp_path / "b").mkdir()
                    _dicom_film(tmp_path / "b", "w6", 42, seed=42)
                    ingest([tmp_path / "b"], b)
                finally:
                    b.close()
            return real(*a, **k)

        monkeypatch.setattr(comparisons, "hardware_comparisons", b_runs_meanwhile)
        (tmp_path / "a").mkdir()
        _dicom_film(tmp_path / "a", "m3", 90, seed=90)
        ingest([tmp_path / "a"], known_patient)
        tl = known_patient.load_timeline("K-1")
        assert [v.label for v in tl.visits if v.is_baseline] == ["6-weeks"]
        stored = [(label, f.evidence["compared_with"]["baseline_visit"])
                  for label, origin, f in known_patient.list_findings("K-1") if origin == "implants"]
        assert stored == [("3-months", "6-weeks"), ("12-months", "6-weeks")]

    def test_two_analyses_at_once_leave_motion_measured_on_the_current_landmarks(
        self, known_patient: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The F5 race for flexion-extension motion: 12-month flexion and extension films stored; ingest A (a 12-month
        lateral film) measures the motion with the flexion film's landmarks it read, and meanwhile a reader (another
        Store on the same database) places new landmarks on the flexion film, whose analysis stores the motion
        measured on them. Before, A then wrote its motion, measured on the replaced landmarks, over the reader's (it
        stayed until some later analysis); now A's write sees the record changed since it read it and A measures
        again: the stored motion is the one of the landmarks on record."""
        import fusionwatch.implants as implants
        import fusionwatch.motion as motion
        from fusionwatch.followup import SegmentMotion
        from fusionwatch.ingest import record_reader_landmarks
        from fusionwatch.io import read_landmarks
        from fusionwatch.radiograph import View

        monkeypatch.setattr(implants, "detect_implants", lambda film, lm: None)
        monkeypatch.setattr(implants, "check_implants", lambda *a: [])

        def measured(lm_f: Landmarks, lm_e: Landmarks) -> float:  # tells which flexion landmarks it was measured on
            return lm_f.points["L5.inferior.anterior"][1] - lm_e.points["L5.inferior.anterior"][1] + 1.0

        for name, view in (("flex", View.FLEXION), ("ext", View.EXTENSION)):
            (tmp_path / name).mkdir()
            _dicom_film(tmp_path / name, name, 365, seed=7 if name == "flex" else 8)
            ingest([tmp_path / name], known_patient, view=view, analyse=False)
        flex = next(f.film_id for f in known_patient.list_films("K-1") if f.view == "flexion")
        lowered = _lower_l5(read_landmarks(tmp_path / "flex" / "flex.landmarks.json"), 4.0)
        calls: list[float] = []

        def register(flexion, extension, lm_f, lm_e, *a: object, **k: object) -> list[SegmentMotion]:
            calls.append(value := measured(lm_f, lm_e))
            if len(calls) == 1:  # A has read the films' landmarks: the reader's edit and its analysis run now
                b = Store(known_patient.url)
                try:
                    record_reader_landmarks(b, flex, lowered, "dr-amy")
                finally:
                    b.close()
            return [SegmentMotion("L5-S1", value, 0.1, 0.0, 0.0, 0.1, "test/1")]

        monkeypatch.setattr(motion, "register_motion", register)
        (tmp_path / "a").mkdir()
        _dicom_film(tmp_path / "a", "lat", 365, seed=9)
        ingest([tmp_path / "a"], known_patient)
        current = {f.view: known_patient.current_landmarks(f.film_id).landmarks
                   for f in known_patient.list_films("K-1") if f.view in ("flexion", "extension")}
        now = measured(current["flexion"], current["extension"])
        assert now != calls[0]  # the reader's landmarks give another motion than the ones A read first
        (l5s1,) = known_patient.list_motion("K-1", "12-months")
        assert l5s1.angle_deg == pytest.approx(now), (l5s1.angle_deg, calls)

    def test_a_later_film_that_moves_the_baseline_is_said_and_recorded(self, known_patient: Store,
                                                                        tmp_path: Path) -> None:
        """Immediate post-op film and a 12-month film 3 mm lower: cage subsidence. A 6-week film (1.5 mm lower)
        ingested later becomes the baseline and the finding goes (1.5 mm < 2 mm). Before, nothing said so (no note,
        the timeline only named the new baseline); now the ingest notes it and the timeline's baseline note (shown by
        `followup` and the clinician report) says when, why, and which film it was before."""
        _dicom_film(tmp_path, "imm", 2, seed=2)
        _dicom_film(tmp_path, "y1", 365, subsidence_px=3.0, seed=365)
        report = ingest([tmp_path], known_patient)
        assert not any("baseline" in n for n in report.notes)  # the first baseline is no change
        assert [f.kind for f in known_patient.load_timeline("K-1").visit("12-months").findings] == ["cage_subsidence"]
        later = tmp_path / "later"
        later.mkdir()
        _dicom_film(later, "w6", 42, subsidence_px=1.5, seed=42)
        report = ingest([later], known_patient)
        (note,) = [n for n in report.notes if "baseline" in n]
        assert note.startswith("K-1: the baseline film changed (films stored or measured at 6-weeks): from the "
                               "immediate-post-op film (2025-01-12) to the 6-weeks film (2025-02-21)")
        tl = known_patient.load_timeline("K-1")
        assert tl.visit("12-months").findings == ()
        assert "The baseline changed on" in tl.baseline_note and "from the immediate-post-op film" in tl.baseline_note
        report = ingest([tmp_path, later], known_patient)  # a re-run: nothing moved, nothing said
        assert not any("baseline" in n for n in report.notes) and len(known_patient.baseline_changes("K-1")) == 1

    def test_a_recorded_baseline_move_names_its_films_by_what_they_are_now(self, known_patient: Store,
                                                                           tmp_path: Path) -> None:
        """Immediate and 12-month films, then a 6-week film: the baseline moved from the immediate film to the 6-week
        one. The surgery date is then corrected 50 days earlier: the immediate film (day 52) is the 6-week film and
        the baseline again, the old 6-week film (day 92) the 3-month one. Before, the timeline still told the first
        move with the labels of its recording - 'now the 6-weeks film (2025-02-21), before the immediate-post-op
        film (2025-01-12)' - which names the wrong film as the 6-week one and says 'now' of a film that is no longer
        the baseline. Now each move says from which film to which, labelled as they are now, with the label they had
        when it was recorded."""
        from fusionwatch.ingest import correct_surgery_date

        _dicom_film(tmp_path, "imm", 2, seed=2)
        _dicom_film(tmp_path, "y1", 365, seed=365)
        ingest([tmp_path], known_patient)
        later = tmp_path / "later"
        later.mkdir()
        _dicom_film(later, "w6", 42, seed=42)
        ingest([later], known_patient)
        _, notes = correct_surgery_date(known_patient, "K-1", SURGERY.date - dt.timedelta(days=50), by="dr-amy",
                                        reason="operation note")
        (note,) = notes
        assert ("from the 3-months film (2025-02-21; the 6-weeks film when recorded) to the 6-weeks film (2025-01-12)"
                in note), note
        text = known_patient.load_timeline("K-1").baseline_note
        assert "now the 6-weeks film (2025-02-21)" not in text, text
        assert ("from the 6-weeks film (2025-01-12; the immediate-post-op film when recorded) to the 3-months "
                "film (2025-02-21; the 6-weeks film when recorded)" in text), text
        assert "from the 3-months film (2025-02-21; the 6-weeks film when recorded) to the 6-weeks film" in text, text

    def test_ap_films_before_the_lateral_baseline_visit_are_checked_against_the_ap_baseline(
        self, known_patient: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """AP films at 6 weeks, 3 and 12 months; the first lateral film at 3 months. Before, the AP baseline was the
        latest AP film at or before the lateral baseline visit (3 months) and only later visits were checked: the
        3-month AP film was compared with nothing (a rod broken by then went unseen). Now each view has its own
        baseline (6-week AP film) and each finding's evidence names the baseline it was measured against."""
        import fusionwatch.implants as implants
        from fusionwatch.anatomy import Level
        from fusionwatch.radiograph import View
        from fusionwatch.records import Finding, Severity
        from measure._spine import ap_spine, place

        calls: list[tuple[str, str]] = []
        monkeypatch.setattr(implants, "detect_implants", lambda film, lm: Path(film.source).name)

        def check(bf, blm, b, cf, clm, c):
            calls.append((b, c))
            return [Finding("rod_fracture_suspected", Severity.ACTION, "Rod gap.", {"gap_px": 9.0}, "any gap",
                            (b, c))] if c == "ap_m3.dcm" else []

        monkeypatch.setattr(implants, "check_implants", check)
        ap_lm = place(ap_spine({lv: (0.0, 0.0) for lv in Level}), view=View.AP, origin_px=(200.0, 60.0),
                      size=(400, 400))
        for name, day in (("ap_w6", 42), ("ap_m3", 91), ("ap_y1", 365)):
            when = (SURGERY.date + dt.timedelta(days=day)).strftime("%Y%m%d")
            texture, _ = draw_lateral_spine(width=400, height=400, mm_per_px=1.0, seed=day)  # a film, not blank
            write_dicom(tmp_path / f"{name}.dcm", texture, spacing=(1.0, 1.0),
                        study_date=when, view_position="AP", extra={"PatientID": SYNTHETIC_PATIENT_ID})
            write_landmarks(ap_lm, tmp_path / f"{name}.landmarks.json")
        for name, day in (("lat_m3", 91), ("lat_y1", 365)):
            _dicom_film(tmp_path, name, day, seed=day)
        report = ingest([tmp_path], known_patient)
        assert not [o for o in report.failed], report.failed
        assert sorted(calls) == [("ap_w6.dcm", "ap_m3.dcm"), ("ap_w6.dcm", "ap_y1.dcm"), ("lat_m3.dcm", "lat_y1.dcm")]
        ((label, _, f),) = known_patient.list_findings("K-1")
        assert label == "3-months" and f.kind == "rod_fracture_suspected"
        since = f.evidence["compared_with"].pop("since")  # when the comparison was first made (a verdict's scope)
        assert f.evidence == {"gap_px": 9.0, "compared_with": {"view": "ap", "baseline_visit": "6-weeks"}}
        assert dt.datetime.fromisoformat(since) <= dt.datetime.now(dt.UTC)
        assert f.threshold == "any gap" and f.films == ("ap_w6.dcm", "ap_m3.dcm")

    def test_registration_failure_falls_back_to_landmark_motion(
        self, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import fusionwatch.motion as motion

        def fail(*args, **kwargs):
            raise motion.RegistrationError("no texture")

        monkeypatch.setattr(motion, "register_motion", fail)
        report = ingest_journey(_journey(tmp_path), store)
        assert any("landmark-difference motion stored instead" in n for n in report.notes)
        (l5s1,) = [m for m in store.list_motion("SIM-solid-fusion-1", "12-months") if m.level == "L5-S1"]
        assert l5s1.method == motion.LANDMARK_METHOD and l5s1.angle_sd_deg is None
        assert abs(l5s1.angle_deg) < 0.5


class TestFemoralHeadOffFilm:
    def test_heads_left_out_rest_measured(self, known_patient: Store, tmp_path: Path) -> None:
        """A femoral head beyond the film edge: both heads are left out, PT/PI missing, everything else measured."""
        from fusionwatch.ingest import trim_points_off_film
        from fusionwatch.measurement import MeasureName

        pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=9)
        pts = dict(lm.points)
        pts["femoral_head.2"] = (pts["femoral_head.1"][0] + 6.0, 384 + 30.0)
        lm = lm.with_points(pts)
        trimmed, dropped = trim_points_off_film(lm)
        assert dropped == ("femoral_head.1", "femoral_head.2") and "femoral_head.1" not in trimmed.points
        assert trim_points_off_film(trimmed) == (trimmed, ())
        write_dicom(
            tmp_path / "h.dcm",
            pixels,
            spacing=(1.0, 1.0),
            study_date="20250221",
            extra={"PatientID": SYNTHETIC_PATIENT_ID},
        )
        write_landmarks(lm, tmp_path / "h.landmarks.json")
        (o,) = ingest([tmp_path], known_patient, analyse=False).added
        assert o.measured and "femoral head" in o.reason
        (version,) = known_patient.landmark_history(o.film_id)
        values = {m.name: m for m in version.measurements}
        assert values[MeasureName.PELVIC_INCIDENCE].value is None
        assert values[MeasureName.DISC_HEIGHT_MEAN_L5_S1].value is not None
        review = known_patient.load_timeline("K-1").visit("6-weeks").review
        (flag,) = [r for r in review if r.kind == "landmark_review"]
        assert "pelvic incidence" in flag.summary
        # a drawn film without View Position: the view model cannot confirm the landmark file's view, and says so
        assert [r.kind for r in review if "states no view" in r.summary] == ["needs_review"]

    def test_other_points_off_film_still_refused(self, known_patient: Store, tmp_path: Path) -> None:
        """A vertebral corner outside the film is not trimmed: the film is stored and flagged as needing landmarks."""
        pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=9)
        pts = dict(lm.points)
        pts["L1.superior.anterior"] = (-20.0, 5.0)
        write_dicom(
            tmp_path / "c.dcm",
            pixels,
            spacing=(1.0, 1.0),
            study_date="20250221",
            extra={"PatientID": SYNTHETIC_PATIENT_ID},
        )
        write_landmarks(lm.with_points(pts), tmp_path / "c.landmarks.json")
        (o,) = ingest([tmp_path], known_patient, analyse=False).added
        assert not o.measured and "fall outside" in o.reason


class TestRerun:
    def test_rerun_adds_landmarks_to_a_stored_film_that_had_none(self, known_patient: Store, tmp_path: Path) -> None:
        """A film ingested before its landmark file existed is measured when a re-run finds the file (it used to be
        skipped for ever); a further re-run changes nothing."""
        _dicom_film(tmp_path, "a", 42, landmarks=False)
        first = ingest([tmp_path], known_patient, analyse=False)
        assert [o.status for o in first.outcomes] == ["added"] and len(first.needs_landmarks) == 1
        still = ingest([tmp_path], known_patient, analyse=False)
        assert [o.status for o in still.outcomes] == ["skipped"] and len(still.needs_landmarks) == 1
        _, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=42)
        write_landmarks(lm, tmp_path / "a.landmarks.json")
        second = ingest([tmp_path], known_patient, analyse=False)
        (o,) = second.outcomes
        assert o.status == "updated" and o.measured and "landmarks added from a.landmarks.json" in o.reason
        assert second.changed_patient_keys == ["K-1"] and second.needs_landmarks == []
        (film,) = known_patient.list_films("K-1")
        assert film.measurement_count > 10
        assert not any("No landmarks" in r.summary for r in known_patient.load_timeline("K-1").visits[0].review)
        third = ingest([tmp_path], known_patient, analyse=False)
        assert [o.status for o in third.outcomes] == ["skipped"] and third.needs_landmarks == []
        assert len(known_patient.landmark_history(film.film_id)) == 1

    def test_rerun_stores_what_a_first_ingest_with_landmarks_stores(self, tmp_path: Path) -> None:
        """Landmarks added by a re-run leave the same review findings, film warnings, view and facing as landmarks
        present at the first ingest (the re-run used to drop the femoral-head note, the landmark_review findings and
        the analysis warnings)."""
        pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=9)
        pts = dict(lm.points)
        pts["femoral_head.2"] = (pts["femoral_head.1"][0] + 6.0, 384 + 30.0)  # off the film: a review note
        lm = lm.with_points(pts)
        stored = {}
        for case in ("first", "rerun"):
            folder = tmp_path / case
            folder.mkdir()
            # detector-plane spacing and no view position: a film warning, and the view decided from the landmarks
            write_dicom(folder / "h.dcm", pixels, imager_spacing=(1.0, 1.0),
                        study_date="20250221", extra={"PatientID": SYNTHETIC_PATIENT_ID})
            with Store(tmp_path / f"{case}.db") as s:
                s.add_patient(Patient(key="K-1", patient_id=SYNTHETIC_PATIENT_ID))
                s.set_surgery("K-1", SURGERY)
                if case == "first":
                    write_landmarks(lm, folder / "h.landmarks.json")
                    (o,) = ingest([folder], s, analyse=False).added
                else:
                    (o,) = ingest([folder], s, analyse=False).added
                    assert not o.measured
                    write_landmarks(lm, folder / "h.landmarks.json")
                    (o,) = ingest([folder], s, analyse=False).updated
                assert o.measured and "femoral head" in o.reason
                film = s.get_film(o.film_id)
                visit = s.load_timeline("K-1").visit("6-weeks")
                stored[case] = (
                    sorted((origin, f.kind, f.summary) for _, origin, f in s.list_findings("K-1")),
                    film.warnings,
                    film.view,
                    [r if isinstance(r, str) else (r.kind, r.summary) for r in visit.review],
                )
        findings, warnings, view, review = stored["first"]
        assert any(kind == "landmark_review" and "femoral head" in summary for _, kind, summary in findings)
        assert any("detector" in w for w in warnings) and view == "lateral"
        assert stored["rerun"] == stored["first"]


def test_a_film_dated_before_its_own_birth_date_is_refused(store: Store, tmp_path: Path) -> None:
    """A DICOM film whose date is before the Patient's Birth Date in the same file is refused (it was filed as a
    visit); the message does not print the birth date (an identifier)."""
    pixels, _ = draw_lateral_spine(width=192, height=384, mm_per_px=1.0)
    write_dicom(tmp_path / "a.dcm", pixels, spacing=(1.0, 1.0), study_date="19650101", view_position="LL",
                extra={"PatientID": "PID-BORN", "PatientBirthDate": "19700315"})
    (o,) = ingest([tmp_path], store, analyse=False).failed
    assert "before the patient's birth date" in o.reason and "1970" not in o.reason
    assert store.find_patient_key("PID-BORN") is None


def test_a_new_dicom_patient_keeps_the_birth_date_for_later_checks(store: Store, tmp_path: Path) -> None:
    """The first film of a DICOM patient stores its Patient's Birth Date, so the birth-date checks of later films and
    answers (docs/loading.md) apply to DICOM patients too (they had no birth date on record)."""
    pixels, _ = draw_lateral_spine(width=192, height=384, mm_per_px=1.0)
    write_dicom(tmp_path / "b.dcm", pixels, spacing=(1.0, 1.0), study_date="20250301", view_position="LL",
                extra={"PatientID": "PID-B2", "PatientBirthDate": "19610304"})
    ingest([tmp_path / "b.dcm"], store, analyse=False)
    key = store.find_patient_key("PID-B2")
    assert key is not None and store.get_patient(key).birth_date == dt.date(1961, 3, 4)


def test_date_option_over_a_dicom_film_s_own_date_is_said(store: Store, tmp_path: Path) -> None:
    """--date files every film of the run on that date, also a DICOM film with a date of its own: the outcome says so
    (a folder of several visits ingested with --date was filed on one day without a word)."""
    _dicom_film(tmp_path, "a", 42)  # 2025-02-21
    other = SURGERY.date + dt.timedelta(days=91)
    (o,) = ingest([tmp_path / "a.dcm"], store, date=other, analyse=False).added
    assert f"--date {other.isoformat()}" in o.reason and "2025-02-21" in o.reason, o.reason
    _dicom_film(tmp_path, "b", 91, seed=3)
    (o,) = ingest([tmp_path / "b.dcm"], store, date=other, analyse=False).added
    assert "--date" not in o.reason  # the same date: nothing to say


def test_a_patient_added_before_its_films_keeps_the_birth_date_of_its_first_film(store: Store, tmp_path: Path) -> None:
    """A patient entered first (`patient add K --patient-id PID`, then `ingest`: the usual order) gets the Patient's
    Birth Date of its first DICOM film, as a patient created by ingest or filed with --patient does: the birth-date
    checks of later films and answers applied only to the latter. A stored birth date is never replaced: a later film
    with another one is refused (it was filed and its birth date dropped without a word)."""
    store.add_patient(Patient(key="K-PRE", patient_id="PID-PRE"))
    store.set_surgery("K-PRE", SURGERY)
    pixels, _ = draw_lateral_spine(width=192, height=384, mm_per_px=1.0)
    write_dicom(tmp_path / "a.dcm", pixels, spacing=(1.0, 1.0), study_date="20250301", view_position="LL",
                extra={"PatientID": "PID-PRE", "PatientBirthDate": "19610304"})
    (o,) = ingest([tmp_path / "a.dcm"], store, analyse=False).added
    assert o.patient_key == "K-PRE" and store.get_patient("K-PRE").birth_date == dt.date(1961, 3, 4)
    write_dicom(tmp_path / "b.dcm", pixels + 1, spacing=(1.0, 1.0), study_date="20250601", view_position="LL",
                extra={"PatientID": "PID-PRE", "PatientBirthDate": "19700101"})
    (o,) = ingest([tmp_path / "b.dcm"], store, analyse=False).failed  # another birth date: refused, not dropped
    assert "is not the one on record" in o.reason and "1970" not in o.reason, o.reason
    assert store.get_patient("K-PRE").birth_date == dt.date(1961, 3, 4)
    write_dicom(tmp_path / "c.dcm", pixels + 2, spacing=(1.0, 1.0), study_date="19900101", view_position="LL",
                extra={"PatientID": "PID-PRE"})
    (o,) = ingest([tmp_path / "c.dcm"], store, analyse=False).failed  # the stored patient's checks still run
    assert "impossible" in o.reason


@pytest.mark.parametrize("other_birth", ["19610304", "19700101"], ids=["same birth date", "another birth date"])
def test_two_first_ingests_of_one_new_dicom_patient_at_once_make_one_patient(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other_birth: str
) -> None:
    """Ingest A of a new DICOM patient's first film (birth date 1961-03-04 in its header) finds no patient with its
    Patient ID; before it stores one, ingest B (another Store) of another film of that Patient ID runs to the end.
    Before, A's film was refused as another patient's ("Another patient (key P-...) already has this Patient ID;
    cannot add it to P-...") whatever the birth dates, and two ingests at the same instant made two patients with one
    Patient ID (/tmp/p1s14/repro/race_birth.py, SQLite and PostgreSQL). Now A files its film under B's patient when
    the birth dates agree, and is refused naming the conflict (nothing stored, no date printed) when they do not."""
    pixels, _ = draw_lateral_spine(width=192, height=384, mm_per_px=1.0)
    for name, born in (("a", "19610304"), ("b", other_birth)):
        (tmp_path / name).mkdir()
        write_dicom(tmp_path / name / f"{name}.dcm", pixels + (name == "b"), spacing=(1.0, 1.0), study_date="20250301",
                    view_position="LL", extra={"PatientID": "PID-TWO", "PatientBirthDate": born})
    real, calls = store.new_patient_key, []

    def b_runs_meanwhile() -> str:
        calls.append(1)
        if len(calls) == 1:  # A has found no patient with the Patient ID: B ingests now
            with Store(store.url) as b:
                assert [o.status for o in ingest([tmp_path / "b"], b, analyse=False).outcomes] == ["added"]
        return real()

    monkeypatch.setattr(store, "new_patient_key", b_runs_meanwhile)
    (o,) = ingest([tmp_path / "a"], store, analyse=False).outcomes
    (key,) = store.list_patients()
    assert store.find_patient_key("PID-TWO") == key and calls == [1]
    if other_birth == "19610304":
        assert (o.status, o.patient_key) == ("added", key) and len(store.list_films(key)) == 2
    else:
        assert o.status == "failed" and "is not the one on record" in o.reason, o.reason
        assert "1961-03-04" not in o.reason and "1970-01-01" not in o.reason  # identifiers
        assert store.get_patient(key).birth_date == dt.date(1970, 1, 1) and len(store.list_films(key)) == 1


def test_a_corrected_birth_date_on_record_wins_over_the_file_s(store: Store, tmp_path: Path) -> None:
    """After `patient correct --birth-date`, films whose header carries the old, wrong birth date are checked against
    the corrected one: a film dated after the corrected birth date but before the header's is filed (it was refused as
    'before the patient's birth date in the file'); one before the corrected date is still refused."""
    store.add_patient(Patient(key="K-COR", patient_id="PID-COR", birth_date=dt.date(2025, 6, 10)))
    store.correct_birth_date("K-COR", dt.date(1960, 6, 10), by="dr-a", reason="typo at registration")
    pixels, _ = draw_lateral_spine(width=192, height=384, mm_per_px=1.0)
    write_dicom(tmp_path / "a.dcm", pixels, spacing=(1.0, 1.0), study_date="20250603", view_position="LL",
                extra={"PatientID": "PID-COR", "PatientBirthDate": "20250610"})
    (o,) = ingest([tmp_path / "a.dcm"], store, analyse=False).added
    assert o.patient_key == "K-COR" and store.get_patient("K-COR").birth_date == dt.date(1960, 6, 10)
    write_dicom(tmp_path / "b.dcm", pixels + 1, spacing=(1.0, 1.0), study_date="19590101", view_position="LL",
                extra={"PatientID": "PID-COR", "PatientBirthDate": "19500101"})
    (o,) = ingest([tmp_path / "b.dcm"], store, analyse=False).failed
    assert "was born" in o.reason and "1960" not in o.reason, o.reason
