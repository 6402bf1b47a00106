"""What the readers' one lock costs: N DICOM films read from 1 thread and from 2 threads.

Every DICOM read runs inside :func:`fusionwatch.io.dicom.pydicom_quiet`, which holds
:data:`fusionwatch.io._lock.READER_LOCK` while the process-wide warning filters and the 'pydicom' logger level are
changed, and the whole read (parse, decode, Modality LUT) runs in that block; so DICOM reads from several threads
(the web API, a threaded batch) run one at a time. This benchmark reads the same N synthetic films
(``fusionwatch.io.read_radiograph``: parse, decode, Modality LUT, spacing, view) three ways:

- ``1 thread``: one after the other;
- ``2 threads, lock (as shipped)``: split over two threads, the code as it is;
- ``2 threads, no lock (ceiling)``: the same, with the lock and the quiet block replaced by no-ops for this run only
  (warnings may then escape: not a shippable mode) - the most any narrowing of the lock could give.

Each way is timed ``--rounds`` times, interleaved (1, 2-shipped, 2-no-lock, 1, ...), so a change of machine load hits
all three alike; the table gives the median and the spread (min-max) of the per-file time and of each
round's speed-up over that round's 1-thread time. Each round also times how long
the lock is held during a 1-thread read (:func:`held_fraction`): the share of the read that cannot overlap, which
bounds any 2-thread gain and, unlike 2-thread wall times, stays readable on a loaded machine. No shared data needed.

Run: ``nice -n 10 .venv/bin/python -m benchmarks.bench_reader_lock [--n 24] [--size 1000x1250]
[--syntax explicit|jpeg-ls|jpeg2000] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

_SYNTAXES = {"explicit": None, "jpeg-ls": "1.2.840.10008.1.2.4.80", "jpeg2000": "1.2.840.10008.1.2.4.90"}


def write_films(folder: Path, n: int, size: tuple[int, int], syntax: str, seed: int = 0) -> list[Path]:
    """``n`` DX films of ``size`` (width, height) px, 12-bit, a smooth body and noise, in the transfer syntax."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    body = 1500 + 1200 * np.exp(-(((xx - w / 2) / (0.3 * w)) ** 2))
    paths = []
    for i in range(n):
        pixels = np.clip(body + rng.normal(0, 60, (h, w)), 0, 4095).astype(np.uint16)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.1.1")
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.Modality, ds.ViewPosition, ds.StudyDate = "DX", "LL", "20260105"
        ds.PatientID, ds.PatientName = f"BENCH-{i}", "Bench^Film"
        ds.ImagerPixelSpacing, ds.EstimatedRadiographicMagnificationFactor = [0.15, 0.15], 1.15
        ds.Rows, ds.Columns = h, w
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = pixels.tobytes()
        if _SYNTAXES[syntax] is not None:
            ds.compress(_SYNTAXES[syntax])
        path = folder / f"film-{i:03d}.dcm"
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
        paths.append(path)
    return paths


def _read_all(paths: list[Path], threads: int) -> float:
    from fusionwatch.io.loading import read_radiograph

    t0 = time.perf_counter()
    if threads == 1:
        for p in paths:
            read_radiograph(p)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(read_radiograph, paths))
    return time.perf_counter() - t0


@contextlib.contextmanager
def _no_lock() -> Iterator[None]:
    """The quiet block and the lock as no-ops, for one measurement (the ceiling of any narrowing)."""
    import fusionwatch.io.dicom as dicom

    @contextlib.contextmanager
    def loud() -> Iterator[None]:
        yield

    saved = dicom.pydicom_quiet, dicom.READER_LOCK
    dicom.pydicom_quiet, dicom.READER_LOCK = loud, threading.RLock()  # type: ignore[assignment]
    try:
        yield
    finally:
        dicom.pydicom_quiet, dicom.READER_LOCK = saved


class _TimedLock:
    """A re-entrant lock that adds up how long it is held (outermost acquire to release), for one thread's reads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._t0 = 0.0
        self.held = 0.0

    def __enter__(self) -> _TimedLock:
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1:
            self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.held += time.perf_counter() - self._t0
        self._lock.release()


def held_fraction(paths: list[Path]) -> tuple[float, float]:
    """``(ms per film, share of it the reader lock is held)`` reading ``paths`` in one thread: the share bounds what
    any number of threads can gain (Amdahl: at most 1 / (share + (1 - share) / 2) on two), and unlike a 2-thread
    wall time it is not blurred by other work on the machine (both parts slow down alike)."""
    import fusionwatch.io.dicom as dicom

    timed = _TimedLock()
    saved = dicom.READER_LOCK
    dicom.READER_LOCK = timed  # type: ignore[assignment]
    try:
        total = _read_all(paths, 1)
    finally:
        dicom.READER_LOCK = saved
    return total / len(paths) * 1000, timed.held / total


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="films per run (default 24)")
    ap.add_argument("--size", default="1000x1250", help="film size WxH px (default 1000x1250)")
    ap.add_argument("--syntax", choices=sorted(_SYNTAXES), default="explicit")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="fw-bench-lock-") as tmp:
        paths = write_films(Path(tmp), args.n, (w, h), args.syntax)
        _read_all(paths[:2], 1)  # warm up imports and decoders
        def unlocked() -> float:
            with _no_lock():
                return _read_all(paths, 2)

        ways: dict[str, Callable[[], float]] = {
            "1 thread": lambda: _read_all(paths, 1),
            "2 threads, lock (as shipped)": lambda: _read_all(paths, 2),
            "2 threads, no lock (ceiling)": unlocked,
        }
        times: dict[str, list[float]] = {k: [] for k in ways}
        shares: list[float] = []
        for _ in range(args.rounds):
            for name, fn in ways.items():
                times[name].append(fn() / len(paths) * 1000)
            shares.append(held_fraction(paths)[1])
    print(f"{args.n} films, {w} x {h} px, {args.syntax}, {args.rounds} rounds (ms per film: median, min-max; speed-up: "
          "median and min-max of each round's 1-thread time / this time)")
    for name, ms in times.items():
        ratios = [one / t for one, t in zip(times["1 thread"], ms, strict=True)]
        print(f"  {name:30s} {statistics.median(ms):7.1f}  ({min(ms):.1f}-{max(ms):.1f})  "
              f"x{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
    share = statistics.median(shares)
    print(f"  reader lock held {share:.0%} of a 1-thread read ({min(shares):.0%}-{max(shares):.0%}): 2 threads can "
          f"be at most x{1 / (share + (1 - share) / 2):.2f} as fast as 1")


if __name__ == "__main__":
    main()
