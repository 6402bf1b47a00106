"""The view-model every report and export renders: :class:`ReportData`.

Reports depend on this small model only, not on the store or the follow-up rules: :func:`report_data_from_timeline`
builds it from a :class:`fusionwatch.followup.Timeline` plus the care schedule, PROMs and triaged symptoms, and tests
build it by hand. Measurement rows are the follow-up engine's own :class:`fusionwatch.followup.MeasurementDelta` (one
row type for the timeline, its JSON and every report).

De-identification (:meth:`ReportData.deidentified`): names, patient ids and birth dates are removed; the patient key
is replaced by its research pseudonym (:mod:`fusionwatch.pseudonym`: a keyed hash with the site secret, the same in
every export of the site); every calendar date is shifted by one per-patient offset so that the surgery falls on
:data:`DEID_ANCHOR_DATE` (2000-01-01), including the dates written inside the tool's own text (baseline note, status
and review reasons, finding summaries, labels: ISO dates and date-times and YYYYMMDD shifted; any other written date -
12/03/2026, 3 Dec 2026, December 2026 - replaced by :data:`DATE_REMOVED`, since day-first and month-first cannot be
told apart); finding evidence and film ids are dropped from findings. Free text a person typed is not exported: a
reader's override reason becomes :data:`READER_TEXT_WITHHELD` (the verdict and its shifted time stay; the author
becomes "reader"), symptom notes and surgery notes are dropped, and a landmark review reason that is not known to be
the tool's own (a landmark file's or a reader's, :attr:`ReportData.tool_review`) becomes
:data:`LANDMARK_REVIEW_WITHHELD`, and a 'needs_landmarks' reason (the ingest's error, which can name the film's file)
:data:`NEEDS_LANDMARKS_WITHHELD`. Intervals are kept exactly.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fusionwatch.care.advice import CareAdvice
from fusionwatch.care.proms import PromChange, PromRecord, compare_proms
from fusionwatch.care.schedule import Schedule, build_schedule
from fusionwatch.care.triage import RED_FLAG_RECENT_DAYS, TriageResult
from fusionwatch.care.triage import red_flag_is_recent as _recent
from fusionwatch.errors import InputError
from fusionwatch.followup.evidence import finding_verdicts, fusion_evidence, status_to_act_on
from fusionwatch.followup.model import MeasurementDelta
from fusionwatch.followup.refs import (
    COMPARED_SINCE_KEY,
    NotApplied,
    finding_aliases,
    finding_refs,
    finding_verdicts_per_finding,
    why_not_applied,
)
from fusionwatch.followup.refs import standing_findings as _standing
from fusionwatch.io._film_warnings import without_header_values
from fusionwatch.measurement import MeasureName
from fusionwatch.pseudonym import pseudonym
from fusionwatch.records import Finding, FusionStatus, Override, Severity, Surgery
from fusionwatch.report.labels import bridging_confirmed, bridging_from_evidence
from fusionwatch.units import SpacingSource, Unit

__all__ = [
    "DATE_REMOVED",
    "LANDMARK_REVIEW_WITHHELD",
    "NEEDS_LANDMARKS_WITHHELD",
    "DEID_ANCHOR_DATE",
    "READER_TEXT_WITHHELD",
    "RED_FLAG_RECENT_DAYS",
    "VisitView",
    "deidentified_text",
    "ReportData",
    "report_data_from_timeline",
]

DEID_ANCHOR_DATE = dt.date(2000, 1, 1)
READER_TEXT_WITHHELD = "[reader's note withheld: free text is not exported de-identified]"
"""What a de-identified export shows in place of a reader's free-text reason (names, dates in any format, ids)."""
LANDMARK_REVIEW_WITHHELD = ("Landmarks flagged for review [reason withheld: a landmark file's review reasons are "
                            "free text, not exported de-identified]")
"""What a de-identified export shows in place of a 'landmark_review' finding's reason that is not known to be the
tool's own (:attr:`ReportData.tool_review`): a landmark file's or a reader's ``needs_review`` is any text, so names,
ids and dates in any format can be in it."""
NEEDS_LANDMARKS_WITHHELD = ("The film has no usable landmarks yet [reason withheld: it can quote a file's name or a "
                            "landmark file's content, not exported de-identified]")
