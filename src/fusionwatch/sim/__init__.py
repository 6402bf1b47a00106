"""Radiograph simulator: realistic lumbar films with exact ground truth, and simulated patient journeys.

Public API
----------
- :func:`simulate_journey` (scenario, seed, out_dir, surgery_date=None) -> path of ``journey.json``
- :func:`demo_journeys` (out_dir) -> one cached journey per scenario for the README demo
- :func:`simulate_film` with :class:`SpineParams`, :class:`FilmSpec`, :class:`Hardware`, :class:`Healing` for one film
- :func:`random_film` (seed) -> one film of a random patient / scenario / visit / view (detector training)
- :data:`SCENARIOS`

See docs/simulator.md.
"""

from fusionwatch.sim.demo import demo_journeys
from fusionwatch.sim.film import Film, FilmSpec, simulate_film
from fusionwatch.sim.implants import Hardware, Healing
from fusionwatch.sim.journey import SCENARIOS, SIM_VERSION, random_film, simulate_journey
from fusionwatch.sim.pose import SpineParams
from fusionwatch.sim.render import Exposure

__all__ = [
    "SCENARIOS",
    "SIM_VERSION",
    "Exposure",
    "Film",
    "FilmSpec",
    "Hardware",
    "Healing",
    "SpineParams",
    "demo_journeys",
    "random_film",
    "simulate_film",
    "simulate_journey",
]
