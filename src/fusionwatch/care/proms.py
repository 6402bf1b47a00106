"""Patient-reported outcomes: Oswestry Disability Index (ODI) and back / leg pain numeric rating scales (NRS 0-10).

Scoring and thresholds (CLINICAL.md "Recovery care"):

- ODI: 10 sections, each answered 0-5. Score = sum of answered sections / (5 x number answered) x 100 [1]_.
  A section left blank is skipped (not counted as 0). With more than :data:`ODI_MAX_MISSING` (2) blank sections the
  questionnaire is not scored: Fairbank & Pynsent [1]_ score over the sections answered when a section is missed, and
  the usual practice is to accept at most 1-2 missing sections; :data:`ODI_MAX_MISSING` is a setting.
- ODI bands: 0-20 minimal, 21-40 moderate, 41-60 severe, 61-80 crippled, 81-100 bed-bound. Pro-rated scores can fall
  between whole numbers; a band's upper limit is inclusive (20.0 is minimal, 20.1 moderate).
- Change vs pre-op: improvement = pre - post (positive is better). MCID: ODI 12.8 points, NRS 2 points. Substantial
  clinical benefit (SCB) for ODI after lumbar fusion: improvement >= 18.8 points, or >= 36.8 % of the pre-op score, or a
  final score <= 31.3 reached from a pre-op score above it [2]_ (a patient who was at or below 31.3 before surgery
  does not meet SCB by staying there, nor by getting worse), counted only with an improvement of at least the MCID
  (:data:`ODI_SCB_NEEDS_MCID`: pre-op 10 -> 6 is 40 % but 4 points, not a substantial benefit).
- By about a year (:data:`CLEAR_BENEFIT_DAY` on), :func:`without_clear_benefit` names the outcomes that have not
  changed by the MCID (ODI: nor met SCB), so the patient report can ask the patient to talk with the care team [2]_.

References
----------
.. [1] Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25(22):2940-2953. PMID 11074683.
.. [2] Glassman SD et al. Defining substantial clinical benefit following lumbar spine arthrodesis.
   J Bone Joint Surg Am 2008;90(9):1839-1847. PMID 18762642.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from fusionwatch.errors import InputError

__all__ = [
    "ODI_SECTIONS",
    "change_words",
    "ODI_MAX_MISSING",
    "ODI_MCID",
    "NRS_MCID",
    "ODI_SCB_POINTS",
    "ODI_SCB_PERCENT",
    "ODI_SCB_FINAL",
    "ODI_SCB_NEEDS_MCID",
    "OdiScore",
    "PromRecord",
    "PromChange",
    "parse_odi",
    "score_odi",
    "odi_band",
    "check_nrs",
    "compare_proms",
    "without_clear_benefit",
    "CLEAR_BENEFIT_DAY",
    "pre_op_baseline",
    "prom_entry_lines",
]

ODI_SECTIONS = (
    "pain intensity",
    "personal care",
    "lifting",
    "walking",
    "sitting",
    "standing",
    "sleeping",
    "sex life",
    "social life",
    "travelling",
)
ODI_MAX_MISSING = 2
"""At most this many blank ODI sections are pro-rated; more and the questionnaire is not scored (Fairbank 2000)."""
ODI_MCID = 12.8
NRS_MCID = 2.0
ODI_SCB_POINTS = 18.8
ODI_SCB_PERCENT = 36.8
ODI_SCB_FINAL = 31.3
_BANDS = ((20.0, "minimal"), (40.0, "moderate"), (60.0, "severe"), (80.0, "crippled"), (100.0, "bed-bound"))


def _check_answer(value: object, section: int) -> int | None:
    name = ODI_SECTIONS[section]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(
            f"ODI section {section + 1} ({name}): answer must be a whole number 0-5 or blank, got {value!r}."
        )
    if not 0 <= value <= 5:
        raise InputError(f"ODI section {section + 1} ({name}): answer must be 0-5, got {value}.")
    return value


def parse_odi(text: str) -> tuple[int | None, ...]:
    """Parse ``"2,1,3,-,0,1,2,-,1,0"``: ten comma-separated answers 0-5, ``-`` (or empty) for a blank section.

    Raises
    ------
    InputError
        If there are not exactly 10 answers, or an answer is not 0-5 or ``-``.
    """
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != len(ODI_SECTIONS):
        raise InputError(
            f"ODI needs exactly {len(ODI_SECTIONS)} answers separated by commas (use '-' for a blank section), "
            f"got {len(parts)} in {text!r}."
        )
    answers: list[int | None] = []
    for i, p in enumerate(parts):
        if p in ("-", ""):
            answers.append(None)
            continue
        if not p.isdigit():
            raise InputError(f"ODI section {i + 1} ({ODI_SECTIONS[i]}): answer must be 0-5 or '-', got {p!r}.")
        answers.append(_check_answer(int(p), i))
    return tuple(answers)


@dataclass(frozen=True, slots=True)
class OdiScore:
    """An ODI score in percent (0 = no disability) with how many sections it was computed from."""

    score: float
    answered: int
    band: str


def odi_band(score: float) -> str:
    """Band of an ODI score: minimal, moderate, severe, crippled or bed-bound (upper limits inclusive)."""
    if not (isinstance(score, (int, float)) and 0.0 <= score <= 100.0):
        raise InputError(f"ODI score must be between 0 and 100, got {score!r}.")
    return next(label for limit, label in _BANDS if score <= limit)


def score_odi(answers: Sequence[int | None], *, max_missing: int = ODI_MAX_MISSING) -> OdiScore:
    """Score the ODI from ten answers (0-5 each, ``None`` for blank).

    Returns
    -------
    OdiScore
        ``score`` = sum / (5 x answered) x 100, in percent.

    Raises
    ------
    InputError
        If there are not 10 answers, an answer is out of range, or more than ``max_missing`` sections are blank.

    Examples
    --------
    >>> score_odi([2, 1, 3, 2, 2, 1, 1, None, 2, 1]).score  # 15 / 45 x 100
    33.33333333333333
    """
    if len(answers) != len(ODI_SECTIONS):
        raise InputError(f"ODI needs {len(ODI_SECTIONS)} answers (None for blank), got {len(answers)}.")
    checked = [_check_answer(a, i) for i, a in enumerate(answers)]
    given = [a for a in checked if a is not None]
    missing = len(ODI_SECTIONS) - len(given)
    if missing > max_missing:
        raise InputError(
            f"ODI has {missing} blank sections; at most {max_missing} can be left blank for a valid score "
            "(Fairbank & Pynsent 2000)."
        )
    score = sum(given) / (5 * len(given)) * 100.0
    return OdiScore(score=score, answered=len(given), band=odi_band(score))


def check_nrs(value: object, what: str = "pain") -> int:
    """Validate a 0-10 numeric rating scale answer (whole numbers only).

    Raises
    ------
    InputError
        If the value is not a whole number 0-10.
    """
    if isinstance(value, str) and value.strip().isdecimal():  # not isdigit(): '²' is a digit int() refuses
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise InputError(f"{what} must be a whole number from 0 (no pain) to 10 (worst pain), got {value!r}.")
    return value


@dataclass(frozen=True, slots=True)
class PromRecord:
    """One set of answers on one day. Any part may be absent (``None``)."""

    date: dt.date
    odi_answers: tuple[int | None, ...] | None = None
    back_pain: int | None = None
    leg_pain: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.date, dt.date):
            raise InputError(f"PROM date must be a date, got {self.date!r}.")
        if self.odi_answers is not None:
            score_odi(self.odi_answers)  # validates
        if self.back_pain is not None:
            check_nrs(self.back_pain, "back pain")
        if self.leg_pain is not None:
            check_nrs(self.leg_pain, "leg pain")
        if self.odi_answers is None and self.back_pain is None and self.leg_pain is None:
            raise InputError("A PROM entry needs at least one of ODI answers, back pain or leg pain.")

    @property
    def odi(self) -> OdiScore | None:
        return score_odi(self.odi_answers) if self.odi_answers is not None else None


@dataclass(frozen=True, slots=True)
class PromChange:
    """Change from the pre-op record to a later one. Improvements are pre - post (positive = better)."""

    pre_date: dt.date
    post_date: dt.date
    odi_pre: float | None
    odi_post: float | None
    odi_improvement: float | None
    odi_mcid: bool | None
    odi_scb: bool | None
    odi_scb_reasons: tuple[str, ...]
    back_pain_improvement: int | None
    back_pain_mcid: bool | None
    leg_pain_improvement: int | None
    leg_pain_mcid: bool | None
    odi_scb_not_counted: tuple[str, ...] = ()
    """Glassman criteria reached but not counted, with why (:data:`ODI_SCB_NEEDS_MCID`): ``"improved 40.0 %
    (>= 36.8 %) by 4.0 points, under the MCID (12.8)"``; ``odi_scb`` is then false."""


