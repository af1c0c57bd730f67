"""Dagster definitions for the reports domain."""
