"""Threshold texts of the clinician report: each names its source, and follows the settings it was computed with."""

from __future__ import annotations

import pytest

from fusionwatch.measurement import MeasureName as M
from fusionwatch.records import FusionStatus
from fusionwatch.report.labels import threshold_text

SOURCES = (
    "common study definition",
    "common radiographic definition",
    "fusionwatch setting",
    "SRS-Schwab",
    "population values",
    "Meyerding",
)


@pytest.mark.parametrize("name", [n for n in M if threshold_text(n)])
def test_every_threshold_text_names_its_source(name: M) -> None:
    text = threshold_text(name)
    assert text.endswith(")") and any(f"({s})" in text for s in SOURCES), text
    assert "CLINICAL" not in text


def test_threshold_text_follows_the_settings() -> None:
    assert "> 2 mm" in threshold_text(M.DISC_HEIGHT_MEAN_L5_S1)
    assert "> 3.5 mm" in threshold_text(M.DISC_HEIGHT_MEAN_L5_S1, {"subsidence_mm": 3.5})
    assert "> 2 mm" in threshold_text(M.DISC_HEIGHT_MEAN_L5_S1, {"subsidence_mm": "bad"})


FULL = "Radiographic fusion criteria met (confirm clinically)"


@pytest.mark.parametrize(
    "bridging, bridwell, reader, full",
    [
        ("not_assessed", None, None, False),
        ("not_bridged", None, None, False),
        ("not_assessed", "II", None, False),
        ("not_assessed", None, "pseudarthrosis_suspected", False),
        ("bridged", None, None, True),
        ("not_assessed", "I", None, True),
        ("not_assessed", "i", None, True),
        ("not_assessed", None, "fused_criteria_met", True),
    ],
)
def test_fused_label_says_what_was_assessed(bridging: str, bridwell: str | None, reader: str | None,
                                             full: bool) -> None:
    """The full 'criteria met' label only when bridging bone was judged (a bridged fraction, Bridwell I) or a reader
    called it fused; otherwise the label says the criteria are met on motion and what is missing."""
    from fusionwatch.records import FusionStatus
    from fusionwatch.report.labels import status_label

    text = status_label(FusionStatus.FUSED_CRITERIA_MET, bridging=bridging, bridwell_grade=bridwell,
                        reader_status=reader)
    assert (text == FULL) is full, text
    if not full:
        assert text.startswith("Fusion criteria met on motion; bridging bone") and "confirm clinically" in text
    if not full and bridging == "not_assessed" and bridwell is None:
        assert "not assessed (reader to grade" in text
    if bridwell == "II":
        assert "Bridwell II" in text


def test_other_statuses_keep_their_label() -> None:
    from fusionwatch.records import FusionStatus
    from fusionwatch.report.labels import STATUS_LABELS, status_label

    for s in FusionStatus:
        if s is not FusionStatus.FUSED_CRITERIA_MET:
            assert status_label(s) == STATUS_LABELS[s]
    assert status_label(None) == "not assessed"


def test_bridging_call_from_older_evidence() -> None:
    """Evidence written before the ``bridging_call`` key is read the cautious way."""
    from fusionwatch.report.labels import bridging_from_evidence

    assert bridging_from_evidence({}) == "not_assessed"
    assert bridging_from_evidence(None) == "not_assessed"
    assert bridging_from_evidence({"bridging_fraction": None}) == "not_assessed"
    assert bridging_from_evidence({"bridging_fraction": 0.2}) == "not_bridged"
    assert bridging_from_evidence({"bridging_fraction": 0.8, "bridging_threshold": 0.5}) == "bridged"
    assert bridging_from_evidence({"bridging_call": "bridged"}) == "bridged"
    assert bridging_from_evidence({"bridging_call": "junk", "bridging_fraction": None}) == "not_assessed"


def test_reader_status_is_worded_as_the_automatic_one() -> None:
    """A reader's status reads as the report labels a status (no raw 'fused_criteria_met'); an unknown value is shown
    as entered and said not to be acted on."""
    from fusionwatch.report.labels import reader_status_label

    assert reader_status_label("fused_criteria_met") == FULL
    assert reader_status_label("pseudarthrosis_suspected") == "Pseudarthrosis suspected"
    assert reader_status_label("solid") == "'solid' (not a known status: shown, not acted on)"


def test_clinician_report_words_the_reader_status() -> None:
    """The reader's box of the clinician report uses the label, not the raw value with underscores replaced."""
    import datetime as dt
    import tempfile
    from dataclasses import replace
    from pathlib import Path

    from fusionwatch.records import Override
    from fusionwatch.report.example import example_report_data
    from fusionwatch.report.render import render_clinician_html

    data = example_report_data(Path(tempfile.mkdtemp()))
    over = Override("fusion_status", "fused_criteria_met", "amy", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "CT")
    v = replace(data.visit, reader_status=over)
    html = render_clinician_html(replace(data, visits=(*data.visits[: data.current], v)))
    reader_box = html[html.index("<h3>Reader</h3>"):]
    reader_box = reader_box[: reader_box.index("</td>")]
    assert FULL in reader_box and "fused criteria met" not in reader_box


