"""Store actions run at once from several threads, each with its own :class:`Store` (racing writers)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fusionwatch.store import Store


def run_at_once(db_url: str, action: Callable[[Store], object], n: int = 8) -> list[BaseException]:
    """Run ``action`` on ``n`` stores of ``db_url`` in ``n`` threads released together by a barrier; returns the
    exceptions they raised (the stores are closed)."""
    stores = [Store(db_url) for _ in range(n)]
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(s: Store) -> None:
        try:
            barrier.wait()
            action(s)
        except BaseException as exc:  # noqa: BLE001 - returned to the test, which asserts on it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    return errors
