"""Plain-language text for the patient report (aim: about grade-8 reading level, no unexplained jargon).

Rules: never more certain than the evidence ("fused" only as "the X-rays meet the signs of a solid fusion; your surgeon
will confirm", and only when bridging bone was judged; on bending films alone, only that the bones no longer move);
no millimetre values at all (numbers of this kind are for the care team); every text ends with
:data:`CARE_TEAM_SENTENCE`. A reader's fusion status, when entered, is used instead of the automatic one.
"""

from __future__ import annotations

from dataclasses import dataclass

from fusionwatch.care.proms import CLEAR_BENEFIT_DAY, NRS_MCID, PromChange, without_clear_benefit
from fusionwatch.care.schedule import ItemStatus
from fusionwatch.care.triage import ACTION_TEXT, RULES, TriageResult, Urgency
from fusionwatch.records import FusionStatus, Severity
from fusionwatch.report.model import ReportData

__all__ = [
    "display_name", "BENDING_XRAYS_EXPLAINED", "CARE_TEAM_FIRST", "CARE_TEAM_SENTENCE", "SAFE_ACTIVITY_SENTENCE",
    "SOONER_SENTENCE", "HARDWARE_KINDS", "EARLIER_ACTION_TEXT", "EARLIER_CARE_TEAM",
    "PatientText", "patient_text", "FINDING_PLAIN", "ACTION_FINDING_SENTENCE", "ACTION_FINDINGS_SENTENCE",
    "FUSED_ON_MOTION_PLAIN",
]

SAFE_ACTIVITY_SENTENCE = "Your surgeon will tell you which activities are safe for you now."
"""Said when fusion is not known to be on track, something is held back or in doubt, and the protocol shows no
``fusion_concern`` lines of its own."""

SOONER_SENTENCE = (
    "Your surgeon may want to see you sooner to talk about these X-rays. If you have not heard from the office, "
    "please call them."
)

CARE_TEAM_SENTENCE = (
    "Your care team's instructions take precedence over this report. If anything here is different from what they "
    "told you, follow your care team."
)

CARE_TEAM_FIRST = "Your care team's instructions come first: if this report says something different, follow them."
"""Said at the top of the patient report, under its title: a patient who reads only the first page still learns that
the care team's word wins (:data:`CARE_TEAM_SENTENCE` closes the report, and the page footer repeats it in small
print)."""

BENDING_XRAYS_EXPLAINED = "Bending X-rays are pictures taken while you bend forward and then backward."
"""Said once, just before the first sentence about bending (flexion-extension) X-rays: the term is not explained
anywhere earlier in the report (the appointments explain it further down, if at all)."""

FINDING_PLAIN: dict[str, str] = {
    "cage_subsidence": "The spacer placed between the two bones has sunk into the bone since your earlier X-rays.",
    "fused_disc_height_loss": "The space between the two bones that are being joined has become lower.",
    "cage_migration": "The spacer placed between the two bones may have moved.",
    "screw_loosening": "A screw may have loosened in the bone. X-rays cannot show this for certain.",
    "screw_breakage": "One of the screws may be broken.",
    "screw_fracture": "One of the screws may be broken.",
    "rod_fracture": "One of the metal rods may be broken or may have come apart.",
    "rod_discontinuity": "One of the metal rods may be broken or may have come apart.",
    "rod_disconnection": "One of the metal rods may have come loose from a screw.",
    "adjacent_segment_degeneration": "The disc just above where you had surgery shows some wear.",
    "adjacent_segment_disc_height_loss": "The disc just above where you had surgery has become thinner.",
    "adjacent_disc_height_loss": "The disc just above where you had surgery has become thinner.",
    "adjacent_segment_listhesis": "The bone just above where you had surgery has shifted.",
    "adjacent_listhesis": "The bone just above where you had surgery has shifted.",
    "new_listhesis": "The bone just above where you had surgery has shifted.",
    "adjacent_segment_flexion_kyphosis": "The spine just above where you had surgery bends forward more than usual.",
    "loss_of_segmental_lordosis": "The curve of your lower back where you had surgery has changed.",
    "lordosis_loss": "The curve of your lower back where you had surgery has changed.",
    "pi_ll_mismatch": "The overall curve of your lower back is different from what fits your pelvis.",
    "instability": "The bending X-rays show more movement than expected between two bones.",
    "motion_indeterminate": "The bending X-rays cannot show clearly if the two bones still move.",
}
"""One plain sentence per kind of finding. A finding's kind matches a key when it equals the key or starts with the
key followed by ``_`` (``screw_loosening`` covers ``screw_loosening_suspected``; ``instability`` covers
``instability_L5_S1``). No sentence names the surgeon: one closing sentence does that. No sentence says how large the
change is ("a little" was said of an ACTION cage subsidence twice the threshold, reviewer R's F19): every finding
told is over its threshold, and how far over is said by :data:`ACTION_FINDING_SENTENCE`."""

