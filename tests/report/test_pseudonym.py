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
from fusionwatch.export.secret import SECRET_ENV
from fusionwatch.io.loading import read_radiograph
from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.records import Patient, Surgery
from fusionwatch.store import Store
from fusionwatch.units import SpacingSource, Unit

PAD = "|0123456789abcdef0123456789abcdef"  # secrets are at least 32 characters
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


def _uids(ds: pydicom.Dataset) -> set[str]:
    return {str(e.value) for e in ds.iterall() if e.VR == "UI" and e.value}


def test_exported_uids_and_film_ids_cannot_be_recomputed_from_the_pseudonym(db: str, tmp_path: Path) -> None:
    """Whoever holds the original UIDs (any PACS user) and reads the pseudonym in the export must not be able to
    recompute an exported UID or film id: they are seeded with a keyed value the export never shows."""
    from pydicom.uid import generate_uid

    rep, rep2, cohort = tmp_path / "rep", tmp_path / "rep2", tmp_path / "cohort"
    for folder in (rep, rep2):
        _run("report", KEY, "--out", str(folder), "--deidentify", "--today", TODAY, "--db", db, "--no-pdf")
    _run("export", "cohort", "--out", str(cohort), "--today", TODAY, "--db", db)
    sr = pydicom.dcmread(rep / "6-months-deidentified-measurements.sr.dcm")
    sc = pydicom.dcmread(rep / "6-months-deidentified-annotated.sc.dcm")
    alias = str(sr.PatientID)
    store = Store(db)
    try:
        films = store.list_films(KEY)
    finally:
        store.close()
    originals: set[str] = set()
    for f in films:
        originals |= _uids(pydicom.dcmread(f.file_path, stop_before_pixels=True)) | {f.film_id}
    # what the pseudonym alone gives (with and without the prefixes the exports add), for every original UID / id
    guesses = {str(generate_uid(entropy_srcs=[seed, u])) for u in originals for seed in (alias, KEY)}
    guesses |= {str(generate_uid(entropy_srcs=[seed, f"{p}|{u}"])) for u in originals for seed in (alias, KEY)
                for p in ("sc", "sc-series", "sr-series", "group")}
    ids = {hashlib.sha256(f"{seed}|{u}".encode()).hexdigest()[:16] for u in originals for seed in (alias, KEY)}
    exported = _uids(sr) | _uids(sc)
    assert not exported & guesses
    assert not exported & originals - {str(sr.SOPClassUID), str(sc.SOPClassUID)} - {
        e for e in exported if e.startswith("1.2.840.10008.")}  # standard class / coding UIDs only
    film_ids = {row["film"] for p in (rep / "6-months-deidentified-measurements.csv",
                                      cohort / "cohort-measurements-deidentified.csv")
                for row in csv.DictReader(p.open(encoding="utf-8"))}
    assert film_ids and not film_ids & ids and not film_ids & originals
    # the same secret gives the same UIDs in every run; the SR and SC stay in one study, the SR's evidence is stable
    sr2 = pydicom.dcmread(rep2 / "6-months-deidentified-measurements.sr.dcm")
    sc2 = pydicom.dcmread(rep2 / "6-months-deidentified-annotated.sc.dcm")
    assert _uids(sr2) == _uids(sr) and _uids(sc2) == _uids(sc)
    assert sr.StudyInstanceUID == sc.StudyInstanceUID
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == sr.StudyInstanceUID
    with (cohort / "cohort-measurements-deidentified.csv").open(encoding="utf-8") as fh:
        cohort_ids = {row["film"] for row in csv.DictReader(fh)}
    with (rep / "6-months-deidentified-measurements.csv").open(encoding="utf-8") as fh:
        assert {row["film"] for row in csv.DictReader(fh)} == cohort_ids


SENTINEL = "XQ7SENT"  # fits every text VR (SH: 16 characters)
SENTINEL_DATE = "19580317"
_PLANTED_VRS = {"PN": f"{SENTINEL}^Qa", "LO": SENTINEL, "SH": SENTINEL, "LT": SENTINEL, "ST": SENTINEL,
                "UT": SENTINEL, "DA": SENTINEL_DATE, "DT": SENTINEL_DATE + "101010"}


