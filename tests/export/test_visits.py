"""Tests for export/visits.py: the per-visit outcome table of the research export."""

from __future__ import annotations

import csv
from pathlib import Path

from _verdicts import remeasured_and_gone
from fusionwatch.export.visits import VISIT_COLUMNS, visit_rows, write_visits
from fusionwatch.report.example import SURGERY, example_report_data


def test_one_row_per_visit_with_status_findings_motion_and_proms(tmp_path: Path) -> None:
    data = example_report_data(tmp_path)
    rows = visit_rows(data)
    assert [r["visit"] for r in rows] == ["pre-op", "6-weeks", "3-months", "6-months"]
    six = rows[-1]
    assert six["days_since_surgery"] == 185 and six["has_films"] is True and rows[1]["is_baseline"] is True
    assert six["fusion_status_automatic"] == data.visits[-1].fusion_status.value
    assert six["fusion_status_reader"] == "on_track"
    assert six["findings"] == "cage_subsidence (action)"
    assert (six["L5_S1_motion_angle_deg"], six["L5_S1_translation_mm"]) == (2.1, 0.9)
    assert six["L4_L5_motion_angle_deg"] is None
    assert six["odi_percent"] == 22.2 and six["odi_sections_answered"] == 9 and six["back_pain_0_10"] == 3
    assert rows[1]["odi_percent"] is None  # no questionnaire on the 6-week visit date


def test_deidentified_rows_have_shifted_dates_and_no_identifiers(tmp_path: Path) -> None:
    data = example_report_data(tmp_path)
    rows = visit_rows(data, deidentify=True)
    path = write_visits(rows, tmp_path / "visits.csv")
    table = list(csv.DictReader(path.open()))
    pseudonym = table[0]["patient"]
    assert pseudonym.startswith("FW-") and {r["patient"] for r in table} == {pseudonym}
    # the pseudonym is random hex (a secret of its own per run): '2026' inside it is chance, not a date
    text = path.read_text().replace(pseudonym, "FW-")
    for ident in ("Doe", "Jane", "MRN-778899", "1961", "Dr Reader", str(SURGERY.year)):
        assert ident not in text, ident
    assert tuple(table[0].keys()) == VISIT_COLUMNS
    assert table[-1]["visit_date"] == "2000-07-04"  # 185 days after the anchor 2000-01-01
    assert table[1]["L5_S1_motion_angle_deg"] == ""  # not measured: empty, not 0


def test_uncalibrated_translation_is_in_percent_only(tmp_path: Path) -> None:
    six = visit_rows(example_report_data(tmp_path, calibrated=False))[-1]
    assert six["L5_S1_translation_mm"] is None and six["L5_S1_translation_percent_endplate"] == 2.4


def test_a_reader_verdict_is_beside_its_finding(tmp_path: Path) -> None:
    import dataclasses
    import datetime as dt

    from fusionwatch.records import Override

    data = example_report_data(tmp_path)
    no = Override("finding:cage_subsidence", "rejected", "amy", dt.datetime(2026, 7, 16, tzinfo=dt.UTC), "")
    visits = list(data.visits)
    visits[3] = dataclasses.replace(visits[3], finding_verdicts={"cage_subsidence": no})
    rows = visit_rows(dataclasses.replace(data, visits=tuple(visits)), deidentify=True)
    assert rows[-1]["findings"] == "cage_subsidence (action, reader: rejected)"


def test_fused_status_label_says_what_was_assessed(tmp_path: Path) -> None:
    """The research table carries the report's label and the bridging call beside the automatic status."""
    import dataclasses

    from fusionwatch.records import FusionStatus

    data = example_report_data(tmp_path, status=FusionStatus.FUSED_CRITERIA_MET)
    visits = list(data.visits)
    visits[3] = dataclasses.replace(visits[3], reader_status=None)
    rows = visit_rows(dataclasses.replace(data, visits=tuple(visits)), deidentify=True)
    assert rows[-1]["fusion_status_automatic"] == "fused_criteria_met" and rows[-1]["bridging_call"] == "not_assessed"
    assert "bridging bone not assessed" in rows[-1]["fusion_status_automatic_label"]
    visits[3] = dataclasses.replace(visits[3], bridging_call="bridged")
    rows = visit_rows(dataclasses.replace(data, visits=tuple(visits)))
    assert rows[-1]["fusion_status_automatic_label"] == "Radiographic fusion criteria met (confirm clinically)"
    assert rows[0]["fusion_status_automatic_label"] is None  # pre-op: no status