ACTION_FINDING_SENTENCE = "The computer check marks this as a change your care team should look at soon."
ACTION_FINDINGS_SENTENCE = (
    "The computer check marks at least one of these changes as one your care team should look at soon."
)
"""Said once after the finding sentences when a finding told to the patient is of severity ACTION or more (the
clinician report's "action": e.g. a cage subsidence more than twice its threshold), so the plain sentence does not
read as the same small change as a WATCH one; calm, and the care team decides (the closing sentence and
:data:`SOONER_SENTENCE` follow). :data:`ACTION_FINDINGS_SENTENCE` when more than one change is told."""

HARDWARE_KINDS: tuple[str, ...] = (
    "cage_subsidence", "fused_disc_height_loss", "cage_migration", "screw_loosening", "screw_breakage",
    "screw_fracture", "rod_fracture", "rod_discontinuity", "rod_disconnection",
)
"""Finding kinds (by the same prefix rule) about the screws, rods and spacer: with none of them the patient is told
that the computer check of the hardware found no change."""


def _match(kind: str, keys: object) -> str | None:
    """The key of ``keys`` that ``kind`` equals or starts with (followed by ``_``); the longest wins."""
    hits = [k for k in keys if kind == k or kind.startswith(k + "_")]  # type: ignore[attr-defined]
    return max(hits, key=len) if hits else None


_STATUS_PLAIN: dict[FusionStatus, str] = {
    FusionStatus.ON_TRACK: "Healing looks on track for this stage.",
    FusionStatus.FUSED_CRITERIA_MET: (
        "The X-rays meet the signs of a solid fusion, which means the bones look joined. "
        "Your surgeon will confirm this."
    ),
    FusionStatus.DELAYED_UNION_SUSPECTED: (
        "The bones may be healing more slowly than usual for this stage. This happens to some people. Your surgeon may "
        "want more X-rays or other tests."
    ),
    FusionStatus.PSEUDARTHROSIS_SUSPECTED: (
        "The X-rays do not yet show the two bones joined. By this time they usually are. Your surgeon may suggest a CT "
        "scan (a more detailed kind of X-ray) to check."
    ),
    FusionStatus.INSUFFICIENT_EVIDENCE: (
        "These X-rays alone cannot show clearly how the bones are healing. Your surgeon may ask for more pictures."
    ),
}


FUSED_ON_MOTION_PLAIN = (
    "The bending X-rays show that the two bones being joined no longer move against each other. This is a good sign "
    "that they are joining. Your surgeon will look at the X-rays to confirm this."
)
"""Said instead of the ``fused_criteria_met`` sentence when that status rests on the bending (flexion-extension)
films alone: nobody has yet judged the bone growing across the disc space, so "the bones look joined" is not said
(:attr:`fusionwatch.report.model.VisitView.fused_on_motion_only`)."""


EARLIER_ACTION_TEXT: dict[Urgency, str] = {
    Urgency.EMERGENCY: ("If this is still happening, or if it comes back, call your emergency number or go to the "
                        "nearest emergency department now."),
    Urgency.URGENT: ("If this is still happening, or if it comes back, call your surgeon's office now. If you cannot "
                     "reach them, go to urgent care or the emergency department."),
}
"""What the patient is told about a red flag they reported earlier (more than
:data:`fusionwatch.report.model.RED_FLAG_RECENT_DAYS` days before the report): to act now if it is still there or
returns, by the same urgency as when it was new (an emergency sign is never turned into a phone call)."""

EARLIER_CARE_TEAM = "If your care team has already seen you about it, follow what they told you."
"""Said once under the warning signs the patient reported earlier."""


