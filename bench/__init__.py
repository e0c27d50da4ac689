"""Benchmarks: the engines side by side (book ch. 8), and what our own layer costs."""
