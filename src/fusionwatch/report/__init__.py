"""Reports: the view-model (:class:`ReportData`), clinician and patient reports (HTML/PDF) and trend plots.

``report.overlay`` (annotated films) is imported on its own: ``from fusionwatch.report.overlay import save_overlay``.
"""

from fusionwatch.report.model import DEID_ANCHOR_DATE, ReportData, VisitView, report_data_from_timeline
from fusionwatch.report.patient_text import CARE_TEAM_SENTENCE, PatientText, patient_text
from fusionwatch.report.render import (
    PAGE_SIZES,
    ReportFiles,
    html_to_pdf,
    render_clinician_html,
    render_patient_html,
    write_reports,
)

__all__ = [
    "CARE_TEAM_SENTENCE",
    "DEID_ANCHOR_DATE",
    "PAGE_SIZES",
    "PatientText",
    "ReportData",
    "ReportFiles",
    "VisitView",
    "html_to_pdf",
    "patient_text",
    "render_clinician_html",
    "render_patient_html",
    "report_data_from_timeline",
    "write_reports",
]
