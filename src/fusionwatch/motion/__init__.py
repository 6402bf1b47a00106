"""Flexion-extension motion: intensity-based registration of each vertebral body, thresholds and overlay."""

from fusionwatch.motion._register import (
    LANDMARK_METHOD,
    METHOD,
    BodyRegistration,
    LandmarkMotion,
    MotionResult,
    RegistrationError,
    landmark_motion,
    register_body,
    register_motion,
)
from fusionwatch.motion.classify import (
    FUSION_ANGLE_DEG,
    FUSION_TRANSLATION_MM,
    INSTABILITY_ANGLE_DEG,
    INSTABILITY_TRANSLATION_MM,
    MotionSettings,
    classify_motion,
)
from fusionwatch.motion.overlay import motion_overlay, save_motion_overlay
from fusionwatch.motion.pair import check_pair

__all__ = [
    "METHOD",
    "LANDMARK_METHOD",
    "BodyRegistration",
    "LandmarkMotion",
    "MotionResult",
    "RegistrationError",
    "landmark_motion",
    "register_body",
    "register_motion",
    "FUSION_ANGLE_DEG",
    "FUSION_TRANSLATION_MM",
    "INSTABILITY_ANGLE_DEG",
    "INSTABILITY_TRANSLATION_MM",
    "MotionSettings",
    "classify_motion",
    "check_pair",
    "motion_overlay",
    "save_motion_overlay",
]
