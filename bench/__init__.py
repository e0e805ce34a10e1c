"""Benchmarks of Portagent's own cost: ``python -m bench`` or ``make bench``.

See docs/benchmarks.md for the method and the latest figures.
"""
