"""Implants on post-operative films: screws, rods and cage (detection, halo) and the checks between films."""

from fusionwatch.implants.checks import (
    CAGE_MIGRATION_MM,
    CAGE_MIGRATION_PERCENT,
    HALO_GROWTH_MM,
    HALO_LOOSENING_MM,
    SCREW_ENDPLATE_ANGLE_CHANGE_DEG,
    ImplantSettings,
    cage_position,
    check_cage_migration,
    check_implants,
    check_rod_discontinuity,
    check_screw_breakage,
    check_screw_endplate_angle,
    check_screw_halo,
    screw_angle_change,
    screw_endplate_angle_deg,
)
from fusionwatch.implants.detection import Cage, Implants, Rod, Screw, body_polygons, detect_implants, metal_threshold
from fusionwatch.implants.halo import Halo, halo_width

__all__ = [
    "Screw",
    "Rod",
    "Cage",
    "Implants",
    "Halo",
    "detect_implants",
    "metal_threshold",
    "body_polygons",
    "halo_width",
    "ImplantSettings",
    "SCREW_ENDPLATE_ANGLE_CHANGE_DEG",
    "HALO_LOOSENING_MM",
    "HALO_GROWTH_MM",
    "CAGE_MIGRATION_MM",
    "CAGE_MIGRATION_PERCENT",
    "cage_position",
    "screw_endplate_angle_deg",
    "check_cage_migration",
    "check_screw_endplate_angle",
    "screw_angle_change",
    "check_screw_halo",
    "check_rod_discontinuity",
    "check_screw_breakage",
    "check_implants",
]