"""What a de-identified export shows in place of a 'needs_landmarks' finding's reason: ingest writes the error it met
('Landmarks unusable: The landmarks are for a 600 x 1400 px image but Doe_Jane_lat.dcm is ...', 'Landmark detection
failed: /data/Doe_Jane/film.png is blank ...'), which names the film's file (file names often carry the patient's name)
or quotes a landmark file."""
DATE_REMOVED = "[date removed]"
"""What a de-identified export shows in place of a date it cannot shift (a format other than ISO or YYYYMMDD)."""
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")  # also inside an ISO date-time, 2026-12-03T10:00
_COMPACT_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")  # DICOM DA, 20261203
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_OTHER_DATE = re.compile(
    r"(?<![\d/.])\d{1,2}[/.]\d{1,2}[/.]\d{2,4}(?![\d/.])"  # 12/03/2026, 3.12.26 (day or month first: unknowable)
    r"|(?<![\d-])\d{1,2}-\d{1,2}-\d{4}(?!\d)"  # 03-12-2026
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?,?\s+\d{{2,4}}\b"  # 3 Dec 2026, 3rd of December 2026
    rf"|\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}}\b"  # Dec 3, 2026
    rf"|\b{_MONTH}\.?,?\s+\d{{4}}\b",  # December 2026
    re.IGNORECASE,
)


