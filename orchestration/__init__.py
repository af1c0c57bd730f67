"""Dagster orchestration: the assets, jobs, schedules, sensors and checks operators run from the UI.

`orchestration.definitions` is the code location (see workspace.yaml); `orchestration.cli` holds
`pantao run` and `pantao ui`. Nothing here connects to a database or parses dbt at import time.
"""