def change_words(improvement: float, fmt: str = "g", unit: str = "") -> str:
    """A change vs pre-op in words: ``"improved by 2"``, ``"worse by 5 points"``, ``"no change"``.

    Parameters
    ----------
    improvement : float
        Pre minus post, as :class:`PromChange` gives it (positive = better; a lower score is better for ODI and NRS).
    fmt, unit : str
        Format of the amount (``".1f"``, ``"d"``) and what follows it (``" points"``).
    """
    if improvement == 0:
        return "no change"
    return f"{'improved' if improvement > 0 else 'worse'} by {format(abs(improvement), fmt)}{unit}"


CLEAR_BENEFIT_DAY = 330
"""Answers given this many days after surgery or later are held against the benefit expected by about a year: the day
the 12-month visit window of the care protocol opens (``care/default_protocol.yaml``, visit ``12-months``, window
330-425; a test ties the two); Glassman's substantial clinical benefit was defined at the 1- and 2-year follow-up
[2]_. Before, 273 (the start of followup's own, wider 12-month window): an answer at day 300 was held against the
1-year benefit while `fusionwatch care` listed its visit outside every planned window."""


def without_clear_benefit(change: PromChange) -> tuple[str, ...]:
    """The outcomes that have not improved by as much as patients notice since before surgery.

    ``"daily activities"`` when the ODI improved less than the MCID (12.8 points) and did not meet substantial
    clinical benefit; ``"back pain"`` / ``"leg pain"`` when the NRS improved less than the MCID (2 points). Worse
    outcomes are included (they too are short of a benefit); outcomes not answered on both dates are left out.

    Returns
    -------
    tuple[str, ...]
        In the order daily activities, back pain, leg pain; empty when every compared outcome improved clearly.
    """
    out = []
    if change.odi_mcid is False and change.odi_scb is False:
        out.append("daily activities")
    if change.back_pain_mcid is False:
        out.append("back pain")
    if change.leg_pain_mcid is False:
        out.append("leg pain")
    return tuple(out)


