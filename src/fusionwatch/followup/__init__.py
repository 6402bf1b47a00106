"""Follow-up engine: a patient's visits compared with the early post-operative baseline, findings and fusion status.

Pure functions over core objects (no database, no files): :func:`build_timeline` is the entry point; the store's
:meth:`fusionwatch.store.Store.load_timeline` feeds it from the database. Thresholds: :class:`FollowupSettings`.
"""

from fusionwatch.followup.model import (
    BoneEvidence,
    EnteredInError,
    MeasurementDelta,
    MotionLike,
    SegmentMotion,
    StatusResult,
    Timeline,
    VisitInput,
    VisitSummary,
)
from fusionwatch.followup.schedule import PRE_OP, visit_label
from fusionwatch.followup.settings import DEFAULT_SCHEDULE, DEFAULT_SETTINGS, FollowupSettings, ScheduledVisit
from fusionwatch.followup.status import fusion_status
from fusionwatch.followup.timeline import build_timeline

__all__ = [
    "BoneEvidence",
    "DEFAULT_SCHEDULE",
    "DEFAULT_SETTINGS",
    "EnteredInError",
    "FollowupSettings",
    "MeasurementDelta",
    "MotionLike",
    "PRE_OP",
    "ScheduledVisit",
    "SegmentMotion",
    "StatusResult",
    "Timeline",
    "VisitInput",
    "VisitSummary",
    "build_timeline",
    "fusion_status",
    "visit_label",
]