@dataclass(frozen=True)
class VisitView:
    """One visit as reports show it.

    ``film_png`` is the annotated lateral film of the visit (PNG file from :mod:`fusionwatch.report.overlay`), when one
    was rendered; ``film_id`` its SOP Instance UID or file id.
    """

    label: str
    date: dt.date
    days_since_surgery: int | None
    measurements: tuple[MeasurementDelta, ...] = ()
    findings: tuple[Finding, ...] = ()
    review: tuple[str, ...] = ()
    fusion_status: FusionStatus | None = None
    status_reasons: tuple[str, ...] = ()
    decide_with: str | None = None
    status_evidence: dict[str, Any] = field(default_factory=dict)
    reader_status: Override | None = None
    bridwell_grade: Override | None = None
    is_baseline: bool = False
    film_id: str | None = None
    film_png: Path | None = None
    motion: tuple[dict[str, Any], ...] = ()
    finding_verdicts: dict[str, Override] = field(default_factory=dict)
    """Finding ref or kind -> the newest reader verdict on it (``override --finding REF=confirmed|rejected``), shown
    beside the tool's finding, which stays. Which one applies to a finding: :meth:`verdicts`."""
    finding_refs: tuple[str, ...] = ()
    """Each finding's ref (:func:`fusionwatch.followup.refs.finding_refs`), computed from the identified findings
    (de-identification drops the evidence a ref is built from, so it is kept here). Empty: computed on use."""
    finding_aliases: tuple[str, ...] = ()
    """Each finding's long form ``kind:discriminator`` (:func:`fusionwatch.followup.refs.finding_aliases`), kept like
    ``finding_refs``."""
    bridging_call: str = "not_assessed"
    """What bridging bone at the fused disc space was judged to be (``"bridged"``, ``"not_bridged"``,
    ``"not_assessed"``; the status evidence's ``bridging_call``). Kept when the evidence is dropped by
    de-identification; the default is the cautious one: a ``fused_criteria_met`` without ``"bridged"`` (or a reader's
    Bridwell I or fused status) is worded as resting on motion alone."""
    verdict_gone_why: dict[str, str] = field(default_factory=dict)
    """Finding ref or kind a reader's verdict names (a key of ``finding_verdicts``) -> why the tool no longer makes
    that finding at this visit, when the record tells it (the tool's own words: a baseline film that moved, a
    corrected surgery record, landmarks replaced since the verdict; :func:`fusionwatch.report.build.verdict_gone_why`).
    Only for :attr:`verdicts_without_finding`; a ref not in it: not known."""
    films_taken: bool | None = None
    """Whether any film (any view) was taken at this visit (``report_data_from_timeline`` sets it from the timeline);
    ``None`` (hand-built data): told from the lateral film, measurements and motion (:attr:`has_films`)."""

    @property
    def has_films(self) -> bool:
        """True when films were taken at this visit; a contact without films (a symptom report, a questionnaire, the
        2-week wound check) is False: the patient report then says no X-rays were taken."""
        if self.films_taken is not None:
            return self.films_taken
        return self.film_id is not None or bool(self.measurements) or bool(self.motion)

    @property
    def fused_on_motion_only(self) -> bool:
        """True when the status acted on is the automatic ``fused_criteria_met`` and no judgement of bridging bone
        backs it (no bridged fraction, no reader's Bridwell I): the reports then say only what was seen."""
        status, source = self.status_source
        grade = getattr(self.bridwell_grade, "value", None) if self.bridwell_grade is not None else None
        return (
            status is FusionStatus.FUSED_CRITERIA_MET
            and source == "automatic"
            and not bridging_confirmed(self.bridging_call, grade)
        )

    def measurement(self, name: MeasureName) -> MeasurementDelta | None:
        return next((m for m in self.measurements if m.name is name), None)

    @property
    def calibrated(self) -> bool:
        """True when at least one length on this visit is in millimetres."""
        return any(m.unit is Unit.MM and m.value is not None for m in self.measurements)

    @property
    def effective_status(self) -> FusionStatus | None:
        """The status to act on: :func:`fusionwatch.followup.evidence.status_to_act_on` (the reader's when entered
        and a known status, else the automatic one), the same rule ``fusionwatch care`` uses."""
        return self.status_source[0]

    @property
    def status_source(self) -> tuple[FusionStatus | None, str]:
        """``(status to act on, "reader" | "automatic" | "none")`` by the shared rule."""
        return status_to_act_on(self.reader_status, self.fusion_status)

    @property
    def standing_findings(self) -> tuple[Finding, ...]:
        """The findings less those a reader rejected (what the care advice and the patient's text follow)."""
        return _standing(self.findings, self.finding_verdicts, self.refs, self.aliases)

    @property
    def refs(self) -> tuple[str, ...]:
        """Each finding's ref, what ``fusionwatch override --finding REF=...`` takes (in ``findings`` order)."""
        own = self.finding_refs
        if len(own) == len(self.findings) and all(
            r == f.kind or r.startswith(f"{f.kind}:") for r, f in zip(own, self.findings, strict=True)
        ):
            return own  # still the refs of these findings (a copy with other findings recomputes them)
        return finding_refs(self.findings)

    @property
    def aliases(self) -> tuple[str, ...]:
        """Each finding's long form ``kind:discriminator`` (``""``: none), in ``findings`` order."""
        own = self.finding_aliases
        if len(own) == len(self.findings) and all(
            a == "" or a.startswith(f"{f.kind}:") for a, f in zip(own, self.findings, strict=True)
        ) and self.refs == self.finding_refs:
            return own
        return finding_aliases(self.findings)

    @property
    def verdicts(self) -> tuple[Override | None, ...]:
        """The reader's verdict that applies to each finding (its own or its kind's, the newer; ``None``: not yet
        reviewed), in ``findings`` order."""
        return tuple(finding_verdicts_per_finding(self.findings, self.finding_verdicts, self.refs, self.aliases))

    def verdicts_by(self, refs: tuple[str, ...], aliases: tuple[str, ...]) -> tuple[Override | None, ...]:
        """:attr:`verdicts` with the given refs and aliases (a de-identified copy's findings lost the evidence refs
        are built from; its ``finding_refs`` are kept, but a caller holding the identified refs may pass them)."""
        return tuple(finding_verdicts_per_finding(self.findings, self.finding_verdicts, refs, aliases))

    @property
    def verdicts_without_finding(self) -> tuple[tuple[str, Override], ...]:
        """``(ref, verdict)`` for each reader verdict on a finding (``override --finding REF=...``; the newest per
        ref) that applies to none of the visit's findings any more, oldest first: the tool no longer makes the finding
        the reader judged (the visit was analysed again against another baseline film, with other landmarks or
        another surgery record). The verdict is kept (overrides are the audit) and the clinician report shows it, with
        why when known (:attr:`verdict_gone_why`); the same rule as
        :meth:`fusionwatch.followup.model.VisitSummary.verdicts_without_finding` (a verdict applies when it names a
        finding's ref, long form or kind)."""
        # no finding of that name any more, or each one it names was measured again against another baseline film
        # after the verdict (followup.refs.judged: the reader never saw that comparison; 9908773): the follow-up rule
        refs, aliases = self.refs, self.aliases
        gone = [(ref, o) for ref, o in self.finding_verdicts.items()
                if why_not_applied(o, self.findings, refs, aliases) is not None]
        return tuple(sorted(gone, key=lambda t: t[1].at))

    def verdict_not_applied(self, ref: str) -> bool:
        """For the verdict on ``ref`` of :attr:`verdicts_without_finding`: True when the tool still makes a finding of
        that name at the visit, measured again against another baseline film after the verdict (the verdict is not
        applied to it: :data:`fusionwatch.report.labels.NOT_APPLIED_REMEASURED`); False when it no longer makes one
        (:data:`fusionwatch.report.labels.NO_LONGER_MADE`). The follow-up rule
        (:func:`fusionwatch.followup.refs.why_not_applied`, as ``fusionwatch followup`` says it), which every report
        and export says it by."""
        verdict = self.finding_verdicts.get(ref)
        return verdict is not None and why_not_applied(
            verdict, self.findings, self.refs, self.aliases) is NotApplied.REMEASURED

    def verdict_of(self, finding: Finding) -> Override | None:
        """The verdict that applies to ``finding`` (one of :attr:`findings`, by identity)."""
        for f, o in zip(self.findings, self.verdicts, strict=True):
            if f is finding:
                return o
        return None

    @property
    def hardware_findings(self) -> tuple[Finding, ...]:
        """Standing findings other than the fusion status (a finding a reader rejected is not among them)."""
        return tuple(f for f in self.standing_findings if f.kind != "fusion_status")

    @property
    def weeks(self) -> int | None:
        return None if self.days_since_surgery is None else self.days_since_surgery // 7


