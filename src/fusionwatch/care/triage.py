"""Red-flag triage: a symptom checklist (CLINICAL.md "Recovery care", red flags) mapped to an urgency with the reason.

Rules are a fixed table (:data:`RULES`), one row per symptom. Triage of several symptoms keeps **every** flag and orders
them by urgency (emergency first); nothing else in fusionwatch (images, PROMs, a good fusion status) can remove or
downgrade a flag. Reports and views show :func:`triage` output before anything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from fusionwatch.errors import InputError

__all__ = [
    "Urgency",
    "Symptom",
    "TriageRule",
    "TriageResult",
    "RULES",
    "triage",
    "parse_symptoms",
    "ACTION_TEXT",
    "FEVER_OVER_C",
    "CLINICAL_MD_FEVER_F",
    "celsius_to_fahrenheit",
    "fever_limit_words",
    "fever_setting_words",
    "RED_FLAG_RECENT_DAYS",
    "red_flag_is_recent",
    "Temperature",
    "parse_temperature",
    "SymptomReport",
    "symptom_report",
    "split_red_flags",
    "flag_action",
]

FEVER_OVER_C = 38.0
"""The fever setting: a body temperature strictly above this (degrees Celsius) is the fever red flag.

Which value and why. CLINICAL.md ("Recovery care", red flags) gives "fever > 38 °C (101 °F)": two figures that
disagree, since 38 °C is 100.4 °F and 101 °F is 38.3 °C (101 °F is the rounded figure of many surgeon handouts).
fusionwatch uses 38.0 °C = 100.4 °F, the Celsius figure CLINICAL.md gives first and its exact conversion, and the lower
of the two: the flag only asks for a same-day call, and at 38.3 °C a patient at 100.6-100.9 °F (38.1-38.3 °C, a fever)
would not be flagged. Every text derives from this value (:func:`fever_limit_words`), ``fusionwatch symptoms add``
prints it with the CLINICAL.md figure it did not use, and the stored report keeps the value that triaged it. A care
team whose handout says 101 °F passes ``fever_over_c=38.3`` to :func:`parse_temperature` (not yet a protocol-file
field). Patient text says the number only ("Fever over 38 °C (100.4 °F)"): the care team's own instructions come
first. docs/care.md "Red-flag triage"."""

CLINICAL_MD_FEVER_F = 101.0
"""The other fever figure of CLINICAL.md ("(101 °F)" = 38.3 °C), named so the output can say it was not used."""


def celsius_to_fahrenheit(celsius: float) -> float:
    """Degrees Fahrenheit of a temperature in degrees Celsius."""
    return celsius * 9.0 / 5.0 + 32.0


def fever_limit_words(fever_over_c: float = FEVER_OVER_C) -> str:
    """The fever setting in both units: ``"38 °C (100.4 °F)"``."""
    return f"{fever_over_c:g} °C ({celsius_to_fahrenheit(fever_over_c):.1f} °F)"


def fever_setting_words(fever_over_c: float = FEVER_OVER_C) -> str:
    """For clinicians: which fever value the tool applied and the other figure in use (CLINICAL.md's and many
    handouts' "101 °F") that it did not, e.g. ``"fever setting: over 38 °C (100.4 °F) (care.triage.FEVER_OVER_C);
    the other figure in use, 101 °F, is 38.3 °C: the lower value is applied"``. Names no project document (the text
    reaches clinicians)."""
    other_c = (CLINICAL_MD_FEVER_F - 32.0) * 5.0 / 9.0
    name = " (care.triage.FEVER_OVER_C)" if fever_over_c == FEVER_OVER_C else " (set by the caller)"
    if abs(other_c - fever_over_c) < 0.05:
        return f"fever setting: over {fever_limit_words(fever_over_c)}{name}, the {CLINICAL_MD_FEVER_F:g} °F figure"
    lower = "lower" if fever_over_c < other_c else "higher"
    return (f"fever setting: over {fever_limit_words(fever_over_c)}{name}; the other figure in use, "
            f"{CLINICAL_MD_FEVER_F:g} °F, is {other_c:.1f} °C: the {lower} value is applied")


RED_FLAG_RECENT_DAYS = 7
"""A red flag reported at most this many days before the day a view speaks as of (``fusionwatch care --today``, a
report's day) is a recent one: "escalate now" in ``fusionwatch care``, "Act now" (call today / go to the emergency
department now) in the patient report. An older report is never dropped (nothing removes a red flag) but is told as
what it is, an earlier report with its date: the patient is told to act now if it is still happening or comes back, and
the clinician sees it apart from the recent ones. Why a week: the red flags (infection, cauda equina, a clot, a fall)
are acute and change over days; each was triaged when it was reported (``fusionwatch symptoms add`` prints what to do
at once), and one reported in the last week may still be going on without care, while telling a patient on a film
visit to "call today" about a fever from a month ago is false urgency that teaches them to ignore the box. A setting
of the views, not a clinical threshold: a care team that wants every report of the window in "escalate now" sets it
to the window's length. The one value for ``fusionwatch care`` and the reports (moved here from ``report.model``,
session 14: before, ``care`` had no split and put a 3-week-old fever beside today's)."""


