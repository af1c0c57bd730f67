"""Business dashboards: Apache Superset on the `reporting` views, provisioned from this folder.

Superset pins libraries Dagster cannot share (SQLAlchemy < 2, pandas < 2.2), so it runs from its
own environment `.venv-bi/`. Modules named `superset_*` run inside that environment and import
only the standard library, Superset and `bi.identity`; the others run in `.venv/` and drive it.
"""