@dataclass(frozen=True)
class ReportData:
    """Everything a clinician or patient report of one visit shows.

    ``visits`` are in date order; ``current`` indexes the visit the report is about, ``baseline`` the early
    post-operative reference film's visit (``None`` when there is none). ``red_flags`` come from
    :func:`fusionwatch.care.triage` and are shown first, whatever else the report says.
    """

    patient_key: str
    surgery: Surgery | None
    visits: tuple[VisitView, ...]
    current: int
    baseline: int | None = None
    red_flags: tuple[TriageResult, ...] = ()
    schedule: Schedule | None = None
    proms: tuple[PromRecord, ...] = ()
    symptom_notes: tuple[tuple[dt.date, str], ...] = ()
    """``(date, note)``: the free-text notes of the symptom reports behind ``red_flags`` (``symptoms add --note``), for
    the clinician report only; :meth:`deidentified` drops them (free text may name people)."""
    entered_in_error: tuple[Any, ...] = ()
    """The patient's entries marked "entered in error" (:class:`fusionwatch.followup.model.EnteredInError`): audit-only,
    counted for nothing, listed in the clinician report so a retraction is visible there; never in the patient report,
    and :meth:`deidentified` drops them (free text: what the entry said, who, why)."""
    patient_name: str | None = None
    patient_id: str | None = None
    birth_date: dt.date | None = None
    generated_on: dt.date = field(default_factory=dt.date.today)
    baseline_note: str = ""
    is_deidentified: bool = False
    pseudonym: str | None = None
    """The research pseudonym that replaces ``patient_key`` in :meth:`deidentified` (``report.build`` sets it from the
    site secret, read by the adapter :func:`fusionwatch.export.secret.site_secret`); ``None`` (hand-built data): one
    from a random per-process secret, so the key never appears."""
    thresholds: dict[str, Any] = field(default_factory=dict)
    """Settings used by the follow-up engine (name -> value), shown in the clinician report."""
    film_labels: dict[str, str] = field(default_factory=dict)
    """Film id -> how the clinician report names the film ("12-months AP film"): visit label and view only, no
    identifiers or dates, so it survives de-identification."""
    tool_review: frozenset[str] = frozenset()
    """The 'landmark_review' reasons known to be the tool's own words (its detector's and its checks'; ``report.build``
    tells them by their origin, :func:`fusionwatch.report.build.tool_review_reasons`): :meth:`deidentified` shows
    them (dates shifted); any other landmark review reason (a landmark file's or a reader's free text, or one whose
    origin is not known) is withheld there (:data:`LANDMARK_REVIEW_WITHHELD`). Empty (hand-built data): all withheld."""
    red_flags_as_of: dt.date | None = None
    """The day the report's red flags are judged recent or earlier against (:data:`RED_FLAG_RECENT_DAYS`): the day the
    report speaks as of (``report.build``: today for the latest visit with films, the visit's own date for an earlier
    one); ``None`` (hand-built data): :attr:`generated_on`."""
    status_index: int | None = None
    """Index in ``visits`` of the visit whose fusion status and findings the care advice follows, as chosen by
    :func:`fusionwatch.followup.evidence.fusion_evidence` for the current visit (``report_data_from_timeline`` sets
    it; the report has no rule of its own). ``None`` (hand-built data): the current visit."""

    def __post_init__(self) -> None:
        if not self.visits:
            raise ValueError("ReportData needs at least one visit.")
        if not 0 <= self.current < len(self.visits):
            raise ValueError(f"current visit index {self.current} out of range 0..{len(self.visits) - 1}.")
        if self.status_index is not None and not 0 <= self.status_index <= self.current:
            raise ValueError(f"status visit index {self.status_index} must be in 0..{self.current} (the current "
                             "visit or an earlier one).")

    @property
    def visit(self) -> VisitView:
        return self.visits[self.current]

    def red_flag_is_recent(self, flag: TriageResult) -> bool:
        """True when ``flag`` was reported at most :data:`~fusionwatch.care.triage.RED_FLAG_RECENT_DAYS` days before
        :attr:`red_flags_as_of` (or its date is not known: then it is treated as new). The rule and the constant are
        care's (:func:`fusionwatch.care.triage.red_flag_is_recent`), so ``fusionwatch care`` and the reports split
        the same flags the same way; ``RED_FLAG_RECENT_DAYS`` is re-exported here."""
        return _recent(getattr(flag, "reported_on", None), self.red_flags_as_of or self.generated_on)

    @property
    def recent_red_flags(self) -> tuple[TriageResult, ...]:
        """The red flags (urgent or emergency) reported recently: "Act now" in the patient report."""
        return tuple(r for r in self.red_flags if r.is_red_flag and self.red_flag_is_recent(r))

    @property
    def earlier_red_flags(self) -> tuple[TriageResult, ...]:
        """The red flags reported more than :data:`RED_FLAG_RECENT_DAYS` days before the report's day: still shown
        (never dropped), as earlier reports with their date."""
        return tuple(r for r in self.red_flags if r.is_red_flag and not self.red_flag_is_recent(r))

    @property
    def baseline_visit(self) -> VisitView | None:
        return None if self.baseline is None else self.visits[self.baseline]

    @property
    def pre_op_prom(self) -> PromRecord | None:
        """The last PROM record on or before the surgery date (the pre-op reference)."""
        if self.surgery is None:
            return None
        pre = [p for p in self.proms if p.date <= self.surgery.date]
        return pre[-1] if pre else None

    @property
    def latest_prom(self) -> PromRecord | None:
        """The newest PROM on or before the current visit's date (after surgery)."""
        cutoff = self.visit.date
        post = [p for p in self.proms if p.date <= cutoff and (self.surgery is None or p.date > self.surgery.date)]
        return post[-1] if post else None

    @property
    def prom_change(self) -> PromChange | None:
        pre, post = self.pre_op_prom, self.latest_prom
        return compare_proms(pre, post) if pre and post else None

    @property
    def operated_levels(self) -> set[str]:
        """The operated segments (``"L5-S1"``...): the surgery's levels; ``{"L5-S1"}`` when no surgery is on record.
        Flexion-extension motion there is held against the fusion criterion, elsewhere against the AOMSI limits."""
        if self.surgery is None:
            return {"L5-S1"}
        return {f"{getattr(a, 'value', a)}-{getattr(b, 'value', b)}" for a, b in self.surgery.levels}

    @property
    def care_advice(self) -> CareAdvice | None:
        """Restrictions, therapy and medication advice for the schedule's day, tied to this visit's fusion status
        (the reader's when entered) and findings (:func:`fusionwatch.care.advice.care_advice`); ``None`` without a
        schedule."""
        if self.schedule is None:
            return None
        v = self.status_visit
        status, source = v.status_source
        # only a reader's status clears the protocol's fusion_confirmed lines (activity; R's F18)
        return self.schedule.advice(status, v.standing_findings, status_confirmed=source == "reader")

    @property
    def status_visit(self) -> VisitView:
        """The visit whose fusion status and findings the care advice follows (:attr:`status_index`: the choice of
        :func:`fusionwatch.followup.evidence.fusion_evidence`, the one ``fusionwatch care`` makes)."""
        return self.visits[self.current if self.status_index is None else self.status_index]

    @property
    def highest_finding_severity(self) -> Severity | None:
        sev = [f.severity for f in self.visit.findings]
        return max(sev, key=lambda s: s.rank) if sev else None

    def deidentified(self) -> ReportData:
        """A copy without names, ids or birth date, with all dates shifted so that surgery is on 2000-01-01."""
        if self.is_deidentified:
            return self
        anchor = self.surgery.date if self.surgery else self.visits[0].date
        shift = DEID_ANCHOR_DATE - anchor

        def d(x: dt.date) -> dt.date:
            return x + shift

        def over(o: Override | None) -> Override | None:
            """The reader's verdict and (shifted) time stay; the name and the free-text reason do not (free text a
            reader types can hold names, ids and dates in any format: no pattern finds them all)."""
            return None if o is None else replace(o, at=o.at + shift, author="reader",
                                                  reason=READER_TEXT_WITHHELD if o.reason.strip() else "")

        def text(t: str | None) -> str | None:
            """The tool's own text (baseline notes, reasons, finding summaries, labels) with every date shifted (ISO
            dates, date-times and YYYYMMDD) or, in a format whose day and month cannot be told apart or that names
            the month, replaced by :data:`DATE_REMOVED`."""
            # a film warning stored by an older reader quoted a header value (a date of service...): named, not quoted;
            # a reader's name the status text credits ('(reader:NAME)') becomes 'reader', as every override's author
            return None if t is None else deidentified_text(t, shift)

        # a landmark review reason is shown only when it is known to be the tool's own words; a landmark file's or
        # a reader's free text (or one of unknown origin) is withheld, in the findings and in the visit's review list
        # likewise a 'needs_landmarks' reason (the error the ingest met, which can name the film's file)
        withheld = {f.summary: LANDMARK_REVIEW_WITHHELD for v in self.visits for f in v.findings
                    if f.kind == "landmark_review" and f.summary not in self.tool_review}
        withheld |= {f.summary: NEEDS_LANDMARKS_WITHHELD for v in self.visits for f in v.findings
                     if f.kind == "needs_landmarks"}

        def finding(f: Finding) -> Finding:
            keep = {k: f.evidence[k] for k in ("measure",) if k in f.evidence}  # names only, no values or ids
            since = (f.evidence.get("compared_with") or {}).get(COMPARED_SINCE_KEY) if isinstance(
                f.evidence.get("compared_with"), dict) else None
            if since:  # when the comparison was first made, shifted like the verdicts' times: which verdicts apply
                try:
                    keep["compared_with"] = {COMPARED_SINCE_KEY: (dt.datetime.fromisoformat(str(since))
                                                                  + shift).isoformat()}
                except ValueError:
                    pass
            if f.kind == "needs_landmarks":
                summary = NEEDS_LANDMARKS_WITHHELD
            elif f.kind == "landmark_review" and f.summary in withheld:
                summary = LANDMARK_REVIEW_WITHHELD
            else:
                summary = text(f.summary) or ""
            return replace(f, summary=summary, threshold=text(f.threshold), evidence=keep, films=())

        visits = tuple(
            replace(
                v, label=text(v.label) or "", date=d(v.date), reader_status=over(v.reader_status),
                bridwell_grade=over(v.bridwell_grade),
                findings=tuple(finding(f) for f in v.findings), finding_refs=v.refs,  # refs need the evidence
                finding_aliases=v.aliases,
                review=tuple(withheld[r] if r in withheld else text(r) or "" for r in v.review),
                status_reasons=tuple(text(r) or "" for r in v.status_reasons), decide_with=text(v.decide_with),
                status_evidence={}, finding_verdicts={k: over(o) for k, o in v.finding_verdicts.items()},
                verdict_gone_why={k: text(w) or "" for k, w in v.verdict_gone_why.items()},
            )
            for v in self.visits
        )
        schedule = None
        if self.schedule is not None:
            s = self.schedule
            schedule = replace(
                s,
                surgery_date=d(s.surgery_date),
                today=d(s.today),
                items=tuple(
                    replace(i, due_date=d(i.due_date), window_start=d(i.window_start), window_end=d(i.window_end),
                            done_on=d(i.done_on) if i.done_on else None)
                    for i in s.items
                ),
                unmatched_visits=tuple(d(x) for x in s.unmatched_visits),
            )
        alias = self.pseudonym or pseudonym(self.patient_key, None)
        return replace(
            self,
            patient_key=alias,
            pseudonym=alias,
            surgery=replace(self.surgery, date=d(self.surgery.date), notes="") if self.surgery else None,
            visits=visits,
            schedule=schedule,
            proms=tuple(replace(p, date=d(p.date)) for p in self.proms),
            red_flags=tuple(replace(r, reported_on=d(r.reported_on)) if r.reported_on else r for r in self.red_flags),
            symptom_notes=(),
            entered_in_error=(),
            baseline_note=text(self.baseline_note) or "",
            film_labels={k: text(x) or "" for k, x in self.film_labels.items()},
            tool_review=frozenset(text(r) or "" for r in self.tool_review),
            patient_name=None,
            patient_id=None,
            birth_date=None,
            generated_on=d(self.generated_on),
            red_flags_as_of=d(self.red_flags_as_of) if self.red_flags_as_of else None,
            is_deidentified=True,
        )