# sequences that change how the pixels are read (an empty LUT item breaks reading the film itself)
_PIXEL_SEQUENCES = ("LUT", "FunctionalGroups", "PixelValueTransformation", "IconImage", "Palette")


def _plantable() -> dict[int, tuple[str, str]]:
    """Every current (not retired) public attribute of a text, name or date VR in pydicom's dictionary."""
    from pydicom.datadict import DicomDictionary

    return {tag: (vr, kw) for tag, (vr, _vm, _name, retired, kw) in DicomDictionary.items()
            if vr in _PLANTED_VRS and not retired and kw and (tag >> 16) not in (0x0000, 0x0002, 0xFFFE)}


def _plant(path: Path) -> int:
    """Add the sentinel to every plantable attribute the film lacks, to one item of every sequence attribute (nested
    two deep too) and to a private attribute; returns how many values were planted."""
    from pydicom.datadict import DicomDictionary
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = pydicom.dcmread(path)
    plantable = _plantable()
    n = 0
    for tag, (vr, _kw) in plantable.items():
        if tag not in ds:
            ds.add_new(tag, vr, _PLANTED_VRS[vr])
            n += 1
    nested = [tag for tag, (vr, _kw) in list(plantable.items())[::7]]  # a spread of every VR, in each item

    def item(depth: int) -> Dataset:
        d = Dataset()
        for tag in nested:
            d.add_new(tag, plantable[tag][0], _PLANTED_VRS[plantable[tag][0]])
        if depth:
            d.add_new(0x00400275, "SQ", Sequence([item(depth - 1)]))  # Request Attributes Sequence inside
        return d

    sequences = [tag for tag, (vr, _vm, _name, retired, kw) in DicomDictionary.items()
                 if vr == "SQ" and not retired and kw and tag not in ds and (tag >> 16) not in (0x0000, 0xFFFE)
                 and not any(p in kw for p in _PIXEL_SEQUENCES)]
    for tag in sequences:
        ds.add_new(tag, "SQ", Sequence([item(1)]))
        n += 2 * len(nested)
    block = ds.private_block(0x0029, "SENTINEL-VENDOR", create=True)
    block.add_new(0x10, "LO", SENTINEL)
    ds.save_as(path)
    return n


def test_no_source_attribute_outside_the_allow_list_reaches_the_deidentified_dicom(db: str, tmp_path: Path) -> None:
    """A film carrying an identifier in every name, text and date attribute pydicom knows (nested ones too, and a
    private one): none of them reaches the de-identified SR or secondary capture `report --deidentify` writes."""
    store = Store(db)
    try:
        films = store.list_films(KEY)
    finally:
        store.close()
    planted = sum(_plant(Path(f.file_path)) for f in films)
    assert planted > 1000
    rep = tmp_path / "rep"
    _run("report", KEY, "--out", str(rep), "--deidentify", "--today", TODAY, "--db", db, "--no-pdf")
    for name in ("6-months-deidentified-measurements.sr.dcm", "6-months-deidentified-annotated.sc.dcm"):
        raw = (rep / name).read_bytes()
        assert SENTINEL.encode() not in raw and SENTINEL_DATE.encode() not in raw, name
        assert pydicom.dcmread(rep / name).PatientIdentityRemoved == "YES"