def test_translation_sd_column_names_its_unit(tmp_path: Path) -> None:
    """The translation's SD lands in the column of its unit: mm on a calibrated film, % of the endplate otherwise
    (one '_translation_sd' column beside both a mm and a % value left the unit to guess)."""
    import dataclasses

    mm, pct = "L5_S1_translation_sd_mm", "L5_S1_translation_sd_percent_endplate"
    for calibrated, unit_col, other_col in ((True, mm, pct), (False, pct, mm)):
        data = example_report_data(tmp_path / str(calibrated), calibrated=calibrated)
        motion = ({**data.visits[-1].motion[0], "translation_sd": 0.3},)
        last = dataclasses.replace(data.visits[-1], motion=motion)
        data = dataclasses.replace(data, visits=(*data.visits[:-1], last))
        six = visit_rows(data)[-1]
        assert six[unit_col] == 0.3 and six[other_col] is None, calibrated
    assert "L5_S1_translation_sd" not in VISIT_COLUMNS


def test_each_finding_of_one_kind_has_its_own_ref_and_verdict_in_the_findings_column(tmp_path: Path) -> None:
    """Three screw-loosening findings at one visit: the column names each by its ref, and a verdict on the left halo
    is beside the left halo only; a verdict on the whole kind (stored before refs existed) beside all three."""
    import dataclasses
    import datetime as dt

    from fusionwatch.records import Finding, Override, Severity

    kind = "screw_loosening_suspected"
    angle = Finding(kind, Severity.WATCH, "S1 screw: angle changed.", {"level": "S1",
                                                                     "criterion": "screw-endplate angle change"})
    halos = [Finding(kind, Severity.WATCH, f"S1 screw (image {s}): halo.", {"level": "S1", "criterion": "halo"})
             for s in ("left", "right")]
    at = dt.datetime(2026, 7, 16, tzinfo=dt.UTC)
    data = example_report_data(tmp_path)

    def findings(verdicts: dict) -> str:  # type: ignore[type-arg]
        v = dataclasses.replace(data.visits[3], findings=(angle, *halos), finding_verdicts=verdicts, finding_refs=())
        return visit_rows(dataclasses.replace(data, visits=(*data.visits[:3], v)), deidentify=True)[-1]["findings"]

    left = Override(f"finding:{kind}:S1-left-halo", "rejected", "amy", at)
    assert findings({f"{kind}:S1-left-halo": left}) == (
        f"{kind}:S1-angle (watch); {kind}:S1-left-halo (watch, reader: rejected); {kind}:S1-right-halo (watch)")
    whole = Override(f"finding:{kind}", "confirmed", "amy", at)
    assert findings({kind: whole}).count("reader: confirmed") == 3


def test_a_verdict_not_applied_is_not_called_no_longer_made(tmp_path: Path) -> None:
    """visits.csv: a verdict whose finding is made again against another baseline film reads 'not applied: re-measured
    against another baseline film'; one on a finding the tool no longer makes reads 'no longer made'. Before, both
    read 'no longer made'."""
    data = remeasured_and_gone(tmp_path)
    for deidentify in (False, True):
        row = visit_rows(data, deidentify=deidentify)[data.current]
        assert row["findings"] == "rod_discontinuity (action)"  # not reviewed: the rejection is not applied
        assert row["verdicts_without_finding"] == (
            "screw_loosening_suspected (reader: confirmed, no longer made); "
            "rod_discontinuity (reader: rejected, not applied: re-measured against another baseline film)"), deidentify