_READER_NAMED = re.compile(r"\(reader:[^()]*\)")
READER_NAMED_WITHHELD = "[text withheld: it names a reader]"
"""What a de-identified export shows in place of a text of the tool that credits a reader by a name it cannot cut out
(a name holding parentheses)."""


def deidentified_text(t: str, shift: dt.timedelta) -> str:
    """The tool's own text ``t`` as de-identified outputs show it: a header value quoted in a film warning named, not
    quoted; a reader credited by name ('(reader:NAME)') as '(reader)'; ISO and YYYYMMDD dates moved by ``shift`` (the
    patient's offset: surgery on :data:`DEID_ANCHOR_DATE`), every other written date :data:`DATE_REMOVED`."""
    return _shift_dates_in_text(_reader_unnamed(without_header_values(t)), shift)


def _reader_unnamed(t: str) -> str:
    """``t`` with each ``(reader:NAME)`` (the follow-up status credits a reader's bone-evidence entry so, e.g.
    'lucency at the cage-endplate interface (reader:Doe^Jane)') as ``(reader)``: a reader's name is free text (reviewer
    R's F9); a ``(reader:`` left after that (a name with parentheses) withholds the whole text."""
    t = _READER_NAMED.sub("(reader)", t)
    return READER_NAMED_WITHHELD if "(reader:" in t else t


