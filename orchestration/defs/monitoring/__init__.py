"""Dagster definitions for the monitoring domain."""
