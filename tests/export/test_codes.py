"""Tests for export/codes.py: every standard DICOM code is in DICOM PS3.16 (pydicom's dictionary)."""

import pydicom.sr._concepts_dict as cd
import pytest

from fusionwatch.export.codes import (
    DICOM_CODES,
    FHIR_OBSERVATION_STATUS,
    FW_SYSTEM,
    LOINC,
    check_coding,
    finding_site,
    measure_code,
    ucum_unit,
)
from fusionwatch.measurement import MeasureName
from fusionwatch.units import Unit


def _ps316() -> dict[tuple[str, str], str]:
    out = {}
    for scheme, table in cd.concepts.items():
        for entries in table.values():
            for code, (meaning, _cids) in entries.items():
                out[(scheme, code)] = meaning
    return out


@pytest.mark.parametrize("name", sorted(DICOM_CODES))
def test_dicom_codes_exist_in_ps3_16(name: str) -> None:
    code = DICOM_CODES[name]
    meanings = _ps316()
    assert (code.scheme, code.value) in meanings, code


def test_r4_status_list_is_exact() -> None:
    assert FHIR_OBSERVATION_STATUS == {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                                       "entered-in-error", "unknown"}


def test_check_coding_rejects_unknown() -> None:
    check_coding(LOINC, "72514-3")
    check_coding(FW_SYSTEM, MeasureName.SACRAL_SLOPE.value)
    with pytest.raises(ValueError, match="not on the allow-list"):
        check_coding(LOINC, "12345-6")
    with pytest.raises(ValueError, match="not on fusionwatch's allow-list"):
        check_coding("http://example.org", "x")


def test_units_and_sites() -> None:
    assert ucum_unit(Unit.DEG) == ("deg", "degree")
    assert ucum_unit(Unit.MM)[0] == "mm" and ucum_unit(Unit.PERCENT)[0] == "%"
    assert ucum_unit(Unit.PX) is None
    assert finding_site(MeasureName.DISC_HEIGHT_MEAN_L5_S1).value == "715056000"
    assert finding_site(MeasureName.SLIP_MM_L4_L5).value == "84020006"
    assert measure_code(MeasureName.PELVIC_TILT).scheme == "99FWATCH"