def _shift_dates_in_text(t: str, shift: dt.timedelta) -> str:
    """``t`` with ISO dates (also inside date-times) and YYYYMMDD dates moved by ``shift``, and every other date
    written as day/month/year, month/day/year or with a month name replaced by :data:`DATE_REMOVED`."""

    def moved(m: re.Match[str], fmt: str) -> str:
        try:
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:  # not a calendar date (9999-99-99, an id that looks like one): removed, not guessed
            return DATE_REMOVED
        return (day + shift).strftime(fmt)

    t = _ISO_DATE.sub(lambda m: moved(m, "%Y-%m-%d"), t)
    t = _COMPACT_DATE.sub(lambda m: moved(m, "%Y%m%d"), t)
    return _OTHER_DATE.sub(DATE_REMOVED, t)


def _settings_dict(settings: Any) -> dict[str, Any]:
    if settings is None:
        return {}
    if hasattr(settings, "to_dict"):
        try:
            return dict(settings.to_dict())
        except Exception:  # noqa: BLE001 - a settings object we do not know: show nothing rather than fail
            return {}
    fields = getattr(settings, "__dataclass_fields__", None)
    if fields:
        return {k: getattr(settings, k) for k in fields if isinstance(getattr(settings, k), (int, float, str, bool))}
    return {}