ODI_SCB_NEEDS_MCID = True
"""Substantial clinical benefit is counted only when the ODI also improved by at least the MCID (:data:`ODI_MCID`,
12.8 points). Glassman et al. [2]_ (PMID 18762642) define SCB by any of three criteria: >= 18.8 points, >= 36.8 % of the
pre-op score, or a final score <= 31.3. The two relative ones can be reached by a change smaller than the minimal
clinically important one: pre-op 10 -> 6 is 40 % (>= 36.8 %) of 4 points; pre-op 32 -> 31 reaches <= 31.3 by 1 point.
A substantial benefit cannot be smaller than the minimal one (Glassman's own SCB, 18.8 points, lies above their MCID),
and a change of a few points is within the questionnaire's day-to-day variation, so such a reading is reported as
"not counted" with the criterion and the points, never as a benefit. Ours, a documented rule on top of Glassman's
criteria (care engineer C, session 14); set it to ``False`` to apply the three criteria alone."""


def compare_proms(pre: PromRecord, post: PromRecord) -> PromChange:
    """Change vs the pre-op answers with MCID and substantial clinical benefit flags (``None`` where not computable).

    SCB (Glassman 2008, PMID 18762642) is met if any of: improvement >= 18.8 points; improvement >= 36.8 % of the
    pre-op score (only when pre > 0); final score <= 31.3 when the pre-op score was above 31.3 (the final-score
    criterion is reaching the threshold: a patient at or below it before surgery, who may even have got worse, does
    not meet it by staying there) -- and, with :data:`ODI_SCB_NEEDS_MCID`, the improvement is at least the MCID
    (12.8 points): pre-op 10 -> 6 (40 % of 4 points) is not a substantial benefit. The criteria met are listed in
    ``odi_scb_reasons``; those reached but not counted, with why, in ``odi_scb_not_counted``.
    """
    odi_pre = pre.odi.score if pre.odi else None
    odi_post = post.odi.score if post.odi else None
    imp = mcid = scb = None
    reasons: list[str] = []
    not_counted: tuple[str, ...] = ()
    if odi_pre is not None and odi_post is not None:
        imp = odi_pre - odi_post
        eps = 1e-9
        mcid = imp >= ODI_MCID - eps
        if imp >= ODI_SCB_POINTS - eps:
            reasons.append(f"improved {imp:.1f} points (>= {ODI_SCB_POINTS})")
        if odi_pre > 0 and imp / odi_pre * 100.0 >= ODI_SCB_PERCENT - eps:
            reasons.append(f"improved {imp / odi_pre * 100.0:.1f} % (>= {ODI_SCB_PERCENT} %)")
        # the final-score criterion is reaching 31.3 from above: a patient already at or below it before surgery
        # (e.g. 2.2 -> 20.0, worse by 17.8 points) has not met a benefit by staying there
        if odi_post <= ODI_SCB_FINAL + eps and odi_pre > ODI_SCB_FINAL + eps:
            reasons.append(f"final score {odi_post:.1f} (<= {ODI_SCB_FINAL})")
        if reasons and ODI_SCB_NEEDS_MCID and not mcid:
            # a relative criterion reached by a change under the MCID: not a substantial benefit (ODI_SCB_NEEDS_MCID)
            not_counted = tuple(f"{r} by {imp:.1f} points, under the MCID ({ODI_MCID:g})" for r in reasons)
            reasons = []
        scb = bool(reasons)

    def nrs(a: int | None, b: int | None) -> tuple[int | None, bool | None]:
        if a is None or b is None:
            return None, None
        return a - b, (a - b) >= NRS_MCID

    back, back_mcid = nrs(pre.back_pain, post.back_pain)
    leg, leg_mcid = nrs(pre.leg_pain, post.leg_pain)
    if imp is not None and not math.isfinite(imp):  # pragma: no cover - scores are bounded
        raise InputError("ODI change is not finite.")
    return PromChange(
        pre.date, post.date, odi_pre, odi_post, imp, mcid, scb, tuple(reasons), back, back_mcid, leg, leg_mcid,
        not_counted,
    )


