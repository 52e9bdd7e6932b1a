"""Benchmarks for leadpipe: a messy-export generator, a naive pandas baseline and
timings of ``leadpipe check``. Run them with ``make bench`` (``python -m benchmarks``).
They are not tests: nothing here asserts on timings.
"""