def report_data_from_timeline(
    timeline: Any,
    *,
    visit: int | str | None = None,
    red_flags: tuple[TriageResult, ...] = (),
    symptom_notes: tuple[tuple[dt.date, str], ...] = (),
    proms: tuple[PromRecord, ...] = (),
    schedule: Schedule | None = None,
    film_pngs: dict[str, Path] | None = None,
    spacing_sources: dict[str, SpacingSource | None] | None = None,
    patient_name: str | None = None,
    patient_id: str | None = None,
    birth_date: dt.date | None = None,
    today: dt.date | None = None,
    film_labels: dict[str, str] | None = None,
) -> ReportData:
    """Build :class:`ReportData` from a :class:`fusionwatch.followup.Timeline` (duck-typed: its public fields only).

    Parameters
    ----------
    timeline : fusionwatch.followup.Timeline
    visit : int | str | None
        Index (0-based, negative allowed) or label of the visit to report on; default the latest.
    film_pngs : dict
        Annotated film PNG per film id (``VisitSummary.lateral_film``), made by :mod:`fusionwatch.report.overlay`.
    spacing_sources : dict
        Spacing source per film id, shown beside millimetre values; a film not in it keeps the source its
        measurements carry (``MeasurementDelta.spacing_source``).
    """
    film_pngs = film_pngs or {}
    spacing_sources = spacing_sources or {}
    views = []
    for v in timeline.visits:
        film = v.lateral_film or ""
        rows = tuple(
            replace(m, spacing_source=spacing_sources.get(film, m.spacing_source) if m.unit is Unit.MM else None)
            for m in v.measurements
        )
        motion = tuple(
            {k: getattr(m, k, None) for k in ("level", "angle_deg", "angle_sd_deg", "translation_mm",
                                               "translation_percent", "translation_sd")}
            for m in v.motion
        )
        for m in motion:
            lv = m["level"]
            if isinstance(lv, (tuple, list)):
                m["level"] = "-".join(getattr(x, "value", str(x)) for x in lv)
        findings = tuple(v.findings) + tuple(v.review)
        views.append(
            VisitView(
                label=v.label,
                date=v.date,
                days_since_surgery=v.days_since_surgery,
                measurements=rows,
                findings=findings,
                review=tuple(f.summary for f in v.review),
                fusion_status=v.status.status,
                status_reasons=tuple(v.status.reasons),
                decide_with=v.status.decide_with,
                status_evidence=dict(v.status.evidence or {}),
                bridging_call=bridging_from_evidence(v.status.evidence),
                reader_status=v.reader_status,
                bridwell_grade=v.bridwell_grade,
                is_baseline=v.is_baseline,
                film_id=v.lateral_film,
                films_taken=bool(v.films),
                film_png=film_pngs.get(v.lateral_film or ""),
                motion=motion,
                finding_verdicts=finding_verdicts(getattr(v, "overrides", ())),
                finding_refs=finding_refs(findings),
                finding_aliases=finding_aliases(findings),
            )
        )
    if not views:
        raise InputError(f"Patient {timeline.patient_key!r} has no visits on record: nothing to report.")
    if visit is None:
        current = len(views) - 1
    elif isinstance(visit, int):
        if not -len(views) <= visit < len(views):
            raise InputError(f"Visit number {visit} does not exist; the patient has {len(views)} visits (0-based).")
        current = visit % len(views)
    else:
        labels = [v.label for v in views]
        if visit not in labels:
            raise InputError(f"No visit labelled {visit!r}; visits on record: {', '.join(labels)}.")
        current = labels.index(visit)
    baseline = next((i for i, v in enumerate(views) if v.is_baseline), None)
    # which visit's status and findings the care advice follows: the follow-up engine's choice, not a copy of it
    evidence = fusion_evidence(timeline, visit=current)
    status_index = next(i for i, v in enumerate(timeline.visits) if v is evidence.visit) if evidence else None
    surgery = timeline.surgery
    if schedule is None and surgery is not None:
        schedule = build_schedule(surgery.date, [v.date for v in views],
                                  imaging_visits=[v.date for v in timeline.visits if getattr(v, "films", ())],
                                  today=today)
    return ReportData(
        patient_key=timeline.patient_key,
        surgery=surgery,
        visits=tuple(views),
        current=current,
        baseline=baseline,
        red_flags=tuple(red_flags),
        symptom_notes=tuple(symptom_notes),
        entered_in_error=tuple(getattr(timeline, "entered_in_error", ())),
        schedule=schedule,
        proms=tuple(sorted(proms, key=lambda p: p.date)),
        patient_name=patient_name,
        patient_id=patient_id,
        birth_date=birth_date,
        generated_on=today or dt.date.today(),
        baseline_note=getattr(timeline, "baseline_note", ""),
        thresholds=_settings_dict(getattr(timeline, "settings", None)),
        film_labels=dict(film_labels or {}),
        status_index=status_index,
    )
