"""Helpers shared by the orchestration's domains: configuration, resources, dbt wiring, pure rules."""
