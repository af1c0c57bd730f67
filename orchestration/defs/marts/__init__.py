"""Dagster definitions for the marts domain."""
