"""Plain-language text for the patient report (aim: about grade-8 reading level, no unexplained jargon).

Rules: never more certain than the evidence ("fused" only as "the X-rays meet the signs of a solid fusion; your surgeon
will confirm"); no millimetre values at all (numbers of this kind are for the care team); every text ends with
:data:`CARE_TEAM_SENTENCE`. A reader's fusion status, when entered, is used instead of the automatic one.
"""

from __future__ import annotations

from dataclasses import dataclass

from fusionwatch.care.schedule import ItemStatus
from fusionwatch.care.triage import ACTION_TEXT, RULES, TriageResult, Urgency
from fusionwatch.records import FusionStatus, Severity
from fusionwatch.report.model import ReportData

__all__ = ["display_name", "CARE_TEAM_SENTENCE", "PatientText", "patient_text", "FINDING_PLAIN"]

CARE_TEAM_SENTENCE = (
    "Your care team's instructions take precedence over this report. If anything here is different from what they "
    "told you, follow your care team."
)

FINDING_PLAIN: dict[str, str] = {
    "cage_subsidence": "The spacer placed between the two bones has settled a little into the bone.",
    "cage_migration": "The spacer placed between the two bones may have moved a little.",
    "screw_loosening_suspected": (
        "A screw may have loosened a little in the bone. X-rays cannot show this for certain; your surgeon will look "
        "at it with you."
    ),
    "screw_breakage": "One of the screws may be broken.",
    "screw_fracture": "One of the screws may be broken.",
    "rod_fracture": "One of the metal rods may be broken.",
    "rod_disconnection": "One of the metal rods may have come loose from a screw.",
    "adjacent_segment_degeneration": "The disc just above the fused level shows some wear.",
    "adjacent_disc_height_loss": "The disc just above the fused level has become a little thinner.",
    "adjacent_listhesis": "The bone just above the fused level has shifted a little.",
    "new_listhesis": "The bone just above the fused level has shifted a little.",
    "lordosis_loss": "The curve of your lower back at the fused level has changed a little.",
    "pi_ll_mismatch": "The overall curve of your lower back is different from what fits your pelvis.",
}

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
        "The X-rays do not yet show the bones joined, and by this time they usually are. Your surgeon may suggest a CT "
        "scan (a more detailed kind of X-ray) to check."
    ),
    FusionStatus.INSUFFICIENT_EVIDENCE: (
        "These X-rays alone cannot show clearly how the bones are healing. Your surgeon may ask for more pictures."
    ),
}


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
    example_protocol: bool = False

    def all_text(self) -> str:
        """Every sentence in reading order (for checks such as reading level and "no mm")."""
        parts: list[str] = [f"{r.patient_text}. {r.action}" for r in self.your_red_flags]
        parts += [*self.xray_now, *self.healing_vs_expected, *self.do_now, *self.avoid_now, *self.exercises]
        parts += [*self.medicines, *self.pain_and_function]
        parts += [f"{d}: {w}" for d, w in self.appointments]
        parts += [f"{s}. {a}" for s, a in self.warning_signs]
        parts.append(self.care_team)
        return "\n".join(parts)


def _weeks_text(days: int) -> str:
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


