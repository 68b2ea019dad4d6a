"""Benchmarks of controllerkit; each module runs with `python -m benchmarks.<module>`."""
