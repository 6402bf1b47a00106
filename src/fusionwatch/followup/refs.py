"""A reader's handle on each automatic finding of a visit, and the verdict that applies to it.

Several findings of one visit can share a kind (the S1 screw's angle change and a halo beside each S1 screw are three
``screw_loosening_suspected`` findings). A reader's verdict must be able to name one of them, so each finding gets a
**reference** (ref) within its visit:

* the kind alone (``cage_subsidence``) when no other finding of the visit has that kind;
* else ``kind:discriminator`` (``screw_loosening_suspected:S1-left-halo``, ``screw_loosening_suspected:S1-angle``),
  the discriminator built from what the finding says of itself: its level (``evidence["level"]``), the image side a
  screw's name gives in the summary (``"(image left)"`` -> ``left``), the criterion (``evidence["criterion"]``:
  ``halo`` / ``angle``) and the measure (``evidence["measure"]``). These are what a re-analysis of the same films
  finds again (not pixel positions or values), so the ref is stable across re-analysis;
* when two findings of a kind still read the same, ``-1``, ``-2`` ... in the visit's finding order (the checks emit
  findings in a stable order); a finding with nothing to tell it apart is ``kind:1``, ``kind:2`` ...

Refs are computed over the visit's findings followed by its review flags (the list ``fusionwatch override`` checks).

A verdict is stored as the override target ``finding:<ref>`` (``finding:<kind>`` for a verdict on every finding of the
kind, the only form before 2026-11-24: such stored verdicts keep applying to every finding of the kind). A finding's
verdict is the newest of the verdicts on its ref, on its long form ``kind:discriminator`` (its **alias**,
:func:`finding_aliases`) and on its kind (:func:`verdict_for`). The alias keeps a verdict on one of several findings
attached when a re-analysis leaves that finding alone of its kind (its ref then becomes the plain kind).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from enum import StrEnum

from fusionwatch.records import Finding, Override

__all__ = ["finding_refs", "finding_aliases", "discriminator", "verdict_for", "finding_verdicts_per_finding",
           "standing_findings", "rejected_kinds_of", "judged", "COMPARED_SINCE_KEY", "NotApplied", "why_not_applied"]

_SIDE = re.compile(r"\(image (left|right)\)", re.IGNORECASE)
_CRITERIA = {"halo": "halo", "screw-endplate angle change": "angle"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.]+")


def _slug(text: str) -> str:
    return _UNSAFE.sub("-", text.strip()).strip("-")


def discriminator(finding: Finding) -> str:
    """The part of a finding's ref after ``kind:`` (before any ``-N`` that keeps refs apart), ``""`` when the
    finding's evidence names nothing that tells it apart.

    Parts, in order, each when present: level (``S1``), image side from the summary (``left``/``right``), criterion
    (``halo``, ``angle``, else the criterion's text), measure. Joined by ``-``.
    """
    ev = finding.evidence if isinstance(finding.evidence, dict) else {}
    parts: list[str] = []
    level = ev.get("level")
    if isinstance(level, str) and level.strip() and level.strip() != "unknown level":
        parts.append(_slug(level))
    side = ev.get("image_side")  # halo findings since 2026-11-24; earlier stored ones name it in the summary only
    if side not in ("left", "right"):
        found = _SIDE.search(finding.summary or "")
        side = found.group(1).lower() if found else None
    if side:
        parts.append(side)
    criterion = ev.get("criterion")
    if isinstance(criterion, str) and criterion.strip():
        parts.append(_CRITERIA.get(criterion.strip().lower(), _slug(criterion.lower())))
    measure = ev.get("measure")
    if isinstance(measure, str) and measure.strip():
        parts.append(_slug(measure))
    return "-".join(p for p in parts if p)


def finding_refs(findings: Sequence[Finding]) -> tuple[str, ...]:
    """The ref of each of a visit's findings (pass its findings followed by its review flags), in order.

    Deterministic: the same findings in the same order give the same refs; refs are unique within the list.
    """
    kinds = Counter(f.kind for f in findings)
    first = [f.kind if kinds[f.kind] == 1 else f"{f.kind}:{discriminator(f)}" for f in findings]
    taken = Counter(first)
    seen: Counter[str] = Counter()
    out = []
    for ref in first:
        if ref.endswith(":"):  # nothing tells the findings of this kind apart: number them
            seen[ref] += 1
            out.append(f"{ref}{seen[ref]}")
        elif taken[ref] > 1:
            seen[ref] += 1
            out.append(f"{ref}-{seen[ref]}")
        else:
            out.append(ref)
    return tuple(out)


def finding_aliases(findings: Sequence[Finding]) -> tuple[str, ...]:
    """Each finding's long form ``kind:discriminator`` (``""`` when its evidence names nothing to tell it apart), the
    ref it has whenever another finding of its kind is at the visit, without any ``-N``."""
    return tuple(f"{f.kind}:{d}" if (d := discriminator(f)) else "" for f in findings)


def verdict_for(kind: str, ref: str, verdicts: Mapping[str, Override], alias: str = "") -> Override | None:
    """The reader's verdict that applies to the finding ``ref`` of kind ``kind`` (long form ``alias``).

    ``verdicts`` maps an override target's part after ``finding:`` (a ref or a kind) to its newest verdict
    (:func:`fusionwatch.followup.evidence.finding_verdicts`). The newest of the verdicts on the ref, on the alias and
    on the whole kind wins (a kind-wide verdict after a per-finding one covers that finding too); on equal times the
    more specific one (ref, then alias, then kind).
    """
    keys = dict.fromkeys(k for k in (ref, alias, kind) if k)  # most specific first, no repeats
    found = [o for k in keys if (o := verdicts.get(k)) is not None]
    if not found:
        return None
    return max(found, key=lambda o: o.at)  # max keeps the first of equals: the most specific


def finding_verdicts_per_finding(
    findings: Sequence[Finding],
    verdicts: Mapping[str, Override],
    refs: Sequence[str] | None = None,
    aliases: Sequence[str] | None = None,
) -> list[Override | None]:
    """The verdict that applies to each finding (``None``: not yet reviewed); ``refs`` / ``aliases`` default to
    :func:`finding_refs` / :func:`finding_aliases` of ``findings``."""
    refs = finding_refs(findings) if refs is None else refs
    aliases = finding_aliases(findings) if aliases is None else aliases
    per = [verdict_for(f.kind, r, verdicts, a) for f, r, a in zip(findings, refs, aliases, strict=True)]
    return [o if o is not None and judged(o, f) else None for f, o in zip(findings, per, strict=True)]


COMPARED_SINCE_KEY = "since"
"""Key in a hardware finding's ``evidence["compared_with"]``: when (UTC, ISO) the tool first made this comparison (the
visit's film against this baseline visit's film of the view). :func:`fusionwatch.ingest` keeps it while the
comparison stays the same and renews it when the finding is measured against another baseline film."""


def judged(verdict: Override, finding: Finding) -> bool:
    """True when ``verdict`` was given on the comparison ``finding`` comes from: not before the tool first made it
    (``evidence["compared_with"]["since"]``). A verdict given before the finding was measured again against another
    baseline film judged another comparison: it does not apply (the reader never saw this one) and the timeline names
    it (:meth:`fusionwatch.followup.model.VisitSummary.verdicts_without_finding`). A finding without the time (stored
    before it was kept) takes the verdict as before."""
    compared = finding.evidence.get("compared_with") if isinstance(finding.evidence, Mapping) else None
    since = compared.get(COMPARED_SINCE_KEY) if isinstance(compared, Mapping) else None
    if not since:
        return True
    try:
        first = dt.datetime.fromisoformat(str(since))
    except ValueError:
        return True
    at = verdict.at if verdict.at.tzinfo else verdict.at.replace(tzinfo=dt.UTC)
    return at >= (first if first.tzinfo else first.replace(tzinfo=dt.UTC))


class NotApplied(StrEnum):
    """Why a reader's verdict on a finding applies to none of a visit's findings (:func:`why_not_applied`)."""

    NO_LONGER_MADE = "no_longer_made"
    """No finding of the name the verdict gives (ref, long form or kind) is made at the visit any more: the visit was
    analysed again (no longer compared with the baseline film, corrected landmarks or surgery record) and the check
    does not find it."""
    REMEASURED = "remeasured"
    """Findings of that name are made at the visit, but each was measured again against another baseline film after
    the verdict (:func:`judged` is false for each): the reader judged another comparison, so the verdict is not
    applied to them until it is given again (confirm or reject it again)."""


def why_not_applied(
    verdict: Override,
    findings: Sequence[Finding],
    refs: Sequence[str] | None = None,
    aliases: Sequence[str] | None = None,
) -> NotApplied | None:
    """Tell apart the two reasons a reader's verdict on a finding (target ``finding:REF``) stands beside none of a
    visit's findings; the one rule the follow-up CLI, the clinician report, FHIR and visits.csv say it by.

    Parameters
    ----------
    verdict : Override
        A verdict whose target is ``finding:<ref, long form or kind>``.
    findings : sequence of Finding
        The visit's findings followed by its review flags (as :func:`finding_refs` takes them).
    refs, aliases : sequence of str, optional
        :func:`finding_refs` / :func:`finding_aliases` of ``findings`` (computed when not given).

    Returns
    -------
    NotApplied or None
        :attr:`NotApplied.NO_LONGER_MADE` when no finding of that name is made; :attr:`NotApplied.REMEASURED` when
        findings of that name are made, each measured again against another baseline film after the verdict; ``None``
        when it names a finding it was given on (it applies to it, unless a newer verdict on that finding does).
    """
    name = verdict.target.partition(":")[2] if verdict.target.startswith("finding:") else verdict.target
    refs = finding_refs(findings) if refs is None else refs
    aliases = finding_aliases(findings) if aliases is None else aliases
    own = [f for f, r, a in zip(findings, refs, aliases, strict=True) if name in (r, a, f.kind)]
    if not own:
        return NotApplied.NO_LONGER_MADE
    return None if any(judged(verdict, f) for f in own) else NotApplied.REMEASURED


def standing_findings(
    findings: Sequence[Finding],
    verdicts: Mapping[str, Override],
    refs: Sequence[str] | None = None,
    aliases: Sequence[str] | None = None,
) -> tuple[Finding, ...]:
    """``findings`` less those whose verdict is ``"rejected"`` (one by one: rejecting the left halo leaves the right
    halo and the angle change standing)."""
    per = finding_verdicts_per_finding(findings, verdicts, refs, aliases)
    return tuple(f for f, o in zip(findings, per, strict=True) if o is None or o.value != "rejected")


def rejected_kinds_of(
    findings: Sequence[Finding], verdicts: Mapping[str, Override], refs: Sequence[str] | None = None
) -> set[str]:
    """Kinds among ``findings`` every finding of which a reader rejected (a kind with one standing finding is not
    among them)."""
    per = finding_verdicts_per_finding(findings, verdicts, refs)
    kinds = {f.kind for f in findings}
    standing = {f.kind for f, o in zip(findings, per, strict=True) if o is None or o.value != "rejected"}
    return kinds - standing
