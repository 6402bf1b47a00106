"""The README demo: one journey per scenario with fixed seeds, generated once and cached."""

from __future__ import annotations

import json
from pathlib import Path

from fusionwatch.sim.journey import SCENARIOS, SIM_VERSION, simulate_journey

__all__ = ["DEMO_SEEDS", "demo_journeys"]

DEMO_SEEDS: dict[str, int] = {name: 100 + i for i, name in enumerate(SCENARIOS)}
"""Fixed seed of each demo scenario."""


def demo_journeys(out_dir: Path, *, size: tuple[int, int] = (1000, 1250)) -> list[Path]:
    """Generate (or reuse) one journey per scenario under ``out_dir/<scenario>/``; returns the ``journey.json`` paths.

    A journey is reused when its ``journey.json`` exists with the same simulator version, seed and film size;
    otherwise it is regenerated. Films default to 1000 x 1250 px (0.36 mm detector pixels) to keep the demo quick.
    """
    out_dir = Path(out_dir)
    paths = []
    for scenario, seed in DEMO_SEEDS.items():
        d = out_dir / scenario
        path = d / "journey.json"
        if not _is_current(path, seed, size):
            simulate_journey(scenario, seed, d, size=size)
            stamp = d / ".demo-version"
            stamp.write_text(json.dumps({"version": SIM_VERSION, "seed": seed, "size": list(size)}))
        paths.append(path)
    return paths


def _is_current(path: Path, seed: int, size: tuple[int, int]) -> bool:
    stamp = path.parent / ".demo-version"
    if not (path.is_file() and stamp.is_file()):
        return False
    try:
        meta = json.loads(stamp.read_text())
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    files_ok = all((path.parent / f["file"]).is_file() for f in data.get("films", []))
    return meta == {"version": SIM_VERSION, "seed": seed, "size": list(size)} and files_ok