def red_flag_is_recent(reported_on: dt.date | None, as_of: dt.date, recent_days: int = RED_FLAG_RECENT_DAYS) -> bool:
    """True when a red flag reported on ``reported_on`` is at most ``recent_days`` days before ``as_of`` (an unknown
    date counts as recent: never played down)."""
    return reported_on is None or (as_of - reported_on) <= dt.timedelta(days=recent_days)


class Urgency(str, Enum):
    """How fast a symptom needs a clinician. Order: routine < urgent < emergency."""

    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        return list(Urgency).index(self)


class Symptom(str, Enum):
    """The checklist. Values are what ``fusionwatch symptoms add --flag`` accepts."""

    SADDLE_NUMBNESS = "saddle_numbness"
    BLADDER_BOWEL_DYSFUNCTION = "bladder_bowel_dysfunction"
    URINARY_RETENTION = "urinary_retention"
    BILATERAL_LEG_WEAKNESS = "bilateral_leg_weakness"
    PROGRESSIVE_LEG_WEAKNESS = "progressive_leg_weakness"
    FEVER = "fever"
    WOUND_REDNESS = "wound_redness"
    WOUND_WARMTH = "wound_warmth"
    WOUND_DRAINAGE = "wound_drainage"
    WOUND_OPENING = "wound_opening"
    CALF_PAIN_SWELLING = "calf_pain_swelling"
    CHEST_PAIN = "chest_pain"
    SHORTNESS_OF_BREATH = "shortness_of_breath"
    NEW_DEFICIT_AFTER_FALL = "new_deficit_after_fall"
    SEVERE_PAIN_AFTER_FALL = "severe_pain_after_fall"
    PAIN_NOT_IMPROVING = "pain_not_improving"
    CONSTIPATION = "constipation"
    POOR_SLEEP = "poor_sleep"


@dataclass(frozen=True, slots=True)
class TriageRule:
    symptom: Symptom
    urgency: Urgency
    category: str
    """``cauda_equina``, ``infection``, ``dvt_pe``, ``fall``, ``other``."""
    reason: str
    """For the clinician: why this urgency (what it may mean)."""
    patient_text: str
    """The symptom in plain words, for the patient."""


_CE = (
    "Possible cauda equina syndrome (compression of the nerve roots below the spinal cord): "
    "emergency imaging and review."
)
_INF = "Possible surgical-site infection: same-day review."
_DVT = "Possible deep-vein thrombosis (blood clot in the leg): same-day assessment."
_PE = "Possible pulmonary embolism (blood clot in the lung): emergency."

