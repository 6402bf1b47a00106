"""De-identified exports carry a keyed pseudonym, never the patient key (a site may use MRNs as keys)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import re
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from _synth import write_dicom
from fusionwatch.cli import app
from fusionwatch.io.loading import read_radiograph
from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.pseudonym import SECRET_ENV
from fusionwatch.records import Patient, Surgery
from fusionwatch.store import Store
from fusionwatch.units import SpacingSource, Unit

KEY = "MRN0012345"  # the site's patient key is its medical record number
SURGERY = dt.date(2026, 1, 10)
TODAY = "2026-07-20"
POINTS = {"L5.inferior.anterior": (100.0, 200.0), "L5.inferior.posterior": (140.0, 200.0),
          "S1.superior.anterior": (100.0, 212.0), "S1.superior.posterior": (140.0, 212.0)}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    store = Store(url)
    store.add_patient(Patient(KEY, patient_id=KEY, name="Roe^Rick", birth_date=dt.date(1958, 2, 3), sex="M"))
    store.set_surgery(KEY, Surgery(SURGERY))
    rng = np.random.default_rng(0)
    for i, (day, mm) in enumerate([(42, 11.0), (185, 8.6)]):
        d = SURGERY + dt.timedelta(days=day)
        path = write_dicom(tmp_path / f"f{i}.dcm", (rng.random((300, 240)) * 3000).astype(np.uint16),
                           spacing=(0.2, 0.2), study_date=d.strftime("%Y%m%d"), view_position="LL",
                           extra={"PatientName": "Roe^Rick", "PatientID": KEY, "OtherPatientIDs": KEY})
        meas = [Measurement(MeasureName.DISC_HEIGHT_MEAN_L5_S1, mm, Unit.MM, "test/1",
                            spacing_source=SpacingSource.PATIENT_PLANE)]
        store.add_film(KEY, read_radiograph(path), film_id=str(pydicom.dcmread(path).SOPInstanceUID),
                       file_path=str(path), file_sha256=f"{i:064d}", visit_date=d,
                       landmarks=Landmarks(dict(POINTS), 240, 300, source="file:test"), measurements=meas)
    store.close()
    return url


def _run(*args: str) -> None:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output


def _patients(path: Path) -> set[str]:
    with path.open(encoding="utf-8") as fh:
        return {row["patient"] for row in csv.DictReader(fh)}


def _readable_bytes(p: Path) -> bytes:
    """The file's bytes, plus a PDF's deflated streams inflated: its /Title metadata is only readable so. (Its page
    text is glyph-coded, not greppable: it is rendered from the HTML written beside it, which is checked.)"""
    raw = p.read_bytes()
    if p.suffix != ".pdf":
        return raw
    out = [raw]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", raw, re.S):
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompress(m.group(1)))
    return b"".join(out)


def _identifiers(db: str) -> list[str]:
    """The key, its unkeyed SHA-256 prefixes, and each film's id and original study/series/instance UIDs."""
    store = Store(db)
    try:
        films = store.list_films(KEY)
    finally:
        store.close()
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    out = [KEY, digest[:12], digest[:16]]
    for f in films:
        ds = pydicom.dcmread(f.file_path, stop_before_pixels=True)
        out += [f.film_id, str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)]
    return out


def _assert_no_key(folder: Path, identifiers: tuple[str, ...] | list[str] = (KEY,)) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for p in files:
        data = _readable_bytes(p)
        for ident in identifiers:
            assert ident not in str(p.relative_to(folder)), (p, ident)
            assert ident.encode() not in data, (p, ident)  # DICOM, Parquet, HTML, PDF, FHIR, CSV, ICS, outputs.json


def test_deidentified_exports_carry_a_stable_pseudonym_not_the_key(db: str, tmp_path: Path) -> None:
    rep, rep2, cohort = tmp_path / "rep", tmp_path / "rep2", tmp_path / "cohort"
    _run("report", KEY, "--out", str(rep), "--deidentify", "--today", TODAY, "--db", db)  # with the PDFs
    _run("report", KEY, "--out", str(rep2), "--deidentify", "--today", TODAY, "--db", db, "--no-pdf")
    _run("export", "cohort", "--out", str(cohort), "--today", TODAY, "--db", db)
    identifiers = _identifiers(db)
    for folder in (rep, rep2, cohort):
        _assert_no_key(folder, identifiers)
    sr = pydicom.dcmread(rep / "6-months-deidentified-measurements.sr.dcm")
    sc = pydicom.dcmread(rep / "6-months-deidentified-annotated.sc.dcm")
    alias = str(sr.PatientID)
    assert alias.startswith("FW-") and sc.PatientID == alias and str(sc.PatientName).startswith(alias)
    # one patient, one pseudonym, in every export and every run: a coordinator can link the films
    assert _patients(rep / "6-months-deidentified-measurements.csv") == {alias}
    assert _patients(rep2 / "6-months-deidentified-visits.csv") == {alias}
    assert _patients(cohort / "cohort-measurements-deidentified.csv") == {alias}
    assert _patients(cohort / "cohort-visits-deidentified.csv") == {alias}
    assert Path(db.removeprefix("sqlite:///") + ".deid-secret").is_file()  # the site secret, beside the database