def pre_op_baseline(history: Sequence[PromRecord], surgery_date: dt.date) -> PromRecord | None:
    """The pre-operative answers later ones are compared with: the latest on or before the day of surgery (``None``
    without one). ``history`` in date order (the store's ``proms_from_store``)."""
    pre = [p for p in history if p.date <= surgery_date]
    return pre[-1] if pre else None


def prom_entry_lines(history: Sequence[PromRecord], new: PromRecord, surgery_date: dt.date | None) -> list[str]:
    """What to say about a new PROM entry, for clinicians (``fusionwatch prom add``; a web page): its ODI score and
    band; before or on the day of surgery, whether it is the pre-operative baseline (:func:`pre_op_baseline`, told as
    "12 days before surgery", never "day -12"); after surgery, the change vs that baseline: ODI with the MCID and
    Glassman's substantial clinical benefit (a relative criterion reached by fewer points than the MCID said as not
    counted, :data:`ODI_SCB_NEEDS_MCID`), "an interim reading" before :data:`CLEAR_BENEFIT_DAY`, and back / leg pain
    with their MCID.

    Parameters
    ----------
    history : sequence of PromRecord
        Every entry on record in date order, ``new`` included.
    new : PromRecord
        The entry just recorded.
    surgery_date : date, optional
        ``None``: no surgery on record (the score only).
    """
    from fusionwatch.care.schedule import day_words

    lines = []
    if new.odi is not None:
        lines.append(f"ODI {new.odi.score:.1f} % ({new.odi.band}; {new.odi.answered}/10 sections answered)")
    if surgery_date is None:
        return lines
    when = new.date
    base = pre_op_baseline(history, surgery_date)
    if when <= surgery_date:
        latest = base.date if base is not None else when
        role = ("the pre-operative baseline later answers are compared with" if latest == when else
                f"an earlier pre-operative answer; the baseline stays the latest one, {latest.isoformat()}")
        lines.append(f"answered {'on ' if when == surgery_date else ''}{day_words((when - surgery_date).days)} "
                     f"({surgery_date.isoformat()}): {role}")
        return lines
    if base is None:
        return lines
    c = compare_proms(base, new)
    day = (when - surgery_date).days
    if c.odi_improvement is not None:
        scb = "met: " + "; ".join(c.odi_scb_reasons) if c.odi_scb else "not met"
        if c.odi_scb_not_counted:  # a relative criterion reached by fewer points than the MCID (4 of 10)
            scb += (" (" + "; ".join(c.odi_scb_not_counted) + ": not counted, a substantial benefit needs at least the "
                    "MCID; Glassman 2008, PMID 18762642)")
        early = ("" if day >= CLEAR_BENEFIT_DAY else
                 f" (Glassman's thresholds were set at 1 year after surgery; this is day {day}: an interim reading)")
        lines.append(f"vs pre-op {c.pre_date}: ODI {c.odi_pre:.1f} -> {c.odi_post:.1f}, "
                     f"{change_words(c.odi_improvement, '.1f', ' points')}; MCID ({ODI_MCID:g}) "
                     f"{'met' if c.odi_mcid else 'not met'}; substantial clinical benefit {scb}{early}")
    for name, imp, mcid in (("back pain", c.back_pain_improvement, c.back_pain_mcid),
                            ("leg pain", c.leg_pain_improvement, c.leg_pain_mcid)):
        if imp is not None:
            lines.append(f"{name}: {change_words(imp, 'd')}; MCID {'met' if mcid else 'not met'}")
    return lines