@dataclass(frozen=True)
class PatientText:
    """The patient report as plain sentences, section by section."""

    your_red_flags: tuple[TriageResult, ...]
    xray_now: tuple[str, ...]
    healing_vs_expected: tuple[str, ...]
    do_now: tuple[str, ...]
    avoid_now: tuple[str, ...]
    exercises: tuple[str, ...]
    medicines: tuple[str, ...]
    appointments: tuple[tuple[str, str], ...]
    """(date text, what) pairs, overdue first."""
    warning_signs: tuple[tuple[str, str], ...]
    """(symptom in plain words, what to do) pairs, emergencies first."""
    pain_and_function: tuple[str, ...]
    care_team: str = CARE_TEAM_SENTENCE
    care_team_first: str = CARE_TEAM_FIRST
    xrays_taken: bool = True
    """False for a contact without films: the X-ray section says none were taken, under a heading that asks nothing."""
    example_protocol: bool = False
    appointment_note: tuple[str, ...] = ()
    """Said under the appointments when fusion is not known to be on track (the next planned visit may be far off)."""
    your_other_symptoms: tuple[TriageResult, ...] = ()
    """Routine (not red-flag) symptoms the patient reported: acknowledged, with what to do."""
    your_earlier_red_flags: tuple[TriageResult, ...] = ()
    """Red flags reported more than :data:`fusionwatch.report.model.RED_FLAG_RECENT_DAYS` days before the report:
    listed with their date as reported earlier, with :data:`EARLIER_ACTION_TEXT` (not under "Act now")."""

    @staticmethod
    def earlier_action(r: TriageResult) -> str:
        """What to do about a red flag reported earlier (:data:`EARLIER_ACTION_TEXT` by its urgency)."""
        return EARLIER_ACTION_TEXT.get(r.urgency, r.action)

    def all_text(self) -> str:
        """Every sentence in reading order (for checks such as reading level and "no mm")."""
        parts: list[str] = [f"{r.patient_text}. {r.action}" for r in self.your_red_flags]
        parts += [f"{r.patient_text}. {self.earlier_action(r)}" for r in self.your_earlier_red_flags]
        parts += [EARLIER_CARE_TEAM] if self.your_earlier_red_flags else []
        parts.append(self.care_team_first)
        parts += [f"{r.patient_text}. {r.action}" for r in self.your_other_symptoms]
        parts += [*self.xray_now, *self.healing_vs_expected, *self.do_now, *self.avoid_now, *self.exercises]
        parts += [*self.medicines, *self.pain_and_function]
        parts += [f"{d}: {w}" for d, w in self.appointments]
        parts += [*self.appointment_note]
        parts += [f"{s}. {a}" for s, a in self.warning_signs]
        parts.append(self.care_team)
        return "\n".join(parts)


def _weeks_text(days: int) -> str:
    if days == 1:
        return "1 day"
    if days < 14:
        return f"{days} days"
    if days < 91:
        return f"{days // 7} weeks"
    months = round(days / 30.4)
    return f"about {months} months" if months < 24 else f"about {round(days / 365.25)} years"


def _date(d) -> str:  # noqa: ANN001 - a date
    return f"{d:%B} {d.day}, {d.year}"


def display_name(name: str | None) -> str | None:
    """``"Doe^Jane"`` (DICOM person name) -> ``"Jane Doe"``; other names unchanged."""
    if not name:
        return None
    if "^" in name:
        family, _, rest = name.partition("^")
        given = rest.split("^")[0]
        return f"{given} {family}".strip()
    return name


_PAIN_WORDS = {
    "better": "clearly better than before surgery.",
    "worse": "worse than before surgery. Please tell your care team.",
    "same": "about the same as before surgery.",
}


def _pain_sentences(back: int | None, leg: int | None) -> list[str]:
    """Back and leg pain vs before surgery (NRS points; the smallest change patients notice is 2). One sentence when
    both changed the same way ("Your back and leg pain are ..."), else one each."""
    def word(imp: int) -> str:
        return "better" if imp >= NRS_MCID else "worse" if imp <= -NRS_MCID else "same"

    parts = [(name, word(imp)) for name, imp in (("back", back), ("leg", leg)) if imp is not None]
    if len(parts) == 2 and parts[0][1] == parts[1][1]:
        return [f"Your back and leg pain are {_PAIN_WORDS[parts[0][1]]}"]
    return [f"Your {name} pain is {_PAIN_WORDS[w]}" for name, w in parts]


