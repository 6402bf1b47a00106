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
]