class TestMotionValueTexts:
    """Tests for motion_value_texts(): one wording of a flexion-extension result (report table, followup command)."""

    def test_dict_and_object_read_the_same(self) -> None:
        """The report's dict and the follow-up timeline's SegmentMotion give the same texts: magnitudes with 1 SD."""
        from fusionwatch.followup import SegmentMotion
        from fusionwatch.report.labels import motion_value_texts

        m = SegmentMotion("L5-S1", -6.5555, 0.4378, -1.27, None, 0.2046)
        as_dict = {k: getattr(m, k) for k in ("angle_deg", "angle_sd_deg", "translation_mm", "translation_percent",
                                              "translation_sd")}
        assert motion_value_texts(m) == motion_value_texts(as_dict) == ("6.6 deg ± 0.4", "1.3 mm ± 0.2")

    def test_uncalibrated_missing_and_unusable_sds(self) -> None:
        """Translation in % of the endplate on an uncalibrated film; a missing value is a dash; an SD that is missing,
        zero or not a number is not printed (it printed "± nan")."""
        from fusionwatch.report.labels import motion_value_texts

        assert motion_value_texts({"angle_deg": 2.04, "translation_percent": -3.16, "translation_sd": 1.1}) == (
            "2.0 deg", "3.2 % of endplate ± 1.1")
        assert motion_value_texts({"angle_deg": None, "angle_sd_deg": float("nan")}) == ("—", "—")
        assert motion_value_texts({"angle_deg": 1.0, "angle_sd_deg": float("nan"), "translation_mm": 0.5,
                                   "translation_sd": 0.0}) == ("1.0 deg", "0.5 mm")


@pytest.mark.parametrize("status", [s for s in FusionStatus if s not in (FusionStatus.ON_TRACK,
                                                                        FusionStatus.FUSED_CRITERIA_MET)] + [None])
def test_concern_reasons_use_the_status_labels(status: FusionStatus | None) -> None:
    """Why the care advice holds lines back, in the report's words: the status label ("Insufficient evidence on these
    films"), never the raw status word ("insufficient evidence"); findings by their kind in words."""
    from fusionwatch.care.advice import care_advice
    from fusionwatch.care.protocol import default_protocol
    from fusionwatch.records import Finding, Severity
    from fusionwatch.report.labels import STATUS_LABELS, concern_reason_texts

    advice = care_advice(default_protocol(), 379, fusion_status=status,
                         findings=[Finding("rod_fracture_suspected", Severity.ACTION, "gap")])
    expected = STATUS_LABELS[status] if status else "not assessed"
    assert concern_reason_texts(advice) == (f"status: {expected}", "finding: rod fracture suspected")


def test_concern_reason_texts_word_the_advice_reasons_in_their_order() -> None:
    """The report's reasons are CareAdvice.concern_reasons worded, one text per reason in its order: the one list
    (they were built a second time from the advice's status and findings, so a reason the advice did not give could
    be worded, and one it gave left out)."""
    import dataclasses

    from fusionwatch.care.advice import ConcernReason, care_advice
    from fusionwatch.care.protocol import default_protocol
    from fusionwatch.report.labels import STATUS_LABELS, concern_reason_texts

    advice = care_advice(default_protocol(), 379, fusion_status=FusionStatus.ON_TRACK)
    reasons = (ConcernReason("finding", "cage_subsidence"), ConcernReason("status", "delayed_union_suspected"),
               ConcernReason("status", "not_assessed"))
    worded = concern_reason_texts(dataclasses.replace(advice, concern_reasons=reasons, fusion_on_track=False))
    assert worded == ("finding: cage subsidence", f"status: {STATUS_LABELS[FusionStatus.DELAYED_UNION_SUSPECTED]}",
                      "status: not assessed")


def test_concern_reasons_empty_when_on_track() -> None:
    from fusionwatch.care.advice import care_advice
    from fusionwatch.care.protocol import default_protocol
    from fusionwatch.report.labels import concern_reason_texts

    assert concern_reason_texts(care_advice(default_protocol(), 379, fusion_status=FusionStatus.ON_TRACK,
                                            status_confirmed=True)) == ()
    assert concern_reason_texts(care_advice(default_protocol(), 379, fusion_status=FusionStatus.ON_TRACK)) == (
        "status on track (automatic) not confirmed by a reader",)
