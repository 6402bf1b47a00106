"""Texts of fusionwatch.motion.classify: what reaches a clinician names the criterion, never a project file."""

from __future__ import annotations

import itertools

import pytest

from fusionwatch.motion import MotionSettings, classify_motion
from fusionwatch.motion._register import MotionResult
from fusionwatch.units import Unit

INTERNAL = ("CLINICAL.md", "DESIGN.md", "STYLE.md", ".md")

# angle, angle SD, translation mm (None: uncalibrated), translation SD, level: every kind of finding classify makes
CASES = [
    (0.5, 0.1, 0.3, 0.1, "L5-S1"),  # within the fusion thresholds
    (2.9, 0.5, 0.3, 0.1, "L5-S1"),  # indeterminate near 3 deg
    (8.0, 0.2, 0.5, 0.1, "L5-S1"),  # above the fusion threshold
    (22.0, 0.1, 0.5, 0.1, "L4-L5"),  # instability
    (21.0, 3.0, 0.5, 0.1, "L4-L5"),  # above the instability limit, not confidently
    (0.5, 0.1, None, 0.5, "L5-S1"),  # uncalibrated
]


def _result(angle: float, a_sd: float, t_mm: float | None, t_sd: float, level: str) -> MotionResult:
    return MotionResult(level, angle, a_sd, t_mm, 1.0 if t_mm is None else t_mm / 35 * 100, t_sd,
                        Unit.PERCENT if t_mm is None else Unit.MM, "body-registration/1")


@pytest.mark.parametrize("case", CASES)
def test_finding_texts_cite_criteria_not_internal_documents(case) -> None:
    f = classify_motion(_result(*case), films=("flex", "ext"))
    for text in (f.summary, f.threshold or "", *(str(v) for v in f.evidence.values())):
        assert not any(doc in text for doc in INTERNAL), (f.kind, text)


def test_fusion_threshold_names_its_published_criteria() -> None:
    kinds = set()
    for case, z in itertools.product(CASES, (1.0, 1.96)):
        f = classify_motion(_result(*case), MotionSettings(confidence_z=z))
        kinds.add(f.kind)
        if f.kind != "segmental_instability" and "for fusion" in (f.threshold or ""):
            assert "modified Lee criteria" in f.threshold and "device-trial thresholds" in f.threshold
    assert {"motion_within_fusion_threshold", "motion_exceeds_fusion_threshold", "segmental_instability"} <= kinds
