"""Render :class:`~fusionwatch.report.model.ReportData` to the clinician and patient reports (HTML, PDF).

HTML files are self-contained (CSS inline, images as data URIs) so they can be mailed or archived as one file; PDFs
are made from the same HTML by WeasyPrint. Page size is A4 or Letter (CSS ``@page``); both fit the same layout.
"""

from __future__ import annotations

import base64
import io
import re
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from fusionwatch.care.proms import ODI_MCID, change_words
from fusionwatch.errors import InputError
from fusionwatch.followup.model import MeasurementDelta
from fusionwatch.followup.refs import finding_refs
from fusionwatch.followup.rules import INSTABILITY_ANGLE_DEG, INSTABILITY_TRANSLATION_MM
from fusionwatch.measurement import meyerding_grade_text
from fusionwatch.records import Finding, Severity
from fusionwatch.report.labels import (
    AOMSI_ANGLE_L1_L4,
    concern_reason_texts,
    label,
    motion_value_texts,
    reader_status_label,
    threshold_text,
    verdict_gone_text,
    visit_status_label,
)
from fusionwatch.report.model import RED_FLAG_RECENT_DAYS, ReportData
from fusionwatch.report.patient_text import EARLIER_CARE_TEAM, display_name, patient_text
from fusionwatch.report.plots import measurement_trends_png, prom_trends_png
from fusionwatch.units import SpacingSource, Unit

__all__ = ["PAGE_SIZES", "ReportFiles", "render_clinician_html", "render_patient_html", "html_to_pdf", "write_reports"]

PAGE_SIZES = ("A4", "Letter")
_FILM_MAX_PX = 900


def _env() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(resources.files("fusionwatch.report") / "templates"))
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["unbroken_args"] = unbroken_args
    return env


ARG_PIECE_MAX_CHARS = 40
"""Longest run of an argument printed without a break opportunity. An argument longer than its column (the Findings
column holds ~60 characters of the command font) breaks after a ``:``, ``=`` or ``|`` inside it (a finding ref's
``kind:discriminator=verdict``), and a run still longer than this also after a ``-``, ``_``, ``.`` or ``/``, and every
this many characters as a last resort; 40 fits the narrowest column a command is printed in."""
_AFTER_SEPARATOR = re.compile(r"[^:=|]+[:=|]?|[:=|]")
_AFTER_JOINER = re.compile(r"[^-_./]+[-_./]?|[-_./]")


def _arg_pieces(arg: str) -> list[str]:
    """``arg`` cut where it may break when it is longer than its column (:data:`ARG_PIECE_MAX_CHARS`); joined,
    the pieces give ``arg`` back."""
    out: list[str] = []
    for piece in _AFTER_SEPARATOR.findall(arg):
        if len(piece) <= ARG_PIECE_MAX_CHARS:
            out.append(piece)
            continue
        run = ""
        for part in _AFTER_JOINER.findall(piece):  # greedy: as few breaks as fit
            while len(part) > ARG_PIECE_MAX_CHARS:
                part_head, part = part[:ARG_PIECE_MAX_CHARS], part[ARG_PIECE_MAX_CHARS:]
                if run:
                    out.append(run)
                out.append(part_head)
                run = ""
            if len(run) + len(part) > ARG_PIECE_MAX_CHARS:
                out.append(run)
                run = ""
            run += part
        if run:
            out.append(run)
    return out


def unbroken_args(command: str) -> markupsafe.Markup:
    """A command (or a finding ref) as HTML whose lines break between its arguments, and inside an argument only when
    the argument alone is longer than the column.

    Each argument is a ``<span class="arg">`` the stylesheet sets ``display: inline-block; max-width: 100%``: it moves
    to the next line whole when it does not fit on the current one. Inside it, its pieces (:func:`_arg_pieces`) are
    ``<span>`` s kept on one line (``white-space: nowrap``) joined by ``<wbr>``, so an argument longer than the whole
    column wraps after a ``:``, ``=`` or ``|`` (or a ``-``, ``_``, ``.``, ``/`` in a run of more than
    :data:`ARG_PIECE_MAX_CHARS` characters) instead of running over the next column. Browsers and WeasyPrint
    otherwise break after a hyphen ("S1-left-" / "halo", "12-" / "months") or a "|" anywhere, and a command copied
    from the page then no longer works."""
    args = str(command).split()
    return markupsafe.Markup(" ").join(
        markupsafe.Markup('<span class="arg">{}</span>').format(
            markupsafe.Markup("<wbr>").join(markupsafe.Markup("<span>{}</span>").format(p) for p in _arg_pieces(a))
        )
        for a in args
    )


