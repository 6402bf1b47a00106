"""Run every ``benchmarks/bench_*.py`` module in turn (each prints its own results)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    for name in wanted:
        print(f"== benchmarks.{name}", flush=True)
        t0 = time.perf_counter()
        sys.argv = [f"benchmarks.{name}"]  # each benchmark runs with its documented defaults
        importlib.import_module(f"benchmarks.{name}").main()
        print(f"== {name} finished in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
