"""Dagster definitions grouped by domain: landing, marts, reports, monitoring."""
