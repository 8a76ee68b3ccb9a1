"""Benchmarks of the service beside the bare engine floor; run `python -m bench`."""
