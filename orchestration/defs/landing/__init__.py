"""Dagster definitions for the landing domain."""
