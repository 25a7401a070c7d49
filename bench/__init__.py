"""Benchmarks for SPEC sec. 10's targets; run with `make bench`."""
