"""Benchmarks: the reference dcgan loop and the side-by-side harness (see bench/README.md)."""
