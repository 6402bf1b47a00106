"""Speed, memory and accuracy benchmarks.

Run all: ``make bench``; one: ``.venv/bin/python -m benchmarks.bench_<name>``.
"""
