"""Prometheus metrics for the pipeline and the contact centre, plus the Prometheus and Grafana
configuration that reads them (`monitoring/prometheus/`, `monitoring/grafana/`).

Every scrape reads the truth from PostgreSQL (and the broker's end offsets); what the exporter
must remember — running totals of the raw tables, the last successful dbt build — it keeps in
the `ops` schema, so a restarted exporter, or a second one, reports the same numbers.
"""