def test_the_pseudonym_depends_on_the_site_secret(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the secret, hashing a guessed MRN does not give the pseudonym: another secret, another pseudonym."""
    _run("export", "cohort", "--out", str(tmp_path / "a"), "--db", db)
    monkeypatch.setenv(SECRET_ENV, "another site" + PAD)
    _run("export", "pseudonym-series", "--start-new", "--reason", "test: another secret", "--db", db)
    _run("export", "cohort", "--out", str(tmp_path / "b"), "--db", db)
    a = _patients(tmp_path / "a" / "cohort-measurements-deidentified.csv")
    b = _patients(tmp_path / "b" / "cohort-measurements-deidentified.csv")
    assert a.isdisjoint(b) and len(a) == len(b) == 1


class _NoFileStore:
    """A store on a server database (no file to keep a secret beside), with no pseudonym series yet."""

    url = "postgresql+psycopg://u@h/db"

    def __init__(self) -> None:
        self.recorded: list[tuple[str, ...]] = []

    def pseudonym_series(self) -> list[object]:
        return []

    def record_pseudonym_series(self, *args: str) -> None:
        self.recorded.append(args)


def test_a_database_without_a_secret_file_needs_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from fusionwatch.errors import InputError
    from fusionwatch.export.secret import site_secret
    from fusionwatch.pseudonym import secret_fingerprint

    monkeypatch.delenv(SECRET_ENV, raising=False)
    store = _NoFileStore()
    with pytest.raises(InputError, match=SECRET_ENV):
        site_secret(store)
    monkeypatch.setenv(SECRET_ENV, "s" + PAD)
    assert site_secret(store) == ("s" + PAD).encode()
    assert store.recorded == [(secret_fingerprint(("s" + PAD).encode()), "environment", "first de-identified export")]


def _cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, " ".join(r.output.split())  # rich wraps long lines


def _cohort_alias(db: str, out: Path) -> str:
    _run("export", "cohort", "--out", str(out), "--today", TODAY, "--db", db)
    (alias,) = _patients(out / "cohort-measurements-deidentified.csv")
    return alias


def test_a_lost_secret_file_is_refused_not_silently_recreated(db: str, tmp_path: Path) -> None:
    """The secret file disappears after exports: every export refuses, naming the file, the restore and the way to a
    new series; the new series is started only on purpose and recorded with its reason. Before, a new secret file
    was created without a word and every patient got a new pseudonym."""
    secret_file = Path(db.removeprefix("sqlite:///") + ".deid-secret")
    alias = _cohort_alias(db, tmp_path / "a")
    saved = secret_file.read_bytes()
    secret_file.unlink()
    for args in (["export", "cohort", "--out", str(tmp_path / "b")],
                 ["report", KEY, "--out", str(tmp_path / "r"), "--deidentify", "--no-pdf", "--today", TODAY]):
        code, out = _cli(*args, "--db", db)
        assert code == 2 and "error:" in out and f"{secret_file} is missing" in out, out
        assert "Restore" in out and "pseudonym-series --start-new --reason" in out, out
        assert not secret_file.exists()
    # restored from backup: the same pseudonyms again
    secret_file.write_bytes(saved)
    secret_file.chmod(0o600)
    assert _cohort_alias(db, tmp_path / "c") == alias
    # lost for good: a new series on purpose, recorded
    secret_file.unlink()
    _run("export", "pseudonym-series", "--start-new", "--reason", "secret file lost 2026-11", "--db", db)
    assert secret_file.is_file()
    new_alias = _cohort_alias(db, tmp_path / "d")
    assert new_alias.startswith("FW-") and new_alias != alias
    code, out = _cli("export", "pseudonym-series", "--db", db)
    assert code == 0 and "1. since" in out and "first de-identified export" in out, out
    assert "2. since" in out and "secret file lost 2026-11 (current)" in out, out
    assert saved.decode() not in out


def test_the_variable_does_not_silently_override_the_recorded_secret(
        db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FUSIONWATCH_DEID_SECRET set after exports used the secret file: refused, naming the variable and how to go
    on (unset it). Before, the variable won silently and every pseudonym changed."""
    alias = _cohort_alias(db, tmp_path / "a")
    monkeypatch.setenv(SECRET_ENV, "a new study secret" + PAD)
    code, out = _cli("export", "cohort", "--out", str(tmp_path / "b"), "--db", db)
    assert code == 2 and f"{SECRET_ENV} is not the secret" in out and f"Unset {SECRET_ENV}" in out, out
    assert "--start-new" in out
    monkeypatch.delenv(SECRET_ENV)
    assert _cohort_alias(db, tmp_path / "c") == alias


def test_a_changed_or_unset_variable_is_refused(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A series started from the variable: another value, or no variable (a new secret file would be made), is
    refused, naming the variable."""
    monkeypatch.setenv(SECRET_ENV, "study secret" + PAD)
    alias = _cohort_alias(db, tmp_path / "a")
    monkeypatch.setenv(SECRET_ENV, "study secret, mistyped" + PAD)
    code, out = _cli("export", "cohort", "--out", str(tmp_path / "b"), "--db", db)
    assert code == 2 and f"{SECRET_ENV} is not the secret" in out and "set it to the secret used" in out, out
    monkeypatch.delenv(SECRET_ENV)
    code, out = _cli("export", "cohort", "--out", str(tmp_path / "c"), "--db", db)
    assert code == 2 and f"used the secret in {SECRET_ENV}, which is not set now" in out, out
    assert not Path(db.removeprefix("sqlite:///") + ".deid-secret").exists()
    monkeypatch.setenv(SECRET_ENV, "study secret" + PAD)
    assert _cohort_alias(db, tmp_path / "d") == alias


def test_a_replaced_secret_file_is_refused(db: str, tmp_path: Path) -> None:
    """The secret file replaced by another secret (a wrong backup, a copy from another site): refused."""
    from fusionwatch.export.secret import _create_secret_file

    alias = _cohort_alias(db, tmp_path / "a")
    secret_file = Path(db.removeprefix("sqlite:///") + ".deid-secret")
    saved = secret_file.read_bytes()
    secret_file.unlink()
    _create_secret_file(secret_file)
    code, out = _cli("export", "cohort", "--out", str(tmp_path / "b"), "--db", db)
    assert code == 2 and f"{secret_file} is not the secret this database's de-identified exports" in out, out
    assert "Restore the original file from backup" in out, out
    secret_file.write_bytes(saved)
    assert _cohort_alias(db, tmp_path / "c") == alias


def test_a_variable_differing_from_an_existing_file_is_refused_before_any_series(
        db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database from before the series were recorded, with its secret file: a different variable is refused."""
    from fusionwatch.export.secret import _create_secret_file

    _create_secret_file(Path(db.removeprefix("sqlite:///") + ".deid-secret"))
    monkeypatch.setenv(SECRET_ENV, "something else" + PAD)
    code, out = _cli("export", "cohort", "--out", str(tmp_path / "b"), "--db", db)
    assert code == 2 and f"{SECRET_ENV} is set and differs from the pseudonym secret file" in out, out
    with Store(db) as store:
        assert store.pseudonym_series() == []


def test_a_new_series_needs_a_new_secret_and_a_reason(db: str, tmp_path: Path) -> None:
    _cohort_alias(db, tmp_path / "a")
    code, out = _cli("export", "pseudonym-series", "--start-new", "--reason", "why not", "--db", db)
    assert code == 2 and "already the current pseudonym series' one" in out, out
    code, out = _cli("export", "pseudonym-series", "--start-new", "--db", db)
    assert code == 2 and "--start-new needs --reason" in out, out
    with Store(db) as store:
        assert len(store.pseudonym_series()) == 1


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
    from fusionwatch.export.secret import site_secret

    def secret_of(url: str) -> bytes:
        with Store(url) as store:
            return site_secret(store)

    monkeypatch.delenv(SECRET_ENV, raising=False)
    for round_ in range(30):
        url = f"sqlite:///{tmp_path / f'fw{round_}.db'}"
        Store(url).close()  # the schema made first (the exports race on the secret, not on the migrations)
        got, errors = _race(secret_of, url, 8)
        assert not errors and len(got) == 8 and len(set(got)) == 1, (round_, errors[:1])
        secret_file = tmp_path / f"fw{round_}.db.deid-secret"
        assert secret_file.stat().st_mode & 0o077 == 0  # owner only
        assert sorted(p.name for p in tmp_path.glob(f"*fw{round_}.db*")) == [f"fw{round_}.db", secret_file.name]
        with Store(url) as store:
            assert len(store.pseudonym_series()) == 1  # recorded once


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
    from fusionwatch.export.secret import site_secret

    monkeypatch.delenv(SECRET_ENV, raising=False)
    store = Store(f"sqlite:///{tmp_path / 'fw.db'}")
    secret = site_secret(store)
    path = tmp_path / "fw.db.deid-secret"
    for mode in (0o644, 0o620, 0o604):
        path.chmod(mode)
        with pytest.raises(InputError, match="chmod 600"):
            site_secret(store)
    path.chmod(0o600)
    assert site_secret(store) == secret
    store.close()


def _count_secret_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every read of a ``*.deid-secret`` file from now on (by name)."""
    reads: list[str] = []
    for method in ("read_text", "read_bytes"):
        original = getattr(Path, method)

        def read(self: Path, *args: object, _original=original, **kwargs: object) -> object:  # noqa: ANN001
            if self.name.endswith(".deid-secret"):
                reads.append(self.name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Path, method, read)
    return reads


def test_one_export_reads_the_secret_once(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """report --deidentify and export cohort (two patients) read the site secret once each and pass it on. Before,
    the report read it twice (its pseudonym, then the measurement table) and the cohort export 1 + one per patient."""
    with Store(db) as store:
        store.add_patient(Patient("K-2"))
        store.set_surgery("K-2", Surgery(SURGERY))
        store.add_prom("K-2", SURGERY + dt.timedelta(days=40), back_pain_nrs=3)
    _run("export", "cohort", "--out", str(tmp_path / "first"), "--db", db)  # the secret file is made
    reads = _count_secret_reads(monkeypatch)
    _run("report", KEY, "--out", str(tmp_path / "rep"), "--deidentify", "--today", TODAY, "--db", db, "--no-pdf")
    assert reads == ["fw.db.deid-secret"]
    reads.clear()
    _run("export", "cohort", "--out", str(tmp_path / "cohort"), "--today", TODAY, "--db", db)
    assert len(_patients(tmp_path / "cohort" / "cohort-visits-deidentified.csv")) == 2
    assert reads == ["fw.db.deid-secret"]


def test_the_core_does_no_secret_io() -> None:
    """The report model and the pseudonym function read no environment and no file: the secret is an argument.
    Importing them does not load the adapter that reads it."""
    import subprocess
    import sys

    code = ("import sys, fusionwatch.report.model, fusionwatch.pseudonym as p; "
            "assert 'fusionwatch.export.secret' not in sys.modules, 'adapter imported by the core'; "
            "assert not hasattr(p, 'site_secret') and not hasattr(p, 'os'), 'I/O in fusionwatch.pseudonym'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_an_unreadable_secret_file_or_a_short_variable_is_an_error_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder or a non-UTF-8 file in place of the secret file is an InputError naming the file and what it must
    hold (before: IsADirectoryError / UnicodeDecodeError tracebacks); a FUSIONWATCH_DEID_SECRET under 32 characters
    is refused (the database's fast fingerprint lets anyone test short guesses offline)."""
    from fusionwatch.errors import InputError
    from fusionwatch.export.secret import site_secret

    monkeypatch.delenv(SECRET_ENV, raising=False)
    store = Store(f"sqlite:///{tmp_path / 'fw.db'}")
    path = tmp_path / "fw.db.deid-secret"
    path.mkdir()
    with pytest.raises(InputError, match=rf"{re.escape(str(path))} is not a file.*64 hexadecimal characters"):
        site_secret(store)
    path.rmdir()
    path.write_bytes(b"\xff\xfe\x00secret")
    path.chmod(0o600)
    with pytest.raises(InputError, match=rf"{re.escape(str(path))}: it is not UTF-8 text.*64 hexadecimal"):
        site_secret(store)
    path.unlink()
    monkeypatch.setenv(SECRET_ENV, "x" * 31)
    with pytest.raises(InputError, match="too short .31 characters; at least 32"):
        site_secret(store)
    assert store.pseudonym_series() == []  # nothing recorded by a refused secret
    monkeypatch.setenv(SECRET_ENV, "x" * 32)
    assert site_secret(store) == b"x" * 32
    store.close()


def _refused(*args: str) -> str:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 2, r.output
    return r.output


def test_a_refused_deidentified_report_leaves_no_files(db: str, tmp_path: Path) -> None:
    """`report KEY --deidentify` for a patient without a surgery date is refused before anything is written (before:
    exit 2 with the report folder, its films and files named by real dates, left behind)."""
    store = Store(db)
    store.add_patient(Patient("K-2", patient_id="K-2", name="Doe^Jo", birth_date=dt.date(1960, 1, 1), sex="F"))
    path = write_dicom(tmp_path / "k2.dcm", np.zeros((300, 240), np.uint16), spacing=(0.2, 0.2),
                       study_date="20260301", view_position="LL")
    store.add_film("K-2", read_radiograph(path), film_id="k2-film", file_path=str(path), file_sha256="f" * 64,
                   visit_date=dt.date(2026, 3, 1), landmarks=Landmarks(dict(POINTS), 240, 300, source="file:test"),
                   measurements=[])
    store.close()
    rep = tmp_path / "rep"
    assert "no surgery date" in _refused("report", "K-2", "--out", str(rep), "--deidentify", "--today", TODAY,
                                         "--db", db, "--no-pdf")
    assert not rep.exists()


def test_an_export_that_writes_nothing_records_no_series(db: str, tmp_path: Path) -> None:
    """An unknown key or a bad visit is refused before the secret is read: no secret file is created and no
    pseudonym series recorded (before: both, by an export that wrote nothing). The first written export records it."""
    secret_file = Path(db.removeprefix("sqlite:///") + ".deid-secret")
    rep = tmp_path / "rep"
    assert "NOPE" in _refused("report", "NOPE", "--out", str(rep), "--deidentify", "--db", db, "--no-pdf")
    _refused("report", KEY, "--visit", "9", "--out", str(rep), "--deidentify", "--db", db, "--no-pdf")
    store = Store(db)
    try:
        assert store.pseudonym_series() == [] and not secret_file.exists() and not rep.exists()
    finally:
        store.close()
    _run("report", KEY, "--out", str(rep), "--deidentify", "--today", TODAY, "--db", db, "--no-pdf")
    store = Store(db)
    try:
        assert [s.source for s in store.pseudonym_series()] == ["file"] and secret_file.is_file()
    finally:
        store.close()


def test_a_mismatch_names_its_real_cause_and_fix(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal is built from where the secret in use came from, where the series' came from and whether the file
    exists. Before: a series from the variable, the variable unset and a file present said 'the file was replaced';
    the file missing and a wrong variable said 'unset the variable, the file is then used' (there is no file)."""
    from fusionwatch.export.secret import _create_secret_file

    secret_file = Path(db.removeprefix("sqlite:///") + ".deid-secret")
    monkeypatch.setenv(SECRET_ENV, "study secret" + PAD)
    _cohort_alias(db, tmp_path / "a")  # the series' secret comes from the variable
    monkeypatch.delenv(SECRET_ENV)
    _create_secret_file(secret_file)
    code, out = _cli("export", "cohort", "--out", str(tmp_path / "b"), "--db", db)
    assert code == 2 and f"{SECRET_ENV} is not set" in out and f"Set {SECRET_ENV} to the secret used" in out, out
    assert "replaced" not in out
    # a series from the file, the file gone, a wrong variable
    secret_file.unlink()
    _run("export", "pseudonym-series", "--start-new", "--reason", "moved to the file", "--db", db)
    saved = secret_file.read_bytes()
    secret_file.unlink()
    monkeypatch.setenv(SECRET_ENV, "another secret" + PAD)
    code, out = _cli("export", "cohort", "--out", str(tmp_path / "c"), "--db", db)
    assert code == 2 and f"Restore {secret_file} from backup" in out and "is then used" not in out, out
    # the secret in use is an earlier series' one: said so
    monkeypatch.setenv(SECRET_ENV, "study secret" + PAD)
    code, out = _cli("export", "cohort", "--out", str(tmp_path / "d"), "--db", db)
    assert code == 2 and "that of an earlier pseudonym series" in out, out
    secret_file.write_bytes(saved)
    secret_file.chmod(0o600)
    monkeypatch.delenv(SECRET_ENV)
    assert _cohort_alias(db, tmp_path / "e").startswith("FW-")