def test_the_pseudonym_depends_on_the_site_secret(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the secret, hashing a guessed MRN does not give the pseudonym: another secret, another pseudonym."""
    _run("export", "cohort", "--out", str(tmp_path / "a"), "--db", db)
    monkeypatch.setenv(SECRET_ENV, "another site")
    _run("export", "cohort", "--out", str(tmp_path / "b"), "--db", db)
    a = _patients(tmp_path / "a" / "cohort-measurements-deidentified.csv")
    b = _patients(tmp_path / "b" / "cohort-measurements-deidentified.csv")
    assert a.isdisjoint(b) and len(a) == len(b) == 1


def test_a_database_without_a_secret_file_needs_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from fusionwatch.errors import InputError
    from fusionwatch.pseudonym import site_secret

    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(InputError, match=SECRET_ENV):
        site_secret("postgresql+psycopg://u@h/db")
    monkeypatch.setenv(SECRET_ENV, "s")
    assert site_secret("postgresql+psycopg://u@h/db") == b"s"


def _race(fn: object, arg: str, n: int) -> tuple[list[object], list[Exception]]:
    """Call ``fn(arg)`` from ``n`` threads released at once; their results and exceptions."""
    import threading

    barrier, got, errors = threading.Barrier(n), [], []

    def call() -> None:
        barrier.wait()
        try:
            got.append(fn(arg))  # type: ignore[operator]
        except Exception as exc:  # collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got, errors


def test_exports_started_together_share_one_complete_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exports creating the secret file at once all read the same full secret. Before, the file was created empty and
    written afterwards: an export opening it in between failed with 'the pseudonym secret file ... is empty; restore it
    from backup' (16 of 30 rounds of 8 threads), and a crash in between left an empty file for good."""
    from fusionwatch.pseudonym import site_secret

    monkeypatch.delenv(SECRET_ENV, raising=False)
    for round_ in range(30):
        got, errors = _race(site_secret, f"sqlite:///{tmp_path / f'fw{round_}.db'}", 8)
        assert not errors and len(got) == 8 and len(set(got)) == 1, (round_, errors[:1])
        secret_file = tmp_path / f"fw{round_}.db.deid-secret"
        assert secret_file.stat().st_mode & 0o077 == 0  # owner only
        assert sorted(p.name for p in tmp_path.glob(f"*fw{round_}.db*")) == [secret_file.name]  # no temp left


def test_a_read_only_database_folder_is_an_error_line_and_no_report(db: str, tmp_path: Path) -> None:
    """No secret file can be made beside the database (its folder is read-only): `error:` naming the file and the way
    round (FUSIONWATCH_DEID_SECRET), exit 2, nothing written. Before, the annotated films were already drawn into the
    report folder, and the message did not say how to go on."""
    import shutil
    import subprocess

    folder = Path(db.removeprefix("sqlite:///")).parent
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("needs chattr +i (root on ext4) to make a folder read-only even for root")
    try:
        rep = tmp_path.parent / f"{tmp_path.name}-rep"
        r = CliRunner().invoke(app, ["report", KEY, "--out", str(rep), "--deidentify", "--today", TODAY, "--db", db,
                                     "--no-pdf"])
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert r.exit_code == 2 and "error:" in r.output and SECRET_ENV in r.output, r.output
    assert not [p for p in rep.rglob("*") if p.is_file()]


def test_a_secret_file_others_can_read_or_write_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret file group/world readable (others could map MRNs to pseudonyms) or writable (others could plant a
    secret they know) is refused, naming the file and `chmod 600`. Before, it was used as it was."""
    from fusionwatch.errors import InputError
    from fusionwatch.pseudonym import site_secret

    monkeypatch.delenv(SECRET_ENV, raising=False)
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    secret = site_secret(url)
    path = tmp_path / "fw.db.deid-secret"
    for mode in (0o644, 0o620, 0o604):
        path.chmod(mode)
        with pytest.raises(InputError, match="chmod 600"):
            site_secret(url)
    path.chmod(0o600)
    assert site_secret(url) == secret
