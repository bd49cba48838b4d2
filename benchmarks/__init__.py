"""Benchmarks of the course (run as ``python benchmarks/run.py`` or ``python -m benchmarks.run``)."""