RULES: dict[Symptom, TriageRule] = {
    r.symptom: r
    for r in (
        TriageRule(Symptom.SADDLE_NUMBNESS, Urgency.EMERGENCY, "cauda_equina", _CE,
                   "Numbness between the legs or around the bottom (where you sit on a saddle)"),
        TriageRule(Symptom.BLADDER_BOWEL_DYSFUNCTION, Urgency.EMERGENCY, "cauda_equina", _CE,
                   "New trouble controlling your bladder or bowels"),
        TriageRule(Symptom.URINARY_RETENTION, Urgency.EMERGENCY, "cauda_equina", _CE,
                   "You cannot pass urine (pee) even though you need to"),
        TriageRule(Symptom.BILATERAL_LEG_WEAKNESS, Urgency.EMERGENCY, "cauda_equina", _CE,
                   "Weakness in both legs"),
        TriageRule(Symptom.PROGRESSIVE_LEG_WEAKNESS, Urgency.EMERGENCY, "cauda_equina",
                   "Progressive neurological deficit: possible nerve compression (cauda equina, haematoma, hardware).",
                   "Leg weakness that is getting worse"),
        TriageRule(Symptom.FEVER, Urgency.URGENT, "infection",
                   f"Fever > {fever_limit_words()}: possible infection (wound, urine, lung); same-day review.",
                   f"Fever over {fever_limit_words()}"),
        TriageRule(Symptom.WOUND_REDNESS, Urgency.URGENT, "infection", _INF,
                   "The wound is getting red"),
        TriageRule(Symptom.WOUND_WARMTH, Urgency.URGENT, "infection", _INF,
                   "The skin around the wound feels hot"),
        TriageRule(Symptom.WOUND_DRAINAGE, Urgency.URGENT, "infection", _INF,
                   "Fluid or pus coming out of the wound"),
        TriageRule(Symptom.WOUND_OPENING, Urgency.URGENT, "infection",
                   "Wound dehiscence: risk of deep infection; same-day review.",
                   "The wound is opening up"),
        TriageRule(Symptom.CALF_PAIN_SWELLING, Urgency.URGENT, "dvt_pe", _DVT,
                   "Pain or swelling in the calf (the back of the lower leg)"),
        TriageRule(Symptom.CHEST_PAIN, Urgency.EMERGENCY, "dvt_pe", _PE,
                   "Chest pain"),
        TriageRule(Symptom.SHORTNESS_OF_BREATH, Urgency.EMERGENCY, "dvt_pe", _PE,
                   "Sudden shortness of breath"),
        TriageRule(Symptom.NEW_DEFICIT_AFTER_FALL, Urgency.EMERGENCY, "fall",
                   "New neurological deficit after a fall: possible hardware failure or nerve compression.",
                   "New numbness or weakness after a fall"),
        TriageRule(Symptom.SEVERE_PAIN_AFTER_FALL, Urgency.URGENT, "fall",
                   "New severe pain after a fall: possible hardware failure or fracture; same-day review and films.",
                   "New severe pain after a fall"),
        TriageRule(Symptom.PAIN_NOT_IMPROVING, Urgency.ROUTINE, "other",
                   "Pain not improving as expected: review at the next visit or by phone in office hours.",
                   "Pain that is not getting better"),
        TriageRule(Symptom.CONSTIPATION, Urgency.ROUTINE, "other",
                   "Constipation (common with opioids): advice by phone in office hours.",
                   "Hard or rare bowel movements (constipation)"),
        TriageRule(Symptom.POOR_SLEEP, Urgency.ROUTINE, "other",
                   "Poor sleep: discuss at the next visit.",
                   "Trouble sleeping"),
    )
}

ACTION_TEXT: dict[Urgency, str] = {
    Urgency.EMERGENCY: "Call your emergency number or go to the nearest emergency department now.",
    Urgency.URGENT: (
        "Call your surgeon's office today. If you cannot reach them, go to urgent care or the emergency department."
    ),
    Urgency.ROUTINE: "Tell your care team at your next visit, or call during office hours.",
}
"""What the patient should do, by urgency (plain language)."""


@dataclass(frozen=True, slots=True)
class TriageResult:
    """One reported symptom with its urgency, the reason, and what to do."""

    symptom: Symptom
    urgency: Urgency
    category: str
    reason: str
    patient_text: str
    action: str
    reported_on: dt.date | None = None
    """When the patient reported it (the newest report of this symptom), when known: a report written weeks later
    says so instead of reading as if it were new."""

    @property
    def is_red_flag(self) -> bool:
        """Urgent or emergency: must be shown first and never hidden."""
        return self.urgency is not Urgency.ROUTINE


def parse_symptoms(values: Iterable[str]) -> tuple[Symptom, ...]:
    """Turn checklist strings (``"saddle_numbness"``, ``"saddle-numbness"``) into symptoms.

    Raises
    ------
    InputError
        Naming the unknown value and listing the accepted ones.
    """
    out = []
    for v in values:
        key = v.strip().lower().replace("-", "_").replace(" ", "_")
        try:
            out.append(Symptom(key))
        except ValueError:
            known = ", ".join(s.value for s in Symptom)
            raise InputError(f"Unknown symptom {v!r}; expected one of: {known}.") from None
    return tuple(out)


def triage(symptoms: Iterable[Symptom | str]) -> tuple[TriageResult, ...]:
    """Triage every reported symptom; the result keeps all of them, most urgent first (stable within a level).

    Duplicates are reported once. No other input can lower an urgency: there is none to give.
    """
    seen: list[Symptom] = []
    for s in symptoms:
        sym = s if isinstance(s, Symptom) else parse_symptoms([s])[0]
        if sym not in seen:
            seen.append(sym)
    results = [
        TriageResult(sym, RULES[sym].urgency, RULES[sym].category, RULES[sym].reason, RULES[sym].patient_text,
                     ACTION_TEXT[RULES[sym].urgency])
        for sym in seen
    ]
    return tuple(sorted(results, key=lambda r: -r.urgency.rank))


