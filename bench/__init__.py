"""Benchmarks for docs/contract.md sec. 10's targets; run with `make bench`."""
