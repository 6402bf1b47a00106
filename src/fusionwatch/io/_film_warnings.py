"""Film warnings without the DICOM header values older versions quoted in them.

Up to 2026-11-25 the film readers quoted the offending header value in a warning ("Acquisition Date (0008,0022)
'01.03.2025' is not a valid date (YYYYMMDD); ignored.", "Pixel Spacing (0028,0030) ['QZ', 'QZ'] is not numeric;
ignored."; an invalid date still is, for ingest's error line that asks for the right --date). Header text is an
identifier (a date of service, or whatever a device or a person typed into a mis-typed field), and a film's warnings
are stored with it and reach the reports, the review list and the annotated film (drawn into its pixels, shared by
identified and de-identified outputs). The calibration and modality warnings now name the attribute and not its value;
:func:`without_header_values` rewrites a warning of the old forms (and the date warning) into that form (a warning of
any other form is returned as it is) wherever a warning is drawn on the film or de-identified, so databases written
before need no migration.
"""

from __future__ import annotations

import re

__all__ = ["without_header_values"]

_LABEL = r"(?P<label>[A-Z][A-Za-z ]*? \([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\))"
_OLD_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^{_LABEL} .+ is not numeric; ignored\.$", re.S), r"\g<label> is not numeric; ignored."),
    (re.compile(rf"^{_LABEL} has (?P<n>\d+) value\(s\) .+; expected 2 \(row, column\); ignored\.$", re.S),
     r"\g<label> has \g<n> value(s); expected 2 (row, column); ignored."),
    (re.compile(rf"^{_LABEL} .+ mm is not a pixel size in (?P<range>\(0, [^)]*\) mm); ignored\.$", re.S),
     r"\g<label> is not a pixel size in \g<range>; ignored."),
    (re.compile(rf"^{_LABEL} .+ is outside (?P<range>\[[^\]]*\]); ignored\.$", re.S),
     r"\g<label> is outside \g<range>; ignored."),
    (re.compile(rf"^{_LABEL} .+ is not a valid date \(YYYYMMDD\); ignored\.$", re.S),
     r"\g<label> is not a valid date (YYYYMMDD); ignored."),
    (re.compile(r"^Modality (?!\(0008,0060\)).+ is not a projection radiograph (?P<rest>\(expected .*)$", re.S),
     r"Modality (0008,0060) (an unlisted value) is not a projection radiograph \g<rest>"),
)


def without_header_values(warning: str) -> str:
    """``warning`` in the form that names the header attribute and not its value (see the module notes).

    Examples
    --------
    >>> without_header_values("Acquisition Date (0008,0022) '01.03.2025' is not a valid date (YYYYMMDD); ignored.")
    'Acquisition Date (0008,0022) is not a valid date (YYYYMMDD); ignored.'
    >>> without_header_values("No pixel spacing: lengths are in px.")
    'No pixel spacing: lengths are in px.'
    """
    for pattern, replacement in _OLD_FORMS:
        if pattern.match(warning):
            return pattern.sub(replacement, warning)
    return warning
