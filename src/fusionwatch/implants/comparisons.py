"""Which films the hardware checks compare: one baseline film per view, every later film of that view against it.

Pure: takes the visits (:class:`fusionwatch.followup.VisitInput`) and, per visit, the id of its film of the view that
can be checked (with landmarks), and returns the pairs. The ingest adapter loads the films and runs
:func:`fusionwatch.implants.check_implants` on each pair.

Why per view: the lateral and the AP films of a patient are often not taken at the same visits (an immediate AP film on
the ward, the first lateral film at 3 months). The baseline of each view is chosen by the rule of CLINICAL.md (cage
subsidence): the early post-operative film - the 6-week film, else the immediate post-operative one, else the earliest
post-operative one (:data:`fusionwatch.followup.compare.BASELINE_LABELS`) - among that view's films. Before, the AP
baseline followed the lateral one (the latest AP film at or before the lateral baseline visit) and only visits after
the lateral baseline were looked at, so AP films between an early AP film and a later lateral baseline were never
compared with anything, and a rod that broke in between could go unseen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fusionwatch.followup.compare import baseline_index
from fusionwatch.followup.model import VisitInput

__all__ = ["HardwareComparison", "hardware_comparisons", "view_baseline"]


@dataclass(frozen=True)
class HardwareComparison:
    """Compare ``film`` (at ``visits[visit]``) with ``baseline_film`` (at ``visits[baseline_visit]``), one view."""

    view: str
    visit: int
    film: str
    baseline_visit: int
    baseline_film: str


def view_baseline(visits: Sequence[VisitInput], films: Sequence[str | None]) -> int | None:
    """Index of the baseline visit of one view: ``films[i]`` is visit ``i``'s checkable film of that view, or ``None``.

    The 6-week visit, else the immediate post-operative one, else the earliest post-operative visit, among the visits
    with a film (:func:`fusionwatch.followup.compare.baseline_index`, the follow-up's own rule); ``None`` when no
    post-operative visit has one.
    """
    if len(films) != len(visits):
        raise ValueError(f"{len(films)} film entries for {len(visits)} visits.")
    return baseline_index(visits, [f is not None for f in films])


def hardware_comparisons(
    visits: Sequence[VisitInput],
    films_by_view: dict[str, Sequence[str | None]],
    baselines: dict[str, int | None] | None = None,
) -> list[HardwareComparison]:
    """Every visit after a view's baseline visit that has a film of that view, compared with the baseline film.

    ``films_by_view`` maps a view name ("lateral", "ap") to the per-visit film ids (``None``: no checkable film). Visits
    are in date order. ``baselines`` gives a view's baseline visit when the caller chose it already (the lateral one is
    :func:`fusionwatch.followup.compare.choose_baseline`'s, which the follow-up's changes vs baseline use); else
    :func:`view_baseline`. The pairs are in visit order, views in the order of ``films_by_view`` within a visit.
    """
    out: list[HardwareComparison] = []
    bases = {view: view_baseline(visits, films) for view, films in films_by_view.items()}
    bases.update({view: b for view, b in (baselines or {}).items() if view in bases})
    for i in range(len(visits)):
        for view, films in films_by_view.items():
            b = bases[view]
            film = films[i]
            base_film = films[b] if b is not None else None
            if b is None or base_film is None or i <= b or film is None:
                continue
            out.append(HardwareComparison(view, i, film, b, base_film))
    return out