@dataclass(frozen=True, slots=True)
class Temperature:
    """A body temperature as given (``text``) and in both units."""

    celsius: float
    text: str
    fever_over_c: float = FEVER_OVER_C
    """The fever setting this temperature is judged by (:data:`FEVER_OVER_C` unless the caller set another)."""

    @property
    def fahrenheit(self) -> float:
        return celsius_to_fahrenheit(self.celsius)

    @property
    def is_fever(self) -> bool:
        """Above :attr:`fever_over_c` (default 38.0 °C = 100.4 °F); exactly the setting is not."""
        return round(self.celsius, 2) > self.fever_over_c

    @property
    def words(self) -> str:
        """``"38.6 °C (101.5 °F)"`` (two decimals in Celsius when one would hide them: 38.05 °C is a fever)."""
        c = f"{self.celsius:.2f}"
        return f"{c[:-1] if c.endswith('0') else c} °C ({self.fahrenheit:.1f} °F)"


_C_RANGE = (30.0, 45.0)
"""Body temperatures a person can have, in °C (a number outside it with no unit is read as Fahrenheit or refused)."""


def parse_temperature(text: str, *, fever_over_c: float = FEVER_OVER_C) -> Temperature:
    """Read a body temperature: ``"38.4"``, ``"38.4C"``, ``"101.2 F"``, ``"100.4°F"``, judged against the fever
    setting ``fever_over_c`` (degrees Celsius; :data:`FEVER_OVER_C`, 38.0, unless given: 38.3 for a care team on a
    "101 °F" handout).

    Without a unit, a number in 30-45 is Celsius and one in 86-113 (the same range in Fahrenheit) is Fahrenheit: the
    two ranges do not overlap, so a phoned-in "101" cannot be mistaken for Celsius.

    Raises
    ------
    InputError
        Naming the value: not a number, or outside the body-temperature range in its unit.
    """
    raw = text.strip()
    t = raw.upper().replace("°", "").replace("DEG", "").strip()
    unit = None
    if t.endswith(("C", "F")):
        unit, t = t[-1], t[:-1].strip()
    try:
        value = float(t.replace(",", "."))
    except ValueError:
        value = float("nan")
    lo, hi = _C_RANGE
    flo, fhi = lo * 9 / 5 + 32, hi * 9 / 5 + 32
    if value == value and unit is None:
        unit = "C" if lo <= value <= hi else "F" if flo <= value <= fhi else None
    celsius = value if unit == "C" else (value - 32.0) * 5.0 / 9.0 if unit == "F" else float("nan")
    if not (celsius == celsius and lo <= celsius <= hi):
        raise InputError(
            f"--temperature {raw!r} is not a body temperature: give a number with its unit, e.g. 38.4C or 101.1F "
            f"(Celsius {lo:g}-{hi:g}, Fahrenheit {flo:g}-{fhi:g})."
        )
    if not (isinstance(fever_over_c, (int, float)) and 37.0 <= fever_over_c <= 40.0):
        raise ValueError(f"fever_over_c must be a temperature in degrees Celsius in 37-40, got {fever_over_c!r}.")
    return Temperature(celsius, raw, float(fever_over_c))


@dataclass(frozen=True, slots=True)
class SymptomReport:
    """A symptom report as it is stored: the checklist symptoms (the fever flag added for a temperature over the
    fever setting), the note (the temperature in both units first) and the details (the temperature and the setting
    that judged it). Built by :func:`symptom_report`, the one rule every adapter (CLI, web form, feed) and the store
    apply."""

    symptoms: tuple[Symptom, ...]
    note: str
    details: dict[str, Any] = field(default_factory=dict)
    temperature: Temperature | None = None
    fever_added: bool = False
    """True when the fever flag was added by the temperature (not given among the flags)."""

    @property
    def codes(self) -> list[str]:
        """The symptom codes to store (``["fever", ...]``)."""
        return [s.value for s in self.symptoms]