NO_CLEAR_BENEFIT_SENTENCES = (
    "By about a year after surgery, many people feel clearly better than before surgery.",
    "If you do not, please talk with your care team. They know your situation and can help plan what comes next.",
)
"""Said from the 12-months visit window on when pain or daily activities are not clearly better than before surgery
(:func:`fusionwatch.care.proms.without_clear_benefit`) and nothing got worse (worse already asks the patient to tell
the care team). Careful: no promise, no cause named, the care team decides."""


ODI_CHANGE_SAID = 0.5
"""ODI points of change the patient text words as "a little more" / "more difficulty" (smaller: "about the same")."""


def _told_worse(change: PromChange) -> bool:
    """True when the patient text says an outcome is worse than before surgery (and asks to tell the care team): the
    ODI by :data:`ODI_CHANGE_SAID` or more, or back or leg pain by the NRS MCID or more."""
    return (change.odi_improvement is not None and change.odi_improvement <= -ODI_CHANGE_SAID) or any(
        imp is not None and imp <= -NRS_MCID for imp in (change.back_pain_improvement, change.leg_pain_improvement))


def _no_clear_benefit_sentences(data: ReportData, change: PromChange) -> list[str]:
    if data.surgery is None or (change.post_date - data.surgery.date).days < CLEAR_BENEFIT_DAY:
        return []
    return [] if _told_worse(change) or not without_clear_benefit(change) else list(NO_CLEAR_BENEFIT_SENTENCES)


def _explain_bending_xrays(*sections: list[str]) -> None:
    """Put :data:`BENDING_XRAYS_EXPLAINED` (in place) before the first sentence of ``sections`` (in reading order)
    that speaks of bending X-rays; nothing when none does."""
    for section in sections:
        for i, sentence in enumerate(section):
            if "bending X-rays" in sentence:
                section.insert(i, BENDING_XRAYS_EXPLAINED)
                return


def _sooner(v, latest) -> str:  # noqa: ANN001 - VisitView
    """:data:`SOONER_SENTENCE`, or at a visit without films (where the patient was just told no X-rays were taken)
    the same about their latest X-rays, named by date (reviewer R's F11: "talk about these X-rays")."""
    if v.has_films:
        return SOONER_SENTENCE
    which = (f"your latest X-rays (taken on {_date(latest.date)})" if latest is not v and latest.has_films
             else "your X-rays")
    return SOONER_SENTENCE.replace("these X-rays", which)


