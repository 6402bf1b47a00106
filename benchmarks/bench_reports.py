"""Speed of the report path: render the clinician and patient reports (HTML, PDF) and the structured exports.

Run: ``.venv/bin/python -m benchmarks.bench_reports``. Part 1 uses the hand-built example patient
(``fusionwatch.report.example``; synthetic 300 x 400 films). Part 2 simulates one journey (cage-subsidence, seed 1,
1000 x 1250 px films), ingests it and times ``write_patient_outputs`` end to end (overlays of two films, reports,
PDFs, FHIR, DICOM SR + SC, CSV/Parquet, .ics). No shared data needed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path


def _time(fn, repeat: int = 3) -> tuple[float, float]:  # noqa: ANN001
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return min(runs), statistics.median(runs)


def main() -> None:
    from fusionwatch.export.fhir import build_fhir_bundle
    from fusionwatch.report.example import example_report_data
    from fusionwatch.report.render import html_to_pdf, render_clinician_html, render_patient_html

    with tempfile.TemporaryDirectory(prefix="fw-bench-reports-") as tmp:
        root = Path(tmp)
        data = example_report_data(root / "example")
        render_clinician_html(data)  # warm up matplotlib, fonts, templates
        c_html = render_clinician_html(data)
        p_html = render_patient_html(data)
        rows = [
            ("clinician HTML (2 trend plots, 2 films)", _time(lambda: render_clinician_html(data))),
            ("patient HTML", _time(lambda: render_patient_html(data))),
            ("clinician PDF from HTML (WeasyPrint)", _time(lambda: html_to_pdf(c_html, root / "c.pdf"))),
            ("patient PDF from HTML (WeasyPrint)", _time(lambda: html_to_pdf(p_html, root / "p.pdf"))),
            ("FHIR bundle (build + fhir.resources validation)", _time(lambda: build_fhir_bundle(data))),
        ]
        print("example patient (4 visits):")
        for name, (best, med) in rows:
            print(f"  {name:52s} best {best * 1000:8.1f} ms  median {med * 1000:8.1f} ms")

        from fusionwatch.ingest import ingest_journey
        from fusionwatch.report.build import write_patient_outputs
        from fusionwatch.sim.journey import simulate_journey
        from fusionwatch.store import Store

        manifest = simulate_journey("cage-subsidence", 1, root / "journey", size=(1000, 1250))
        with Store(root / "fw.db") as store:
            ingest_journey(manifest, store)
            key = "SIM-cage-subsidence-1"
            t0 = time.perf_counter()
            out = write_patient_outputs(store, key, root / "out1")
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            write_patient_outputs(store, key, root / "out2", deidentify=True)
            deid = time.perf_counter() - t0
        print("simulated journey cage-subsidence (1000 x 1250 px films):")
        print(f"  write_patient_outputs (all {len(out.files)} outputs)                {first:6.2f} s")
        print(f"  write_patient_outputs --deidentify                    {deid:6.2f} s")


if __name__ == "__main__":
    main()