def _css_string(text: str) -> str:
    """``text`` as the inside of a double-quoted CSS string that is also safe inside an HTML ``<style>``: a
    backslash, double quote, ``<`` (which could end the ``<style>``) or control character becomes a CSS hex escape
    closed by one space (which the escape consumes, so a space after it in ``text`` stays), so a patient key such as
    ``A\\B`` or ``</style>`` prints as written."""
    return "".join(f"\\{ord(c):x} " if c in '\\"<' or ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


def _css(page_size: str, footer: str) -> str:
    if page_size not in PAGE_SIZES:
        raise InputError(f"Page size must be one of {', '.join(PAGE_SIZES)}, got {page_size!r}.")
    tpl = jinja2.Environment(autoescape=False).from_string(
        (resources.files("fusionwatch.report") / "templates" / "report.css").read_text(encoding="utf-8")
    )
    return tpl.render(page_size=page_size, footer_left=_css_string(footer))


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _film_uri(path: Path | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB") if im.mode not in ("L", "RGB") else im.copy()
        im.thumbnail((_FILM_MAX_PX, _FILM_MAX_PX))
        buf = io.BytesIO()
        im.save(buf, format="PNG", optimize=True)
    return _data_uri(buf.getvalue())


def _fmt(value: float | None, unit: Unit, signed: bool = False) -> str:
    if value is None:
        return "—"
    if unit is Unit.GRADE:
        if signed:  # a change of grade is a number of grades, not a grade ("+1", never "I")
            return "0" if round(value) == 0 else f"{round(value):+d}"
        return meyerding_grade_text(value)
    digits = 2 if unit is Unit.RATIO else 1
    if abs(value) < 0.5 * 10**-digits:
        value = 0.0  # no "-0.0"
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return f"{text} {unit.value}" if unit is not Unit.RATIO else text


def _threshold(m: MeasurementDelta, d: ReportData) -> str:
    text = threshold_text(m.name, d.thresholds)
    if m.unit is Unit.PX and " mm" in text:
        return "mm threshold needs a calibrated film; see the disc height index row"
    return text


def _rows(d: ReportData) -> list[dict[str, str]]:
    flagged: dict[str, Severity] = {}
    for f in d.visit.findings:
        name = f.evidence.get("measure") if isinstance(f.evidence, dict) else None
        if isinstance(name, str) and (name not in flagged or f.severity.rank > flagged[name].rank):
            flagged[name] = f.severity
    out = []
    for m in d.visit.measurements:
        threshold = _threshold(m, d)
        if m.value is not None:
            now = _fmt(m.value, m.unit)
        elif m.reason:  # the reason goes beside the threshold: in the narrow number column it pushed columns off
            now = "n/a"  # the page (a whole sentence that must not wrap)
            threshold = f"not measured: {_plain_reason(m.reason)}" + (f"; {threshold}" if threshold else "")
        else:
            now = "—"
        out.append({
            "label": label(m.name), "now": now, "baseline": _fmt(m.baseline, m.unit),
            "d_base": _fmt(m.delta_vs_baseline, m.unit, True), "previous": _fmt(m.previous, m.unit),
            "d_prev": _fmt(m.delta_vs_previous, m.unit, True), "threshold": threshold,
            "flag": flagged[m.name.value].value if m.name.value in flagged else "",
        })
    return out


def _plain_reason(reason: str) -> str:
    """A measurement's reason with internal measure names (``slip_percent_L5_S1``) given as the table's row labels."""
    from fusionwatch.measurement import MeasureName

    for name in sorted(MeasureName, key=lambda n: -len(n.value)):  # longest first: no partial replacement
        if name.value in reason:
            reason = reason.replace(name.value, f"the {label(name)} row")
    return reason


def _film_name(film_id: str, labels: dict[str, str]) -> str:
    return labels.get(film_id) or f"film …{film_id[-6:]}"


def _evidence_text(f: Finding, labels: dict[str, str] | None = None) -> str:
    """A finding's evidence on one line: which films, each value, and the comparison that made the finding.

    The follow-up rules' evidence shape (``fusionwatch.followup.rules.comparison_evidence``) gives every value with
    its film; other findings (implant checks) give the films they compared and their measured values with the
    threshold. ``""`` for de-identified findings (their values and film ids are removed).
    """
    labels = labels or {}
    ev = f.evidence if isinstance(f.evidence, dict) else {}
    if {"current", "amount", "threshold", "comparison", "unit"} <= ev.keys():
        try:
            unit = Unit(ev["unit"])
        except ValueError:
            return ""
        visits = ev.get("visits") or {}
        films = ev.get("films") if isinstance(ev.get("films"), dict) else {}

        def which(role: str, default: str) -> str:
            fid = films.get(role)
            if fid and fid in labels:
                return labels[fid]
            view = f"{ev['view']} " if ev.get("view") else ""
            return f"{visits.get(role, default)} {view}film"

        now = f"{which('current', 'current')} {_fmt(ev['current'], unit)}"
        if ev.get("baseline") is not None:
            now = f"{which('baseline', 'reference')} {_fmt(ev['baseline'], unit)} → {now}"
        rule = (f"{ev.get('compared', 'value')} {_fmt(ev['amount'], unit)} {ev['comparison']} "
                f"{_fmt(ev['threshold'], unit)}")
        return f"{now}; {rule}"
    if not f.films:
        return ""
    parts = ["films: " + " → ".join(dict.fromkeys(_film_name(x, labels) for x in f.films))]
    if ev.get("change_deg") is not None and ev.get("threshold_deg") is not None:
        lo_hi = ev.get("interval_95") or ()
        interval = f" (95 % {lo_hi[0]:.1f} to {lo_hi[1]:.1f})" if len(lo_hi) == 2 else ""
        parts.append(f"screw-endplate angle change {ev['change_deg']:+.1f} deg{interval} "
                     f"vs ≥ {ev['threshold_deg']:.1f} deg")
    if ev.get("halo_mm") is not None and ev.get("threshold_mm") is not None:
        parts.append(f"halo {ev['halo_mm']:.1f} mm vs > {ev['threshold_mm']:.1f} mm")
    if "gap_px" in ev:
        gap = f"{ev['gap_px']:.1f} px"
        if ev.get("gap_mm") is not None:
            gap = f"{ev['gap_mm']:.1f} mm ({gap})"
        parts.append(f"rod gap {gap}" + (", new since the baseline film" if ev.get("new_since_baseline") else ""))
    return "; ".join(parts)


def _spacing_notes(d: ReportData) -> list[str]:
    sources = {m.spacing_source for m in d.visit.measurements if m.unit is Unit.MM and m.spacing_source}
    notes = [f"Millimetres from {s.value.replace('_', ' ')} spacing." + (f" {s.warning}" if s.warning else "")
             for s in sorted(sources, key=lambda s: list(SpacingSource).index(s))]
    if any(m.unit is Unit.PX for m in d.visit.measurements):
        notes.append("Film not calibrated: lengths in pixels (px) or ratios only; no millimetre values.")
    return notes


def _motion(d: ReportData) -> list[dict[str, str]]:
    """Flexion-extension rows. The fusion criterion applies to the operated segment only; a segment that was not
    operated is held against the AOMSI instability limits (its motion is expected). "Operated", not "fused": whether
    it has fused is what the criterion asks."""
    ang = d.thresholds.get("fusion_angle_deg", 3.0)
    tr = d.thresholds.get("fusion_translation_mm", 3.0)
    tr_pct = d.thresholds.get("fusion_translation_percent", 8.0)
    fused = d.operated_levels
    out = []
    for m in d.visit.motion:
        angle, t = motion_value_texts(m)
        calibrated = m.get("translation_mm") is not None
        level = str(m.get("level", ""))
        if level in fused:
            limit = f"< {tr:g} mm" if calibrated else f"< {tr_pct:g} % of the endplate (film not calibrated)"
            rule = (f"operated segment, fusion criterion: < {ang:g} deg and {limit} (settings; defaults: modified "
                    "Lee criteria < 3 deg, device-trial criterion < 3 mm)")
        else:
            lim = INSTABILITY_ANGLE_DEG.get(level, AOMSI_ANGLE_L1_L4)
            trans = (f"> {INSTABILITY_TRANSLATION_MM:g} mm" if calibrated
                     else "translation not judged (film not calibrated)")
            rule = f"not operated (motion expected): instability if > {lim:g} deg or {trans} (AOMSI)"
        out.append({"level": level, "angle": angle, "translation": t, "rule": rule,
                    "operated": "yes" if level in fused else ""})
    return out


def _prom_rows(d: ReportData) -> tuple[list[dict[str, str]], str]:
    rows = []
    for p in d.proms:
        o = p.odi
        day = "" if d.surgery is None else str((p.date - d.surgery.date).days)
        rows.append({"date": str(p.date), "day": day, "odi": f"{o.score:.1f}" if o else "—",
                     "band": o.band + ("" if o.answered == 10 else f" ({o.answered}/10 answered)") if o else "",
                     "back": "—" if p.back_pain is None else str(p.back_pain),
                     "leg": "—" if p.leg_pain is None else str(p.leg_pain)})
    c = d.prom_change
    text = ""
    if c is not None:
        parts = []
        if c.odi_improvement is not None:
            scb = "met: " + "; ".join(c.odi_scb_reasons) if c.odi_scb else "not met"
            if c.odi_scb_not_counted:  # a Glassman criterion reached by fewer points than the MCID (care/proms.py)
                scb += " (" + "; ".join(c.odi_scb_not_counted) + ": not counted)"
            parts.append(
                f"ODI {c.odi_pre:.1f} -> {c.odi_post:.1f} ({change_words(c.odi_improvement, '.1f', ' points')}; "
                f"MCID {ODI_MCID:g} {'met' if c.odi_mcid else 'not met'}; substantial clinical benefit {scb} "
                "— Glassman 2008)"
            )
        for name, imp, mcid in (("back", c.back_pain_improvement, c.back_pain_mcid),
                                ("leg", c.leg_pain_improvement, c.leg_pain_mcid)):
            if imp is not None:
                parts.append(f"{name} pain {change_words(imp, 'd')} (MCID 2 {'met' if mcid else 'not met'})")
        text = f"Change vs pre-op ({c.pre_date}) to {c.post_date}: " + "; ".join(parts) + "."
    return rows, text


def chart_name(name: str | None) -> str | None:
    """A DICOM person name as a chart writes it: ``"Doe^Jane"`` -> ``"DOE, Jane"`` (family name first, marked as
    such; "Doe Jane" left the reader guessing which is which); other names unchanged."""
    if not name:
        return None
    if "^" not in name:
        return name
    family, _, rest = name.partition("^")
    given = " ".join(p for p in rest.split("^")[:2] if p)
    return f"{family.upper()}, {given}" if given else family.upper()


def render_clinician_html(data: ReportData, *, page_size: str = "A4") -> str:
    """The clinician report of ``data.visit`` as one self-contained HTML page (red flags first)."""
    v = data.visit
    base = data.baseline_visit
    films = []
    # a contact without films (symptom report, questionnaire): no film pair (it showed a later baseline film beside
    # "No annotated film available") and no empty measurement table
    no_films = v.film_id is None and not v.measurements and not v.motion
    if base is not None and base is not v and not no_films:
        films.append({"src": _film_uri(base.film_png),
                      "caption": f"Baseline: {base.label}, {base.date} (day {base.days_since_surgery})"})
    if not no_films:
        films.append({"src": _film_uri(v.film_png),
                      "caption": f"Current: {v.label}, {v.date} (day {v.days_since_surgery})"})
    # each finding with its own ref and the verdict that applies to it (a verdict on one of several findings of a
    # kind leaves the others "not yet reviewed")
    ranked = sorted(zip(v.findings, v.refs, v.verdicts, strict=True),
                    key=lambda t: -t[0].severity.rank if isinstance(t[0].severity, Severity) else 0)
    findings = [f for f, _, _ in ranked]
    refs = [r for _, r, _ in ranked]
    verdicts = [o for _, _, o in ranked]
    trend = measurement_trends_png(data)
    prom = prom_trends_png(data)
    prom_rows, change = _prom_rows(data)
    levels = ", ".join(f"{a.value}-{b.value}" for a, b in data.surgery.levels) if data.surgery else ""
    footer = f"fusionwatch · {data.patient_key} · {v.label} · decision support, not a diagnosis"
    ctx: dict[str, Any] = {
        "d": data, "v": v, "css": _css(page_size, footer), "films": films, "rows": _rows(data),
        "spacing_notes": _spacing_notes(data), "motion": _motion(data), "findings": findings,
        "evidence": [_evidence_text(f, data.film_labels) for f in findings],
        "rules": [(f.threshold or "").strip() for f in findings],  # texts cite their criterion at the source
        "status_label": visit_status_label(v),
        "reader_label": reader_status_label(v.reader_status.value) if v.reader_status else None,
        "trend_png": _data_uri(trend) if trend else None, "prom_png": _data_uri(prom) if prom else None,
        "proms": prom_rows, "change": change, "levels": levels, "name": chart_name(data.patient_name),
        "threshold_summary": ", ".join(f"{k} {val}" for k, val in data.thresholds.items()
                                       if isinstance(val, (int, float)) and not isinstance(val, bool)),
        "routes": override_routes(data, findings, status=not no_films and (v.days_since_surgery or 0) >= 0,
                                  refs=refs),
        "refs": refs, "verdicts": verdicts, "gone": verdicts_without_finding_rows(data),
        "recent_days": RED_FLAG_RECENT_DAYS,
        "no_films": no_films,
        "concern_reasons": concern_reason_texts(data.care_advice) if data.care_advice is not None else (),
    }
    return _env().get_template("clinician.html.j2").render(**ctx)


def verdicts_without_finding_rows(data: ReportData) -> list[dict[str, Any]]:
    """The clinician report's rows for the reader's verdicts that stand beside none of the visit's findings
    (:attr:`fusionwatch.report.model.VisitView.verdicts_without_finding`): what the reader said about which finding,
    who, when, their note (withheld when de-identified, by :meth:`ReportData.deidentified`), whether it is not applied
    (its finding made again against another baseline film: ``not_applied``, the heading says so) or on a finding no
    longer made, and why when the record tells it (:func:`fusionwatch.report.labels.verdict_gone_text`). Kept and
    shown: a verdict that vanished from the chart report would leave the chart silent about a decision a reader
    recorded."""
    v = data.visit
    return [{"ref": ref, "value": o.value, "author": o.author, "date": o.at.date().isoformat(), "reason": o.reason,
             "why": verdict_gone_text(v, ref), "not_applied": v.verdict_not_applied(ref)}
            for ref, o in v.verdicts_without_finding]



def override_routes(
    data: ReportData, findings: list[Any], *, status: bool = True, refs: list[str] | None = None
) -> dict[str, Any]:
    """How a reader records a verdict on this visit: the ``fusionwatch override`` command lines for the fusion status
    and for each automatic finding (by its own ref, :func:`fusionwatch.followup.refs.finding_refs`: the kind when it
    is the only finding of its kind at the visit, else ``kind:discriminator``), and for the measurements (a reader's
    landmarks). ``refs`` parallel ``findings``; default: the refs the visit gives them (``findings`` then from
    ``data.visit.findings``), else computed from ``findings``.

    A de-identified report gives no command (its key and dates are not the store's own): ``status`` is then ``None``
    and every finding's route is ``None``; the report says the verdict is entered on the identified record. ``status``
    False (a contact without films: nothing to grade) leaves the status command out.
    """
    v = data.visit
    if data.is_deidentified:
        return {"status": None, "findings": [None] * len(findings)}
    if refs is None:
        own = {id(f): r for f, r in zip(v.findings, v.refs, strict=True)}
        refs = ([own[id(f)] for f in findings] if all(id(f) in own for f in findings)
                else list(finding_refs(findings)))
    visit = v.label if " " not in v.label else v.date.isoformat()  # an unscheduled label holds a space: use the date
    head = f"fusionwatch override {shlex.quote(data.patient_key)} {visit} --author NAME"  # a key with a space: quoted
    return {
        "status": f"{head} --status STATUS [--bridwell I-IV]" if status else None,
        "findings": [f"{head} --finding {r}=confirmed|rejected [--reason TEXT]" for r in refs],
    }


def _group_signs(signs: tuple[tuple[str, str], ...]) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for sign, action in signs:
        groups.setdefault(action, []).append(sign)
    return list(groups.items())


def _told(r: Any) -> str:
    """", which you told us about on June 14, 2025" for a symptom with its report date (a report written weeks later
    must not read as if the symptom were new), else ``""``."""
    w = getattr(r, "reported_on", None)
    return f", which you told us about on {w:%B} {w.day}, {w.year}" if w is not None else ""


def render_patient_html(data: ReportData, *, page_size: str = "A4") -> str:
    """The plain-language patient report of ``data.visit`` (the patient's own red flags first)."""
    t = patient_text(data)
    d = data.visit.date
    ctx = {"t": t, "css": _css(page_size, "Your care team's instructions take precedence over this report."),
           "name": display_name(data.patient_name), "signs": _group_signs(t.warning_signs),
           "visit_date": f"{d:%B} {d.day}, {d.year}", "told": _told, "earlier_care_team": EARLIER_CARE_TEAM}
    return _env().get_template("patient.html.j2").render(**ctx)


def html_to_pdf(html: str, path: str | Path) -> int:
    """Write ``html`` (self-contained) as a PDF with WeasyPrint; returns the number of pages."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    document = HTML(string=html).render()
    document.write_pdf(str(Path(path)))
    return len(document.pages)


@dataclass(frozen=True)
class ReportFiles:
    clinician_html: Path
    clinician_pdf: Path | None
    patient_html: Path
    patient_pdf: Path | None
    clinician_pages: int = 0
    patient_pages: int = 0

    def all(self) -> list[Path]:
        return [p for p in (self.clinician_html, self.clinician_pdf, self.patient_html, self.patient_pdf) if p]


def write_reports(data: ReportData, out_dir: str | Path, *, deidentify: bool = False, pdf: bool = True,
                  page_size: str = "A4", stem: str | None = None) -> ReportFiles:
    """Write the clinician and patient reports (HTML, and PDF unless ``pdf=False``) into ``out_dir``.

    Files: ``<stem>-clinician.html|pdf`` and ``<stem>-patient.html|pdf``; ``stem`` defaults to the visit label.
    With ``deidentify`` the data are de-identified first (see :meth:`ReportData.deidentified`).
    """
    if deidentify:
        data = data.deidentified()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or data.visit.label.replace(" ", "_").replace("/", "-")
    ch, ph = out / f"{stem}-clinician.html", out / f"{stem}-patient.html"
    c_html, p_html = render_clinician_html(data, page_size=page_size), render_patient_html(data, page_size=page_size)
    ch.write_text(c_html, encoding="utf-8")
    ph.write_text(p_html, encoding="utf-8")
    cp = pp = None
    cn = pn = 0
    if pdf:
        cp, pp = out / f"{stem}-clinician.pdf", out / f"{stem}-patient.pdf"
        cn = html_to_pdf(c_html, cp)
        pn = html_to_pdf(p_html, pp)
    return ReportFiles(ch, cp, ph, pp, cn, pn)
