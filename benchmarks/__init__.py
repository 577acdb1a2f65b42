"""Benchmarks of the pipeline: throughput, cost per stage, memory, and the alternatives.

Entry points: ``medlicense bench`` (:mod:`benchmarks.cli`), ``python -m benchmarks``,
and the older text-engine comparison ``benchmarks/extraction.py``.
"""
