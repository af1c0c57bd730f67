"""Benchmarks: each module measures one part of the pipeline against a baseline in the same run."""
