"""Research export of a patient's visits: one row per visit with the outcome a cohort analysis counts.

The measurement table (:mod:`fusionwatch.export.cohort`) has every value per film but not what was concluded from
them; this table gives, per visit, the fusion status (automatic and the reader's), the findings, the
flexion-extension motion of L4-L5 and L5-S1 and the questionnaire answers of that day. Built from
:class:`fusionwatch.report.model.ReportData`, de-identified by its own rule (dates shifted so that the surgery falls on
2000-01-01; names, ids and reader names removed).

Columns (:data:`VISIT_COLUMNS`); units are in the names; an empty cell means "not measured / not entered".
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from fusionwatch.records import Override
from fusionwatch.report.labels import visit_status_label
from fusionwatch.report.model import ReportData

__all__ = ["VISIT_COLUMNS", "visit_rows", "write_visits"]

_LEVELS = ("L4-L5", "L5-S1")
NOT_APPLIED = "not applied: re-measured against another baseline film"
"""``verdicts_without_finding``'s word for a verdict whose finding is made again against another baseline film."""

VISIT_COLUMNS: tuple[str, ...] = (
    "patient", "visit", "days_since_surgery", "visit_date", "has_films", "is_baseline",
    "fusion_status_automatic", "fusion_status_automatic_label", "bridging_call", "fusion_status_reader",
    "bridwell_grade_reader", "findings", "verdicts_without_finding",
    *(f"{lv.replace('-', '_')}_{c}" for lv in _LEVELS for c in (
        "motion_angle_deg", "motion_angle_sd_deg", "translation_mm", "translation_sd_mm",
        "translation_percent_endplate", "translation_sd_percent_endplate")),
    "odi_percent", "odi_sections_answered", "back_pain_0_10", "leg_pain_0_10",
)
"""``fusion_status_automatic_label``: the clinician report's label of the automatic status
(:func:`fusionwatch.report.labels.visit_status_label`: a ``fused_criteria_met`` without judged bridging bone reads
"Fusion criteria met on motion; bridging bone not assessed ..."); ``bridging_call``: ``bridged``, ``not_bridged`` or
``not_assessed`` (what bridging bone at the fused disc space was judged to be). ``findings``: ``ref (severity)``, or
``ref (severity, reader: rejected)`` when a reader's verdict applies to that finding, joined by ``; ``; the ref is the
finding's kind when it is the only one of its kind at the visit, else ``kind:discriminator``
(:func:`fusionwatch.followup.refs.finding_refs`, e.g. ``screw_loosening_suspected:S1-left-halo``).
``verdicts_without_finding``: a reader's verdict that stands beside none of the visit's findings
(:attr:`fusionwatch.report.model.VisitView.verdicts_without_finding`), joined by ``; ``: kept, not dropped. Either
``ref (reader: VERDICT, no longer made)``: the tool no longer makes the finding (the visit was analysed again: another
baseline film, corrected landmarks or surgery record); or ``ref (reader: VERDICT, not applied: re-measured against
another baseline film)``: a finding of that name is made again, measured against another baseline film after the
verdict, and is listed in ``findings`` as not reviewed
(:meth:`~fusionwatch.report.model.VisitView.verdict_not_applied`). The translation's 1 SD is in
``*_translation_sd_mm`` on calibrated films (the registration's uncertainty is in mm there; the % column is then the
same translation relative to the endplate depth, without its own SD), else in ``*_translation_sd_percent_endplate``.
``odi_percent`` etc.: the questionnaire answered on the visit date."""


def visit_rows(data: ReportData, *, deidentify: bool = False) -> list[dict[str, Any]]:
    """One row per visit of ``data`` (all visits, not only the reported one)."""
    if deidentify:
        data = data.deidentified()
    proms = {p.date: p for p in data.proms}
    rows = []
    for v in data.visits:
        row: dict[str, Any] = {c: None for c in VISIT_COLUMNS}
        row.update({
            "patient": data.patient_key, "visit": v.label, "days_since_surgery": v.days_since_surgery,
            "visit_date": v.date.isoformat(), "has_films": v.film_id is not None, "is_baseline": v.is_baseline,
            "fusion_status_automatic": v.fusion_status.value if v.fusion_status else None,
            "fusion_status_automatic_label": visit_status_label(v) if v.fusion_status else None,
            "bridging_call": v.bridging_call if v.fusion_status else None,
            "fusion_status_reader": getattr(v.reader_status, "value", None) if v.reader_status else None,
            "bridwell_grade_reader": getattr(v.bridwell_grade, "value", None) if v.bridwell_grade else None,
            "findings": "; ".join(_finding_text(r, f.severity.value, o)
                                  for f, r, o in zip(v.findings, v.refs, v.verdicts, strict=True)),
            "verdicts_without_finding": "; ".join(
                f"{r} (reader: {o.value}, {NOT_APPLIED if v.verdict_not_applied(r) else 'no longer made'})"
                for r, o in v.verdicts_without_finding) or None,
        })
        for m in v.motion:
            level = str(m.get("level", ""))
            if level not in _LEVELS:
                continue
            p = level.replace("-", "_")
            row[f"{p}_motion_angle_deg"] = m.get("angle_deg")
            row[f"{p}_motion_angle_sd_deg"] = m.get("angle_sd_deg")
            row[f"{p}_translation_mm"] = m.get("translation_mm")
            row[f"{p}_translation_percent_endplate"] = m.get("translation_percent")
            in_mm = m.get("translation_mm") is not None
            row[f"{p}_translation_sd_mm" if in_mm else f"{p}_translation_sd_percent_endplate"] = m.get("translation_sd")
        prom = proms.get(v.date)
        if prom is not None:
            if prom.odi is not None:
                row["odi_percent"] = round(prom.odi.score, 1)
                row["odi_sections_answered"] = prom.odi.answered
            row["back_pain_0_10"] = prom.back_pain
            row["leg_pain_0_10"] = prom.leg_pain
        rows.append(row)
    return rows


def _finding_text(ref: str, severity: str, verdict: Override | None) -> str:
    """``ref (severity)`` or ``ref (severity, reader: VERDICT)``: the finding's own ref (its kind when it is the only
    one of its kind at the visit) and the verdict that applies to it (its own or its kind's, the newer)."""
    return f"{ref} ({severity}, reader: {verdict.value})" if verdict is not None else f"{ref} ({severity})"


def write_visits(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write visit rows as CSV (empty cell for ``None``)."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=VISIT_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if r.get(k) is None else r[k] for k in VISIT_COLUMNS})
    return path