def symptom_report(
    flags: Iterable[Symptom | str] = (),
    temperature: str | float | None = None,
    note: str = "",
    *,
    details: Mapping[str, Any] | None = None,
    fever_over_c: float | None = None,
) -> SymptomReport:
    """Turn a report's checklist flags and reported temperature into what is stored: the fever red-flag rule.

    A temperature over the fever setting (:data:`FEVER_OVER_C`, 38.0 °C = 100.4 °F, unless ``fever_over_c``) adds
    :attr:`Symptom.FEVER`; one at or below it adds none and never removes a fever flag given. The temperature is kept
    in the note (both units, first) and in ``details`` (``temperature_c``, ``temperature_given``, ``fever_over_c``).

    Parameters
    ----------
    flags : iterable of Symptom or str
        Checklist symptoms (``"fever"``, ``"saddle-numbness"``): an unknown one is refused.
    temperature : str or float, optional
        As reported: ``"38.4C"``, ``"101.1 F"``, ``39.0`` (a number without unit: Celsius in 30-45, Fahrenheit in
        86-113, :func:`parse_temperature`).
    note : str
        Free text (not triaged).
    details : mapping, optional
        Details already made (a stored report, a feed): without ``temperature``, a ``temperature_given`` (text) or
        ``temperature_c`` (a number in Celsius) in them is the temperature, judged by their ``fever_over_c`` when
        given. Applying the function to its own output changes nothing (the store may call it again).
    fever_over_c : float, optional
        The fever setting in degrees Celsius (default: ``details["fever_over_c"]``, else :data:`FEVER_OVER_C`).

    Raises
    ------
    InputError
        An unknown flag (named, with the accepted ones), a value that is no body temperature, or a report with neither
        a flag nor a temperature (nothing to triage).
    """
    details = dict(details or {})
    symptoms = tuple(s if isinstance(s, Symptom) else parse_symptoms([str(s)])[0] for s in flags)
    symptoms = tuple(dict.fromkeys(symptoms))
    limit = fever_over_c if fever_over_c is not None else details.get("fever_over_c", FEVER_OVER_C)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)):
        raise InputError(f"fever_over_c must be a temperature in degrees Celsius, got {limit!r}.")
    given = temperature
    if given is None:
        if details.get("temperature_given") not in (None, ""):
            given = str(details["temperature_given"])
        elif details.get("temperature_c") is not None:
            c = details["temperature_c"]
            if isinstance(c, bool) or not isinstance(c, (int, float, str)):
                raise InputError(f"details temperature_c {c!r} is not a body temperature in degrees Celsius.")
            given = f"{c}C"
    temp = None
    if given is not None:
        text = given if isinstance(given, str) else repr(float(given)) if not isinstance(given, bool) else ""
        try:
            temp = parse_temperature(text, fever_over_c=float(limit))
        except ValueError as exc:  # the setting out of range: the caller's value, said as an input error
            raise InputError(str(exc)) from None
    if not symptoms and temp is None:
        raise InputError("Give at least one checklist symptom or a temperature; nothing was recorded.")
    fever_added = False
    note = note.strip()
    if temp is not None:
        if temp.is_fever and Symptom.FEVER not in symptoms:
            symptoms, fever_added = (*symptoms, Symptom.FEVER), True
        said = f"temperature {temp.words}"
        if said not in note:
            note = "; ".join(x for x in (said, note) if x)
        details.update({"temperature_c": round(temp.celsius, 2), "temperature_given": temp.text,
                        "fever_over_c": temp.fever_over_c})
    return SymptomReport(symptoms, note, details, temp, fever_added)


def split_red_flags(
    flags: Iterable[TriageResult], as_of: dt.date, recent_days: int = RED_FLAG_RECENT_DAYS
) -> tuple[tuple[TriageResult, ...], tuple[TriageResult, ...]]:
    """The red flags among ``flags`` as of ``as_of``, split as every view splits them (:func:`red_flag_is_recent`):
    ``(recent, earlier)``: those to escalate now, then the earlier ones, never dropped, to ask about. Routine
    symptoms are in neither."""
    red = [(f, red_flag_is_recent(f.reported_on, as_of, recent_days)) for f in flags if f.is_red_flag]
    return tuple(f for f, now in red if now), tuple(f for f, now in red if not now)


def flag_action(flag: TriageResult, *, earlier: bool = False) -> str:
    """What to do about a flag, for clinicians and patients: its action (:data:`ACTION_TEXT`), for an earlier report
    ``"If still there or back: <action>"`` (reported days ago: act if it is still happening or comes back)."""
    return f"If still there or back: {flag.action}" if earlier else flag.action