def patient_text(data: ReportData) -> PatientText:
    """Build the plain-language sections of the patient report for ``data.visit``."""
    v = data.visit
    days = v.days_since_surgery
    xray: list[str] = []
    status, source = v.status_source  # the reader's status when entered, else the automatic one (one shared rule)
    if source == "reader":
        xray.append("Your surgeon has looked at these X-rays.")
    pre_op = days is not None and days < 0
    if not v.has_films:  # a contact without films (symptom report, questionnaire, wound check): nothing was imaged
        xray = ["No X-rays were taken at this visit. What your X-rays showed is in the report of the visit when they "
                "were taken."]
    elif days == 0:
        xray.insert(0, "These X-rays were taken on the day of your surgery.")
    elif days is not None and days > 0:
        xray.insert(0, f"These X-rays were taken {_weeks_text(days)} after your surgery.")
    elif pre_op:
        xray.insert(0, "These X-rays were taken before your surgery. Your surgeon uses them to plan the operation "
                       "and to compare with the X-rays taken after it.")
    # hardware "no change" needs hardware and an earlier film after surgery to compare with (not before surgery, not
    # on the first film after it)
    earlier_post_op = any(w.film_id and w.days_since_surgery is not None and w.days_since_surgery >= 0
                          and w.date < v.date for w in data.visits)
    on_motion_only = v.fused_on_motion_only
    if status is not None and v.has_films:
        text = FUSED_ON_MOTION_PLAIN if on_motion_only else _STATUS_PLAIN[status]
        if source == "reader" and status is FusionStatus.FUSED_CRITERIA_MET:
            text = text.replace(" Your surgeon will confirm this.", "")  # the reader's status is that confirmation
        xray.append(text)
    shown = [f for f in v.hardware_findings if f.severity.rank >= Severity.WATCH.rank]
    plain = [(f, _match(f.kind, FINDING_PLAIN)) for f in shown]
    serious = [f for f, key in plain if key is not None]
    other = [f for f, key in plain if key is None and f.severity.rank >= Severity.ACTION.rank]
    hardware = [f for f in serious if _match(f.kind, HARDWARE_KINDS)]
    imaged = v.has_films
    if imaged and not hardware and not other and not pre_op and not earlier_post_op:
        xray.append("Later X-rays will be compared with these ones.")
    if imaged and not hardware and not other and not pre_op and earlier_post_op:
        implants = data.surgery.implants if data.surgery else ("pedicle_screws", "rods")
        parts = [w for k, w in (("pedicle_screws", "screws"), ("rods", "rods"), ("interbody_cage", "spacer"))
                 if k in implants]
        if data.surgery is not None and data.surgery.approach.value == "posterolateral":
            parts = [p for p in parts if p != "spacer"]
        if len(parts) > 1:
            things = ", ".join(parts[:-1]) + " and " + parts[-1]
        else:
            things = parts[0] if parts else "metal parts"
        xray.append(f"The computer check found no change in the {things} since your earlier X-rays.")
    for sentence in dict.fromkeys(FINDING_PLAIN[key] for f, key in plain if key is not None):  # one per kind
        xray.append(sentence)
    if other:
        xray.append("The X-rays also show another change.")
    if any(f.severity.rank >= Severity.ACTION.rank for f in serious + other):
        told = len({key for _, key in plain if key is not None}) + bool(other)
        xray.append(ACTION_FINDINGS_SENTENCE if told > 1 else ACTION_FINDING_SENTENCE)
    if serious or other:
        xray.append("Your surgeon will talk with you about what this means and if anything needs to change.")
    elif imaged and v.reader_status is None and not on_motion_only and not pre_op and status not in (  # on motion: said
        FusionStatus.PSEUDARTHROSIS_SUSPECTED, FusionStatus.DELAYED_UNION_SUSPECTED, FusionStatus.INSUFFICIENT_EVIDENCE,
        FusionStatus.FUSED_CRITERIA_MET,  # its sentence already ends "Your surgeon will confirm this."
    ):
        xray.append("Your surgeon will look at the X-rays too.")

    healing: list[str] = []
    # a contact without films (a symptom report, a questionnaire): the healing text follows the status the care advice
    # follows (the latest visit with films, data.status_visit), said with that visit's date; before, it read the
    # contact's own status (none) and reassured "By 1 year, the two bones are usually joined." after films that
    # suggested non-union (reviewer R's F11)
    latest = data.status_visit
    if not v.has_films and latest is not v and latest.has_films:
        status, source = latest.status_source
        if status is not None and latest.days_since_surgery is not None and latest.days_since_surgery >= 0:
            healing.append(f"Your latest X-rays were taken on {_date(latest.date)}.")
            text = FUSED_ON_MOTION_PLAIN if latest.fused_on_motion_only else _STATUS_PLAIN[status]
            if source == "reader" and status is FusionStatus.FUSED_CRITERIA_MET:
                text = text.replace(" Your surgeon will confirm this.", "")
            healing.append(text)
    if days is not None and not pre_op:
        if days < 91:
            healing.append(
                "New bone grows slowly. It usually takes 3 to 6 months for the two bones to start joining, and up to "
                "a year to become solid. At this stage, doctors do not expect to see solid bone yet."
            )
        elif days < 182:
            healing.append(
                "The two bones usually start to join between 3 and 6 months after surgery. Your surgeon checks this "
                "again at about 6 months and 1 year."
            )
        elif days < 300:
            healing.append(
                "By about 6 months, many people show new bone joining the two bones. Healing can keep going until "
                "about 1 year after surgery."
            )
        elif status is FusionStatus.PSEUDARTHROSIS_SUSPECTED:
            # the status sentence already says that the bones are usually joined by now: no second time
            healing.append("Sometimes the bones take longer to join, or do not join fully.")
        elif status is FusionStatus.FUSED_CRITERIA_MET:
            healing.append("By 1 year, the two bones are usually joined.")
        else:
            healing.append("By 1 year, the two bones are usually joined.")
            if status is not FusionStatus.INSUFFICIENT_EVIDENCE:  # that status sentence already asks for more
                healing.append("If X-rays cannot show this clearly, your surgeon may ask for bending X-rays or a CT "
                               "scan (a more detailed kind of X-ray).")

    _explain_bending_xrays(xray, healing)

    concern = False
    do_now: list[str] = []
    avoid: list[str] = []
    exercises: list[str] = []
    meds: list[str] = []
    appts: list[tuple[str, str]] = []
    example = False
    s = data.schedule
    if s is not None:
        example = s.protocol.is_example
        advice = data.care_advice
        assert advice is not None  # a schedule gives advice
        for r in advice.restrictions:
            (avoid if r.patient.lower().startswith(("do not", "avoid", "never")) else do_now).append(r.patient)
        held_back = advice.in_doubt or bool(advice.withheld) or advice.therapy_withheld
        if advice.day >= 0 and not advice.fusion_on_track and not advice.concern_shown and held_back:
            # a protocol without a fusion_concern section: still never leave the patient without this when something
            # is held back or in doubt; merely not assessed yet (no films in weeks 0-6) with nothing held back, the
            # phase's own lines are the advice (care.advice shows no concern lines then either)
            do_now.insert(0, SAFE_ACTIVITY_SENTENCE)
        exercises = [*advice.therapy_goals, *(f"Example exercise: {e}" for e in advice.example_exercises)]
        meds = [n.patient for n in advice.medication_notes]
        concern = advice.in_doubt
        todo = list(s.next_items)  # a missed visit (a later one is done) is not put to the patient again
        for item in sorted(todo, key=lambda i: (i.status is not ItemStatus.OVERDUE, i.due_date))[:4]:
            if item.status is ItemStatus.OVERDUE:
                when = f"Missed (was due {_date(item.due_date)})"
                what = f"{item.visit.patient_label}. Please call to book it."
            else:
                when = f"Around {_date(item.due_date)}"
                what = f"{item.visit.patient_label}: {item.imaging_plain}."
            appts.append((when, what))

    pain: list[str] = []
    change = data.prom_change
    if change is not None:
        if change.odi_improvement is not None:
            if change.odi_mcid:
                pain.append(
                    "Your answers about daily activities show that you can do clearly more than before surgery."
                )
            elif change.odi_improvement >= ODI_CHANGE_SAID:
                # below the smallest change patients notice (MCID): do not promise more than "a little"
                pain.append(
                    "Your answers about daily activities show that you can do a little more than before surgery."
                )
            elif change.odi_improvement <= -ODI_CHANGE_SAID:
                pain.append("Your answers about daily activities show more difficulty than before surgery. "
                            "Please tell your care team.")
            else:
                pain.append("Your answers about daily activities are about the same as before surgery.")
            if change.odi_mcid:
                pain.append("This change is large enough to make a real difference in daily life.")
        pain += _pain_sentences(change.back_pain_improvement, change.leg_pain_improvement)
        pain += _no_clear_benefit_sentences(data, change)

    signs = sorted(
        ((r.patient_text, ACTION_TEXT[r.urgency], r.urgency.rank) for r in RULES.values()
         if r.urgency is not Urgency.ROUTINE),
        key=lambda t: -t[2],
    )
    return PatientText(
        your_red_flags=data.recent_red_flags,  # reported in the last RED_FLAG_RECENT_DAYS days: act now
        your_earlier_red_flags=data.earlier_red_flags,  # never dropped: told with their date, act now if still there
        your_other_symptoms=tuple(r for r in data.red_flags if not r.is_red_flag),
        xray_now=tuple(xray),
        healing_vs_expected=tuple(healing),
        do_now=tuple(do_now),
        avoid_now=tuple(avoid),
        exercises=tuple(exercises),
        medicines=tuple(meds),
        appointments=tuple(appts),
        # the patient was told "Your surgeon will talk with you about what this means": when, if the next planned visit
        # is months away? The same sentence as for a fusion doubt.
        appointment_note=(_sooner(v, data.status_visit),) if concern or serious or other else (),
        warning_signs=tuple((t, a) for t, a, _ in signs),
        pain_and_function=tuple(pain),
        example_protocol=example,
        xrays_taken=v.has_films,
    )
