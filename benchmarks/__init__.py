"""Benchmarks: restly's generated resources against the same API written by hand.

Run ``python -m benchmarks --help``; ``benchmarks/README.md`` explains the method.
Importing this package is cheap on purpose: the startup probe times imports from zero.
"""