def patient_text(data: ReportData) -> PatientText:
    """Build the plain-language sections of the patient report for ``data.visit``."""
    v = data.visit
    days = v.days_since_surgery
    xray: list[str] = []
    status = v.fusion_status
    if v.reader_status is not None:
        try:
            status = FusionStatus(v.reader_status.value)
            xray.append("Your surgeon has looked at these X-rays.")
        except ValueError:
            pass
    if days is not None and days >= 0:
        xray.insert(0, f"These X-rays were taken {_weeks_text(days)} after your surgery.")
    serious = [f for f in v.hardware_findings if f.severity.rank >= Severity.WATCH.rank and f.kind in FINDING_PLAIN]
    other = [f for f in v.hardware_findings if f.severity.rank >= Severity.ACTION.rank and f.kind not in FINDING_PLAIN]
    if not serious and not other:
        implants = data.surgery.implants if data.surgery else ("pedicle_screws", "rods")
        parts = [w for k, w in (("pedicle_screws", "screws"), ("rods", "rods"), ("interbody_cage", "spacer"))
                 if k in implants]
        if data.surgery is not None and data.surgery.approach.value == "posterolateral":
            parts = [p for p in parts if p != "spacer"]
        if len(parts) > 1:
            things = ", ".join(parts[:-1]) + " and " + parts[-1]
        else:
            things = parts[0] if parts else "metal parts"
        xray.append(f"The computer check of the {things} found no change since your earlier X-rays. "
                    "Your surgeon will look at them too.")
    for sentence in dict.fromkeys(FINDING_PLAIN[f.kind] for f in serious):  # one sentence per kind of change
        xray.append(sentence)
    if other:
        xray.append("The X-rays show another change that your surgeon will explain to you.")
    if serious or other:
        xray.append("Your surgeon will talk with you about what this means and if anything needs to change.")
    if status is not None:
        xray.append(_STATUS_PLAIN[status])

    healing: list[str] = []
    if days is not None:
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
        else:
            healing.append("By 1 year, the two bones are usually joined.")
            if status not in (FusionStatus.PSEUDARTHROSIS_SUSPECTED, FusionStatus.INSUFFICIENT_EVIDENCE):
                healing.append("If X-rays cannot show this clearly, your surgeon may ask for bending X-rays or a CT "
                               "scan (a more detailed kind of X-ray).")

    do_now: list[str] = []
    avoid: list[str] = []
    exercises: list[str] = []
    meds: list[str] = []
    appts: list[tuple[str, str]] = []
    example = False
    s = data.schedule
    if s is not None:
        example = s.protocol.is_example
        phase = s.restriction_phase
        if phase is not None:
            for r in phase.restrictions:
                (avoid if r.patient.lower().startswith(("do not", "avoid", "never")) else do_now).append(r.patient)
        if status in (FusionStatus.DELAYED_UNION_SUSPECTED, FusionStatus.PSEUDARTHROSIS_SUSPECTED) or serious:
            do_now.insert(0, "Until your surgeon has checked these X-rays with you, ask before you lift heavy things "
                             "or play sports.")
        tp = s.therapy_phase
        if tp is not None:
            exercises = [*tp.goals, *(f"Example exercise: {e}" for e in tp.example_exercises)]
        meds = [n.patient for n in s.medication_notes]
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
            elif change.odi_improvement >= 0.5:
                # below the smallest change patients notice (MCID): do not promise more than "a little"
                pain.append(
                    "Your answers about daily activities show that you can do a little more than before surgery."
                )
            elif change.odi_improvement <= -0.5:
                pain.append("Your answers about daily activities show more difficulty than before surgery. "
                            "Please tell your care team.")
            else:
                pain.append("Your answers about daily activities are about the same as before surgery.")
            if change.odi_mcid:
                pain.append("This change is large enough to make a real difference in daily life.")
        for name, imp in (("back", change.back_pain_improvement), ("leg", change.leg_pain_improvement)):
            if imp is None:
                continue
            if imp >= 2:
                pain.append(f"Your {name} pain is clearly better than before surgery.")
            elif imp <= -2:
                pain.append(f"Your {name} pain is worse than before surgery. Please tell your care team.")
            else:
                pain.append(f"Your {name} pain is about the same as before surgery.")

    signs = sorted(
        ((r.patient_text, ACTION_TEXT[r.urgency], r.urgency.rank) for r in RULES.values()
         if r.urgency is not Urgency.ROUTINE),
        key=lambda t: -t[2],
    )
    return PatientText(
        your_red_flags=tuple(r for r in data.red_flags if r.is_red_flag),
        xray_now=tuple(xray),
        healing_vs_expected=tuple(healing),
        do_now=tuple(do_now),
        avoid_now=tuple(avoid),
        exercises=tuple(exercises),
        medicines=tuple(meds),
        appointments=tuple(appts),
        warning_signs=tuple((t, a) for t, a, _ in signs),
        pain_and_function=tuple(pain),
        example_protocol=example,
    )
